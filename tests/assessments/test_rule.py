"""The assessment rule at its boundaries: each threshold on both sides (plain, no database)."""

from __future__ import annotations

import pytest

from negotiations.assessments.rule import (
    ABSENT,
    CONTESTED,
    INSUFFICIENT,
    PRESENT,
    WEIGHTS,
    Evidence,
    Rule,
    passage_weight,
    strategic_trust,
    verdict,
)

RULE = Rule()


def test_defaults_are_the_proposed_rule():
    assert (RULE.min_sources, RULE.use_strength) == (2, True)
    assert (RULE.contested_min_weight, RULE.contested_ratio) == (3.0, 1.5)


@pytest.mark.parametrize(("sources", "expected"), [(1, INSUFFICIENT), (2, PRESENT), (3, PRESENT)])
def test_minimum_number_of_sources_is_inclusive(sources, expected):
    assert verdict(Evidence(1, 0, 1.0, 0.0, sources), RULE) == expected


def test_a_source_count_without_passages_is_insufficient():
    assert verdict(Evidence(0, 0, 0.0, 0.0, 5), RULE) == INSUFFICIENT
    assert verdict(Evidence(0, 1, 0.0, 1.0, 5), RULE) == ABSENT


@pytest.mark.parametrize(
    ("w_for", "w_against", "expected"),
    [
        (3.0, 3.0, CONTESTED),  # both at the minimum weight: contested, also a tie
        (4.5, 3.0, CONTESTED),  # stronger exactly 1.5 times the weaker: still contested
        (4.6, 3.0, PRESENT),  # just past the ratio
        (3.0, 4.6, ABSENT),
        (2.9, 2.0, PRESENT),  # the weaker side below the minimum weight cannot contest
        (2.0, 2.9, ABSENT),
        (2.0, 2.0, CONTESTED),  # a tie below the minimum is contested, not present
    ],
)
def test_contested_thresholds(w_for, w_against, expected):
    assert verdict(Evidence(1, 1, w_for, w_against, 2), RULE) == expected


def test_without_strength_counts_decide_and_weights_are_ignored():
    counted = Rule(use_strength=False)
    assert verdict(Evidence(3, 2, 0.0, 99.0, 2), counted) == PRESENT
    assert verdict(Evidence(3, 3, 9.0, 0.0, 2), counted) == CONTESTED
    assert verdict(Evidence(1, 2, 9.0, 0.0, 2), counted) == ABSENT


def test_weights_of_every_stance_and_strength():
    for stance, weights in WEIGHTS.items():
        for strength, weight in weights.items():
            assert passage_weight(stance, strength, RULE) == float(weight)
            assert isinstance(passage_weight(stance, strength, RULE), float)
    assert passage_weight("for", "", RULE) == 1.0
    # An unknown stance or strength weighs as an unqualified passage.
    assert passage_weight("mixed", "hoop", RULE) == 1.0
    assert passage_weight("for", "unknown", RULE) == 1.0
    assert passage_weight("against", "hoop", Rule(use_strength=False)) == 1.0


def test_evidence_adds_field_by_field():
    total = Evidence(1, 2, 3.0, 4.0, 5) + Evidence(10, 20, 30.0, 40.0, 50)
    assert total == Evidence(11, 22, 33.0, 44.0, 55)


def test_describe_states_the_rule():
    assert RULE.describe() == (
        "Passages are weighed by evidence strength. Fewer than 2 sources with evidence: "
        "insufficient evidence. Both sides weighing at least 3 and the stronger at most 1.5 "
        "times the weaker: contested. Otherwise the heavier side decides (present or absent); "
        "a tie is contested."
    )
    assert (
        Rule(use_strength=False, min_sources=4)
        .describe()
        .startswith("Passages are counted. Fewer than 4 sources")
    )


def test_strategic_trust_cases():
    elements, principals = [1, 2], [10, 20]
    present = {(e, p): PRESENT for e in elements for p in principals}
    assert strategic_trust(present, elements, principals) == "present"
    assert strategic_trust(present, [], principals) == "undetermined"
    assert strategic_trust(present, elements, []) == "undetermined"
    # A missing cell is insufficient evidence: undetermined, not present.
    partial = {k: v for k, v in present.items() if k != (2, 20)}
    assert strategic_trust(partial, elements, principals) == "undetermined"
    # Verdicts of parties other than the principals do not count.
    assert strategic_trust({**present, (1, 30): ABSENT}, elements, principals) == "present"
    assert strategic_trust({**partial, (1, 10): ABSENT}, elements, principals) == "absent"
