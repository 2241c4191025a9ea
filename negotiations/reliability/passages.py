"""Agreement on the passages themselves: u-alpha over the continuum of double-coded sources.

Plain data in, plain data out (no Django). The reliability page's "passages (unitizing)" unit:

- Coders counted: the ticked coders, or every coder who submitted a source that another coder
  also submitted. The continuum is the concatenated text of the sources that every counted coder
  submitted (at least two coders): u-alpha compares each coder's marks over the whole continuum,
  so a source one of them did not submit would turn their missing work into "marked nothing".
- Sources follow each other in id order without a separator: a source of length n starting at
  offset o covers [o, o + n), and the next source starts at o + n. A coding [start, end) of a
  source becomes the unit [o + start, o + end); no unit crosses a source boundary.
- Per element, the categories are the stances of the element's codings (``for``, ``against``),
  or stance and demonstrating party (``for:US``); "All elements" pools every element's categories
  (``ZOPA:for``). A coder's overlapping units of one category are merged into their union by
  :func:`unitizing.unitizing_alpha`; touching units stay two.
- The 95% interval is a percentile bootstrap over sources: each resample draws as many sources
  as the continuum has, with replacement, and rebuilds the continuum from them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from negotiations.reliability.report import CodingInput, verdict
from negotiations.reliability.unitizing import Unit, UnitizingResult, unitizing_alpha

CATEGORY_MODES = ("stance", "stance_party")

ALL_ELEMENTS = "All elements"

# Units (or drawn source x category entries) the bootstrap handles at once; small chunks stay
# in the processor cache (1,000 resamples took half the time of chunks of 2,000,000).
_BOOTSTRAP_UNITS_PER_CHUNK = 100_000


@dataclass(frozen=True)
class ContinuumSource:
    """A source of the continuum: its id, length in code points and first position."""

    id: int
    length: int
    offset: int


@dataclass(frozen=True)
class Continuum:
    sources: tuple[ContinuumSource, ...]
    coders: tuple[int, ...]
    length: int
    left_out: int  # sources submitted by two or more coders but not by every counted coder

    @property
    def offsets(self) -> dict[int, int]:
        return {s.id: s.offset for s in self.sources}


def counted_coders(
    submitted: dict[int, Sequence[int]], ticked: Sequence[int] = ()
) -> tuple[int, ...]:
    """The ticked coders, or every coder who submitted a source together with another coder."""
    if ticked:
        return tuple(sorted(set(ticked)))
    coders: set[int] = set()
    for source_coders in submitted.values():
        if len(set(source_coders)) >= 2:
            coders.update(source_coders)
    return tuple(sorted(coders))


def continuum_source_ids(
    submitted: dict[int, Sequence[int]], coders: Sequence[int]
) -> tuple[list[int], int]:
    """Ids of the sources every counted coder submitted, and how many double-coded ones that
    leaves out. Fewer than two counted coders means no continuum."""
    wanted = set(coders)
    chosen, left_out = [], 0
    for source_id in sorted(submitted):
        present = set(submitted[source_id]) & wanted
        if len(wanted) >= 2 and present == wanted:
            chosen.append(source_id)
        elif len(present) >= 2:
            left_out += 1
    return chosen, left_out


def build_continuum(lengths: dict[int, int], coders: Sequence[int], left_out: int = 0) -> Continuum:
    """The sources (id order) one after another, each starting where the previous one ends."""
    sources, offset = [], 0
    for source_id in sorted(lengths):
        sources.append(ContinuumSource(source_id, lengths[source_id], offset))
        offset += lengths[source_id]
    return Continuum(tuple(sources), tuple(coders), offset, left_out)


def category_name(stance: str, party: str, *, mode: str, element: str | None = None) -> str:
    """``for`` or ``for:US``; with ``element`` (for "All elements") ``ZOPA:for``."""
    name = stance if mode == "stance" else f"{stance}:{party}"
    return f"{element}:{name}" if element is not None else name


@dataclass(frozen=True)
class PassageInput:
    continuum: Continuum
    codings: Sequence[CodingInput]
    codes: Sequence[tuple[int, str]]
    parties: dict[int, str]
    coder_names: dict[int, str]
    mode: str = "stance"


def element_units(data: PassageInput, code_id: int | None) -> tuple[list[Unit], list[str]]:
    """The units of one element (``code_id``) or of all elements pooled (None), and the coders.

    These are exactly the rows of the units download, so the command reproduces the page.
    """
    offsets = data.continuum.offsets
    counted = set(data.continuum.coders)
    code_names = dict(data.codes)
    units = []
    for coding in data.codings:
        if coding.source_id not in offsets or coding.coder_id not in counted:
            continue
        if coding.code_id not in code_names or (code_id is not None and coding.code_id != code_id):
            continue
        offset = offsets[coding.source_id]
        category = category_name(
            coding.stance,
            data.parties.get(coding.party_id, str(coding.party_id)),
            mode=data.mode,
            element=code_names[coding.code_id] if code_id is None else None,
        )
        units.append(
            Unit(
                coder=_coder_name(data, coding.coder_id),
                start=offset + coding.start,
                end=offset + coding.end,
                category=category,
            )
        )
    coders = [_coder_name(data, c) for c in data.continuum.coders]
    order = {name: i for i, name in enumerate(coders)}
    units.sort(key=lambda u: (order[u.coder], u.start, u.end, u.category))
    return units, coders


def _coder_name(data: PassageInput, coder_id: int) -> str:
    return data.coder_names.get(coder_id, str(coder_id))


def passage_report(data: PassageInput, *, bootstrap: int = 1000, seed: int = 0) -> dict[str, Any]:
    """Per element and for all elements: u-alpha overall and per category, with intervals."""
    continuum = data.continuum
    rows = []
    element_ids: list[int | None] = [pk for pk, _ in data.codes]
    if len(data.codes) > 1:
        element_ids.append(None)
    results: dict[int | None, tuple[UnitizingResult, dict[str, int]] | None] = {}
    for code_id in element_ids:
        results[code_id] = _point_estimate(data, code_id)
    intervals = _intervals(data, bootstrap=bootstrap, seed=seed)
    names = dict(data.codes)
    for code_id in element_ids:
        label = names[code_id] if code_id is not None else ALL_ELEMENTS
        rows.append(_row(label, code_id, results[code_id], intervals, continuum))
    return {
        "mode": data.mode,
        "length": continuum.length,
        "n_sources": len(continuum.sources),
        "left_out": continuum.left_out,
        "coders": [_coder_name(data, c) for c in continuum.coders],
        "bootstrap": bootstrap,
        "seed": seed,
        "rows": rows,
    }


def _point_estimate(
    data: PassageInput, code_id: int | None
) -> tuple[UnitizingResult, dict[str, int]] | None:
    """The exact u-alpha of the download's units, and the merged units of each category."""
    if data.continuum.length <= 0:
        return None
    units, coders = element_units(data, code_id)
    spans: dict[tuple[str, str], list[tuple[int, int]]] = {}
    for unit in units:
        spans.setdefault((unit.category, unit.coder), []).append((unit.start, unit.end))
    per_category: dict[str, int] = {}
    for (category, _), coder_spans in spans.items():
        per_category[category] = per_category.get(category, 0) + len(_merge(coder_spans))
    return unitizing_alpha(units, length=data.continuum.length, coders=coders), per_category


def _row(
    label: str,
    code_id: int | None,
    estimate: tuple[UnitizingResult, dict[str, int]] | None,
    intervals: dict[tuple[int | None, str | None], list[float] | None],
    continuum: Continuum,
) -> dict[str, Any]:
    if estimate is None:
        reason = _no_continuum_reason(continuum)
        return {
            "element": label,
            "code": code_id,
            "u_alpha": None,
            "ci95": None,
            "undefined": reason,
            "verdict": "undefined",
            "n_coders": len(continuum.coders),
            "n_units": 0,
            "length": continuum.length,
            "merged": 0,
            "notes": [],
            "categories": [],
        }
    result, units_of = estimate
    reasons = {reason.split(": ", 1)[0]: reason.split(": ", 1)[1] for reason in result.reasons}
    categories = []
    for name, value in sorted(result.per_category.items()):
        categories.append(
            {
                "category": name,
                "u_alpha": value,
                "ci95": intervals.get((code_id, name)) if value is not None else None,
                "undefined": reasons.get(f"category {name!r}"),
                "verdict": verdict(value),
                "n_units": units_of.get(name, 0),
                "observed": result.observed.get(name),
                "expected": result.expected.get(name),
            }
        )
    return {
        "element": label,
        "code": code_id,
        "u_alpha": result.u_alpha,
        "ci95": intervals.get((code_id, None)) if result.u_alpha is not None else None,
        "undefined": reasons.get("overall"),
        "verdict": verdict(result.u_alpha),
        "n_coders": result.coders,
        "n_units": sum(result.units_per_coder.values()),
        "length": result.length,
        "merged": result.merged,
        "notes": list(result.notes),
        "categories": categories,
    }


def _no_continuum_reason(continuum: Continuum) -> str:
    if len(continuum.coders) < 2:
        return "fewer than two coders have submitted the same source"
    if continuum.left_out:
        return (
            f"no source was submitted by all {len(continuum.coders)} coders counted; "
            f"tick the coders to compare"
        )
    return "no source was submitted by two or more coders"


# The bootstrap ----------------------------------------------------------------------------


def _intervals(
    data: PassageInput, *, bootstrap: int, seed: int
) -> dict[tuple[int | None, str | None], list[float] | None]:
    """95% percentile intervals keyed by (element or None for all, category or None for all)."""
    continuum = data.continuum
    if bootstrap < 1 or len(continuum.coders) < 2 or not continuum.sources:
        return {}
    categories, per_coder = _category_arrays(data)
    if not categories:
        return {}
    lengths = np.array([s.length for s in continuum.sources], dtype=np.int64)
    observed, expected, counts = bootstrap_disagreements(
        per_coder, lengths, len(categories), n_resamples=bootstrap, seed=seed
    )
    intervals: dict[tuple[int | None, str | None], list[float] | None] = {}
    codes_of = np.array([code for code, _ in categories])
    for code_id, _ in data.codes:
        columns = np.nonzero(codes_of == code_id)[0]
        for column in columns:
            alphas = _alphas(observed[:, [column]], expected[:, [column]], counts[:, [column]])
            intervals[(code_id, categories[column][1])] = _percentile(alphas)
        if len(columns):
            alphas = _alphas(observed[:, columns], expected[:, columns], counts[:, columns])
            intervals[(code_id, None)] = _percentile(alphas)
    if len(data.codes) > 1:
        names = dict(data.codes)
        for column, (code_id, name) in enumerate(categories):
            alphas = _alphas(observed[:, [column]], expected[:, [column]], counts[:, [column]])
            intervals[(None, f"{names[code_id]}:{name}")] = _percentile(alphas)
        intervals[(None, None)] = _percentile(_alphas(observed, expected, counts))
    return intervals


def _alphas(observed: np.ndarray, expected: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """u-alpha of each resample over the given category columns, NaN where undefined."""
    d_o, d_e = observed.sum(axis=1), expected.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        alphas = 1.0 - d_o / d_e
    alphas = np.where((d_e == 0) & (d_o == 0), 1.0, alphas)
    alphas[(d_e == 0) & (d_o > 0)] = np.nan
    alphas[counts.sum(axis=1) == 0] = np.nan  # no unit at all: nothing to compare
    return alphas


def _percentile(alphas: np.ndarray) -> list[float] | None:
    alphas = alphas[~np.isnan(alphas)]
    if not alphas.size:
        return None
    low, high = np.percentile(alphas, [2.5, 97.5])
    return [float(low), float(high)]


@dataclass
class CoderUnits:
    """One coder's merged units, by (source index, category), positions local to the source."""

    key: np.ndarray  # source index * n_categories + category index, sorted
    start: np.ndarray
    end: np.ndarray


def _category_arrays(data: PassageInput) -> tuple[list[tuple[int, str]], list[CoderUnits]]:
    """Each coder's units as arrays; categories as (code id, category name within the element)."""
    continuum = data.continuum
    index_of = {s.id: i for i, s in enumerate(continuum.sources)}
    code_names = dict(data.codes)
    spans: dict[tuple[int, int, int, str], list[tuple[int, int]]] = {}
    category_keys: set[tuple[int, str]] = set()
    counted = set(continuum.coders)
    for coding in data.codings:
        if coding.source_id not in index_of or coding.coder_id not in counted:
            continue
        if coding.code_id not in code_names:
            continue
        name = category_name(
            coding.stance, data.parties.get(coding.party_id, str(coding.party_id)), mode=data.mode
        )
        category_keys.add((coding.code_id, name))
        spans.setdefault(
            (coding.coder_id, index_of[coding.source_id], coding.code_id, name), []
        ).append((coding.start, coding.end))
    code_order = {pk: i for i, (pk, _) in enumerate(data.codes)}
    categories = sorted(category_keys, key=lambda k: (code_order[k[0]], k[1]))
    column = {k: i for i, k in enumerate(categories)}
    n_categories = len(categories)
    per_coder = []
    for coder in continuum.coders:
        keys, starts, ends = [], [], []
        for (coder_id, source_index, code_id, name), coder_spans in spans.items():
            if coder_id != coder:
                continue
            key = source_index * n_categories + column[(code_id, name)]
            for start, end in _merge(coder_spans):
                keys.append(key)
                starts.append(start)
                ends.append(end)
        order = np.lexsort((np.array(starts, dtype=np.int64), np.array(keys, dtype=np.int64)))
        per_coder.append(
            CoderUnits(
                key=np.array(keys, dtype=np.int64)[order],
                start=np.array(starts, dtype=np.int64)[order],
                end=np.array(ends, dtype=np.int64)[order],
            )
        )
    return categories, per_coder


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    # The same rule as unitizing_alpha: overlapping units become their union, touching stay two.
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def bootstrap_disagreements(
    per_coder: Sequence[CoderUnits],
    lengths: np.ndarray,
    n_categories: int,
    *,
    n_resamples: int,
    seed: int,
    draws: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Observed and expected disagreement and unit count per resample and category.

    Each resample draws ``len(lengths)`` source indices with replacement (sorted, so copies of a
    source lie side by side) and rebuilds the continuum from them. ``draws`` (resamples x
    sources) replaces the random draws, which the tests use to check the rebuild.
    """
    n_sources = len(lengths)
    if draws is None:
        rng = np.random.default_rng(seed)
        draws = np.sort(rng.integers(0, n_sources, size=(n_resamples, n_sources)), axis=1)
    n_resamples = len(draws)
    # Per resample the rebuild holds every unit and one entry per (drawn source, category).
    per_resample = max(1, sum(len(c.key) for c in per_coder), n_sources * n_categories)
    chunk = max(1, _BOOTSTRAP_UNITS_PER_CHUNK // per_resample)
    # Where each (source, category) begins in each coder's units; the same for every resample.
    pointers = [np.searchsorted(c.key, np.arange(n_sources * n_categories + 1)) for c in per_coder]
    parts = []
    for first in range(0, n_resamples, chunk):
        parts.append(
            _chunk_disagreements(
                per_coder, pointers, lengths, n_categories, draws[first : first + chunk]
            )
        )
    observed = np.concatenate([p[0] for p in parts])
    expected = np.concatenate([p[1] for p in parts])
    counts = np.concatenate([p[2] for p in parts])
    return observed, expected, counts


def _chunk_disagreements(
    per_coder: Sequence[CoderUnits],
    pointers: Sequence[np.ndarray],
    lengths: np.ndarray,
    n_categories: int,
    draws: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n_resamples, n_sources = draws.shape
    # Position of each drawn source in its resample's continuum.
    drawn_lengths = lengths[draws]
    offsets = np.cumsum(drawn_lengths, axis=1) - drawn_lengths
    continuum_lengths = drawn_lengths.sum(axis=1)
    # One block per (resample, category); each category of a resample is its own continuum.
    # Walking (resample, category, drawn source) in that order yields every coder's units
    # already sorted by (block, start), so nothing needs sorting.
    block_lengths = np.repeat(continuum_lengths, n_categories)
    keys = (draws[:, None, :] * n_categories + np.arange(n_categories)[None, :, None]).reshape(-1)
    key_blocks = np.repeat(np.arange(n_resamples * n_categories), n_sources)
    key_shifts = np.broadcast_to(
        offsets[:, None, :], (n_resamples, n_categories, n_sources)
    ).reshape(-1)
    coder_blocks = []
    for units, pointer in zip(per_coder, pointers, strict=True):
        begins = pointer[keys]
        counts = pointer[keys + 1] - begins
        total = int(counts.sum())
        index = np.repeat(begins - np.cumsum(counts) + counts, counts) + np.arange(total)
        shift = np.repeat(key_shifts, counts)
        coder_blocks.append(
            (units.start[index] + shift, units.end[index] + shift, np.repeat(key_blocks, counts))
        )
    observed, expected, unit_counts = block_disagreements(coder_blocks, block_lengths)
    shape = (n_resamples, n_categories)
    return observed.reshape(shape), expected.reshape(shape), unit_counts.reshape(shape)


def block_disagreements(
    coder_units: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]], block_lengths: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """D_o, D_e and the number of units of many independent continua ("blocks") at once.

    ``coder_units`` holds per coder (starts, ends, block) with positions local to the block,
    sorted by (block, start) and not overlapping within a block. The formulae are those of
    :func:`unitizing.unitizing_alpha` (Krippendorff 2004, 12.4), in float64: intervals need no
    exact arithmetic, and the point estimate on the page is computed exactly.
    """
    n_coders = len(coder_units)
    n_blocks = len(block_lengths)
    lengths = block_lengths.astype(np.float64)
    # Blocks laid side by side with room to spare, so one sorted array holds all of them.
    stride = int(block_lengths.max()) + 1 if n_blocks else 1
    placed = [(s + b * stride, e + b * stride, b) for s, e, b in coder_units]

    observed = np.zeros(n_blocks)
    for i in range(n_coders):
        for j in range(i + 1, n_coders):
            observed += _pair_blocks(placed[i], placed[j], n_blocks)
    observed *= 2
    with np.errstate(divide="ignore", invalid="ignore"):
        d_o = observed / (n_coders * (n_coders - 1) * lengths * lengths)

    unit_lengths = np.concatenate([e - s for s, e, _ in coder_units]).astype(np.float64)
    unit_blocks = np.concatenate([b for _, _, b in coder_units])
    n_units = _sum_by(unit_blocks, None, minlength=n_blocks)
    cubic = _sum_by(
        unit_blocks,
        weights=unit_lengths * (unit_lengths - 1) * (2 * unit_lengths - 1) / 3,
        minlength=n_blocks,
    )
    squares = _sum_by(unit_blocks, weights=unit_lengths * (unit_lengths - 1), minlength=n_blocks)

    gaps, blocks_of_gaps = _gaps(coder_units, block_lengths)
    # Sum over gaps g >= l of the unit's block of (g - l + 1), from the gaps sorted by
    # (block, length) and their cumulative sums, as in unitizing._category_disagreements.
    gap_keys = np.sort(blocks_of_gaps * stride + gaps)
    sorted_gaps = (gap_keys % stride).astype(np.float64)
    cumulative = np.concatenate([[0.0], np.cumsum(sorted_gaps)])
    unit_keys = unit_blocks * stride + unit_lengths.astype(np.int64)
    first = np.searchsorted(gap_keys, unit_keys, side="left")
    last = np.searchsorted(gap_keys, (unit_blocks + 1) * stride, side="left")
    gap_term = (cumulative[last] - cumulative[first]) - (unit_lengths - 1) * (last - first)
    numerator = (n_units - 1) * cubic + _sum_by(
        unit_blocks, weights=unit_lengths * unit_lengths * gap_term, minlength=n_blocks
    )
    total = n_coders * lengths
    denominator = total * (total - 1) - squares
    with np.errstate(divide="ignore", invalid="ignore"):
        d_e = np.where(n_units > 0, 2 * numerator / (lengths * denominator), 0.0)
    return d_o, d_e, n_units


def _gaps(
    coder_units: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]], block_lengths: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Every coder's gaps (lengths > 0) and their blocks: before the first unit of a block,
    between units, after the last one, and whole blocks where the coder marked nothing."""
    n_blocks = len(block_lengths)
    block_ids = np.arange(n_blocks)
    lengths, blocks = [], []
    for starts, ends, unit_blocks in coder_units:
        first = np.searchsorted(unit_blocks, block_ids, side="left")
        last = np.searchsorted(unit_blocks, block_ids, side="right")
        has = last > first
        inner = unit_blocks[1:] == unit_blocks[:-1]
        leading = np.where(has, starts[np.minimum(first, len(starts) - 1)] if len(starts) else 0, 0)
        trailing_end = ends[np.maximum(last - 1, 0)] if len(ends) else np.zeros(n_blocks)
        trailing = np.where(has, block_lengths - trailing_end, 0)
        empty = np.where(has, 0, block_lengths)
        lengths += [(starts[1:] - ends[:-1])[inner], leading, trailing, empty]
        blocks += [unit_blocks[1:][inner], block_ids, block_ids, block_ids]
    gaps = np.concatenate(lengths).astype(np.int64)
    gap_blocks = np.concatenate(blocks).astype(np.int64)
    keep = gaps > 0
    return gaps[keep], gap_blocks[keep]


def _sum_by(blocks: np.ndarray, weights: np.ndarray | None, minlength: int) -> np.ndarray:
    """Sums (or counts) per block as float64, also when there is nothing to sum."""
    return np.bincount(blocks, weights=weights, minlength=minlength).astype(np.float64)


def _pair_blocks(
    a: tuple[np.ndarray, np.ndarray, np.ndarray],
    b: tuple[np.ndarray, np.ndarray, np.ndarray],
    n_blocks: int,
) -> np.ndarray:
    """Sum of segment distances between two coders, per block (one order of the pair)."""
    a_starts, a_ends, a_blocks = a
    b_starts, b_ends, b_blocks = b
    lo = np.searchsorted(b_ends, a_starts, side="right")
    hi = np.searchsorted(b_starts, a_ends, side="left")
    counts = hi - lo
    n_pairs = int(counts.sum())
    a_index = np.repeat(np.arange(len(a_starts)), counts)
    b_index = lo[a_index] + np.arange(n_pairs) - np.repeat(np.cumsum(counts) - counts, counts)
    start_diff = (a_starts[a_index] - b_starts[b_index]).astype(np.float64)
    end_diff = (a_ends[a_index] - b_ends[b_index]).astype(np.float64)
    total = _sum_by(a_blocks[a_index], weights=start_diff**2 + end_diff**2, minlength=n_blocks)
    a_alone = counts == 0
    a_lengths = (a_ends[a_alone] - a_starts[a_alone]).astype(np.float64)
    total += _sum_by(a_blocks[a_alone], weights=a_lengths**2, minlength=n_blocks)
    b_alone = np.ones(len(b_starts), dtype=bool)
    b_alone[b_index] = False
    b_lengths = (b_ends[b_alone] - b_starts[b_alone]).astype(np.float64)
    total += _sum_by(b_blocks[b_alone], weights=b_lengths**2, minlength=n_blocks)
    return total


# Downloads ----------------------------------------------------------------------------------

PASSAGE_COLUMNS = (
    "element",
    "category",
    "unit",
    "categories",
    "n_coders",
    "n_units",
    "length",
    "n_sources",
    "u_alpha",
    "ci95_low",
    "ci95_high",
    "observed_disagreement",
    "expected_disagreement",
    "verdict",
    "undefined",
)


def passage_rows(report: dict[str, Any]) -> Iterator[tuple[Any, ...]]:
    """One row per element (category "(all)") and one per category of it; numbers as numbers."""
    for row in report["rows"]:
        ci = row["ci95"] or [None, None]
        yield (
            row["element"],
            "(all)",
            "passage",
            report["mode"],
            row["n_coders"],
            row["n_units"],
            report["length"],
            report["n_sources"],
            row["u_alpha"],
            ci[0],
            ci[1],
            None,
            None,
            row["verdict"],
            row["undefined"] or "",
        )
        for category in row["categories"]:
            ci = category["ci95"] or [None, None]
            yield (
                row["element"],
                category["category"],
                "passage",
                report["mode"],
                row["n_coders"],
                category["n_units"],
                report["length"],
                report["n_sources"],
                category["u_alpha"],
                ci[0],
                ci[1],
                category["observed"],
                category["expected"],
                category["verdict"],
                category["undefined"] or "",
            )


def unit_rows(units: Iterable[Unit], coders: Sequence[str]) -> Iterator[tuple[Any, ...]]:
    """Rows of the units download (coder,start,end,category); a coder without units as coder,,,"""
    by_coder: dict[str, list[Unit]] = {name: [] for name in coders}
    for unit in units:
        by_coder[unit.coder].append(unit)
    for name in coders:
        if not by_coder[name]:
            yield (name, None, None, None)
        for unit in by_coder[name]:
            yield (unit.coder, unit.start, unit.end, unit.category)
