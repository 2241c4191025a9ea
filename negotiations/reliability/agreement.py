"""Inter-coder agreement statistics for a reliability data matrix (units x coders).

Plain numpy, no Django: the web app, the ``agreement_stats`` command and the tests all call these
functions with plain data.

Every statistic starts from the same table: ``n[u, c]``, the number of coders who gave unit ``u``
the value (category) ``c``; ``m[u] = sum_c n[u, c]`` is the number of values unit ``u`` received. It
is built once with one ``np.bincount``; nothing loops over units in Python.

Definitions and sources (the tests check each against published worked examples and against the
independent implementations in ``krippendorff``, ``statsmodels``, ``scikit-learn`` and ``nltk``):

* Percent agreement (Fleiss 1971, P-bar; Gwet 2014, ``p_a``): over the units with ``m[u] >= 2``,
  ``mean_u sum_c n[u,c] (n[u,c] - 1) / (m[u] (m[u] - 1))``: the share of agreeing coder pairs in a
  unit, averaged over units.
* Cohen's kappa (Cohen 1960, "A coefficient of agreement for nominal scales", Educational and
  Psychological Measurement 20, 37-46): two coders, the units both coded, ``p_o`` the share of
  those units on which they agree, ``p_e = sum_c p_A(c) p_B(c)`` from each coder's own marginals,
  ``kappa = (p_o - p_e) / (1 - p_e)``.
* Fleiss' kappa (Fleiss 1971, "Measuring nominal scale agreement among many raters",
  Psychological Bulletin 76, 378-382) in Gwet's generalisation to units with unequal numbers of
  values (Gwet 2014, Handbook of Inter-Rater Reliability, 4th ed., Advanced Analytics; taken
  from the author's own implementation, ``fleiss.kappa.raw`` in his R package irrCAC, whose
  published example results the tests reproduce)::

      p_a    = percent agreement above (units with m[u] >= 2 only)
      pi_c   = (1 / n1) * sum_{u: m[u] >= 1} n[u, c] / m[u]     (n1 = number of units with m >= 1)
      p_e    = sum_c pi_c ** 2
      kappa  = (p_a - p_e) / (1 - p_e)

  When every unit has the same number of values ``r`` this is exactly Fleiss (1971):
  ``pi_c = sum_u n[u, c] / (N r)``.
* Gwet's AC1 (Gwet 2008, "Computing inter-rater reliability and its variance in the presence of
  high agreement", British Journal of Mathematical and Statistical Psychology 61, 29-48; with
  missing values as in Gwet 2014 and irrCAC's ``gwet.ac1.raw``): ``p_a`` and ``pi_c`` as for
  Fleiss above, ``p_e = sum_c pi_c (1 - pi_c) / (q - 1)`` with ``q`` the number of categories of
  the scale (``len(data.categories)``, which includes categories declared in ``order`` but never
  used), ``AC1 = (p_a - p_e) / (1 - p_e)``.
* Krippendorff's alpha (Krippendorff 2011, "Computing Krippendorff's Alpha-Reliability",
  Annenberg School for Communication, Departmental Papers 43): only pairable values count (units
  with ``m[u] >= 2``); the coincidence matrix is
  ``o[c, k] = sum_u (n[u,c] n[u,k] - [c == k] n[u,c]) / (m[u] - 1)``, ``n_c = sum_k o[c, k]``,
  ``n = sum_c n_c``, and ``alpha = 1 - (n - 1) sum_ck o[c,k] d2(c,k) / sum_ck n_c n_k d2(c,k)``
  with the metric ``d2`` of the level: nominal ``[c != k]``; ordinal
  ``(sum_{g=c..k} n_g - (n_c + n_k) / 2) ** 2`` over the ordered categories; interval
  ``(v_c - v_k) ** 2``; ratio ``((v_c - v_k) / (v_c + v_k)) ** 2`` (0 when both are 0).
* Bootstrap interval for alpha: percentile interval (Efron & Tibshirani 1993, An Introduction to
  the Bootstrap, ch. 13) over resamples of the pairable units drawn with replacement.

A statistic that cannot be computed (no variation, no pairable unit, Cohen's kappa on other than
two coders) is returned as ``Result(value=None, undefined_reason=...)``: never 0, NaN or an
exception.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from itertools import combinations
from typing import Literal, TypedDict, TypeGuard, get_args

import numpy as np

Level = Literal["nominal", "ordinal", "interval", "ratio"]


LEVELS: tuple[Level, ...] = get_args(Level)


MISSING = -1
"""Code for "this coder did not code this unit" in ``ReliabilityData.values``."""


# Resamples x pairable units held at once by the bootstrap (about 32 MB of float64).
_BOOTSTRAP_CELLS_PER_CHUNK = 4_000_000


NO_PAIRABLE_UNIT = "no unit has values from two or more coders"


def _is_number(value: object) -> TypeGuard[int | float | np.integer | np.floating]:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(
        value, bool | np.bool_
    )


def _is_missing(value: object) -> bool:
    return value is None or (isinstance(value, float | np.floating) and math.isnan(value))


@dataclass(frozen=True, eq=False)
class ReliabilityData:
    """A reliability data matrix: what each coder gave each unit.

    ``values[u, i]`` is the index into ``categories`` of the value coder ``coders[i]`` gave unit
    ``units[u]``, or ``MISSING`` (-1) when that coder did not code the unit. For the ordinal level
    ``categories`` is in scale order; for interval and ratio the categories are the numbers
    themselves. ``values`` is stored as a read-only int64 copy.
    """

    values: np.ndarray
    categories: tuple[object, ...]
    coders: tuple[str, ...]
    units: tuple[str, ...]

    def __post_init__(self) -> None:
        raw = np.asarray(self.values)
        if raw.ndim != 2:
            raise ValueError(f"values must be a 2-D units x coders array, got {raw.ndim}-D")
        if raw.size and raw.dtype.kind not in "iu":
            raise ValueError(f"values must be integer codes, got dtype {raw.dtype}")
        values = np.array(raw, dtype=np.int64, copy=True)
        values.flags.writeable = False
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "categories", tuple(self.categories))
        object.__setattr__(self, "coders", tuple(self.coders))
        object.__setattr__(self, "units", tuple(self.units))
        if values.shape != (len(self.units), len(self.coders)):
            raise ValueError(
                f"values has shape {values.shape}, expected "
                f"({len(self.units)} units, {len(self.coders)} coders)"
            )
        if values.size and (values.min() < MISSING or values.max() >= len(self.categories)):
            raise ValueError(f"codes must lie in -1..{len(self.categories) - 1}")
        for name, labels in (
            ("category", self.categories),
            ("coder", self.coders),
            ("unit", self.units),
        ):
            if len(set(labels)) != len(labels):
                raise ValueError(f"duplicate {name} labels")

    @property
    def n_units(self) -> int:
        return len(self.units)

    @property
    def n_coders(self) -> int:
        return len(self.coders)

    @classmethod
    def from_rows(
        cls,
        rows: Sequence[Sequence[object]],
        coders: Sequence[str] | None = None,
        units: Sequence[str] | None = None,
        order: Sequence[object] | None = None,
        level: Level = "nominal",
    ) -> ReliabilityData:
        """Build from one row per unit, one cell per coder; ``None`` (or NaN) means missing.

        Categories are ``order`` when given (every value must be in it), else sorted numerically
        when all values are numbers, else in order of first appearance. At the interval and
        ratio levels every value must be a finite number (ratio: not negative). Raises
        ``ValueError`` on malformed input.
        """
        _check_level(level)
        n_coders = len(coders) if coders is not None else (len(rows[0]) if rows else 0)
        coder_names = tuple(coders) if coders is not None else _default_names("coder", n_coders)
        unit_names = tuple(units) if units is not None else _default_names("unit", len(rows))
        if len(unit_names) != len(rows):
            raise ValueError(f"{len(unit_names)} unit labels for {len(rows)} rows")
        for number, row in enumerate(rows, start=1):
            if len(row) != n_coders:
                raise ValueError(f"row {number} has {len(row)} cells, expected {n_coders}")
        numeric_level = level in ("interval", "ratio")
        if order is not None:
            categories = list(order)
            if len(set(categories)) != len(categories):
                raise ValueError("order lists a value twice")
            if numeric_level:
                for value in categories:
                    _check_numeric_value(value, level)
        else:
            seen = dict.fromkeys(value for row in rows for value in row if not _is_missing(value))
            categories = list(seen)
            if categories and all(_is_number(value) for value in categories):
                categories.sort()
        code_of = {value: code for code, value in enumerate(categories)}
        codes = np.full((len(rows), n_coders), MISSING, dtype=np.int64)
        for u, row in enumerate(rows):
            for i, value in enumerate(row):
                if _is_missing(value):
                    continue
                if numeric_level:
                    _check_numeric_value(value, level)
                code = code_of.get(value)
                if code is None:
                    raise ValueError(f"value {value!r} (row {u + 1}) is not in order")
                codes[u, i] = code
        return cls(values=codes, categories=tuple(categories), coders=coder_names, units=unit_names)


def _default_names(prefix: str, count: int) -> tuple[str, ...]:
    return tuple(f"{prefix} {number}" for number in range(1, count + 1))


def _check_level(level: str) -> None:
    if level not in LEVELS:
        raise ValueError(f"unknown level {level!r}; use one of {', '.join(LEVELS)}")


def _check_numeric_value(value: object, level: str) -> None:
    if not _is_number(value) or not math.isfinite(float(value)):
        raise ValueError(f"{level} values must be finite numbers, got {value!r}")
    if level == "ratio" and float(value) < 0:
        raise ValueError(f"ratio values cannot be negative, got {value!r}")


@dataclass(frozen=True)
class Result:
    """One statistic: its value, or ``None`` with the reason it is undefined.

    ``n_units`` counts the units the statistic looked at (with at least one value; for Cohen's
    kappa, coded by at least one of the two coders), ``n_pairable_units`` those with two or more
    values (Cohen: coded by both), ``n_coders`` the coders who gave at least one value (Cohen:
    the coders in the data).
    """

    value: float | None
    undefined_reason: str | None
    n_units: int
    n_pairable_units: int
    n_coders: int
    ci95: tuple[float, float] | None = None

    @property
    def defined(self) -> bool:
        return self.value is not None


class AgreementStatistics(TypedDict):
    """What ``all_statistics`` returns: data-level counts and one ``Result`` per statistic."""

    n_units: int
    n_coders: int
    n_pairable_units: int
    percent_agreement: Result
    cohen_kappa: Result
    cohen_kappa_matrix: dict[tuple[str, str], Result]
    fleiss_kappa: Result
    gwet_ac1: Result
    krippendorff_alpha: Result


class _Tally:
    """Units x categories counts and what every multi-coder statistic derives from them."""

    def __init__(self, data: ReliabilityData) -> None:
        self.data = data
        values = data.values
        n_units = values.shape[0]
        n_categories = len(data.categories)
        width = n_categories + 1
        # -1 % width == n_categories: missing values land in an extra column that is dropped.
        flat = (values % width) + (np.arange(n_units, dtype=np.int64) * width)[:, None]
        counts = np.bincount(flat.ravel(), minlength=n_units * width)
        counts = counts.reshape(n_units, width)[:, :n_categories]
        per_unit = counts.sum(axis=1)
        coded = per_unit >= 1
        pairable = per_unit >= 2
        self.n_categories = n_categories
        self.coded_counts = counts[coded]
        self.coded_sizes = per_unit[coded]
        self.pairable_counts = counts[pairable]
        self.pairable_sizes = per_unit[pairable]
        self.n_units = int(np.count_nonzero(coded))
        self.n_pairable_units = int(np.count_nonzero(pairable))
        self.n_coders = int(np.count_nonzero((values >= 0).any(axis=0))) if values.size else 0

    def result(self, value: float | None, reason: str | None = None) -> Result:
        return Result(
            value=value,
            undefined_reason=reason,
            n_units=self.n_units,
            n_pairable_units=self.n_pairable_units,
            n_coders=self.n_coders,
        )

    @cached_property
    def observed_agreement(self) -> float:
        """Fleiss' P-bar / Gwet's p_a over the pairable units."""
        counts = self.pairable_counts
        sizes = self.pairable_sizes
        agreeing_pairs = (counts * (counts - 1)).sum(axis=1)
        return float(np.mean(agreeing_pairs / (sizes * (sizes - 1))))

    @cached_property
    def category_shares(self) -> np.ndarray:
        """Gwet's pi_c: each unit's shares of its values, averaged over units with a value."""
        return (self.coded_counts / self.coded_sizes[:, None]).mean(axis=0)

    @cached_property
    def pairable_values_per_category(self) -> np.ndarray:
        """Krippendorff's n_c: pairable values per category (row sums of the coincidences)."""
        return self.pairable_counts.sum(axis=0).astype(np.float64)

    @cached_property
    def coincidences(self) -> np.ndarray:
        """Krippendorff's coincidence matrix o[c, k]."""
        counts = self.pairable_counts.astype(np.float64)
        weighted = counts / (self.pairable_sizes - 1)[:, None]
        return weighted.T @ counts - np.diag(weighted.sum(axis=0))


def percent_agreement(data: ReliabilityData) -> Result:
    """Pairwise percent agreement (Fleiss' P-bar) over units with two or more values."""
    return _percent_agreement(_Tally(data))


def _percent_agreement(tally: _Tally) -> Result:
    if tally.n_pairable_units == 0:
        return tally.result(None, NO_PAIRABLE_UNIT)
    return tally.result(tally.observed_agreement)


def cohen_kappa(data: ReliabilityData) -> Result:
    """Cohen's kappa for exactly two coders, on the units both coded."""
    if data.n_coders != 2:
        return Result(
            value=None,
            undefined_reason=(
                f"Cohen's kappa needs exactly two coders; the data has {data.n_coders}"
            ),
            n_units=int(np.count_nonzero((data.values >= 0).any(axis=1))),
            n_pairable_units=0,
            n_coders=data.n_coders,
        )
    return _cohen_pair(data, 0, 1)


def cohen_kappa_matrix(data: ReliabilityData) -> dict[tuple[str, str], Result]:
    """Cohen's kappa for every pair of coders, keyed by the two names in the data's order."""
    return {
        (data.coders[i], data.coders[j]): _cohen_pair(data, i, j)
        for i, j in combinations(range(data.n_coders), 2)
    }


def _cohen_pair(data: ReliabilityData, first: int, second: int) -> Result:
    a = data.values[:, first]
    b = data.values[:, second]
    n_categories = len(data.categories)
    both = (a >= 0) & (b >= 0)
    n_units = int(np.count_nonzero((a >= 0) | (b >= 0)))
    n = int(np.count_nonzero(both))

    def result(value: float | None, reason: str | None = None) -> Result:
        return Result(value, reason, n_units=n_units, n_pairable_units=n, n_coders=2)

    if n == 0:
        return result(None, "no unit was coded by both coders")
    table = np.bincount(a[both] * n_categories + b[both], minlength=n_categories * n_categories)
    table = table.reshape(n_categories, n_categories)
    agreeing = int(np.trace(table))
    # Integer arithmetic: p_e == 1 is tested exactly, and no rounding creeps into the ratio.
    chance = int(table.sum(axis=1) @ table.sum(axis=0))
    if chance == n * n:
        return result(None, "no variation: both coders used one and the same category throughout")
    # A coder who used one category throughout gives kappa 0 whatever the agreement (99% can
    # read as "no better than chance"): with no variation on one side kappa cannot tell
    # agreement from chance, so it is undefined, with the reason.
    for name, used in (
        (data.coders[first], table.sum(axis=1)),
        (data.coders[second], table.sum(axis=0)),
    ):
        if np.count_nonzero(used) == 1:
            only = data.categories[int(np.flatnonzero(used)[0])]
            return result(
                None, f"no variation: {name} used one category ({only}) on every unit both coded"
            )
    return result((n * agreeing - chance) / (n * n - chance))


def fleiss_kappa(data: ReliabilityData) -> Result:
    """Fleiss' kappa; Gwet's generalisation when units have unequal numbers of values."""
    return _fleiss_kappa(_Tally(data))


def _fleiss_kappa(tally: _Tally) -> Result:
    if tally.n_pairable_units == 0:
        return tally.result(None, NO_PAIRABLE_UNIT)
    shares = tally.category_shares
    if np.count_nonzero(shares) < 2:
        return tally.result(None, "no variation: every value is in one category")
    chance = float(shares @ shares)
    return tally.result((tally.observed_agreement - chance) / (1 - chance))


def gwet_ac1(data: ReliabilityData) -> Result:
    """Gwet's AC1 for any number of coders, with missing values."""
    return _gwet_ac1(_Tally(data))


def _gwet_ac1(tally: _Tally) -> Result:
    if tally.n_pairable_units == 0:
        return tally.result(None, NO_PAIRABLE_UNIT)
    q = tally.n_categories
    if q < 2:
        return tally.result(None, "the scale has a single category, so chance agreement is 0/0")
    shares = tally.category_shares
    chance = float(shares @ (1 - shares)) / (q - 1)
    return tally.result((tally.observed_agreement - chance) / (1 - chance))


def krippendorff_alpha(data: ReliabilityData, level: Level = "nominal") -> Result:
    """Krippendorff's alpha from the coincidence matrix of pairable values."""
    return _krippendorff_alpha(_Tally(data), level)


def _krippendorff_alpha(tally: _Tally, level: Level) -> Result:
    scale = _numeric_scale(tally.data, level)
    if tally.n_pairable_units == 0:
        return tally.result(None, NO_PAIRABLE_UNIT)
    n_c = tally.pairable_values_per_category
    if np.count_nonzero(n_c) < 2:
        return tally.result(
            None, "no variation: all pairable values are the same, so expected disagreement is 0"
        )
    alphas = _alphas(tally.coincidences.reshape(1, -1), n_c[None, :], level, scale)
    return tally.result(float(alphas[0]))


def _numeric_scale(data: ReliabilityData, level: Level) -> np.ndarray | None:
    """The categories as numbers for the interval and ratio metrics (None otherwise)."""
    _check_level(level)
    if level not in ("interval", "ratio"):
        return None
    for value in data.categories:
        _check_numeric_value(value, level)
    return np.array(data.categories, dtype=np.float64)


def _alphas(
    coincidences: np.ndarray, n_c: np.ndarray, level: Level, scale: np.ndarray | None
) -> np.ndarray:
    """Alpha for a batch: ``coincidences`` is (R, C*C) flattened o, ``n_c`` (R, C).

    Returns NaN where a row has no variation (expected disagreement 0); callers decide what that
    means.
    """
    batch, n_categories = n_c.shape
    if level == "nominal":
        distance = 1.0 - np.eye(n_categories)
    elif level == "ordinal":
        # sum_{g=c..k} n_g - (n_c + n_k) / 2 == mid_k - mid_c with mid_g = cumsum(n)_g - n_g / 2,
        # so the squared ordinal distance depends on each resample's marginals.
        mid = np.cumsum(n_c, axis=1) - n_c / 2
        distance = (mid[:, :, None] - mid[:, None, :]) ** 2
    elif level == "interval":
        assert scale is not None
        distance = (scale[:, None] - scale[None, :]) ** 2
    else:
        assert scale is not None
        sums = scale[:, None] + scale[None, :]
        differences = scale[:, None] - scale[None, :]
        distance = np.divide(differences, sums, out=np.zeros_like(sums), where=sums != 0) ** 2
    distance = np.broadcast_to(distance, (batch, n_categories, n_categories))
    flat_distance = distance.reshape(batch, -1)
    observed = np.einsum("rj,rj->r", coincidences, flat_distance)
    expected = np.einsum("rc,rck,rk->r", n_c, distance, n_c)
    n = n_c.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        alphas = 1.0 - (n - 1) * observed / expected
    alphas[~(expected > 0)] = np.nan
    return alphas


def bootstrap_alpha(
    data: ReliabilityData,
    level: Level = "nominal",
    n_resamples: int = 1000,
    seed: int | None = None,
) -> tuple[float, float] | None:
    """95% percentile bootstrap interval for alpha, resampling the pairable units.

    ``None`` when alpha itself is undefined (or every resample lacks variation).
    """
    return _bootstrap_alpha(_Tally(data), level, n_resamples, seed)


def _bootstrap_alpha(
    tally: _Tally, level: Level, n_resamples: int, seed: int | None
) -> tuple[float, float] | None:
    if n_resamples < 1:
        raise ValueError("n_resamples must be at least 1")
    scale = _numeric_scale(tally.data, level)
    if not _krippendorff_alpha(tally, level).defined:
        return None
    alphas = _bootstrap_alphas(tally, level, scale, n_resamples, np.random.default_rng(seed))
    alphas = alphas[~np.isnan(alphas)]
    if alphas.size == 0:
        return None
    low, high = np.percentile(alphas, [2.5, 97.5])
    return float(low), float(high)


def _unit_coincidences(tally: _Tally) -> np.ndarray:
    """Each pairable unit's contribution to the coincidence matrix, flattened: (units, C*C).

    Memory grows with units x categories squared: 8 MB for 10,000 units and 10 categories.
    """
    counts = tally.pairable_counts.astype(np.float64)
    n_units, n_categories = counts.shape
    contributions = counts[:, :, None] * counts[:, None, :]
    diagonal = np.arange(n_categories)
    contributions[:, diagonal, diagonal] -= counts
    contributions /= (tally.pairable_sizes - 1)[:, None, None]
    return contributions.reshape(n_units, n_categories * n_categories)


def _alphas_for_weights(
    unit_coincidences: np.ndarray,
    unit_counts: np.ndarray,
    weights: np.ndarray,
    level: Level,
    scale: np.ndarray | None,
) -> np.ndarray:
    """Alpha of each resample, given how often (``weights``, R x units) it drew each unit."""
    return _alphas(weights @ unit_coincidences, weights @ unit_counts, level, scale)


def _bootstrap_alphas(
    tally: _Tally,
    level: Level,
    scale: np.ndarray | None,
    n_resamples: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Alpha of each of ``n_resamples`` resamples of the pairable units (with replacement).

    A unit adds to the coincidence matrix only through its count vector, so units with the same
    counts are interchangeable. Drawing n units with replacement and counting how many fall in
    each group of identical units is a multinomial draw over the groups with probabilities
    proportional to their sizes: the same distribution, at the cost of the number of distinct
    patterns instead of units. Coded text has few patterns (mostly "none" from every coder).
    """
    unit_counts = tally.pairable_counts.astype(np.float64)
    n_units = tally.n_pairable_units
    patterns, sizes = np.unique(unit_counts, axis=0, return_counts=True)
    alphas = np.empty(n_resamples)
    if 2 * len(patterns) <= n_units:
        pattern_coincidences = _pattern_coincidences(patterns)
        chunk = max(1, _BOOTSTRAP_CELLS_PER_CHUNK // len(patterns))
        probabilities = sizes / n_units
        for start in range(0, n_resamples, chunk):
            size = min(chunk, n_resamples - start)
            weights = rng.multinomial(n_units, probabilities, size=size).astype(np.float64)
            alphas[start : start + size] = _alphas_for_weights(
                pattern_coincidences, patterns, weights, level, scale
            )
        return alphas
    # Mostly distinct units: draw unit indices and count them per resample.
    unit_coincidences = _unit_coincidences(tally)
    chunk = max(1, _BOOTSTRAP_CELLS_PER_CHUNK // n_units)
    for start in range(0, n_resamples, chunk):
        size = min(chunk, n_resamples - start)
        draws = rng.integers(0, n_units, size=(size, n_units))
        draws += (np.arange(size) * n_units)[:, None]
        weights = np.bincount(draws.ravel(), minlength=size * n_units).reshape(size, n_units)
        alphas[start : start + size] = _alphas_for_weights(
            unit_coincidences, unit_counts, weights.astype(np.float64), level, scale
        )
    return alphas


def _pattern_coincidences(counts: np.ndarray) -> np.ndarray:
    """Coincidence contribution of units with these count vectors, flattened: (rows, C*C)."""
    n_rows, n_categories = counts.shape
    sizes = counts.sum(axis=1)
    contributions = counts[:, :, None] * counts[:, None, :]
    diagonal = np.arange(n_categories)
    contributions[:, diagonal, diagonal] -= counts
    contributions /= (sizes - 1)[:, None, None]
    return contributions.reshape(n_rows, n_categories * n_categories)


def all_statistics(
    data: ReliabilityData,
    level: Level = "nominal",
    bootstrap: int = 0,
    seed: int | None = None,
) -> AgreementStatistics:
    """Every statistic at once, sharing one units x categories count table.

    With ``bootstrap`` > 0 the alpha result carries a ``ci95`` from that many resamples.
    """
    tally = _Tally(data)
    alpha = _krippendorff_alpha(tally, level)
    if bootstrap > 0 and alpha.defined:
        ci95 = _bootstrap_alpha(tally, level, bootstrap, seed)
        alpha = Result(
            value=alpha.value,
            undefined_reason=None,
            n_units=alpha.n_units,
            n_pairable_units=alpha.n_pairable_units,
            n_coders=alpha.n_coders,
            ci95=ci95,
        )
    return AgreementStatistics(
        n_units=data.n_units,
        n_coders=data.n_coders,
        n_pairable_units=tally.n_pairable_units,
        percent_agreement=_percent_agreement(tally),
        cohen_kappa=cohen_kappa(data),
        cohen_kappa_matrix=cohen_kappa_matrix(data),
        fleiss_kappa=_fleiss_kappa(tally),
        gwet_ac1=_gwet_ac1(tally),
        krippendorff_alpha=alpha,
    )


class ReliabilityFileError(ValueError):
    """A malformed reliability CSV file; ``line`` is the 1-based line at fault, when known."""

    def __init__(self, message: str, line: int | None = None) -> None:
        self.message = message
        self.line = line
        super().__init__(f"line {line}: {message}" if line is not None else message)


def decode_reliability_csv(raw: bytes) -> str:
    """Decode an uploaded file as UTF-8 (a byte-order mark is allowed)."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise ReliabilityFileError("the file is not UTF-8 text", line) from error


def read_reliability_csv(
    text: str, level: Level = "nominal", order: Sequence[str] | None = None
) -> ReliabilityData:
    """Parse ``unit,<coder>,<coder>,...`` CSV text, one row per unit, into ``ReliabilityData``.

    An empty cell means the coder did not code the unit; blank lines are skipped. Values are
    labels; at the interval and ratio levels they must be numbers. ``order`` lists the allowed
    values in scale order; without it, values that are all numbers are ordered numerically and
    other labels by first appearance (numbers count as numbers only at the ordinal, interval
    and ratio levels). Raises ``ReliabilityFileError`` naming the line at fault.
    """
    _check_level(level)
    numeric_level = level in ("interval", "ratio")
    allowed = _parse_order(order, level) if order is not None else None
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""), strict=True)
    try:
        header = next(reader, None)
        if header is None or not any(cell.strip() for cell in header):
            raise ReliabilityFileError(
                "the file is empty; expected a header row unit,<coder>,<coder>,...", 1
            )
        header = [cell.strip() for cell in header]
        if header[0].lower() != "unit":
            raise ReliabilityFileError(
                f"the header must start with 'unit', found {header[0]!r}", reader.line_num
            )
        coders = header[1:]
        if not coders:
            raise ReliabilityFileError("the header names no coder", reader.line_num)
        seen_coders: set[str] = set()
        for name in coders:
            if not name:
                raise ReliabilityFileError("the header has an empty coder name", reader.line_num)
            if name in seen_coders:
                raise ReliabilityFileError(
                    f"coder {name!r} appears twice in the header", reader.line_num
                )
            seen_coders.add(name)
        units: list[str] = []
        unit_lines: dict[str, int] = {}
        rows: list[list[object | None]] = []
        for cells in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in cells) and len(cells) <= 1:
                continue
            if len(cells) != len(header):
                raise ReliabilityFileError(
                    f"expected {len(header)} cells (unit and {len(coders)} coders), "
                    f"found {len(cells)}",
                    line,
                )
            unit = cells[0].strip()
            if not unit:
                raise ReliabilityFileError("the unit id is empty", line)
            if unit in unit_lines:
                raise ReliabilityFileError(
                    f"unit {unit!r} already appears on line {unit_lines[unit]}", line
                )
            unit_lines[unit] = line
            units.append(unit)
            row: list[object | None] = []
            for coder, cell in zip(coders, cells[1:], strict=True):
                label = cell.strip()
                if not label:
                    row.append(None)
                    continue
                value: object = label
                if numeric_level:
                    number = _parse_number(label)
                    if number is None or not math.isfinite(number):
                        raise ReliabilityFileError(
                            f"{level} values must be numbers; coder {coder!r} has {label!r}", line
                        )
                    if level == "ratio" and number < 0:
                        raise ReliabilityFileError(
                            f"ratio values cannot be negative; coder {coder!r} has {label!r}",
                            line,
                        )
                    value = number
                if allowed is not None and value not in allowed:
                    raise ReliabilityFileError(
                        f"value {label!r} (coder {coder!r}) is not in the given order", line
                    )
                row.append(value)
            rows.append(row)
    except csv.Error as error:
        raise ReliabilityFileError(f"not valid CSV: {error}", reader.line_num) from error

    if allowed is None and level == "ordinal":
        labels = {value for row in rows for value in row if value is not None}
        numbers = {label: _parse_number(str(label)) for label in labels}
        if labels and all(number is not None for number in numbers.values()):
            rows = [[None if v is None else numbers[v] for v in row] for row in rows]
    return ReliabilityData.from_rows(rows, coders=coders, units=units, order=allowed, level=level)


def _parse_number(label: str) -> int | float | None:
    try:
        return int(label)
    except ValueError:
        pass
    try:
        return float(label)
    except ValueError:
        return None


def _parse_order(order: Sequence[str], level: Level) -> list[object]:
    """The ``--order`` values as the labels the file's cells are compared with."""
    labels = [str(item).strip() for item in order]
    if not labels or any(not label for label in labels):
        raise ReliabilityFileError("the order lists an empty value")
    values: list[object] = []
    for label in labels:
        if level in ("interval", "ratio"):
            number = _parse_number(label)
            if number is None or not math.isfinite(number):
                raise ReliabilityFileError(
                    f"{level} values must be numbers; the order lists {label!r}"
                )
            if level == "ratio" and number < 0:
                raise ReliabilityFileError(
                    f"ratio values cannot be negative; the order lists {label!r}"
                )
            values.append(number)
        else:
            values.append(label)
    if len(set(values)) != len(values):
        raise ReliabilityFileError("the order lists a value twice")
    return values


__all__ = [
    "LEVELS",
    "MISSING",
    "AgreementStatistics",
    "Level",
    "ReliabilityData",
    "ReliabilityFileError",
    "Result",
    "all_statistics",
    "bootstrap_alpha",
    "cohen_kappa",
    "cohen_kappa_matrix",
    "decode_reliability_csv",
    "fleiss_kappa",
    "gwet_ac1",
    "krippendorff_alpha",
    "percent_agreement",
    "read_reliability_csv",
]
