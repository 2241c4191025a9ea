"""Evidence per unit, without Django: one reading per (sentence, element, party) unit."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from negotiations.assessments.evidence import (
    MAJORITY,
    SETTLED,
    UNANIMOUS,
    UNSETTLED,
    Reading,
    majority,
    reading_of,
    unit_evidence,
)
from negotiations.assessments.rule import Rule

RULE = Rule()

stances = st.sampled_from(["for", "against"])
strengths = st.sampled_from(["", "straw_in_the_wind", "hoop", "smoking_gun", "doubly_decisive"])
passages = st.lists(st.tuples(stances, strengths), max_size=5)


@given(passages, st.data())
def test_a_nested_duplicate_changes_nothing(found, data):
    """A coder's passage repeated (nested inside another of theirs, same code, stance, party and
    strength) gives the same reading."""
    if not found:
        return
    duplicate = data.draw(st.sampled_from(found))
    assert reading_of([*found, duplicate], RULE) == reading_of(found, RULE)


@given(passages, st.integers(min_value=1, max_value=6))
def test_agreeing_coders_count_as_one(found, n_coders):
    reading = reading_of(found, RULE)
    one = unit_evidence(coder_readings={1: reading}, n_submitted=1, consensus=None)
    many = unit_evidence(
        coder_readings=dict.fromkeys(range(n_coders), reading),
        n_submitted=n_coders,
        consensus=None,
    )
    assert one == many
    assert many.reading.n_for <= 1 and many.reading.n_against <= 1


def test_values_and_weights():
    assert reading_of([], RULE).value == "none"
    assert reading_of([("for", "smoking_gun"), ("for", "")], RULE) == Reading("for", 3.0, 0.0)
    mixed = reading_of([("for", ""), ("against", "hoop")], RULE)
    assert (mixed.value, mixed.n_for, mixed.n_against) == ("mixed", 1, 1)
    assert mixed.weight_against == 3.0
    counted = reading_of([("against", "hoop")], Rule(use_strength=False))
    assert counted.weight_against == 1.0


def test_majority_of_submitted_coders_counts_silent_coders_as_none():
    yes = Reading("for", 1.0, 0.0)
    # One coder of three found evidence: the majority reads "none".
    found = unit_evidence(coder_readings={1: yes}, n_submitted=3, consensus=None)
    assert found.status == MAJORITY and found.reading.value == "none" and not found.counts
    # Two of three: "for", weighed by the weaker of the two agreeing readings.
    strong = Reading("for", 3.0, 0.0)
    found = unit_evidence(coder_readings={1: yes, 2: strong}, n_submitted=3, consensus=None)
    assert found.counts and found.reading == Reading("for", 1.0, 0.0)


def test_a_tie_is_unsettled_and_counts_for_neither_side():
    yes, no = Reading("for", 1.0, 0.0), Reading("against", 0.0, 1.0)
    found = unit_evidence(coder_readings={1: yes, 2: no}, n_submitted=2, consensus=None)
    assert found.status == UNSETTLED and not found.counts
    found = unit_evidence(coder_readings={1: yes}, n_submitted=2, consensus=None)
    assert found.status == UNSETTLED
    assert majority([yes, no, yes]) == yes


def test_consensus_decides_where_settled_and_the_bases_differ():
    yes, no = Reading("for", 1.0, 0.0), Reading("against", 0.0, 3.0)
    readings = {1: yes, 2: yes}
    settled = unit_evidence(coder_readings=readings, n_submitted=2, consensus=no)
    assert settled.status == SETTLED and settled.reading == no
    coders = unit_evidence(coder_readings=readings, n_submitted=2, consensus=no, mode="coders")
    assert coders.status == MAJORITY and coders.reading == yes
    assert (
        unit_evidence(coder_readings=readings, n_submitted=2, consensus=None, mode="consensus")
        is None
    )
    assert unit_evidence(coder_readings={}, n_submitted=2, consensus=no, mode="unanimous") is None
    unanimous = unit_evidence(
        coder_readings=readings, n_submitted=2, consensus=yes, unanimous=True, mode="unanimous"
    )
    assert unanimous.status == UNANIMOUS
