"""Tests for unitizing.py (Krippendorff's alpha for unitizing).

Published reference values come from Krippendorff (1995, p. 57) and Krippendorff (2004,
section 12.4, p. 254), with the units of both examples as encoded in the tests of DKPro
Statistics (dkpro/dkpro-statistics, dkpro-statistics-agreement/src/test/java/org/dkpro/
statistics/agreement/unitizing/Krippendorff1995Test.java, Krippendorff2004Test.java and
UnitizingAgreementTest.java).  DKPro places the 2004 continuum at offsets 150..450 and gives
units as (offset, length); here it is moved to 0..300 and given as [start, end).

An independent implementation of the same formulae in exact fractions, written as plain loops
over segment pairs, checks the vectorised one on random inputs.
"""

import itertools
import json
import random
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from negotiations.reliability.unitizing import (
    Unit,
    UnitizingResult,
    _alpha,
    read_units_csv,
    unitizing_alpha,
    write_units_csv,
)

# ---------------------------------------------------------------------------------------------
# Reference implementation: the formulae written down as literally as possible.
# ---------------------------------------------------------------------------------------------


def ref_merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Merge overlapping spans by repeatedly joining any overlapping pair (slow but obvious)."""
    spans = list(spans)
    changed = True
    while changed:
        changed = False
        for a, b in itertools.combinations(range(len(spans)), 2):
            (s1, e1), (s2, e2) = spans[a], spans[b]
            if s1 < e2 and s2 < e1:
                spans[a] = (min(s1, s2), max(e1, e2))
                del spans[b]
                changed = True
                break
    return sorted(spans)


def ref_segments(spans: list[tuple[int, int]], length: int) -> list[tuple[int, int, bool]]:
    """Cut [0, length) into (start, end, is_unit) segments: units and the gaps between them."""
    segments = []
    pos = 0
    for start, end in sorted(spans):
        if start > pos:
            segments.append((pos, start, False))
        segments.append((start, end, True))
        pos = end
    if pos < length:
        segments.append((pos, length, False))
    return segments


def ref_distance(a: tuple[int, int, bool], b: tuple[int, int, bool]) -> int:
    (sa, ea, unit_a), (sb, eb, unit_b) = a, b
    if unit_a and unit_b and sa < eb and sb < ea:
        return (sa - sb) ** 2 + (ea - eb) ** 2
    if unit_a and not unit_b and sb <= sa and ea <= eb:
        return (ea - sa) ** 2
    if unit_b and not unit_a and sa <= sb and eb <= ea:
        return (eb - sb) ** 2
    return 0


def ref_alpha(d_o: Fraction, d_e: Fraction) -> Fraction | None:
    if d_e == 0:
        return Fraction(1) if d_o == 0 else None
    return 1 - d_o / d_e


def reference(units: list[Unit], length: int, coders: list[str]) -> dict:
    r = len(coders)
    spans: dict[str, dict[str, list[tuple[int, int]]]] = {}
    for unit in units:
        per_coder = spans.setdefault(unit.category, {name: [] for name in coders})
        per_coder[unit.coder].append((unit.start, unit.end))
    merged = 0
    units_per_coder = dict.fromkeys(coders, 0)
    for per_coder in spans.values():
        for name, coder_spans in per_coder.items():
            merged_spans = ref_merge(coder_spans)
            merged += len(coder_spans) - len(merged_spans)
            units_per_coder[name] += len(merged_spans)
            per_coder[name] = merged_spans
    out: dict = {"merged": merged, "units_per_coder": units_per_coder, "categories": {}}
    if r < 2 or not spans:
        out["u_alpha"] = None
        return out
    total_o = Fraction(0)
    total_e = Fraction(0)
    for category, per_coder in spans.items():
        segments = {name: ref_segments(per_coder[name], length) for name in coders}
        observed_sum = 0
        for i in coders:
            for j in coders:
                if i == j:
                    continue
                for a in segments[i]:
                    for b in segments[j]:
                        observed_sum += ref_distance(a, b)
        d_o = Fraction(observed_sum, r * (r - 1) * length**2)

        unit_lengths = [e - s for name in coders for s, e in per_coder[name]]
        gap_lengths = [e - s for name in coders for s, e, is_unit in segments[name] if not is_unit]
        n = len(unit_lengths)
        numerator = Fraction(0)
        for ell in unit_lengths:
            numerator += Fraction((n - 1) * (2 * ell**3 - 3 * ell**2 + ell), 3)
            numerator += ell**2 * sum(g - ell + 1 for g in gap_lengths if g >= ell)
        denominator = r * length * (r * length - 1) - sum(ell * (ell - 1) for ell in unit_lengths)
        d_e = Fraction(2, length) * numerator / denominator
        out["categories"][category] = (d_o, d_e, ref_alpha(d_o, d_e))
        total_o += d_o
        total_e += d_e
    out["u_alpha"] = ref_alpha(total_o, total_e)
    return out


def close(actual: float | None, exact: Fraction | None) -> bool:
    if exact is None or actual is None:
        return actual is None and exact is None
    if exact == 0:
        return actual == 0
    return abs(Fraction(actual) - exact) <= Fraction(1, 10**12) * abs(exact)


def assert_same_alphas(after: UnitizingResult, before: UnitizingResult) -> None:
    """Equal to 1e-12 relative, with None (undefined) only matching None."""

    def same(x: float | None, y: float | None) -> bool:
        return x is y is None or (
            x is not None and y is not None and x == pytest.approx(y, rel=1e-12)
        )

    assert same(after.u_alpha, before.u_alpha), (after.u_alpha, before.u_alpha)
    assert after.per_category.keys() == before.per_category.keys()
    for category, value in before.per_category.items():
        assert same(after.per_category[category], value), category


def assert_matches_reference(units: list[Unit], length: int, coders: list[str]) -> None:
    result = unitizing_alpha(units, length=length, coders=coders)
    ref = reference(units, length, coders)
    assert result.merged == ref["merged"]
    assert result.units_per_coder == ref["units_per_coder"]
    assert result.coders == len(coders)
    assert close(result.u_alpha, ref["u_alpha"]), (result.u_alpha, ref["u_alpha"])
    if len(coders) < 2:
        assert all(value is None for value in result.per_category.values())
        return
    assert set(result.per_category) == set(ref["categories"])
    for category, (d_o, d_e, alpha) in ref["categories"].items():
        assert close(result.observed[category], d_o)
        assert close(result.expected[category], d_e)
        assert close(result.per_category[category], alpha)


# ---------------------------------------------------------------------------------------------
# Strategies
# ---------------------------------------------------------------------------------------------


@st.composite
def unit_lists(
    draw: st.DrawFn,
    length: int,
    coders: list[str],
    categories: tuple[str, ...] = ("a", "b", "c"),
    max_units: int = 14,
) -> list[Unit]:
    units = []
    for _ in range(draw(st.integers(0, max_units))):
        start = draw(st.integers(0, length - 1))
        end = draw(st.integers(start + 1, min(length, start + draw(st.integers(1, length)))))
        units.append(
            Unit(draw(st.sampled_from(coders)), start, end, draw(st.sampled_from(categories)))
        )
    return units


@st.composite
def studies(
    draw: st.DrawFn, max_length: int = 40, min_coders: int = 1, max_coders: int = 4
) -> tuple[list[Unit], int, list[str]]:
    length = draw(st.integers(1, max_length))
    coders = [f"coder{i}" for i in range(draw(st.integers(min_coders, max_coders)))]
    units = draw(unit_lists(length, coders)) if coders else []
    return units, length, coders


def shifted(units: list[Unit], k: int) -> list[Unit]:
    return [Unit(u.coder, u.start + k, u.end + k, u.category) for u in units]


def mirrored(units: list[Unit], length: int) -> list[Unit]:
    return [Unit(u.coder, length - u.end, length - u.start, u.category) for u in units]


# ---------------------------------------------------------------------------------------------
# Published examples
# ---------------------------------------------------------------------------------------------


def krippendorff_2004_example() -> list[Unit]:
    """Content Analysis (2004), p. 254: coders i and j, categories c and k, L = 300."""
    offset = 150  # DKPro's continuum begins at 150
    raw = [
        ("i", 225, 70, "c"),
        ("i", 370, 30, "c"),
        ("j", 220, 80, "c"),
        ("j", 355, 20, "c"),
        ("j", 400, 20, "c"),
        ("i", 180, 60, "k"),
        ("i", 300, 50, "k"),
        ("j", 180, 60, "k"),
        ("j", 300, 50, "k"),
    ]
    return [Unit(c, s - offset, s - offset + n, cat) for c, s, n, cat in raw]


def test_krippendorff_2004_worked_example() -> None:
    result = unitizing_alpha(krippendorff_2004_example(), length=300)
    # The book's segment distances are 50, 850 and 400 (DKPro testDistanceMetric2), each
    # counted for both orders of the two coders: 2 * 1300 / (2 * 1 * 300**2).
    assert result.observed["c"] == pytest.approx(13 / 900, rel=1e-15)
    assert round(result.observed["c"], 4) == 0.0144
    assert round(result.expected["c"], 4) == 0.0532
    assert round(result.per_category["c"], 4) == 0.7286
    assert result.observed["k"] == 0.0
    assert round(result.expected["k"], 4) == 0.0490
    assert result.per_category["k"] == 1.0
    assert result.u_alpha is not None
    assert round(result.u_alpha, 4) == 0.8587
    # The book works with the rounded intermediates and so prints 0.859.
    from_rounded = 1 - 0.0144 / (0.0532 + 0.0490)
    assert round(from_rounded, 3) == 0.859
    assert round(result.u_alpha, 3) == 0.859
    # Pooled, not averaged: the mean of 0.7286 and 1.0 would be 0.864.
    assert result.u_alpha != pytest.approx((0.7285989968 + 1.0) / 2, abs=1e-3)
    assert result.reasons == []
    assert result.coders == 2
    assert result.units_per_coder == {"i": 4, "j": 5}
    assert result.merged == 0


def krippendorff_1995_example(numerator: int = 1, denominator: int = 1) -> tuple[list[Unit], int]:
    """The four two-coder examples A-D of Krippendorff (1995, p. 57) on a 24-position continuum.

    ``numerator / denominator`` stretches the continuum as DKPro's createExample(stretch) does
    (positions truncated to integers), which brings the discrete formula close to the paper's
    figures.  Each example is its own category; coder "0" is the first-named coder (Bertha,
    John, Gerret, Heather), coder "1" the second (Bill, Jill, Gill, Hill).
    """

    def s(x: int) -> int:
        return x * numerator // denominator

    raw = [
        ("0", "A", 2, 8), ("0", "A", 14, 6), ("1", "A", 4, 4), ("1", "A", 15, 2),
        ("0", "B", 0, 18), ("1", "B", 0, 2), ("1", "B", 2, 1), ("1", "B", 3, 1),
        ("1", "B", 4, 1), ("1", "B", 5, 1), ("1", "B", 6, 3), ("1", "B", 9, 1),
        ("0", "C", 2, 6), ("0", "C", 10, 2), ("0", "C", 14, 4), ("0", "C", 20, 2),
        ("1", "C", 0, 2), ("1", "C", 4, 4), ("1", "C", 10, 4), ("1", "C", 16, 2),
        ("1", "C", 20, 2),
        ("0", "D", 0, 2), ("0", "D", 2, 8), ("0", "D", 10, 4), ("0", "D", 14, 6),
        ("0", "D", 20, 4), ("1", "D", 0, 4), ("1", "D", 4, 4), ("1", "D", 8, 7),
        ("1", "D", 15, 2), ("1", "D", 17, 7),
    ]  # fmt: skip
    units = [Unit(c, s(o), s(o) + s(n), cat) for c, cat, o, n in raw if s(n) > 0]
    return units, s(24)


@pytest.mark.parametrize("stretch", [1, 5, 50, 50_000])
def test_krippendorff_1995_observed_disagreement(stretch: int) -> None:
    # Observed disagreement scales with L**2 like its normaliser, so it is the same at every
    # stretch (DKPro Krippendorff1995Test.testAgreement / testVaryingLengths, to 1e-5).
    units, length = krippendorff_1995_example(stretch)
    result = unitizing_alpha(units, length=length, coders=["0", "1"])
    expected = {"A": 0.03125, "B": 2.26736, "C": 0.02777, "D": 0.38715}
    for category, value in expected.items():
        assert result.observed[category] == pytest.approx(value, abs=1e-5)
    # Exact values: distance sums 36, 2612, 32 and 446 over R(R-1)L**2 = 2 * 24**2 = 1152.
    exact = {"A": 36, "B": 2612, "C": 32, "D": 446}
    for category, value in exact.items():
        assert result.observed[category] == pytest.approx(value / 1152, rel=1e-15)
    assert result.merged == 0


def test_krippendorff_1995_published_values() -> None:
    # The paper's expected disagreements and alphas; on a 24-position continuum the discrete
    # formula differs from them (DKPro notes a small error in the paper's D_e), so, like DKPro,
    # compare on a continuum stretched 50,000 times with DKPro's tolerances (0.005 and 0.02).
    units, length = krippendorff_1995_example(50_000)
    assert length == 1_200_000
    result = unitizing_alpha(units, length=length, coders=["0", "1"])
    paper_expected = {"A": 0.06990, "B": 1.17731, "C": 0.08642, "D": 0.41445}
    paper_alpha = {"A": 0.553, "B": -0.926, "C": 0.679, "D": 0.066}
    for category in "ABCD":
        assert result.expected[category] == pytest.approx(paper_expected[category], abs=0.005)
        assert result.per_category[category] == pytest.approx(paper_alpha[category], abs=0.02)


def test_krippendorff_1995_example_c_on_half_continuum() -> None:
    # DKPro testVaryingLengths, stretch 12/24: a 12-position continuum, D_e to 1e-5.
    units, length = krippendorff_1995_example(1, 2)
    assert length == 12
    result = unitizing_alpha([u for u in units if u.category == "C"], length=length)
    assert result.observed["C"] == pytest.approx(0.02777, abs=1e-5)
    assert result.expected["C"] == pytest.approx(0.05494, abs=1e-5)
    assert result.per_category["C"] == pytest.approx(0.494, abs=0.02)


def test_krippendorff_1995_examples_match_reference_exactly() -> None:
    for stretch in (1, 5):
        units, length = krippendorff_1995_example(stretch)
        assert_matches_reference(units, length, ["0", "1"])


def test_dkpro_small_example() -> None:
    # DKPro UnitizingAgreementTest.testAgreement: r0 -11111111-, r1 --1-1-1---.
    units = [Unit("0", 1, 9, "A"), Unit("1", 2, 3, "A"), Unit("1", 4, 5, "A"), Unit("1", 6, 7, "A")]
    result = unitizing_alpha(units, length=10)
    assert result.observed["A"] == pytest.approx(0.9100, abs=1e-4)
    assert result.expected["A"] == pytest.approx(0.5351, abs=1e-4)
    assert result.per_category["A"] == pytest.approx(-0.7003, abs=1e-4)


def test_dkpro_single_unit_three_coders() -> None:
    # DKPro UnitizingAgreementTest.testSingleAnnotationUnit: observed equals expected.
    result = unitizing_alpha([Unit("0", 0, 1, "X")], length=20, coders=["0", "1", "2"])
    assert result.u_alpha == 0.0
    assert result.observed["X"] == result.expected["X"] == pytest.approx(1 / 600)


# ---------------------------------------------------------------------------------------------
# Agreement with the exact reference
# ---------------------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(studies())
def test_matches_exact_reference(study: tuple[list[Unit], int, list[str]]) -> None:
    assert_matches_reference(*study)


@pytest.mark.parametrize("seed", range(15))
def test_matches_exact_reference_on_busier_continua(seed: int) -> None:
    rng = random.Random(seed)
    length = rng.randint(200, 1500)
    coders = [f"c{i}" for i in range(rng.randint(2, 4))]
    units = []
    for _ in range(rng.randint(1, 60)):
        start = rng.randrange(length)
        end = min(length, start + rng.randint(1, 80))
        units.append(Unit(rng.choice(coders), start, end, rng.choice("xyz")))
    assert_matches_reference(units, length, coders)


def test_benchmark_sized_study_matches_exact_reference() -> None:
    # The study of bench_unitizing.py: L = 100,000, 2,000 units, three coders, five
    # categories, with merges; its sums of squared and cubed lengths are far beyond 2**53.
    from benchmarks.bench_unitizing import CODERS, LENGTH, make_units

    assert_matches_reference(make_units(), LENGTH, list(CODERS))


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("length", [2**31 - 1, 2**31, 2**31 + 7, 10**13, 10**30])
def test_matches_exact_reference_on_huge_continua(length: int, seed: int) -> None:
    # Around and past the point where squared positions no longer fit into int64, so that
    # both the vectorised int64 path and the Python-integer fallback are checked.
    rng = random.Random(seed)
    coders = ["p", "q", "r"]
    # A small study blown up to the huge continuum keeps overlaps and shared gaps ...
    small = 60
    scale = length // small
    units = []
    for _ in range(20):
        start = rng.randrange(small)
        end = min(small, start + rng.randint(1, 15))
        units.append(Unit(rng.choice(coders), start * scale, end * scale, rng.choice("xy")))
    # ... and scattered units of any size reach the extremes, including the very end.
    for _ in range(10):
        start = rng.randrange(length)
        end = min(length, start + rng.choice([rng.randint(1, 50), rng.randrange(1, length)]))
        units.append(Unit(rng.choice(coders), start, end, rng.choice("xy")))
    units += [Unit("p", 0, length, "x"), Unit("q", length - 1, length, "x")]
    assert_matches_reference(units, length, coders)


# ---------------------------------------------------------------------------------------------
# Properties
# ---------------------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_identical_unitizations_give_one(data: st.DataObject) -> None:
    length = data.draw(st.integers(1, 50))
    n_coders = data.draw(st.integers(2, 5))
    template = data.draw(unit_lists(length, ["x"], max_units=10).filter(bool))
    units = [
        Unit(f"coder{i}", u.start, u.end, u.category) for i in range(n_coders) for u in template
    ]
    result = unitizing_alpha(units, length=length)
    assert result.u_alpha == 1.0
    assert all(value == 1.0 for value in result.per_category.values())
    assert all(value == 0.0 for value in result.observed.values())


@settings(max_examples=200, deadline=None)
@given(studies(min_coders=2), st.randoms(use_true_random=False))
def test_order_of_coders_and_units_does_not_matter(
    study: tuple[list[Unit], int, list[str]], rnd: random.Random
) -> None:
    units, length, coders = study
    before = unitizing_alpha(units, length=length, coders=coders)
    units_shuffled = list(units)
    coders_shuffled = list(coders)
    rnd.shuffle(units_shuffled)
    rnd.shuffle(coders_shuffled)
    after = unitizing_alpha(units_shuffled, length=length, coders=coders_shuffled)
    assert after.u_alpha == before.u_alpha
    assert after.per_category == before.per_category
    assert after.observed == before.observed
    assert after.expected == before.expected
    assert after.units_per_coder == before.units_per_coder
    assert after.merged == before.merged


@settings(max_examples=200, deadline=None)
@given(studies(min_coders=2))
def test_mirroring_the_continuum_changes_nothing(
    study: tuple[list[Unit], int, list[str]],
) -> None:
    # Exact for every input: reversing [0, L) swaps the roles of starts and ends, and the
    # distance (and every gap length) is symmetric in them.
    units, length, coders = study
    before = unitizing_alpha(units, length=length, coders=coders)
    after = unitizing_alpha(mirrored(units, length), length=length, coders=coders)
    assert_same_alphas(after, before)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_shift_within_fixed_length_with_wide_margins_changes_nothing(
    data: st.DataObject,
) -> None:
    # Shifting moves k positions from every coder's trailing gap to its leading gap.  Both
    # gaps enter D_e through sum over units with l <= g of (g - l + 1) * l**2, which is linear
    # in g once g is at least the longest unit; so when the margins on both sides stay at
    # least that long the sum over the two gaps, and hence alpha, is exactly unchanged.
    window = data.draw(st.integers(1, 20))
    k = data.draw(st.integers(0, 15))
    coders = [f"coder{i}" for i in range(data.draw(st.integers(2, 4)))]
    inner = data.draw(unit_lists(window, coders))
    pad = window + k  # no merged unit can be longer than the window
    length = window + 2 * pad
    before = unitizing_alpha(shifted(inner, pad), length=length, coders=coders)
    after = unitizing_alpha(shifted(inner, pad + k), length=length, coders=coders)
    assert_same_alphas(after, before)
    assert after.observed == pytest.approx(before.observed, rel=1e-12)


@settings(max_examples=200, deadline=None)
@given(studies(min_coders=2), st.integers(1, 30))
def test_shift_into_longer_continuum_keeps_only_the_raw_observed_sum(
    study: tuple[list[Unit], int, list[str]], k: int
) -> None:
    # Shifting everything by k inside a continuum of length L + k (so that only the leading
    # gaps grow) leaves every segment distance as it was, so D_o * L**2 is invariant.  Alpha
    # itself is not: D_o is divided by (L + k)**2 and D_e changes with the longer gaps (see
    # test_shift_into_longer_continuum_changes_alpha).
    units, length, coders = study
    before = unitizing_alpha(units, length=length, coders=coders)
    after = unitizing_alpha(shifted(units, k), length=length + k, coders=coders)
    for category, value in before.observed.items():
        assert after.observed[category] * (length + k) ** 2 == pytest.approx(
            value * length**2, rel=1e-12
        )


def test_shift_into_longer_continuum_changes_alpha() -> None:
    # Documents that the naive "shift inside L + k" invariance does not hold for the formula.
    units = [Unit("a", 10, 20, "x"), Unit("b", 12, 22, "x"), Unit("b", 30, 33, "x")]
    base = unitizing_alpha(units, length=40).u_alpha
    longer = unitizing_alpha(shifted(units, 5), length=45).u_alpha
    assert base is not None and longer is not None
    assert longer != pytest.approx(base, abs=1e-3)


# ---------------------------------------------------------------------------------------------
# Undefined and degenerate cases
# ---------------------------------------------------------------------------------------------


def test_no_units_is_undefined() -> None:
    result = unitizing_alpha([], length=10, coders=["a", "b"])
    assert result.u_alpha is None
    assert result.per_category == {}
    assert len(result.reasons) == 1
    assert "no coder marked any unit" in result.reasons[0]
    assert result.units_per_coder == {"a": 0, "b": 0}


def test_no_units_and_no_coders_is_undefined() -> None:
    result = unitizing_alpha([], length=10)
    assert result.u_alpha is None
    assert result.coders == 0
    assert result.reasons and "two coders" in result.reasons[-1]


def test_one_coder_is_undefined() -> None:
    result = unitizing_alpha([Unit("a", 0, 3, "x"), Unit("a", 5, 6, "y")], length=10)
    assert result.u_alpha is None
    assert result.per_category == {"x": None, "y": None}
    # One reason for each undefined value.
    assert len(result.reasons) == 3
    assert result.reasons[0].startswith("category 'x':")
    assert result.reasons[1].startswith("category 'y':")
    assert result.reasons[2].startswith("overall:")
    assert result.observed == {} and result.expected == {}


def test_coder_who_marked_nothing_still_counts() -> None:
    alone = unitizing_alpha([Unit("a", 2, 5, "x")], length=10)
    assert alone.u_alpha is None
    with_silent = unitizing_alpha([Unit("a", 2, 5, "x")], length=10, coders=["a", "b"])
    assert with_silent.coders == 2
    assert with_silent.units_per_coder == {"a": 1, "b": 0}
    assert with_silent.u_alpha is not None and with_silent.u_alpha < 0.5
    # The silent coder's whole-continuum gap enters D_e as well.
    assert_matches_reference([Unit("a", 2, 5, "x")], 10, ["a", "b"])
    assert_matches_reference([Unit("a", 2, 5, "x"), Unit("b", 2, 5, "x")], 10, ["a", "b", "c"])


@pytest.mark.parametrize(
    ("length", "spans"),
    [(1, [(0, 1)]), (3, [(0, 1), (1, 2), (2, 3)])],
)
def test_zero_observed_and_expected_gives_one_with_note(
    length: int, spans: list[tuple[int, int]]
) -> None:
    # Everyone tiles the whole continuum with units of length one: nothing could have gone
    # differently, so D_e is 0 as well as D_o.
    units = [Unit(c, s, e, "x") for c in ("a", "b") for s, e in spans]
    result = unitizing_alpha(units, length=length)
    assert result.observed == {"x": 0.0} and result.expected == {"x": 0.0}
    assert result.u_alpha == 1.0
    assert result.per_category == {"x": 1.0}
    assert result.reasons == []
    assert len(result.notes) == 2
    assert "both 0" in result.notes[0]


def test_zero_expected_with_positive_observed_is_undefined() -> None:
    # Not reachable with at least two coders through the public function (D_e = 0 forces
    # identical tilings), so the decision rule is checked directly.
    reasons: list[str] = []
    notes: list[str] = []
    assert _alpha(Fraction(1, 7), Fraction(0), "category 'z'", reasons, notes) is None
    assert reasons == [
        "category 'z': expected disagreement is 0 while observed disagreement is positive"
    ]
    assert notes == []


# ---------------------------------------------------------------------------------------------
# Merging
# ---------------------------------------------------------------------------------------------


def test_overlapping_units_of_one_coder_are_merged() -> None:
    other = [Unit("b", 1, 8, "x")]
    merged = unitizing_alpha([Unit("a", 0, 5, "x"), Unit("a", 3, 9, "x"), *other], length=12)
    union = unitizing_alpha([Unit("a", 0, 9, "x"), *other], length=12)
    assert merged.merged == 1
    assert union.merged == 0
    assert merged.units_per_coder == {"a": 1, "b": 1}
    assert merged.u_alpha == union.u_alpha
    assert merged.per_category == union.per_category


def test_chains_nested_and_duplicate_units_merge() -> None:
    units = [
        Unit("a", 0, 4, "x"),
        Unit("a", 3, 6, "x"),
        Unit("a", 5, 9, "x"),  # chain 0..9
        Unit("a", 1, 2, "x"),  # nested
        Unit("a", 12, 14, "x"),
        Unit("a", 12, 14, "x"),  # duplicate
        Unit("b", 0, 9, "x"),
    ]
    result = unitizing_alpha(units, length=20)
    assert result.merged == 4
    assert result.units_per_coder == {"a": 2, "b": 1}
    assert_matches_reference(units, 20, ["a", "b"])


def test_touching_units_stay_two() -> None:
    other = [Unit("b", 0, 9, "x")]
    touching = unitizing_alpha([Unit("a", 0, 5, "x"), Unit("a", 5, 9, "x"), *other], length=12)
    assert touching.merged == 0
    assert touching.units_per_coder == {"a": 2, "b": 1}
    one_unit = unitizing_alpha([Unit("a", 0, 9, "x"), *other], length=12)
    assert one_unit.u_alpha == 1.0
    assert touching.u_alpha is not None and touching.u_alpha < 1.0


def test_units_of_different_categories_or_coders_do_not_merge() -> None:
    units = [
        Unit("a", 0, 5, "x"),
        Unit("a", 3, 9, "y"),
        Unit("b", 2, 7, "x"),
        Unit("b", 4, 8, "y"),
    ]
    result = unitizing_alpha(units, length=10)
    assert result.merged == 0
    assert result.units_per_coder == {"a": 2, "b": 2}


# ---------------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"start": -1, "end": 3}, "start must be >= 0"),
        ({"start": 3, "end": 3}, "end must be greater than start"),
        ({"start": 4, "end": 3}, "end must be greater than start"),
        ({"start": 1.5, "end": 3}, "start must be an integer"),
        ({"start": "1", "end": 3}, "start must be an integer"),
        ({"start": 0, "end": True}, "end must be an integer"),
        ({"coder": "", "start": 0, "end": 3}, "coder must be a non-empty string"),
        ({"category": "", "start": 0, "end": 3}, "category must be a non-empty string"),
        ({"coder": 7, "start": 0, "end": 3}, "coder must be a non-empty string"),
    ],
)
def test_invalid_units_are_rejected(kwargs: dict, message: str) -> None:
    fields = {"coder": "a", "category": "x", **kwargs}
    with pytest.raises(ValueError, match=message):
        Unit(**fields)


def test_numpy_integers_are_accepted_as_positions() -> None:
    unit = Unit("a", np.int64(2), np.int32(5), "x")
    assert type(unit.start) is int and type(unit.end) is int
    assert (unit.start, unit.end) == (2, 5)


def test_unit_beyond_the_continuum_is_rejected() -> None:
    with pytest.raises(ValueError, match="ends beyond the continuum length 10"):
        unitizing_alpha([Unit("a", 5, 11, "x")], length=10)
    unitizing_alpha([Unit("a", 5, 10, "x")], length=10)  # end == L is fine


@pytest.mark.parametrize("length", [0, -5, 2.0, "10", None, True])
def test_invalid_length_is_rejected(length: object) -> None:
    with pytest.raises(ValueError, match="continuum length must be"):
        unitizing_alpha([], length=length)  # type: ignore[arg-type]


def test_coder_lists_are_checked() -> None:
    units = [Unit("a", 0, 2, "x"), Unit("b", 0, 2, "x")]
    with pytest.raises(ValueError, match=r"missing from the coders list: \['b'\]"):
        unitizing_alpha(units, length=5, coders=["a"])
    with pytest.raises(ValueError, match="listed more than once"):
        unitizing_alpha(units, length=5, coders=["a", "b", "a"])
    with pytest.raises(ValueError, match="non-empty strings"):
        unitizing_alpha(units, length=5, coders=["a", "b", ""])
    with pytest.raises(ValueError, match="not the string 'ab'"):
        unitizing_alpha(units, length=5, coders="ab")


def test_non_units_are_rejected() -> None:
    with pytest.raises(ValueError, match="expected Unit instances"):
        unitizing_alpha([("a", 0, 2, "x")], length=5)  # type: ignore[list-item]


# ---------------------------------------------------------------------------------------------
# Result and CSV
# ---------------------------------------------------------------------------------------------


def test_to_json_dict_is_plain_json() -> None:
    result = unitizing_alpha([Unit("a", 0, 3, "x")], length=10)
    data = result.to_json_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["u_alpha"] is None
    assert data["per_category"] == {"x": None}
    assert len(data["reasons"]) == 2
    full = unitizing_alpha(krippendorff_2004_example(), length=300).to_json_dict()
    assert json.loads(json.dumps(full)) == full
    assert set(full) == {
        "u_alpha", "per_category", "observed", "expected", "reasons", "notes",
        "coders", "units_per_coder", "length", "merged",
    }  # fmt: skip
    assert isinstance(result, UnitizingResult)


def test_csv_round_trip_keeps_silent_coders() -> None:
    units = [Unit("ann, senior", 0, 4, "x"), Unit("bob", 2, 6, "y"), Unit("bob", 7, 9, "x")]
    lines = list(write_units_csv(units, ["ann, senior", "bob", "carl"]))
    assert lines[0] == "coder,start,end,category\n"
    assert lines[-1] == "carl,,,\n"
    assert lines[1] == '"ann, senior",0,4,x\n'
    parsed_units, parsed_coders = read_units_csv(lines)
    assert parsed_units == units
    assert parsed_coders == ["ann, senior", "bob", "carl"]
    # Works just as well on the joined text split into lines without newlines.
    assert read_units_csv("".join(lines).splitlines()) == (units, parsed_coders)


def test_read_units_csv_tolerates_bom_blank_lines_and_spaces() -> None:
    text = "\ufeffcoder, start ,end,category\n\n a ,0, 3,x\nb,,,\n\n"
    units, coders = read_units_csv(text.splitlines())
    assert units == [Unit("a", 0, 3, "x")]
    assert coders == ["a", "b"]
    result = unitizing_alpha(units, length=5, coders=coders)
    assert result.coders == 2


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (["a,0,3,x"], "line 1: expected the header"),
        ([], "missing the header"),
        (["coder,start,end,category", "a,0,3"], "line 2: expected 4 fields"),
        (["coder,start,end,category", "a,0,3,x,y"], "line 2: expected 4 fields"),
        (["coder,start,end,category", "a,0,3,x", ",0,3,x"], "line 3: the coder field is empty"),
        (["coder,start,end,category", "a,0,,x"], "line 2: a unit needs start, end and category"),
        (["coder,start,end,category", "a,0,3,"], "line 2: a unit needs start, end and category"),
        (["coder,start,end,category", "a,x,3,c"], "line 2: start must be an integer"),
        (["coder,start,end,category", "a,0,2.5,c"], "line 2: end must be an integer"),
        (["coder,start,end,category", "a,1_0,20,c"], "line 2: start must be an integer"),
        (["coder,start,end,category", "", "a,-1,3,c"], "line 3: unit start must be >= 0"),
        (["coder,start,end,category", "a,4,4,c"], "line 2: unit end must be greater"),
    ],
)
def test_read_units_csv_rejects_bad_rows(rows: list[str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        read_units_csv(rows)


def test_write_units_csv_checks_input_at_call() -> None:
    with pytest.raises(ValueError, match="missing from the coders list"):
        write_units_csv([Unit("a", 0, 1, "x")], ["b"])
    assert list(write_units_csv([Unit("a", 0, 1, "x")])) == [
        "coder,start,end,category\n",
        "a,0,1,x\n",
    ]
