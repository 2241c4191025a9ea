"""Krippendorff's alpha for unitizing (u-alpha).

Follows Krippendorff, "On the reliability of unitizing contiguous data", Sociological
Methodology 25 (1995), as restated in Content Analysis (2nd ed., 2004), section 12.4.

Coders mark stretches ("units") of a continuum [0, L) and give each a category.  For every
category the coders' units and the gaps between them are compared pairwise (observed
disagreement) and against all the ways the same units could have been placed by chance
(expected disagreement).

All sums are carried out in exact integer arithmetic and only the final ratios are turned into
floats.  The quantities involved grow like L**2 * R**2 and L**3 * N, which for realistic texts
already exceed what float64 can hold without rounding, and u-alpha is a difference of nearly
equal numbers when agreement is high, so rounding early would show up in the reported value.

The module is deliberately free of Django so that it can be tested and benchmarked on its own.
"""

import csv
import io
import numbers
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "Unit",
    "UnitizingResult",
    "read_units_csv",
    "unitizing_alpha",
    "write_units_csv",
]

# Squared differences of positions must fit into int64 for the vectorised path; 2 * L**2 stays
# below 2**63 for L < 2**31.  Longer continua fall back to Python integers inside numpy
# object arrays, which is slower but keeps the result exact.
_INT64_SAFE_LENGTH = 2**31

CSV_HEADER = ("coder", "start", "end", "category")

# int() would also accept "1_000" and non-ASCII digits; a CSV cell of that shape is
# more likely a mistake than an intended position.
_INTEGER_CELL = re.compile(r"[+-]?[0-9]+", re.ASCII)

Array = npt.NDArray[Any]


@dataclass(frozen=True)
class Unit:
    """One stretch [start, end) of the continuum that a coder marked with a category.

    Positions are validated here rather than only in :func:`unitizing_alpha` so that a bad unit
    is reported where it was made (e.g. the CSV line), not later in a computation.
    """

    coder: str
    start: int
    end: int
    category: str

    def __post_init__(self) -> None:
        for name in ("coder", "category"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value:
                raise ValueError(f"unit {name} must be a non-empty string, got {value!r}")
        for name in ("start", "end"):
            value = getattr(self, name)
            # bool is an int subclass, but True as a position is almost surely a bug.
            if isinstance(value, bool) or not isinstance(value, numbers.Integral):
                raise ValueError(f"unit {name} must be an integer position, got {value!r}")
            # numpy integers are accepted but stored as int so that arithmetic stays exact.
            object.__setattr__(self, name, int(value))
        if self.start < 0:
            raise ValueError(f"unit start must be >= 0, got {self.start} ({self._describe()})")
        if self.end <= self.start:
            raise ValueError(
                f"unit end must be greater than start, got [{self.start}, {self.end}) "
                f"({self._describe()})"
            )

    def _describe(self) -> str:
        return f"coder {self.coder!r}, category {self.category!r}"


@dataclass(frozen=True)
class UnitizingResult:
    """Outcome of :func:`unitizing_alpha`, kept as plain data so it can be stored or sent as JSON.

    Values that cannot be computed are None rather than NaN, and each None has a matching entry
    in ``reasons`` so that a user interface can say why instead of showing a bare blank.
    ``observed`` and ``expected`` hold the per-category disagreements wherever they are defined,
    so that a surprising alpha can be traced back to its two ingredients.
    """

    u_alpha: float | None
    per_category: dict[str, float | None]
    observed: dict[str, float]
    expected: dict[str, float]
    reasons: list[str]
    notes: list[str]
    coders: int
    units_per_coder: dict[str, int]
    length: int
    merged: int

    def to_json_dict(self) -> dict[str, Any]:
        """Return a copy made only of dicts, lists, str, int, float and None."""
        return {
            "u_alpha": self.u_alpha,
            "per_category": dict(self.per_category),
            "observed": dict(self.observed),
            "expected": dict(self.expected),
            "reasons": list(self.reasons),
            "notes": list(self.notes),
            "coders": self.coders,
            "units_per_coder": dict(self.units_per_coder),
            "length": self.length,
            "merged": self.merged,
        }


def unitizing_alpha(
    units: Iterable[Unit], *, length: int, coders: Iterable[str] | None = None
) -> UnitizingResult:
    """Compute u-alpha for all categories together and for each category on its own.

    ``coders`` should list every coder who worked on the continuum, because a coder who marked
    nothing still disagrees with everyone who marked something; leaving them out would inflate
    agreement.  When it is None only coders who appear in ``units`` are counted.

    The overall value pools disagreements across categories (1 - sum D_o / sum D_e) as
    Krippendorff defines it; it is not the mean of the per-category values, which would give a
    rarely used category as much weight as a frequent one.

    Overlapping units of the same coder and category are merged into their union, since the
    measure assumes each coder's units of one category do not overlap; ``merged`` in the result
    counts how many units were absorbed that way so that the merge is never silent.  Touching
    units such as [0, 5) and [5, 9) do not overlap and are kept apart: two adjacent units are a
    different unitization from one long unit.
    """
    _check_length(length)
    unit_list = list(units)
    for unit in unit_list:
        if not isinstance(unit, Unit):
            raise ValueError(f"expected Unit instances, got {unit!r}")
        if unit.end > length:
            raise ValueError(
                f"unit [{unit.start}, {unit.end}) of coder {unit.coder!r} ends beyond the "
                f"continuum length {length}"
            )
    coder_names = _resolve_coders(unit_list, coders)
    n_coders = len(coder_names)

    spans: dict[str, dict[str, list[tuple[int, int]]]] = {}
    for unit in unit_list:
        spans.setdefault(unit.category, {}).setdefault(unit.coder, []).append(
            (unit.start, unit.end)
        )

    dtype: Any = np.int64 if length < _INT64_SAFE_LENGTH else object
    units_per_coder = dict.fromkeys(coder_names, 0)
    merged_total = 0
    # Sorted so that results and reasons come out in the same order however the input was
    # ordered.
    categories = sorted(spans)
    per_coder_by_category: dict[str, list[tuple[Array, Array]]] = {}
    for category in categories:
        arrays = []
        for coder in coder_names:
            merged_spans = _merge_overlapping(spans[category].get(coder, []))
            merged_total += len(spans[category].get(coder, [])) - len(merged_spans)
            units_per_coder[coder] += len(merged_spans)
            starts = np.array([s for s, _ in merged_spans], dtype=dtype)
            ends = np.array([e for _, e in merged_spans], dtype=dtype)
            arrays.append((starts, ends))
        per_coder_by_category[category] = arrays

    per_category: dict[str, float | None] = {}
    observed: dict[str, float] = {}
    expected: dict[str, float] = {}
    reasons: list[str] = []
    notes: list[str] = []

    def result(u_alpha: float | None) -> UnitizingResult:
        return UnitizingResult(
            u_alpha=u_alpha,
            per_category=per_category,
            observed=observed,
            expected=expected,
            reasons=reasons,
            notes=notes,
            coders=n_coders,
            units_per_coder=units_per_coder,
            length=length,
            merged=merged_total,
        )

    if n_coders < 2:
        # With one coder there are no pairs to disagree, so D_o has a zero denominator.
        for category in categories:
            per_category[category] = None
            reasons.append(
                f"category {category!r}: agreement needs at least two coders, got {n_coders}"
            )
        reasons.append(f"overall: agreement needs at least two coders, got {n_coders}")
        return result(None)
    if not categories:
        reasons.append("overall: no coder marked any unit, so there is no unitization to compare")
        return result(None)

    observed_total = Fraction(0)
    expected_total = Fraction(0)
    for category in categories:
        d_o, d_e = _category_disagreements(per_coder_by_category[category], length)
        observed[category] = float(d_o)
        expected[category] = float(d_e)
        observed_total += d_o
        expected_total += d_e
        per_category[category] = _alpha(d_o, d_e, f"category {category!r}", reasons, notes)
    return result(_alpha(observed_total, expected_total, "overall", reasons, notes))


def read_units_csv(lines: Iterable[str]) -> tuple[list[Unit], list[str]]:
    """Parse ``coder,start,end,category`` rows into units and the list of all coders.

    A row with only the coder (``coder,,,``) declares a coder who marked nothing; without a way
    to say so, such a coder would silently drop out and agreement would look better than it
    is.  The returned coder list is in order of first appearance and is meant to be passed as
    ``coders`` to :func:`unitizing_alpha`.  Errors name the line so that a hand-edited file can
    be fixed.
    """
    reader = csv.reader(lines)
    units: list[Unit] = []
    coders: dict[str, None] = {}
    header_seen = False
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise ValueError(f"line {reader.line_num}: malformed CSV: {exc}") from exc
        line = reader.line_num
        cells = [cell.strip() for cell in row]
        if not any(cells):
            continue
        if not header_seen:
            # Spreadsheet programs like to prepend a byte order mark.
            cells[0] = cells[0].lstrip("\ufeff").strip()
            if tuple(cell.lower() for cell in cells) != CSV_HEADER:
                raise ValueError(
                    f"line {line}: expected the header {','.join(CSV_HEADER)!r}, "
                    f"got {','.join(row)!r}"
                )
            header_seen = True
            continue
        if len(cells) != len(CSV_HEADER):
            raise ValueError(
                f"line {line}: expected 4 fields ({','.join(CSV_HEADER)}), got {len(cells)}"
            )
        coder, start, end, category = cells
        if not coder:
            raise ValueError(f"line {line}: the coder field is empty")
        coders.setdefault(coder)
        if not (start or end or category):
            continue
        if not (start and end and category):
            raise ValueError(
                f"line {line}: a unit needs start, end and category; to declare a coder who "
                f"marked nothing leave all three empty ({coder},,,)"
            )
        for name, cell in (("start", start), ("end", end)):
            if not _INTEGER_CELL.fullmatch(cell):
                raise ValueError(f"line {line}: {name} must be an integer, got {cell!r}")
        try:
            units.append(Unit(coder=coder, start=int(start), end=int(end), category=category))
        except ValueError as exc:
            raise ValueError(f"line {line}: {exc}") from exc
    if not header_seen:
        raise ValueError(f"missing the header line {','.join(CSV_HEADER)!r}")
    return units, list(coders)


def write_units_csv(units: Iterable[Unit], coders: Iterable[str] | None = None) -> Iterator[str]:
    """Yield the lines (each ending in a newline) of a CSV that :func:`read_units_csv` reads back.

    Coders without units are written as ``coder,,,`` so that they survive the round trip.
    Rows are grouped by coder, in the order of ``coders``.  Input is checked before the first
    line is produced, so a bad argument fails at the call rather than half-way through a file.
    """
    unit_list = list(units)
    for unit in unit_list:
        if not isinstance(unit, Unit):
            raise ValueError(f"expected Unit instances, got {unit!r}")
    coder_names = _resolve_coders(unit_list, coders)
    return _csv_lines(unit_list, coder_names)


def _csv_lines(unit_list: list[Unit], coder_names: list[str]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")

    def line(row: Iterable[object]) -> str:
        writer.writerow(row)
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    by_coder: dict[str, list[Unit]] = {name: [] for name in coder_names}
    for unit in unit_list:
        by_coder[unit.coder].append(unit)
    yield line(CSV_HEADER)
    for name in coder_names:
        if not by_coder[name]:
            yield line((name, "", "", ""))
        for unit in by_coder[name]:
            yield line((unit.coder, unit.start, unit.end, unit.category))


def _check_length(length: object) -> None:
    if isinstance(length, bool) or not isinstance(length, numbers.Integral):
        raise ValueError(f"continuum length must be an integer, got {length!r}")
    if length <= 0:
        raise ValueError(f"continuum length must be positive, got {length}")


def _resolve_coders(unit_list: list[Unit], coders: Iterable[str] | None) -> list[str]:
    if coders is None:
        return list(dict.fromkeys(unit.coder for unit in unit_list))
    if isinstance(coders, str):
        # A str is an iterable of str, so "ann" would silently become coders a, n, n.
        raise ValueError(f"coders must be a collection of names, not the string {coders!r}")
    names = list(coders)
    seen: set[str] = set()
    for name in names:
        if not isinstance(name, str) or not name:
            raise ValueError(f"coder names must be non-empty strings, got {name!r}")
        # A repeated name would count one person twice and distort R.
        if name in seen:
            raise ValueError(f"coder {name!r} is listed more than once")
        seen.add(name)
    unknown = sorted({unit.coder for unit in unit_list} - seen)
    if unknown:
        raise ValueError(f"units by coders missing from the coders list: {unknown}")
    return names


def _merge_overlapping(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        # Strict comparison: a unit starting where the previous one ends touches it but does
        # not overlap it, and stays separate.
        if merged and start < merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def _alpha(
    d_o: Fraction, d_e: Fraction, label: str, reasons: list[str], notes: list[str]
) -> float | None:
    if d_e == 0:
        if d_o == 0:
            # Happens only when every coder covers the whole continuum with the same units of
            # length one: perfect agreement that chance could not have produced otherwise.
            notes.append(
                f"{label}: observed and expected disagreement are both 0; u-alpha is reported "
                f"as 1.0"
            )
            return 1.0
        reasons.append(
            f"{label}: expected disagreement is 0 while observed disagreement is positive"
        )
        return None
    return float(1 - d_o / d_e)


def _category_disagreements(
    per_coder: list[tuple[Array, Array]], length: int
) -> tuple[Fraction, Fraction]:
    """Return (D_o, D_e) of one category as exact fractions."""
    n_coders = len(per_coder)

    # Every pair of segments contributes the same in both orders, so unordered coder pairs
    # are summed and the total doubled.
    observed_sum = 0
    for i in range(n_coders):
        for j in range(i + 1, n_coders):
            observed_sum += _pair_disagreement(*per_coder[i], *per_coder[j])
    observed_sum *= 2
    d_o = Fraction(observed_sum, n_coders * (n_coders - 1) * length * length)

    dtype = per_coder[0][0].dtype
    lengths = np.concatenate([ends - starts for starts, ends in per_coder])
    gap_parts = []
    for starts, ends in per_coder:
        gap_starts = np.concatenate([np.zeros(1, dtype=dtype), ends])
        gap_ends = np.concatenate([starts, np.full(1, length, dtype=dtype)])
        gaps = gap_ends - gap_starts
        # Touching units leave a zero-length "gap", which is no gap at all.
        gap_parts.append(gaps[gaps > 0])
    gaps = np.sort(np.concatenate(gap_parts))

    # sum over gaps g >= l of (g - l + 1) = (sum of those g) - (l - 1) * (their count), which
    # a cumulative sum over the sorted gap lengths gives for all unit lengths l at once.
    first = np.searchsorted(gaps, lengths, side="left")
    cumulative = np.concatenate([np.zeros(1, dtype=dtype), np.cumsum(gaps)])
    count_at_least = len(gaps) - first
    sum_at_least = cumulative[-1] - cumulative[first]
    gap_term = sum_at_least - (lengths - 1) * count_at_least

    n_units = len(lengths)
    # The remaining products reach L**3 * N and are done in Python integers, which cannot
    # overflow; there is one per unit, so this is cheap next to the pair sums above.
    length_list = lengths.tolist()
    # l(l-1)(2l-1) = 2l^3 - 3l^2 + l is six times a sum of squares, hence divisible by 3.
    cubic_sum = sum(x * (x - 1) * (2 * x - 1) for x in length_list)
    numerator = (n_units - 1) * (cubic_sum // 3) + sum(
        x * x * g for x, g in zip(length_list, gap_term.tolist(), strict=True)
    )
    total = n_coders * length
    denominator = total * (total - 1) - sum(x * (x - 1) for x in length_list)
    d_e = Fraction(2 * numerator, length * denominator)
    return d_o, d_e


def _pair_disagreement(a_starts: Array, a_ends: Array, b_starts: Array, b_ends: Array) -> int:
    """Sum the segment distances between two coders' units of one category, in one order.

    Only two kinds of segment pair contribute: two overlapping units, and a unit lying inside a
    gap of the other coder.  A unit lies inside a gap exactly when it overlaps none of the other
    coder's units, so both kinds follow from the overlap structure, found here by binary search
    because each coder's merged units are sorted and disjoint.
    """
    # Units of b overlapping a[k] have index lo[k] <= index < hi[k]: those ending after a
    # starts, up to those starting before a ends.  Disjointness keeps both ends sorted.
    lo = np.searchsorted(b_ends, a_starts, side="right")
    hi = np.searchsorted(b_starts, a_ends, side="left")
    counts = hi - lo
    n_pairs = int(counts.sum())
    a_index = np.repeat(np.arange(len(a_starts)), counts)
    offset_in_run = np.arange(n_pairs) - np.repeat(np.cumsum(counts) - counts, counts)
    b_index = lo[a_index] + offset_in_run

    start_diff = a_starts[a_index] - b_starts[b_index]
    end_diff = a_ends[a_index] - b_ends[b_index]
    total = sum((start_diff * start_diff + end_diff * end_diff).tolist())

    a_alone = counts == 0
    a_lengths = a_ends[a_alone] - a_starts[a_alone]
    b_alone = np.ones(len(b_starts), dtype=bool)
    b_alone[b_index] = False
    b_lengths = b_ends[b_alone] - b_starts[b_alone]
    total += sum((a_lengths * a_lengths).tolist()) + sum((b_lengths * b_lengths).tolist())
    return int(total)
