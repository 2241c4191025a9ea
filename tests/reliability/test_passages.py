"""The passages (unitizing) unit from plain data, without Django: continuum, units, bootstrap."""

import dataclasses

import numpy as np
import pytest

from negotiations.reliability import passages
from negotiations.reliability.passages import (
    PassageInput,
    block_disagreements,
    bootstrap_disagreements,
    build_continuum,
    continuum_source_ids,
    counted_coders,
    element_units,
    passage_report,
)
from negotiations.reliability.report import CodingInput
from negotiations.reliability.unitizing import Unit, unitizing_alpha

CODES = [(1, "ZOPA"), (2, "CAPACITY")]
PARTIES = {7: "US", 8: "DPRK"}
NAMES = {10: "ann", 20: "bob", 30: "cat"}


def coding(source, coder, start, end, stance="for", code=1, party=7):
    return CodingInput(source, coder, code, party, start, end, stance)


def test_counted_coders_are_those_who_shared_a_source_or_the_ticked_ones():
    submitted = {1: [10, 20], 2: [30], 3: [20, 10]}
    assert counted_coders(submitted) == (10, 20)
    assert counted_coders(submitted, (30, 10)) == (10, 30)


def test_continuum_needs_every_counted_coder_and_counts_what_it_leaves_out():
    submitted = {1: [10, 20, 30], 2: [10, 20], 3: [30], 4: [20, 30, 10]}
    assert continuum_source_ids(submitted, (10, 20, 30)) == ([1, 4], 1)
    assert continuum_source_ids(submitted, (10, 20)) == ([1, 2, 4], 0)
    assert continuum_source_ids(submitted, (10,)) == ([], 0)


def test_sources_follow_each_other_in_id_order():
    continuum = build_continuum({5: 30, 2: 10, 9: 4}, (10, 20))
    assert [(s.id, s.offset, s.length) for s in continuum.sources] == [
        (2, 0, 10),
        (5, 10, 30),
        (9, 40, 4),
    ]
    assert continuum.length == 44


def data_for(codings, lengths=None, coders=(10, 20), mode="stance", codes=CODES):
    continuum = build_continuum({1: 20, 2: 30} if lengths is None else lengths, coders)
    return PassageInput(continuum, codings, codes, PARTIES, NAMES, mode=mode)


def test_units_are_shifted_by_their_source_offset_and_named_by_category():
    data = data_for(
        [
            coding(2, 20, 3, 9, "against", party=8),
            coding(1, 10, 0, 5),
            coding(2, 10, 0, 30, code=2),
            coding(3, 10, 0, 5),  # not a source of the continuum
            coding(1, 30, 0, 5),  # not a counted coder
        ]
    )
    units, coders = element_units(data, 1)
    assert coders == ["ann", "bob"]
    assert units == [Unit("ann", 0, 5, "for"), Unit("bob", 23, 29, "against")]
    units, _ = element_units(data, None)
    assert [u.category for u in units] == ["ZOPA:for", "CAPACITY:for", "ZOPA:against"]
    assert Unit("ann", 20, 50, "CAPACITY:for") in units
    party_data = data_for([coding(2, 20, 3, 9, "against", party=8)], mode="stance_party")
    assert element_units(party_data, 1)[0] == [Unit("bob", 23, 29, "against:DPRK")]


def test_report_matches_unitizing_alpha_on_the_same_units():
    codings = [
        coding(1, 10, 0, 8),
        coding(1, 20, 1, 8),
        coding(2, 10, 4, 12, "against"),
        coding(2, 20, 5, 14, "against"),
        coding(2, 20, 20, 25, code=2),
        coding(1, 10, 2, 9, code=2),
    ]
    data = data_for(codings)
    report = passage_report(data, bootstrap=200, seed=3)
    assert [r["element"] for r in report["rows"]] == ["ZOPA", "CAPACITY", "All elements"]
    zopa = report["rows"][0]
    units, coders = element_units(data, 1)
    expected = unitizing_alpha(units, length=50, coders=coders)
    assert zopa["u_alpha"] == expected.u_alpha
    assert {c["category"]: c["u_alpha"] for c in zopa["categories"]} == expected.per_category
    assert zopa["n_units"] == 4 and zopa["n_coders"] == 2 and zopa["length"] == 50
    low, high = zopa["ci95"]
    assert low <= high
    pooled = report["rows"][-1]
    assert {c["category"] for c in pooled["categories"]} == {
        "ZOPA:for",
        "ZOPA:against",
        "CAPACITY:for",
    }
    # The pooled categories are the elements' categories: same values.
    by_name = {c["category"]: c["u_alpha"] for c in pooled["categories"]}
    assert by_name["ZOPA:for"] == expected.per_category["for"]
    assert report == passage_report(data, bootstrap=200, seed=3)  # seedable


def test_bootstrap_is_seedable_and_the_interval_holds_the_value():
    data = random_data(11, n_sources=12)
    first = passage_report(data, bootstrap=300, seed=0)
    assert passage_report(data, bootstrap=300, seed=0) == first
    other = passage_report(data, bootstrap=300, seed=1)
    assert [r["ci95"] for r in other["rows"]] != [r["ci95"] for r in first["rows"]]
    for row in first["rows"]:
        low, high = row["ci95"]
        assert low <= row["u_alpha"] <= high


def test_overlapping_passages_of_one_coder_are_merged_and_counted():
    data = data_for([coding(1, 10, 0, 8), coding(1, 10, 5, 10), coding(1, 20, 0, 10)])
    row = passage_report(data, bootstrap=0)["rows"][0]
    assert row["merged"] == 1 and row["n_units"] == 2 and row["u_alpha"] == 1.0


def test_undefined_with_reasons():
    empty = data_for([], lengths={})
    row = passage_report(empty)["rows"][0]
    assert row["u_alpha"] is None and row["verdict"] == "undefined"
    assert "two or more coders" in row["undefined"]
    nothing = passage_report(data_for([]))["rows"][0]
    assert nothing["u_alpha"] is None and "no coder marked any unit" in nothing["undefined"]
    assert nothing["ci95"] is None
    continuum = build_continuum({}, (10, 20, 30), left_out=2)
    left_out = PassageInput(continuum, [], CODES, PARTIES, NAMES)
    assert "tick the coders" in passage_report(left_out)["rows"][0]["undefined"]


def random_data(seed, n_sources=6, coders=(10, 20, 30), mode="stance_party"):
    rng = np.random.default_rng(seed)
    lengths = {i: int(rng.integers(20, 120)) for i in range(1, n_sources + 1)}
    codings = []
    for source, n in lengths.items():
        for coder in coders:
            for _ in range(int(rng.integers(0, 5))):
                start = int(rng.integers(0, n - 1))
                end = int(rng.integers(start + 1, min(n, start + 40) + 1))
                codings.append(
                    coding(
                        source,
                        coder,
                        start,
                        end,
                        str(rng.choice(["for", "against"])),
                        code=int(rng.integers(1, 3)),
                        party=int(rng.choice([7, 8])),
                    )
                )
    return data_for(codings, lengths=lengths, coders=coders, mode=mode)


def rebuilt(data, draw):
    """The continuum rebuilt literally from the drawn sources, as its own PassageInput."""
    sources = data.continuum.sources
    lengths, codings = {}, []
    for position, index in enumerate(draw):
        source = sources[index]
        lengths[position] = source.length
        codings += [
            dataclasses.replace(c, source_id=position)
            for c in data.codings
            if c.source_id == source.id
        ]
    continuum = build_continuum(lengths, data.continuum.coders)
    return PassageInput(continuum, codings, data.codes, data.parties, data.coder_names, data.mode)


@pytest.mark.parametrize("seed", range(6))
def test_bootstrap_rebuild_matches_unitizing_alpha_on_the_rebuilt_continuum(seed):
    data = random_data(seed)
    categories, per_coder = passages._category_arrays(data)
    lengths = np.array([s.length for s in data.continuum.sources])
    rng = np.random.default_rng(seed)
    draws = np.sort(rng.integers(0, len(lengths), size=(4, len(lengths))), axis=1)
    draws[0] = np.arange(len(lengths))  # the continuum itself
    observed, expected, counts = bootstrap_disagreements(
        per_coder, lengths, len(categories), n_resamples=len(draws), seed=0, draws=draws
    )
    for r, draw in enumerate(draws):
        resample = rebuilt(data, draw)
        for code_id, _ in CODES:
            units, coders = element_units(resample, code_id)
            exact = unitizing_alpha(units, length=resample.continuum.length, coders=coders)
            for column, (code, name) in enumerate(categories):
                if code != code_id:
                    continue
                if name not in exact.per_category:
                    assert counts[r, column] == 0
                    continue
                assert observed[r, column] == pytest.approx(exact.observed[name], rel=1e-9)
                assert expected[r, column] == pytest.approx(exact.expected[name], rel=1e-9)


def test_blocks_are_independent_continua():
    # Two blocks of length 10 holding the same two coders' units give the same figures.
    starts, ends, blocks = np.array([1, 1]), np.array([4, 4]), np.array([0, 1])
    a = (starts, ends, blocks)
    b = (np.array([2, 2]), np.array([6, 6]), np.array([0, 1]))
    d_o, d_e, n = block_disagreements([a, b], np.array([10, 10]))
    exact = unitizing_alpha(
        [Unit("a", 1, 4, "c"), Unit("b", 2, 6, "c")], length=10, coders=["a", "b"]
    )
    assert d_o.tolist() == pytest.approx([exact.observed["c"]] * 2, rel=1e-12)
    assert d_e.tolist() == pytest.approx([exact.expected["c"]] * 2, rel=1e-12)
    assert n.tolist() == [2, 2]


def test_unit_rows_write_coders_without_units():
    rows = list(passages.unit_rows([Unit("ann", 0, 3, "for")], ["ann", "bob"]))
    assert rows == [("ann", 0, 3, "for"), ("bob", None, None, None)]
