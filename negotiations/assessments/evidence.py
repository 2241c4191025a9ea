"""Evidence per unit (DOMAIN.md section 5) as plain functions: readings in, one reading a unit.

A unit is (sentence, element, party). Each unit contributes at most one reading to its cell,
never one per coder or per passage:

- where the consensus layer has settled the unit, its reading is the consensus codings' stances;
- elsewhere it is the majority of the submitted coders' readings, a coder with no passage on the
  sentence reading "none"; when two readings share the top count the unit is *unsettled* and
  counts for neither side.

A reading is `for`, `against`, `mixed` (passages of both stances) or `none`. A `mixed` reading
counts once on each side. The weight of a reading on a side is its strongest passage of that
stance; the weight of a majority reading is the smallest weight among the coders who share it,
so that one coder's stronger label cannot lift the unit above what the majority supports.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from negotiations.assessments.rule import Rule, passage_weight

FOR, AGAINST, MIXED, NONE = "for", "against", "mixed", "none"

SETTLED, UNANIMOUS, MAJORITY, UNSETTLED = "settled", "unanimous", "majority", "unsettled"

STATUS_LABELS = {
    SETTLED: "settled by a supervisor",
    UNANIMOUS: "unanimous (consensus layer)",
    MAJORITY: "majority of submitted coders",
    UNSETTLED: "unsettled (coders tied)",
}


@dataclass(frozen=True)
class Reading:
    """What one coder (or the consensus layer) reads in one unit."""

    value: str = NONE
    weight_for: float = 0.0
    weight_against: float = 0.0

    @property
    def n_for(self) -> int:
        return int(self.value in (FOR, MIXED))

    @property
    def n_against(self) -> int:
        return int(self.value in (AGAINST, MIXED))


NO_READING = Reading()


def reading_of(passages: Iterable[tuple[str, str]], rule: Rule) -> Reading:
    """The reading of a unit from the (stance, strength) of the passages overlapping it. Nested or
    repeated passages of one stance add nothing: a side weighs its strongest passage."""
    weights: dict[str, float] = {}
    for stance, strength in passages:
        weight = passage_weight(stance, strength, rule)
        weights[stance] = max(weights.get(stance, 0.0), weight)
    has_for, has_against = FOR in weights, AGAINST in weights
    if has_for and has_against:
        value = MIXED
    else:
        value = FOR if has_for else AGAINST if has_against else NONE
    return Reading(value, weights.get(FOR, 0.0), weights.get(AGAINST, 0.0))


def majority(readings: Iterable[Reading]) -> Reading | None:
    """The majority reading of the submitted coders, or None when the top readings tie."""
    readings = list(readings)
    if not readings:
        return NO_READING
    counts = Counter(r.value for r in readings).most_common()
    if len(counts) > 1 and counts[0][1] == counts[1][1]:
        return None
    value = counts[0][0]
    agreeing = [r for r in readings if r.value == value]
    return Reading(
        value,
        min(r.weight_for for r in agreeing),
        min(r.weight_against for r in agreeing),
    )


@dataclass(frozen=True)
class UnitEvidence:
    """The one reading a unit contributes, and where it comes from."""

    reading: Reading
    status: str

    @property
    def counts(self) -> bool:
        return self.status != UNSETTLED and self.reading.value != NONE


def unit_evidence(
    *,
    coder_readings: dict[int, Reading],
    n_submitted: int,
    consensus: Reading | None,
    unanimous: bool = False,
    mode: str = "combined",
) -> UnitEvidence | None:
    """A unit's evidence under an evidence base (`combined`, `consensus`, `unanimous`, `coders`).

    `coder_readings` holds the readings of submitted coders with a passage on the unit; the other
    `n_submitted - len(coder_readings)` submitted coders read "none". `consensus` is the settled
    consensus reading, or None when the unit is not settled. None means the unit is outside the
    evidence base.
    """
    if consensus is not None and mode in ("combined", "consensus", "unanimous"):
        if mode == "unanimous" and not unanimous:
            return None
        return UnitEvidence(consensus, UNANIMOUS if unanimous else SETTLED)
    if mode not in ("combined", "coders"):
        return None
    nones = max(n_submitted - len(coder_readings), 0)
    chosen = majority([*coder_readings.values(), *([NO_READING] * nones)])
    if chosen is None:
        return UnitEvidence(NO_READING, UNSETTLED)
    return UnitEvidence(chosen, MAJORITY)
