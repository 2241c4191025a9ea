"""Writes of the assessments feature: the study's evidence rule and supervisors' judgements.

Services take keyword-only arguments, validate with `full_clean()` and run in one transaction."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction

from negotiations.models import (
    AssessmentJudgement,
    Code,
    Negotiation,
    Party,
    Phase,
    Study,
)


@transaction.atomic
def study_update_rule(
    *,
    study: Study,
    min_sources: int,
    use_strength: bool,
    contested_min_weight: float,
    contested_ratio: float,
) -> Study:
    if contested_ratio < 1:
        raise ValidationError({"rule_contested_ratio": "The ratio is at least 1."})
    study.rule_min_sources = min_sources
    study.rule_use_strength = use_strength
    study.rule_contested_min_weight = contested_min_weight
    study.rule_contested_ratio = contested_ratio
    study.full_clean()
    study.save()
    return study


@transaction.atomic
def judgement_record(
    *,
    study: Study,
    negotiation: Negotiation,
    phase: Phase | None,
    code: Code,
    party: Party,
    judgement: str,
    override_verdict: str,
    rationale: str,
    computed_verdict: str,
    author: User,
) -> AssessmentJudgement:
    """Write a supervisor's judgement on a cell; an override needs a rationale. Appends, so every
    earlier judgement stays in the history."""
    if negotiation.study_id != study.pk or code.study_id != study.pk or party.study_id != study.pk:
        raise ValidationError("This cell belongs to another study.")
    if phase is not None and phase.negotiation_id != negotiation.pk:
        raise ValidationError("This phase belongs to another negotiation.")
    if override_verdict and not rationale.strip():
        raise ValidationError({"rationale": "Overriding the computed verdict needs a rationale."})
    record = AssessmentJudgement(
        study=study,
        negotiation=negotiation,
        phase=phase,
        code=code,
        party=party,
        judgement=judgement.strip(),
        override_verdict=override_verdict,
        rationale=rationale.strip(),
        computed_verdict=computed_verdict,
        author=author,
    )
    record.full_clean()
    record.save()
    return record
