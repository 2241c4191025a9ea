"""Writes to the consensus layer: units synchronised from the coders' work, decisions, reopening.

Coder layers are never rewritten here; each decision locks its unit row and checks its version."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from negotiations.coding import services as coding_services
from negotiations.models import (
    Code,
    Coding,
    ConsensusCoding,
    ConsensusEvent,
    ConsensusStatus,
    ConsensusUnit,
    Decision,
    Party,
    Segment,
    Source,
    Study,
)
from negotiations.reliability import report as reliability
from negotiations.reliability import selectors as reliability_selectors


class ConsensusConflict(Exception):
    """Somebody else decided or reopened the unit since the page was loaded."""


def _overlapping(codings: Iterable[Any], start: int, end: int) -> list[Any]:
    return [c for c in codings if c.start < end and c.end > start]


def _unit_state(unit: ConsensusUnit) -> dict[str, Any]:
    return {
        "status": unit.status,
        "decision": unit.decision,
        "chosen_coder": unit.chosen_coder.username if unit.chosen_coder_id else None,
        "rationale": unit.rationale,
        "decided_by": unit.decided_by.username if unit.decided_by_id else None,
        "readings": unit.readings,
        "codings": [
            {
                "code": c.code.name,
                "stance": c.stance,
                "party": c.demonstrating_party.code,
                "start": c.start,
                "end": c.end,
                "strength": c.strength,
            }
            for c in unit.consensus_codings.select_related("code", "demonstrating_party")
        ],
    }


def _impact_margins(inputs: Any, negotiation_of: dict[int, int]) -> dict[tuple[int, int, int], int]:
    """|for - against| passages per negotiation x code x party: small means close to a tie."""
    counts: dict[tuple[int, int, int], list[int]] = {}
    for coding in inputs.codings:
        key = (negotiation_of[coding.source_id], coding.code_id, coding.party_id)
        pair = counts.setdefault(key, [0, 0])
        pair[0 if coding.stance == "for" else 1] += 1
    return {key: abs(a - b) for key, (a, b) in counts.items()}


@transaction.atomic
def consensus_sync(*, study: Study, force: bool = False) -> int:
    """Bring the consensus layer up to date with the submitted codings; returns units changed.

    Disagreements become open units; readings every submitted coder shares (other than "none")
    enter as unanimous, settled units. A settled unit whose coders' readings have changed since
    it was settled is flagged for review, never silently kept or dropped.
    """

    locked = Study.objects.select_for_update().get(pk=study.pk)
    if locked.consensus_version == locked.data_version and not force:
        return 0
    inputs = reliability_selectors.reliability_inputs(
        study=study, filters=reliability_selectors.ReliabilityFilters()
    )
    table = reliability.build_unit_table(
        inputs.sources,
        inputs.codings,
        code_ids=[pk for pk, _ in inputs.codes],
        coder_ids=inputs.coder_ids,
        level="segment",
    )
    source_ids = [s.id for s in inputs.sources]
    negotiation_of = dict(
        Source.objects.filter(pk__in=source_ids).values_list("pk", "negotiation_id")
    )
    margins = _impact_margins(inputs, negotiation_of)
    segment_ids = {
        (source_id, index): pk
        for pk, source_id, index in Segment.objects.filter(source_id__in=source_ids).values_list(
            "pk", "source_id", "index"
        )
    }
    current: dict[tuple[int, int, int, int], dict[str, str]] = {}
    present = table.values != reliability.MISSING
    for u in np.nonzero(present.sum(axis=1) >= 2)[0]:
        readings = {
            str(table.coders[k]): reliability.VALUE_LABELS[table.values[u, k]]
            for k in range(len(table.coders))
            if present[u, k]
        }
        if set(readings.values()) == {"none"}:
            continue
        key = (int(table.source[u]), int(table.segment[u]), int(table.code[u]), int(table.party[u]))
        current[key] = readings

    existing = {
        (unit.source_id, unit.segment.index, unit.code_id, unit.party_id): unit
        for unit in ConsensusUnit.objects.filter(study=study).select_related("segment")
    }
    changed = 0
    events: list[ConsensusEvent] = []
    unanimous_new: list[ConsensusUnit] = []
    created: list[ConsensusUnit] = []
    for key, readings in current.items():
        source_id, index, code_id, party_id = key
        impact = margins.get((negotiation_of[source_id], code_id, party_id), 0)
        agreed = len(set(readings.values())) == 1
        unit = existing.pop(key, None)
        if unit is None:
            unit = ConsensusUnit(
                study=study,
                source_id=source_id,
                segment_id=segment_ids[(source_id, index)],
                code_id=code_id,
                party_id=party_id,
                readings=readings,
                impact=impact,
            )
            if agreed:
                unit.status = ConsensusStatus.SETTLED
                unit.unanimous = True
                unit.decision = Decision.UNANIMOUS
                unit.decided_readings = readings
                unit.decided_at = timezone.now()
                unanimous_new.append(unit)
            created.append(unit)
            changed += 1
            continue
        if unit.readings == readings and unit.impact == impact:
            continue
        before = dict(unit.readings)
        unit.readings = readings
        unit.impact = impact
        if unit.status == ConsensusStatus.OPEN and agreed:
            unit.status = ConsensusStatus.SETTLED
            unit.unanimous = True
            unit.decision = Decision.UNANIMOUS
            unit.decided_readings = readings
            unit.decided_at = timezone.now()
            unanimous_new.append(unit)
        elif unit.status != ConsensusStatus.OPEN and readings != unit.decided_readings:
            if unit.unanimous and agreed:
                unit.decided_readings = readings
                unanimous_new.append(unit)  # the shared reading changed: copy it again
            else:
                unit.status = ConsensusStatus.FLAGGED
                events.append(
                    ConsensusEvent(
                        unit=unit,
                        action=ConsensusEvent.Action.FLAG,
                        before={"readings": before},
                        after={"readings": readings},
                    )
                )
        unit.save()
        changed += 1
    # Units that are no longer disagreements among submitted coders (all now "none", or fewer
    # than two submitted coders): open ones go; decided ones are flagged for review.
    for unit in existing.values():
        if unit.status == ConsensusStatus.OPEN or (unit.unanimous and not unit.decided_by_id):
            unit.delete()
        elif unit.status == ConsensusStatus.SETTLED:
            unit.status = ConsensusStatus.FLAGGED
            events.append(
                ConsensusEvent(
                    unit=unit,
                    action=ConsensusEvent.Action.FLAG,
                    before={"readings": unit.readings},
                    after={"readings": {}},
                )
            )
            unit.readings = {}
            unit.save()
        changed += 1
    # New units in batches; their ids come back (PostgreSQL and SQLite both return them).
    ConsensusUnit.objects.bulk_create(created, batch_size=1000)
    _copy_unanimous_codings(unanimous_new, inputs.coder_names)
    events += [
        ConsensusEvent(
            unit=u, action=ConsensusEvent.Action.UNANIMOUS, after={"readings": u.readings}
        )
        for u in unanimous_new
    ]
    ConsensusEvent.objects.bulk_create(events)
    locked.consensus_version = locked.data_version
    locked.save(update_fields=["consensus_version"])
    return changed


def _copy_unanimous_codings(units: list[ConsensusUnit], coder_names: dict[int, str]) -> None:
    """The consensus codings of unanimous units: the passages of the first coder by name."""
    if not units:
        return
    ConsensusCoding.objects.filter(unit__in=[u.pk for u in units]).delete()
    segments = {s.pk: s for s in Segment.objects.filter(pk__in=[u.segment_id for u in units])}
    codings = Coding.objects.filter(source_id__in={u.source_id for u in units}).only(
        "pk",
        "source_id",
        "coder_id",
        "code_id",
        "demonstrating_party_id",
        "start",
        "end",
        "quote",
        "stance",
        "strength",
    )
    by_key: dict[tuple[int, int, int, int], list[Coding]] = {}
    for coding in codings:
        key = (coding.source_id, coding.coder_id, coding.code_id, coding.demonstrating_party_id)
        by_key.setdefault(key, []).append(coding)
    new = []
    for unit in units:
        segment = segments[unit.segment_id]
        first = min(unit.readings, key=lambda c: coder_names.get(int(c), c))
        for coding in _overlapping(
            by_key.get((unit.source_id, int(first), unit.code_id, unit.party_id), []),
            segment.start,
            segment.end,
        ):
            new.append(_consensus_copy(unit, coding))
    ConsensusCoding.objects.bulk_create(new)


def _consensus_copy(unit: ConsensusUnit, coding: Coding) -> ConsensusCoding:
    return ConsensusCoding(
        unit=unit,
        source_id=coding.source_id,
        code_id=coding.code_id,
        demonstrating_party_id=coding.demonstrating_party_id,
        start=coding.start,
        end=coding.end,
        quote=coding.quote,
        stance=coding.stance,
        strength=coding.strength,
        from_coding=coding,
    )


@dataclass(frozen=True)
class CustomConsensus:
    """A consensus coding written by the supervisor."""

    start: int
    end: int
    quote: str
    code: Code
    stance: str
    party: Party
    strength: str = ""


def _lock_unit(unit_id: int, seen_version: int) -> ConsensusUnit:
    unit = ConsensusUnit.objects.select_for_update().get(pk=unit_id)
    if unit.version != seen_version:
        who = unit.decided_by.username if unit.decided_by_id else "another supervisor"
        when = timezone.localtime(unit.updated_at).strftime("%Y-%m-%d %H:%M:%S")
        verb = "settled" if unit.status == ConsensusStatus.SETTLED else "changed"
        raise ConsensusConflict(f"{who} {verb} this unit first, at {when}; here is its state now.")
    return unit


@transaction.atomic
def consensus_decide(
    *,
    unit_id: int,
    actor: User,
    decision: str,
    seen_version: int,
    coder_id: int | None = None,
    custom: CustomConsensus | None = None,
    rationale: str = "",
) -> ConsensusUnit:
    """Settle a unit: accept one coder's reading, accept "none", or write a consensus coding.

    Coders' codings are only read, never changed. A rationale is required whenever the decision
    differs from every coder's reading. Two supervisors deciding at once: the unit row is locked
    and its version compared, so the second is told who settled it first.
    """
    unit = _lock_unit(unit_id, seen_version)
    before = _unit_state(unit)
    segment = unit.segment
    # A written consensus coding is checked against the text as it stands under the lock.
    source = coding_services.source_for_write(unit.source)
    rationale = rationale.strip()
    new_codings: list[ConsensusCoding] = []
    chosen = None
    if decision == Decision.CODER:
        if coder_id is None or str(coder_id) not in unit.readings:
            raise ValidationError("Choose the coder whose reading you accept.")
        chosen = coder_id
        value = unit.readings[str(coder_id)]
        codings = Coding.objects.filter(
            source=source,
            coder_id=coder_id,
            code_id=unit.code_id,
            demonstrating_party_id=unit.party_id,
            start__lt=segment.end,
            end__gt=segment.start,
        )
        new_codings = [_consensus_copy(unit, c) for c in codings]
    elif decision == Decision.NONE:
        value = "none"
    elif decision == Decision.CUSTOM:
        if custom is None:
            raise ValidationError("Write the consensus coding: span, code, stance and party.")
        errors = coding_services.check_coding_fields(
            source=source,
            code=custom.code,
            stance=custom.stance,
            demonstrating_party=custom.party,
            strength=custom.strength,
        )
        if not (0 <= custom.start < custom.end <= len(source.text)):
            errors["start"] = "The passage is empty or outside the text."
        elif source.text[custom.start : custom.end] != custom.quote:
            errors["quote"] = "The selected text does not match the source; select it again."
        if errors:
            raise ValidationError(errors)
        same_unit = (
            custom.code.pk == unit.code_id
            and custom.party.pk == unit.party_id
            and custom.start < segment.end
            and custom.end > segment.start
        )
        value = custom.stance if same_unit else "none"
        new_codings = [
            ConsensusCoding(
                unit=unit,
                source=source,
                code=custom.code,
                demonstrating_party=custom.party,
                start=custom.start,
                end=custom.end,
                quote=custom.quote,
                stance=custom.stance,
                strength=custom.strength,
            )
        ]
    else:
        raise ValidationError("Unknown decision.")
    if value not in unit.readings.values() and not rationale:
        raise ValidationError(
            {"rationale": "This decision differs from every coder's reading: give a rationale."}
        )
    unit.consensus_codings.all().delete()
    ConsensusCoding.objects.bulk_create(new_codings)
    unit.status = ConsensusStatus.SETTLED
    unit.unanimous = False
    unit.decision = decision
    unit.chosen_coder_id = chosen
    unit.rationale = rationale
    unit.decided_by = actor
    unit.decided_at = timezone.now()
    unit.decided_readings = unit.readings
    return _save_with_event(unit, actor, ConsensusEvent.Action.SETTLE, before)


def _save_with_event(
    unit: ConsensusUnit, actor: User, action: str, before: dict[str, Any]
) -> ConsensusUnit:
    unit.version += 1
    unit.save()
    ConsensusEvent.objects.create(
        unit=unit, actor=actor, action=action, before=before, after=_unit_state(unit)
    )
    return unit


@transaction.atomic
def consensus_reopen(*, unit_id: int, actor: User, seen_version: int) -> ConsensusUnit:
    """Reopen a settled (or flagged) unit: its consensus codings go until it is settled again."""
    unit = _lock_unit(unit_id, seen_version)
    before = _unit_state(unit)
    unit.consensus_codings.all().delete()
    unit.status = ConsensusStatus.OPEN
    unit.unanimous = False
    unit.decision = ""
    unit.chosen_coder = None
    unit.rationale = ""
    unit.decided_by = actor
    return _save_with_event(unit, actor, ConsensusEvent.Action.REOPEN, before)


@transaction.atomic
def consensus_release(*, study: Study, released: bool) -> Study:
    study.consensus_released = released
    study.save(update_fields=["consensus_released"])
    return study
