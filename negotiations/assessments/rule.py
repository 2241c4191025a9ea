"""The assessment rule (DOMAIN.md section 5) as plain functions: evidence in, a verdict out.

Evidence for a cell (negotiation or phase x element x party) is a count of passages for and
against, the weight of each side and the number of sources the passages come from. Weights follow
the process-tracing tests: passing a smoking-gun test confirms strongly and passing a hoop test
only weakly, while failing a hoop test disconfirms strongly and failing a smoking-gun test only
weakly; doubly decisive evidence is strong either way, straws in the wind are weak either way.
"""

from __future__ import annotations

from dataclasses import dataclass

from negotiations.wording import counted

PRESENT, ABSENT, CONTESTED, INSUFFICIENT = "present", "absent", "contested", "insufficient"


VERDICT_LABELS = {
    PRESENT: "present",
    ABSENT: "absent",
    CONTESTED: "contested",
    INSUFFICIENT: "insufficient evidence",
}


# Weight of one passage by stance and strength ("" = strength not given).
WEIGHTS = {
    "for": {"": 1, "straw_in_the_wind": 1, "hoop": 1, "smoking_gun": 3, "doubly_decisive": 4},
    "against": {"": 1, "straw_in_the_wind": 1, "hoop": 3, "smoking_gun": 1, "doubly_decisive": 4},
}


@dataclass(frozen=True)
class Rule:
    """A study's rule; the defaults are the ones TrustCoder proposes."""

    min_sources: int = 2
    use_strength: bool = True
    contested_min_weight: float = 3.0
    contested_ratio: float = 1.5

    def describe(self) -> str:
        weigh = "weighed by evidence strength" if self.use_strength else "counted"
        return (
            f"Passages are {weigh}. Fewer than {counted(self.min_sources, 'source')} with "
            "evidence: insufficient evidence. Both sides weighing at least "
            f"{self.contested_min_weight:g} and the stronger at most {self.contested_ratio:g} "
            "times the weaker: contested. "
            "Otherwise the heavier side decides (present or absent); a tie is contested."
        )


@dataclass(frozen=True)
class Evidence:
    n_for: int = 0
    n_against: int = 0
    weight_for: float = 0.0
    weight_against: float = 0.0
    n_sources: int = 0

    def __add__(self, other: Evidence) -> Evidence:
        return Evidence(
            self.n_for + other.n_for,
            self.n_against + other.n_against,
            self.weight_for + other.weight_for,
            self.weight_against + other.weight_against,
            self.n_sources + other.n_sources,
        )


def passage_weight(stance: str, strength: str, rule: Rule) -> float:
    if not rule.use_strength:
        return 1.0
    return float(WEIGHTS.get(stance, {}).get(strength or "", 1))


def verdict(evidence: Evidence, rule: Rule) -> str:
    """The verdict of the rule for one cell."""
    if evidence.n_for + evidence.n_against == 0 or evidence.n_sources < rule.min_sources:
        return INSUFFICIENT
    if rule.use_strength:
        w_for, w_against = evidence.weight_for, evidence.weight_against
    else:
        w_for, w_against = float(evidence.n_for), float(evidence.n_against)
    weaker, stronger = sorted((w_for, w_against))
    if weaker >= rule.contested_min_weight and stronger <= rule.contested_ratio * weaker:
        return CONTESTED
    if w_for > w_against:
        return PRESENT
    if w_against > w_for:
        return ABSENT
    return CONTESTED


def strategic_trust(
    verdicts: dict[tuple[int, int], str], elements: list[int], principals: list[int]
) -> str:
    """Strategic trust in a case: present only when every element is present for both principal
    parties; "absent" when any of those verdicts is absent or contested (an element that is not
    clearly present cannot carry it); "undetermined" while evidence is insufficient somewhere."""
    if not elements or len(principals) < 2:
        return "undetermined"
    cells = [verdicts.get((e, p), INSUFFICIENT) for e in elements for p in principals]
    if all(v == PRESENT for v in cells):
        return "present"
    if any(v in (ABSENT, CONTESTED) for v in cells):
        return "absent"
    return "undetermined"
