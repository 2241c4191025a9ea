"""From codings to agreement units and a reliability report. Plain data in, plain data out.

Units (DOMAIN.md section 4): at the segment level a unit is (sentence, element, party); at the
source level (source, element, party). A coder who submitted the source gives every unit of it a
value: `for`, `against`, `mixed` (codings of both stances) or `none` (no coding of that element
and party overlaps it). A coder who did not submit the source gives nothing: the value is missing.
The statistics themselves live in `agreement.py`.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

import numpy as np

from negotiations.reliability.agreement import (
    MISSING,
    ReliabilityData,
    Result,
    all_statistics,
    cohen_kappa_matrix,
)

FOR, AGAINST, MIXED, NONE = 0, 1, 2, 3


VALUE_LABELS = ("for", "against", "mixed", "none")


_FLAG_FOR, _FLAG_AGAINST = 1, 2


# At the ordinal and interval levels the value is the net evidence: -1 against, 0 none or mixed,
# +1 for. Ratio level is not offered for stances: net evidence has no true zero.
NET_EVIDENCE = {FOR: 2, AGAINST: 0, MIXED: 1, NONE: 1}


NET_CATEGORIES = (-1, 0, 1)


LEVELS = ("nominal", "ordinal", "interval")


RELIABLE, TENTATIVE = 0.800, 0.667


@dataclass(frozen=True)
class SourceInput:
    """A source with its sentence segments, the coders who submitted it and its parties."""

    id: int
    segments: Sequence[tuple[int, int]]
    submitted: Sequence[int]
    parties: Sequence[int]


@dataclass(frozen=True)
class CodingInput:
    source_id: int
    coder_id: int
    code_id: int
    party_id: int
    start: int
    end: int
    stance: str


@dataclass
class UnitTable:
    """Units x coders values (codes into VALUE_LABELS, MISSING where not submitted)."""

    coders: tuple[int, ...]
    values: np.ndarray
    source: np.ndarray
    segment: np.ndarray
    code: np.ndarray
    party: np.ndarray

    def select(self, mask: np.ndarray, coder_ids: Sequence[int] | None = None) -> UnitTable:
        columns = (
            list(range(len(self.coders)))
            if coder_ids is None
            else [self.coders.index(c) for c in coder_ids if c in self.coders]
        )
        values = self.values[mask][:, columns]
        keep = (values != MISSING).any(axis=1)
        return UnitTable(
            coders=tuple(self.coders[i] for i in columns),
            values=values[keep],
            source=self.source[mask][keep],
            segment=self.segment[mask][keep],
            code=self.code[mask][keep],
            party=self.party[mask][keep],
        )

    def __len__(self) -> int:
        return int(self.values.shape[0])


def build_unit_table(
    sources: Iterable[SourceInput],
    codings: Iterable[CodingInput],
    *,
    code_ids: Sequence[int],
    coder_ids: Sequence[int],
    level: str = "segment",
) -> UnitTable:
    """All units of the given sources, elements and their parties, with every coder's value."""
    coder_index = {c: i for i, c in enumerate(coder_ids)}
    code_index = {c: i for i, c in enumerate(code_ids)}
    by_source: dict[int, list[CodingInput]] = {}
    for coding in codings:
        by_source.setdefault(coding.source_id, []).append(coding)
    n_codes, n_coders = len(code_ids), len(coder_ids)
    blocks: list[np.ndarray] = []
    keys: list[tuple[np.ndarray, ...]] = []
    for source in sources:
        submitted = [coder_index[c] for c in source.submitted if c in coder_index]
        if not submitted or not n_codes:
            continue
        segments = list(source.segments) if level == "segment" else [(0, 2**62)]
        if not segments:
            continue
        parties = list(dict.fromkeys(source.parties))
        party_index = {p: i for i, p in enumerate(parties)}
        shape = (len(segments), n_codes, len(parties), n_coders)
        values = np.full(shape, MISSING, dtype=np.int64)
        values[..., submitted] = NONE
        flags = np.zeros(shape, dtype=np.uint8)
        starts = [s for s, _ in segments]
        ends = [e for _, e in segments]
        submitted_set = set(submitted)
        for coding in by_source.get(source.id, ()):
            k = coder_index.get(coding.coder_id)
            c = code_index.get(coding.code_id)
            p = party_index.get(coding.party_id)
            if k is None or c is None or p is None or k not in submitted_set:
                continue
            flag = _FLAG_FOR if coding.stance == "for" else _FLAG_AGAINST
            # Segments overlapping [start, end): the first whose end is after start, up to the
            # last whose start is before end.
            first = bisect.bisect_right(ends, coding.start)
            last = bisect.bisect_left(starts, coding.end)
            if first < last:
                flags[first:last, c, p, k] |= flag
        values[flags == _FLAG_FOR] = FOR
        values[flags == _FLAG_AGAINST] = AGAINST
        values[flags == (_FLAG_FOR | _FLAG_AGAINST)] = MIXED
        blocks.append(values.reshape(-1, n_coders))
        seg_ids = np.arange(len(segments)) if level == "segment" else np.array([-1])
        grid = np.meshgrid(seg_ids, np.array(code_ids), np.array(parties), indexing="ij")
        keys.append(
            (
                np.full(grid[0].size, source.id, dtype=np.int64),
                grid[0].reshape(-1),
                grid[1].reshape(-1),
                grid[2].reshape(-1),
            )
        )
    if not blocks:
        empty = np.zeros(0, dtype=np.int64)
        return UnitTable(
            tuple(coder_ids), np.zeros((0, n_coders), np.int64), empty, empty, empty, empty
        )
    return UnitTable(
        coders=tuple(coder_ids),
        values=np.concatenate(blocks),
        source=np.concatenate([k[0] for k in keys]),
        segment=np.concatenate([k[1] for k in keys]),
        code=np.concatenate([k[2] for k in keys]),
        party=np.concatenate([k[3] for k in keys]),
    )


def reliability_data(
    table: UnitTable, *, level: str, coder_names: dict[int, str]
) -> ReliabilityData:
    """The table as the statistics module's input, at a level of measurement."""
    values = table.values
    if level == "nominal":
        categories: tuple[Any, ...] = VALUE_LABELS
    else:
        lookup = np.array([NET_EVIDENCE[v] for v in range(4)], dtype=np.int64)
        values = np.where(values == MISSING, MISSING, lookup[np.clip(values, 0, 3)])
        categories = NET_CATEGORIES
    units = tuple(f"u{i}" for i in range(len(table)))
    return ReliabilityData(
        values=values,
        categories=categories,
        coders=tuple(coder_names.get(c, str(c)) for c in table.coders),
        units=units,
    )


def verdict(alpha: float | None) -> str:
    """The field's reading of an alpha (Krippendorff): reliable, tentative, revise."""
    if alpha is None:
        return "undefined"
    if alpha >= RELIABLE:
        return "reliable"
    if alpha >= TENTATIVE:
        return "tentative"
    return "revise"


def _result(result: Result) -> dict[str, Any]:
    return {"value": result.value, "undefined": result.undefined_reason}


@dataclass
class ReportOptions:
    level: str = "nominal"
    bootstrap: int = 1000
    seed: int = 0
    pair: tuple[int, int] | None = None
    n_lowest: int = 20


@dataclass
class ReportInput:
    table: UnitTable
    codes: list[tuple[int, str]]
    parties: dict[int, str]
    coder_names: dict[int, str]
    options: ReportOptions = field(default_factory=ReportOptions)


def statistics_row(label: str, table: UnitTable, report: ReportInput) -> dict[str, Any]:
    """One row of the report: every statistic with the units and coders it used."""
    data = reliability_data(table, level=report.options.level, coder_names=report.coder_names)
    stats = all_statistics(
        data,
        level=report.options.level,
        bootstrap=report.options.bootstrap,
        seed=report.options.seed,
    )
    alpha = stats["krippendorff_alpha"]
    coders_used = int((table.values != MISSING).any(axis=0).sum()) if len(table) else 0
    return {
        "element": label,
        "n_units": stats["n_units"],
        "n_pairable_units": stats["n_pairable_units"],
        "n_coders": coders_used,
        "alpha": alpha.value,
        "alpha_ci95": list(alpha.ci95) if alpha.ci95 else None,
        "alpha_undefined": alpha.undefined_reason,
        "ac1": _result(stats["gwet_ac1"]),
        "fleiss": _result(stats["fleiss_kappa"]),
        "percent_agreement": _result(stats["percent_agreement"]),
        "verdict": verdict(alpha.value),
        "_data": data,
        "_stats": stats,
    }


def pairwise(table: UnitTable, coder_names: dict[int, str]) -> dict[str, Any]:
    """Cohen's kappa and percent agreement for every coder pair, and each coder's mean."""
    data = reliability_data(table, level="nominal", coder_names=coder_names)

    kappas = cohen_kappa_matrix(data) if data.n_coders >= 2 else {}
    names = list(data.coders)
    values = data.values
    cells: dict[str, dict[str, Any]] = {}
    per_coder: dict[str, list[float]] = {n: [] for n in names}
    per_coder_pa: dict[str, list[tuple[int, int]]] = {n: [] for n in names}
    for i, j in combinations(range(len(names)), 2):
        both = (values[:, i] != MISSING) & (values[:, j] != MISSING)
        n_both = int(both.sum())
        agree = int((values[both, i] == values[both, j]).sum())
        result = kappas.get((names[i], names[j]))
        entry = {
            "kappa": result.value if result else None,
            "undefined": result.undefined_reason if result else "fewer than two coders",
            "n_units": n_both,
            "percent": agree / n_both if n_both else None,
        }
        cells[f"{names[i]}|{names[j]}"] = entry
        cells[f"{names[j]}|{names[i]}"] = entry
        if entry["kappa"] is not None:
            per_coder[names[i]].append(entry["kappa"])
            per_coder[names[j]].append(entry["kappa"])
        per_coder_pa[names[i]].append((agree, n_both))
        per_coder_pa[names[j]].append((agree, n_both))
    coders = []
    for name in names:
        agree = sum(a for a, _ in per_coder_pa[name])
        total = sum(n for _, n in per_coder_pa[name])
        kappa_values = per_coder[name]
        coders.append(
            {
                "coder": name,
                "mean_kappa": sum(kappa_values) / len(kappa_values) if kappa_values else None,
                "percent": agree / total if total else None,
                "n_units": int((values[:, names.index(name)] != MISSING).sum()),
            }
        )
    return {"coders": names, "cells": cells, "per_coder": coders}


def confusion(table: UnitTable, first: int, second: int) -> dict[str, Any] | None:
    """The value-by-value table of two coders over the units both coded."""
    if first not in table.coders or second not in table.coders:
        return None
    i, j = table.coders.index(first), table.coders.index(second)
    both = (table.values[:, i] != MISSING) & (table.values[:, j] != MISSING)
    matrix = np.zeros((4, 4), dtype=np.int64)
    np.add.at(matrix, (table.values[both, i], table.values[both, j]), 1)
    return {"labels": list(VALUE_LABELS), "matrix": matrix.tolist(), "n_units": int(both.sum())}


def lowest_agreement(table: UnitTable, limit: int) -> list[dict[str, Any]]:
    """Units with the lowest pairwise agreement among their coders, most disputed first."""
    values = table.values
    present = values != MISSING
    n_values = present.sum(axis=1)
    pairable = np.nonzero(n_values >= 2)[0]
    if not len(pairable):
        return []
    sub = values[pairable]
    counts = np.stack([(sub == v).sum(axis=1) for v in range(4)], axis=1)
    m = n_values[pairable]
    agreeing_pairs = (counts * (counts - 1)).sum(axis=1) / 2
    all_pairs = m * (m - 1) / 2
    agreement = agreeing_pairs / all_pairs
    disputed = np.nonzero(agreement < 1)[0]
    order = disputed[np.lexsort((-m[disputed], agreement[disputed]))][:limit]
    rows = []
    for k in order:
        u = pairable[k]
        rows.append(
            {
                "source": int(table.source[u]),
                "segment": int(table.segment[u]),
                "code": int(table.code[u]),
                "party": int(table.party[u]),
                "agreement": float(agreement[k]),
                "values": {
                    int(table.coders[c]): VALUE_LABELS[values[u, c]]
                    for c in range(len(table.coders))
                    if values[u, c] != MISSING
                },
            }
        )
    return rows


def build_report(report: ReportInput) -> dict[str, Any]:
    """The whole reliability report as plain data (JSON-ready, apart from private `_` keys)."""
    table = report.table
    rows = []
    for code_id, name in report.codes:
        row = statistics_row(name, table.select(table.code == code_id), report)
        rows.append({**row, "code": code_id})
    overall = statistics_row("All elements", table, report)
    pair = report.options.pair
    if pair is None and len(table.coders) >= 2:
        pair = (table.coders[0], table.coders[1])
    return {
        "level": report.options.level,
        "rows": rows,
        "overall": overall,
        "pairwise": pairwise(table, report.coder_names),
        "confusion": confusion(table, *pair) if pair else None,
        "pair": list(pair) if pair else None,
        "lowest": lowest_agreement(table, report.options.n_lowest),
    }


def strip_private(report: dict[str, Any]) -> dict[str, Any]:
    """The report without the in-memory objects (for caching and JSON output)."""

    def clean(row: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in row.items() if not k.startswith("_")}

    return {
        **report,
        "rows": [clean(r) for r in report["rows"]],
        "overall": clean(report["overall"]),
    }


def matrix_categories(level: str) -> tuple[str, ...]:
    """Every value the matrix may hold at a level, in scale order. Statistics with a chance term
    over the scale (Gwet's AC1) need the values no coder used as well, so the command is given
    them with `--order`."""
    if level == "nominal":
        return VALUE_LABELS
    return tuple(str(v) for v in NET_CATEGORIES)


def agreement_command(level: str, options: ReportOptions | None = None) -> str:
    """The `agreement_stats` command that recomputes the report's figures from its matrix."""
    options = options or ReportOptions(level=level)
    return (
        f"python manage.py agreement_stats MATRIX.csv --level {level} "
        f"--order={','.join(matrix_categories(level))} "
        f"--bootstrap {options.bootstrap} --seed {options.seed}"
    )


def matrix_csv_rows(
    table: UnitTable, coder_names: dict[int, str], level: str
) -> Iterable[list[Any]]:
    """The unit x coder matrix in the format `manage.py agreement_stats` reads."""
    yield ["unit", *(coder_names.get(c, str(c)) for c in table.coders)]
    for u in range(len(table)):
        cells: list[Any] = []
        for c in range(len(table.coders)):
            v = int(table.values[u, c])
            if v == MISSING:
                cells.append("")
            elif level == "nominal":
                cells.append(VALUE_LABELS[v])
            else:
                cells.append(NET_CATEGORIES[NET_EVIDENCE[v]])
        key = f"s{table.source[u]}-{'all' if table.segment[u] < 0 else table.segment[u]}"
        yield [f"{key}-c{table.code[u]}-p{table.party[u]}", *cells]


RELIABILITY_COLUMNS = (
    "element",
    "unit",
    "level",
    "n_units",
    "n_pairable_units",
    "n_coders",
    "krippendorff_alpha",
    "alpha_ci95_low",
    "alpha_ci95_high",
    "gwet_ac1",
    "fleiss_kappa",
    "percent_agreement",
    "verdict",
    "undefined",
    "categories",
    "bootstrap_resamples",
    "bootstrap_seed",
)


def reliability_rows(report: dict[str, Any]) -> Iterator[tuple[Any, ...]]:
    """One CSV row per element and one for all elements, from a reliability report, with what
    `agreement_stats` needs to recompute them from the matrix: the scale's categories (also the
    ones nobody used) and the bootstrap's resamples and seed."""
    options = ReportOptions(level=report["level"])
    categories = ",".join(matrix_categories(report["level"]))
    for row in [*report["rows"], report["overall"]]:
        ci = row.get("alpha_ci95") or [None, None]
        undefined = "; ".join(
            f"{name}: {reason}"
            for name, reason in (
                ("alpha", row.get("alpha_undefined")),
                ("ac1", row["ac1"]["undefined"]),
                ("fleiss", row["fleiss"]["undefined"]),
                ("percent_agreement", row["percent_agreement"]["undefined"]),
            )
            if reason
        )
        yield (
            row["element"],
            report.get("unit", "segment"),
            report["level"],
            row["n_units"],
            row["n_pairable_units"],
            row["n_coders"],
            row["alpha"],
            ci[0],
            ci[1],
            row["ac1"]["value"],
            row["fleiss"]["value"],
            row["percent_agreement"]["value"],
            row["verdict"],
            undefined,
            categories,
            options.bootstrap,
            options.seed,
        )
