"""Agreement statistics: published worked examples, reference implementations, properties."""

import math
import warnings
from itertools import combinations
from random import Random

import krippendorff
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nltk.metrics.agreement import AnnotationTask
from nltk.metrics.distance import interval_distance
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import aggregate_raters
from statsmodels.stats.inter_rater import fleiss_kappa as statsmodels_fleiss_kappa

from negotiations.reliability.agreement import (
    LEVELS,
    MISSING,
    ReliabilityData,
    ReliabilityFileError,
    Result,
    _alphas_for_weights,
    _numeric_scale,
    _Tally,
    _unit_coincidences,
    all_statistics,
    bootstrap_alpha,
    cohen_kappa,
    cohen_kappa_matrix,
    decode_reliability_csv,
    fleiss_kappa,
    gwet_ac1,
    krippendorff_alpha,
    percent_agreement,
    read_reliability_csv,
)

N = None

# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section C: 4 observers,
# 12 units, values 1-5, missing data. Rows are units, columns observers A-D.
KRIPPENDORFF_2011 = [
    [1, 1, N, 1],
    [2, 2, 3, 2],
    [3, 3, 3, 3],
    [3, 3, 3, 3],
    [2, 2, 2, 2],
    [1, 2, 3, 4],
    [4, 4, 4, 4],
    [1, 1, 2, 1],
    [2, 2, 2, 2],
    [N, 5, 5, 5],
    [N, N, 1, 1],
    [N, 3, N, N],
]

# Fleiss' kappa example of the Wikipedia article "Fleiss' kappa": 10 subjects, 14 raters,
# 5 categories; each row counts the raters per category. Published: P-bar 0.378, P_e 0.213,
# kappa 0.210.
FLEISS_WIKIPEDIA = [
    [0, 0, 0, 0, 14],
    [0, 2, 6, 4, 2],
    [0, 0, 3, 5, 6],
    [0, 3, 9, 2, 0],
    [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0],
    [3, 2, 6, 3, 0],
    [2, 5, 3, 2, 2],
    [6, 5, 2, 1, 0],
    [0, 2, 2, 3, 7],
]

# irrCAC's distrib.6raters (Gwet's R package, README): 15 patients, 6 psychiatrists, 5 diagnoses.
# Published: p_a 0.5511111, Fleiss 0.4139265 (p_e 0.2340741), AC1 0.4448007 (p_e 0.1914815),
# Krippendorff's alpha 0.4204384.
DISTRIB_6RATERS = [
    [0, 0, 0, 6, 0],
    [0, 3, 0, 0, 3],
    [0, 1, 4, 0, 1],
    [0, 0, 0, 0, 6],
    [0, 3, 0, 3, 0],
    [2, 0, 4, 0, 0],
    [0, 0, 4, 0, 2],
    [2, 0, 3, 1, 0],
    [2, 0, 0, 4, 0],
    [0, 0, 0, 0, 6],
    [1, 0, 0, 5, 0],
    [1, 1, 0, 4, 0],
    [0, 3, 3, 0, 0],
    [1, 0, 0, 5, 0],
    [0, 2, 0, 3, 1],
]

# irrCAC's cont3x3abstractors (README): two abstractors, 100 pregnancies, 3 categories;
# rows rater 1, columns rater 2. Published: Cohen 0.7964094, Scott's pi 0.7962397,
# AC1 0.8493305, Krippendorff's alpha 0.7972585, percent agreement 0.89.
CONT3X3_ABSTRACTORS = [
    [13, 0, 0],
    [0, 20, 7],
    [0, 4, 56],
]


def rows_from_distribution(table: list[list[int]]) -> list[list[object]]:
    """Raw rows from a units x categories count table (coder order within a unit is arbitrary)."""
    rows = []
    for counts in table:
        rows.append([category for category, count in enumerate(counts) for _ in range(count)])
    return rows


def rows_from_contingency(table: list[list[int]]) -> list[list[object]]:
    """Two-coder rows from a contingency table (rows: first coder, columns: second coder)."""
    return [
        [first, second]
        for first, line in enumerate(table)
        for second, count in enumerate(line)
        for _ in range(count)
    ]


def assert_undefined(result: Result, reason_part: str) -> None:
    assert result.value is None
    assert result.undefined_reason is not None
    assert reason_part in result.undefined_reason


# --------------------------------------------------------------------------------------------
# Published worked examples


@pytest.mark.parametrize(
    ("level", "published"),
    [("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849), ("ratio", 0.797)],
)
def test_krippendorff_2011_four_coders_with_missing(level: str, published: float) -> None:
    data = ReliabilityData.from_rows(KRIPPENDORFF_2011, level=level)
    result = krippendorff_alpha(data, level)

    assert round(result.value, 3) == published
    reference = krippendorff.alpha(
        reliability_data=np.array(KRIPPENDORFF_2011, dtype=float).T, level_of_measurement=level
    )
    assert round(reference, 3) == published
    assert result.value == pytest.approx(reference, abs=1e-12)
    assert (result.n_units, result.n_pairable_units, result.n_coders) == (12, 11, 4)


def test_krippendorff_2011_coincidence_matrix() -> None:
    # Worked out by hand from the data: e.g. o[1, 3] only from unit 6 (values 1, 2, 3, 4):
    # 1 * 1 / (4 - 1); o[5, 5] from unit 10 (5, 5, 5): 3 * 2 / (3 - 1). Margins 9, 13, 10, 5, 3
    # and n = 40 pairable values, as in the paper.
    published = [
        [7, 4 / 3, 1 / 3, 1 / 3, 0],
        [4 / 3, 10, 4 / 3, 1 / 3, 0],
        [1 / 3, 4 / 3, 8, 1 / 3, 0],
        [1 / 3, 1 / 3, 1 / 3, 4, 0],
        [0, 0, 0, 0, 3],
    ]
    tally = _Tally(ReliabilityData.from_rows(KRIPPENDORFF_2011))

    np.testing.assert_allclose(tally.coincidences, published, atol=1e-12)
    assert tally.pairable_values_per_category.tolist() == [9, 13, 10, 5, 3]


def test_ordinal_alpha_follows_the_given_order() -> None:
    # The krippendorff package documents the same data with ordered labels (alpha 0.815); a
    # different order of the same labels changes the ordinal alpha, in both implementations.
    labels = {1: "very low", 2: "low", 3: "mid", 4: "high", 5: "very high"}
    rows = [[labels.get(value) for value in row] for row in KRIPPENDORFF_2011]
    matrix = np.array([[labels.get(value, np.nan) for value in row] for row in KRIPPENDORFF_2011])
    scale = ["very low", "low", "mid", "high", "very high"]
    shuffled = ["mid", "very low", "high", "low", "very high"]

    ordered = ReliabilityData.from_rows(rows, order=scale, level="ordinal")
    reordered = ReliabilityData.from_rows(rows, order=shuffled, level="ordinal")

    assert round(krippendorff_alpha(ordered, "ordinal").value, 3) == 0.815
    reference = krippendorff.alpha(
        reliability_data=matrix.T, value_domain=shuffled, level_of_measurement="ordinal"
    )
    assert krippendorff_alpha(reordered, "ordinal").value == pytest.approx(reference, abs=1e-12)
    assert round(reference, 3) != 0.815
    assert krippendorff_alpha(reordered, "nominal").value == pytest.approx(0.743, abs=5e-4)


def test_krippendorff_2011_binary_two_coders() -> None:
    # Krippendorff (2011), section A, binary data, two observers, 10 units. The values are our
    # reconstruction; they reproduce the paper's coincidence matrix (o00 = 10, o01 = o10 = 4,
    # o11 = 2) and its alpha = 1 - (20 - 1) * 4 / (14 * 6) = 0.095.
    first = [0, 1, 0, 0, 0, 0, 0, 0, 1, 0]
    second = [1, 1, 1, 0, 0, 1, 0, 0, 0, 0]
    data = ReliabilityData.from_rows(list(zip(first, second, strict=True)))

    np.testing.assert_allclose(_Tally(data).coincidences, [[10, 4], [4, 2]])
    assert krippendorff_alpha(data).value == pytest.approx(1 - 19 * 4 / (14 * 6), abs=1e-12)
    assert round(krippendorff_alpha(data).value, 3) == 0.095


def test_gwet_published_raw_ratings_with_missing() -> None:
    # irrCAC README (Gwet's own package) on cac.raw4raters, which is the Krippendorff (2011)
    # 4 x 12 data: percent agreement 0.8181818, AC1 0.77544 (p_e 0.1903212), Fleiss' kappa in
    # Gwet's generalisation 0.76117 (p_e 0.2387153), Krippendorff's alpha 0.74342.
    data = ReliabilityData.from_rows(KRIPPENDORFF_2011)

    assert percent_agreement(data).value == pytest.approx(0.8181818, abs=5e-8)
    assert gwet_ac1(data).value == pytest.approx(0.77544, abs=5e-6)
    assert fleiss_kappa(data).value == pytest.approx(0.76117, abs=5e-6)
    assert krippendorff_alpha(data).value == pytest.approx(0.74342, abs=5e-6)


def test_gwet_generalisation_by_hand() -> None:
    # The same 4 x 12 data written out. Units 1-11 have two or more values; their share of
    # agreeing pairs: 1, 3/6, 1, 1, 1, 0, 1, 3/6, 1, 1, 1, so p_a = 9 / 11.
    pa = 9 / 11
    # pi_c averages each unit's shares over all 12 units with a value (unit 12 included):
    # value 1: 1 + 1/4 + 3/4 + 1; value 2: 3/4 + 1 + 1/4 + 1/4 + 1;
    # value 3: 1/4 + 1 + 1 + 1/4 + 1; value 4: 1/4 + 1; value 5: 1.
    pi = np.array([3, 3.25, 3.5, 1.25, 1]) / 12
    fleiss_pe = float(pi @ pi)
    ac1_pe = float(pi @ (1 - pi)) / (5 - 1)
    data = ReliabilityData.from_rows(KRIPPENDORFF_2011)

    assert fleiss_pe == pytest.approx(0.2387153, abs=5e-8)
    assert ac1_pe == pytest.approx(0.1903212, abs=5e-8)
    assert fleiss_kappa(data).value == pytest.approx((pa - fleiss_pe) / (1 - fleiss_pe))
    assert gwet_ac1(data).value == pytest.approx((pa - ac1_pe) / (1 - ac1_pe))


def test_fleiss_wikipedia_example() -> None:
    data = ReliabilityData.from_rows(rows_from_distribution(FLEISS_WIKIPEDIA))

    assert round(percent_agreement(data).value, 3) == 0.378
    assert round(fleiss_kappa(data).value, 3) == 0.210
    assert fleiss_kappa(data).value == pytest.approx(
        statsmodels_fleiss_kappa(np.array(FLEISS_WIKIPEDIA)), abs=1e-12
    )


def test_gwet_published_distribution_example() -> None:
    data = ReliabilityData.from_rows(rows_from_distribution(DISTRIB_6RATERS))

    assert percent_agreement(data).value == pytest.approx(0.5511111, abs=5e-8)
    assert fleiss_kappa(data).value == pytest.approx(0.4139265, abs=5e-8)
    assert gwet_ac1(data).value == pytest.approx(0.4448007, abs=5e-8)
    assert krippendorff_alpha(data).value == pytest.approx(0.4204384, abs=5e-8)


def test_gwet_published_two_rater_table() -> None:
    data = ReliabilityData.from_rows(rows_from_contingency(CONT3X3_ABSTRACTORS))

    assert percent_agreement(data).value == pytest.approx(0.89)
    assert cohen_kappa(data).value == pytest.approx(0.7964094, abs=5e-8)
    # With two coders and no missing value, Fleiss' kappa is Scott's pi.
    assert fleiss_kappa(data).value == pytest.approx(0.7962397, abs=5e-8)
    assert gwet_ac1(data).value == pytest.approx(0.8493305, abs=5e-8)
    assert krippendorff_alpha(data).value == pytest.approx(0.7972585, abs=5e-8)


def test_cohen_textbook_example() -> None:
    # 50 units: both yes 20, first yes / second no 5, first no / second yes 10, both no 15.
    # p_o = 35/50 = 0.7, p_e = 0.5 * 0.6 + 0.5 * 0.4 = 0.5, kappa = 0.4.
    data = ReliabilityData.from_rows(rows_from_contingency([[20, 5], [10, 15]]))
    result = cohen_kappa(data)

    assert result.value == pytest.approx(0.4, abs=1e-12)
    assert (result.n_units, result.n_pairable_units, result.n_coders) == (50, 50, 2)


# --------------------------------------------------------------------------------------------
# Reference implementations on fixed data


def nltk_task(data: ReliabilityData, distance=None) -> AnnotationTask:
    triples = [
        (coder, unit, data.categories[code])
        for unit, row in zip(data.units, data.values, strict=True)
        for coder, code in zip(data.coders, row, strict=True)
        if code != MISSING
    ]
    if distance is None:
        return AnnotationTask(data=triples)
    return AnnotationTask(data=triples, distance=distance)


def test_nltk_agrees_on_the_krippendorff_example() -> None:
    data = ReliabilityData.from_rows(KRIPPENDORFF_2011, level="interval")

    assert krippendorff_alpha(data).value == pytest.approx(nltk_task(data).alpha(), abs=1e-12)
    assert krippendorff_alpha(data, "interval").value == pytest.approx(
        nltk_task(data, interval_distance).alpha(), abs=1e-12
    )


def test_nltk_agrees_on_complete_data() -> None:
    data = ReliabilityData.from_rows(rows_from_distribution(DISTRIB_6RATERS))
    task = nltk_task(data)

    # nltk's multi-pi (Fleiss 1971) and average pairwise observed agreement.
    assert fleiss_kappa(data).value == pytest.approx(task.pi(), abs=1e-12)
    assert percent_agreement(data).value == pytest.approx(task.avg_Ao(), abs=1e-12)


def test_sklearn_and_nltk_agree_on_cohen() -> None:
    data = ReliabilityData.from_rows(rows_from_contingency(CONT3X3_ABSTRACTORS))
    first, second = data.values.T

    assert cohen_kappa(data).value == pytest.approx(cohen_kappa_score(first, second), abs=1e-12)
    assert cohen_kappa(data).value == pytest.approx(nltk_task(data).kappa(), abs=1e-12)


def test_cohen_matrix_matches_sklearn_per_pair() -> None:
    data = ReliabilityData.from_rows(KRIPPENDORFF_2011)
    matrix = cohen_kappa_matrix(data)

    assert list(matrix) == list(combinations(data.coders, 2))
    for (name_a, name_b), result in matrix.items():
        a = data.values[:, data.coders.index(name_a)]
        b = data.values[:, data.coders.index(name_b)]
        both = (a != MISSING) & (b != MISSING)
        assert result.n_pairable_units == int(both.sum())
        assert result.value == pytest.approx(cohen_kappa_score(a[both], b[both]), abs=1e-12)


# --------------------------------------------------------------------------------------------
# Properties over random data


@st.composite
def reliability_data(
    draw: st.DrawFn,
    level: str | None = None,
    min_coders: int = 2,
    max_coders: int = 10,
    complete: bool = False,
) -> tuple[ReliabilityData, str]:
    level = level or draw(st.sampled_from(LEVELS))
    n_coders = draw(st.integers(min_coders, max_coders))
    n_units = draw(st.integers(1, 25))
    n_categories = draw(st.integers(1, 6))
    if level == "interval":
        numbers = st.integers(-400, 400).map(lambda x: x / 4)
    elif level == "ratio":
        numbers = st.integers(0, 400).map(lambda x: x / 4)
    else:
        numbers = st.integers(0, 20)
    values = draw(st.lists(numbers, min_size=n_categories, max_size=n_categories, unique=True))
    cell = st.sampled_from(values)
    if not complete:
        cell = st.one_of(st.none(), cell)
    rows = draw(
        st.lists(
            st.lists(cell, min_size=n_coders, max_size=n_coders),
            min_size=n_units,
            max_size=n_units,
        )
    )
    return ReliabilityData.from_rows(rows, level=level), level


def reference_alpha(data: ReliabilityData, level: str) -> float | None:
    """krippendorff.alpha on the same data (coders x units), None where it gives no number."""
    if not data.categories:
        return None  # the package refuses an empty value domain
    scale = _numeric_scale(data, level)
    domain = scale if scale is not None else np.arange(len(data.categories), dtype=float)
    matrix = np.where(data.values == MISSING, np.nan, domain[np.maximum(data.values, 0)])
    try:
        with np.errstate(divide="ignore", invalid="ignore"):
            value = krippendorff.alpha(
                reliability_data=matrix.T, value_domain=domain, level_of_measurement=level
            )
    except ValueError:
        return None
    return None if math.isnan(value) else float(value)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(reliability_data())
def test_alpha_equals_krippendorff_package(case: tuple[ReliabilityData, str]) -> None:
    data, level = case
    ours = krippendorff_alpha(data, level)
    reference = reference_alpha(data, level)

    if reference is None:
        assert ours.value is None
        assert ours.undefined_reason
    else:
        assert ours.value == pytest.approx(reference, abs=1e-9)


@settings(max_examples=150, deadline=None)
@given(reliability_data(level="nominal"))
def test_nominal_alpha_equals_nltk(case: tuple[ReliabilityData, str]) -> None:
    data, _ = case
    ours = krippendorff_alpha(data)
    if ours.value is not None:
        assert ours.value == pytest.approx(nltk_task(data).alpha(), abs=1e-9)


@settings(max_examples=200, deadline=None)
@given(reliability_data(min_coders=1))
def test_every_statistic_is_a_number_in_range_or_undefined(
    case: tuple[ReliabilityData, str],
) -> None:
    data, level = case
    stats = all_statistics(data, level)
    results = [
        stats["percent_agreement"],
        stats["cohen_kappa"],
        stats["fleiss_kappa"],
        stats["gwet_ac1"],
        stats["krippendorff_alpha"],
        *stats["cohen_kappa_matrix"].values(),
    ]
    for result in results:
        if result.value is None:
            assert result.undefined_reason
        else:
            assert result.undefined_reason is None
            assert math.isfinite(result.value)
            assert result.value <= 1 + 1e-12
    if stats["percent_agreement"].value is not None:
        assert 0 <= stats["percent_agreement"].value <= 1


@settings(max_examples=150, deadline=None)
@given(reliability_data(level="nominal", complete=True))
def test_fleiss_equals_statsmodels_on_complete_data(case: tuple[ReliabilityData, str]) -> None:
    data, _ = case
    table, _ = aggregate_raters(data.values, n_cat=len(data.categories))
    with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        reference = statsmodels_fleiss_kappa(table)
    ours = fleiss_kappa(data)

    if math.isnan(reference):
        assert ours.value is None
    else:
        assert ours.value == pytest.approx(reference, abs=1e-9)
        assert ours.value == pytest.approx(nltk_task(data).pi(), abs=1e-9)


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_fleiss_with_equal_values_per_unit_is_fleiss_1971(data_strategy: st.DataObject) -> None:
    # Every unit coded by the same number r of the coders, different coders per unit: Gwet's
    # generalisation must reduce to Fleiss (1971) on the units x categories table.
    n_coders = data_strategy.draw(st.integers(3, 8))
    r = data_strategy.draw(st.integers(2, n_coders))
    n_units = data_strategy.draw(st.integers(1, 20))
    rows = []
    for _ in range(n_units):
        coders = data_strategy.draw(st.permutations(range(n_coders)))[:r]
        values = data_strategy.draw(st.lists(st.integers(0, 3), min_size=r, max_size=r))
        row: list[object] = [None] * n_coders
        for coder, value in zip(coders, values, strict=True):
            row[coder] = value
        rows.append(row)
    data = ReliabilityData.from_rows(rows, order=[0, 1, 2, 3])
    table = np.array([[row.count(value) for value in range(4)] for row in rows])
    with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        reference = statsmodels_fleiss_kappa(table)

    ours = fleiss_kappa(data)
    if math.isnan(reference):
        assert ours.value is None
    else:
        assert ours.value == pytest.approx(reference, abs=1e-9)


@settings(max_examples=150, deadline=None)
@given(reliability_data(level="nominal", min_coders=2, max_coders=2))
def test_cohen_equals_sklearn(case: tuple[ReliabilityData, str]) -> None:
    data, _ = case
    first, second = data.values.T
    both = (first != MISSING) & (second != MISSING)
    ours = cohen_kappa(data)

    assert ours.n_pairable_units == int(both.sum())
    if not both.any():
        assert ours.value is None
        return
    with warnings.catch_warnings():
        # sklearn warns (and returns NaN) when there is a single label.
        warnings.simplefilter("ignore")
        reference = cohen_kappa_score(first[both], second[both])
    one_sided = len(set(first[both])) == 1 or len(set(second[both])) == 1
    if math.isnan(reference) or one_sided:
        # sklearn gives 0 when only one coder has no variation; ours is undefined, with why.
        assert ours.value is None and "no variation" in ours.undefined_reason
    else:
        assert ours.value == pytest.approx(reference, abs=1e-9)


def test_kappa_with_one_coder_without_variation_is_undefined_not_zero() -> None:
    """99 of 100 units agree, but one coder read "none" throughout: kappa is not 0."""
    rows = [["none", "none"]] * 99 + [["none", "for"]]
    data = ReliabilityData.from_rows(rows, coders=["ann", "bo"])
    result = cohen_kappa(data)
    assert result.value is None
    assert result.undefined_reason == (
        "no variation: ann used one category (none) on every unit both coded"
    )
    assert percent_agreement(data).value == pytest.approx(0.99)


@settings(max_examples=100, deadline=None)
@given(reliability_data(), st.randoms(use_true_random=False))
def test_statistics_ignore_the_order_of_units_and_coders(
    case: tuple[ReliabilityData, str], random: Random
) -> None:
    data, level = case
    unit_order = list(range(data.n_units))
    coder_order = list(range(data.n_coders))
    random.shuffle(unit_order)
    random.shuffle(coder_order)
    shuffled = ReliabilityData(
        values=data.values[unit_order][:, coder_order],
        categories=data.categories,
        coders=tuple(data.coders[i] for i in coder_order),
        units=tuple(data.units[u] for u in unit_order),
    )
    for statistic in (percent_agreement, fleiss_kappa, gwet_ac1):
        assert statistic(shuffled).value == pytest.approx(statistic(data).value, abs=1e-12)
    assert krippendorff_alpha(shuffled, level).value == pytest.approx(
        krippendorff_alpha(data, level).value, abs=1e-12
    )


# --------------------------------------------------------------------------------------------
# Undefined statistics


def test_all_values_identical() -> None:
    data = ReliabilityData.from_rows([["none", "none"], ["none", "none"], ["none", None]])

    assert percent_agreement(data).value == 1.0
    assert_undefined(krippendorff_alpha(data), "no variation")
    assert_undefined(fleiss_kappa(data), "no variation")
    assert_undefined(cohen_kappa(data), "no variation")
    assert_undefined(gwet_ac1(data), "single category")


def test_ac1_is_defined_when_one_category_of_a_larger_scale_is_used() -> None:
    # The case AC1 exists for: every coder says "none" on a four-value scale.
    data = ReliabilityData.from_rows(
        [["none", "none"], ["none", "none"]], order=["for", "against", "mixed", "none"]
    )

    assert gwet_ac1(data).value == 1.0
    assert_undefined(krippendorff_alpha(data), "no variation")


def test_a_single_coder() -> None:
    data = ReliabilityData.from_rows([[1], [2], [1]], coders=["ana"])
    stats = all_statistics(data, "nominal", bootstrap=50, seed=1)

    for name in ("percent_agreement", "fleiss_kappa", "gwet_ac1", "krippendorff_alpha"):
        assert_undefined(stats[name], "two or more coders")
    assert_undefined(stats["cohen_kappa"], "exactly two coders")
    assert stats["krippendorff_alpha"].ci95 is None
    assert stats["cohen_kappa_matrix"] == {}
    assert bootstrap_alpha(data, "nominal", 50, seed=1) is None


def test_no_pairable_unit() -> None:
    data = ReliabilityData.from_rows([[1, N, N], [N, 2, N], [N, N, 1], [N, N, N]])

    for statistic in (percent_agreement, fleiss_kappa, gwet_ac1, krippendorff_alpha):
        result = statistic(data)
        assert_undefined(result, "two or more coders")
        assert (result.n_units, result.n_pairable_units, result.n_coders) == (3, 0, 3)
    for result in cohen_kappa_matrix(data).values():
        assert_undefined(result, "coded by both")


def test_cohen_with_three_coders_is_undefined_but_the_matrix_is_not() -> None:
    data = ReliabilityData.from_rows(KRIPPENDORFF_2011[:9], coders=["a", "b", "c", "d"])

    assert_undefined(cohen_kappa(data), "exactly two coders; the data has 4")
    three = ReliabilityData.from_rows([row[:3] for row in KRIPPENDORFF_2011[:9]])
    assert_undefined(cohen_kappa(three), "the data has 3")
    assert all(result.value is not None for result in cohen_kappa_matrix(three).values())


@pytest.mark.parametrize("level", LEVELS)
def test_empty_data_is_undefined_not_an_error(level: str) -> None:
    for data in (
        ReliabilityData.from_rows([], coders=["a", "b"]),
        ReliabilityData.from_rows([[N, N], [N, N]]),
    ):
        stats = all_statistics(data, level, bootstrap=10)
        assert stats["n_pairable_units"] == 0
        assert stats["krippendorff_alpha"].value is None
        assert stats["fleiss_kappa"].value is None


# --------------------------------------------------------------------------------------------
# Bootstrap


def typical_data(n_units: int = 200, seed: int = 7) -> ReliabilityData:
    """Three coders who agree with a true value 80% of the time; 10% missing."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 4, size=n_units)
    values = np.where(
        rng.random((n_units, 3)) < 0.8, truth[:, None], rng.integers(0, 4, (n_units, 3))
    )
    values[rng.random(values.shape) < 0.1] = MISSING
    return ReliabilityData(
        values=values,
        categories=(0, 1, 2, 3),
        coders=("a", "b", "c"),
        units=tuple(str(u) for u in range(n_units)),
    )


@pytest.mark.parametrize("level", LEVELS)
def test_bootstrap_is_reproducible_and_contains_the_estimate(level: str) -> None:
    data = typical_data()
    alpha = krippendorff_alpha(data, level).value

    low, high = bootstrap_alpha(data, level, n_resamples=500, seed=42)

    assert low <= alpha <= high
    assert high - low < 0.3
    assert bootstrap_alpha(data, level, n_resamples=500, seed=42) == (low, high)
    assert bootstrap_alpha(data, level, n_resamples=500, seed=43) != (low, high)


@settings(max_examples=50, deadline=None)
@given(reliability_data(), st.integers(0, 2**32 - 1))
def test_bootstrap_interval_is_ordered(case: tuple[ReliabilityData, str], seed: int) -> None:
    data, level = case
    interval = bootstrap_alpha(data, level, n_resamples=50, seed=seed)
    if krippendorff_alpha(data, level).value is None:
        assert interval is None
    elif interval is not None:
        low, high = interval
        assert low <= high <= 1 + 1e-12


@settings(max_examples=60, deadline=None)
@given(reliability_data(), st.lists(st.integers(0, 3), min_size=1, max_size=25))
def test_vectorised_resample_alphas_equal_the_package_on_repeated_units(
    case: tuple[ReliabilityData, str], drawn: list[int]
) -> None:
    # The bootstrap computes every resample's alpha from per-unit coincidences and counts of how
    # often each unit was drawn; repeating the units that often must give krippendorff.alpha.
    data, level = case
    tally = _Tally(data)
    if tally.n_pairable_units == 0:
        return
    weights = np.resize(np.array(drawn, dtype=float), tally.n_pairable_units)
    pairable = data.values[(data.values != MISSING).sum(axis=1) >= 2]
    repeated = ReliabilityData(
        values=np.repeat(pairable, weights.astype(int), axis=0),
        categories=data.categories,
        coders=data.coders,
        units=tuple(str(u) for u in range(int(weights.sum()))),
    )
    scale = _numeric_scale(data, level)

    ours = _alphas_for_weights(
        _unit_coincidences(tally),
        tally.pairable_counts.astype(float),
        weights[None, :],
        level,
        scale,
    )[0]

    reference = reference_alpha(repeated, level)
    if reference is None:
        assert math.isnan(ours)
    else:
        assert ours == pytest.approx(reference, abs=1e-9)


def test_bootstrap_rejects_no_resamples() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        bootstrap_alpha(typical_data(), "nominal", n_resamples=0)


# --------------------------------------------------------------------------------------------
# all_statistics


def test_all_statistics_matches_the_single_functions() -> None:
    data = ReliabilityData.from_rows(KRIPPENDORFF_2011, level="ordinal")
    stats = all_statistics(data, "ordinal", bootstrap=200, seed=5)

    assert (stats["n_units"], stats["n_coders"], stats["n_pairable_units"]) == (12, 4, 11)
    assert stats["percent_agreement"] == percent_agreement(data)
    assert stats["cohen_kappa"] == cohen_kappa(data)
    assert stats["cohen_kappa_matrix"] == cohen_kappa_matrix(data)
    assert stats["fleiss_kappa"] == fleiss_kappa(data)
    assert stats["gwet_ac1"] == gwet_ac1(data)
    alpha = stats["krippendorff_alpha"]
    assert alpha.value == krippendorff_alpha(data, "ordinal").value
    assert alpha.ci95 == bootstrap_alpha(data, "ordinal", 200, seed=5)


# --------------------------------------------------------------------------------------------
# Building ReliabilityData


def test_from_rows_category_order() -> None:
    assert ReliabilityData.from_rows([[3, 1], [2, None]]).categories == (1, 2, 3)
    assert ReliabilityData.from_rows([["b", "a"], ["c", None]]).categories == ("b", "a", "c")
    assert ReliabilityData.from_rows([["b", "a"]], order=["a", "b", "c"]).categories == (
        "a",
        "b",
        "c",
    )


def test_from_rows_codes_and_missing() -> None:
    data = ReliabilityData.from_rows(
        [["x", None], [float("nan"), "y"]], coders=["ana", "ben"], units=["s1", "s2"]
    )

    assert data.values.tolist() == [[0, MISSING], [MISSING, 1]]
    assert (data.coders, data.units) == (("ana", "ben"), ("s1", "s2"))
    with pytest.raises(ValueError, match="read-only"):
        data.values[0, 0] = 1


@pytest.mark.parametrize(
    ("rows", "kwargs", "message"),
    [
        ([["a", "b"], ["a"]], {}, "row 2 has 1 cells"),
        ([["a", "z"]], {"order": ["a", "b"]}, "not in order"),
        ([["a", "b"]], {"order": ["a", "a", "b"]}, "twice"),
        ([["1", 2]], {"level": "interval"}, "finite numbers"),
        ([[1, float("inf")]], {"level": "interval"}, "finite numbers"),
        ([[1, -2]], {"level": "ratio"}, "negative"),
        ([[1, 2]], {"level": "cardinal"}, "unknown level"),
        ([[1, 2]], {"units": ["u1", "u2"]}, "2 unit labels for 1 rows"),
        ([[1, 2]], {"coders": ["a", "a"]}, "duplicate coder"),
    ],
)
def test_from_rows_rejects_malformed_input(rows, kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        ReliabilityData.from_rows(rows, **kwargs)


def test_reliability_data_validates_codes_and_shape() -> None:
    with pytest.raises(ValueError, match="codes must lie"):
        ReliabilityData(np.array([[0, 2]]), ("a", "b"), ("x", "y"), ("u",))
    with pytest.raises(ValueError, match="shape"):
        ReliabilityData(np.array([[0, 1]]), ("a", "b"), ("x",), ("u",))
    with pytest.raises(ValueError, match="integer codes"):
        ReliabilityData(np.array([[0.5, 1]]), ("a", "b"), ("x", "y"), ("u",))


def test_interval_level_needs_numeric_categories() -> None:
    data = ReliabilityData.from_rows([["low", "high"], ["low", "low"]])

    with pytest.raises(ValueError, match="finite numbers"):
        krippendorff_alpha(data, "interval")


# --------------------------------------------------------------------------------------------
# Reliability CSV files (the command's parser, reused by the web app)


def test_read_csv() -> None:
    text = "\ufeffunit,ana,ben,cy\ns1,for,for,\ns2,against,,none\n\ns3,none,none,none\n"

    data = read_reliability_csv(text, "nominal", order=["for", "against", "mixed", "none"])

    assert data.coders == ("ana", "ben", "cy")
    assert data.units == ("s1", "s2", "s3")
    assert data.categories == ("for", "against", "mixed", "none")
    assert data.values.tolist() == [[0, 0, MISSING], [1, MISSING, 3], [3, 3, 3]]


def test_read_csv_numbers() -> None:
    text = "unit,a,b\n1,10,2\n2,2.5,\n3,1e1,10\n"

    ordinal = read_reliability_csv(text, "ordinal")
    nominal = read_reliability_csv(text, "nominal")

    assert ordinal.categories == (2, 2.5, 10)
    assert ordinal.values.tolist() == [[2, 0], [1, MISSING], [2, 2]]
    assert nominal.categories == ("10", "2", "2.5", "1e1")
    assert read_reliability_csv(text, "ratio").categories == (2, 2.5, 10)


@pytest.mark.parametrize(
    ("text", "level", "order", "line", "message"),
    [
        ("", "nominal", None, 1, "empty"),
        ("id,a,b\n1,x,y\n", "nominal", None, 1, "must start with 'unit'"),
        ("unit\n1\n", "nominal", None, 1, "no coder"),
        ("unit,a,a\n1,x,y\n", "nominal", None, 1, "'a' appears twice"),
        ("unit,a,b\n1,x,y\n2,x\n", "nominal", None, 3, "expected 3 cells"),
        ("unit,a,b\n1,x,y\n2,x,y,z\n", "nominal", None, 3, "found 4"),
        ("unit,a,b\n1,x,y\n2,x,y\n1,y,y\n", "nominal", None, 4, "already appears on line 2"),
        ("unit,a,b\n,x,y\n", "nominal", None, 2, "unit id is empty"),
        ("unit,a,b\n1,1,2\n2,3,high\n", "interval", None, 3, "must be numbers"),
        ("unit,a,b\n1,1,nan\n", "interval", None, 2, "must be numbers"),
        ("unit,a,b\n1,1,-2\n", "ratio", None, 2, "negative"),
        ("unit,a,b\n1,low,high\n2,low,mid\n", "ordinal", ["low", "high"], 3, "not in the given"),
        ('unit,a,b\n1,"x"y,z\n', "nominal", None, 2, "not valid CSV"),
    ],
)
def test_read_csv_names_the_line_at_fault(text, level, order, line, message) -> None:
    with pytest.raises(ReliabilityFileError, match=message) as error:
        read_reliability_csv(text, level, order)

    assert error.value.line == line
    assert str(error.value).startswith(f"line {line}:")


def test_decode_csv() -> None:
    assert decode_reliability_csv("\ufeffunit,a\n".encode()) == "unit,a\n"
    with pytest.raises(ReliabilityFileError, match="not UTF-8") as error:
        decode_reliability_csv(b"unit,a,b\n1,x,y\n2,\xe9,y\n")
    assert error.value.line == 3


def test_order_must_be_well_formed() -> None:
    with pytest.raises(ReliabilityFileError, match="twice"):
        read_reliability_csv("unit,a\n1,x\n", "nominal", ["x", "x"])
    with pytest.raises(ReliabilityFileError, match="empty value"):
        read_reliability_csv("unit,a\n1,x\n", "nominal", ["x", ""])
    with pytest.raises(ReliabilityFileError, match="must be numbers"):
        read_reliability_csv("unit,a\n1,1\n", "interval", ["1", "two"])


def test_grouped_bootstrap_matches_resampling_units_one_by_one() -> None:
    """Coded text repeats a few unit patterns; the grouped bootstrap must give the same interval
    (up to sampling error) as drawing units one by one and computing alpha each time."""
    rng = np.random.default_rng(5)
    patterns = np.array([[3, 3, 3], [0, 0, 0], [1, 1, 1], [0, 3, 0], [1, 0, 1], [3, 2, 3]])
    weights = np.array([0.8, 0.06, 0.06, 0.03, 0.03, 0.02])
    values = patterns[rng.choice(len(patterns), size=3000, p=weights)]
    data = ReliabilityData(
        values=values,
        categories=("for", "against", "mixed", "none"),
        coders=("a", "b", "c"),
        units=tuple(f"u{i}" for i in range(len(values))),
    )
    grouped = bootstrap_alpha(data, "nominal", n_resamples=2000, seed=1)
    manual = []
    for _ in range(400):
        sample = values[rng.integers(0, len(values), size=len(values))]
        resampled = ReliabilityData(
            values=sample, categories=data.categories, coders=data.coders, units=data.units
        )
        manual.append(krippendorff_alpha(resampled, "nominal").value)
    low, high = np.percentile(manual, [2.5, 97.5])
    assert grouped is not None
    assert grouped[0] == pytest.approx(low, abs=0.03)
    assert grouped[1] == pytest.approx(high, abs=0.03)
