"""Writes of a study's structure: the study, members and roles, parties, negotiations, phases,
events.

Services take keyword-only arguments, validate with `full_clean()` and run in one transaction."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Max, Q
from django.utils.text import slugify

from negotiations.codebook import services as codebook_services
from negotiations.models import (
    AssessmentJudgement,
    Assignment,
    AssignmentStatus,
    ChangeRecord,
    Coding,
    ConsensusCoding,
    ConsensusUnit,
    Event,
    Membership,
    Negotiation,
    NegotiationParty,
    Party,
    Phase,
    Role,
    Source,
    Study,
)
from negotiations.wording import counted


@transaction.atomic
def study_create(
    *, name: str, slug: str, created_by: User, description: str = "", default_codebook: bool = True
) -> Study:
    """Create a study with its creator as owner and, by default, the default codebook."""
    study = Study(name=name, slug=slug, description=description, created_by=created_by)
    study.full_clean()
    study.save()
    Membership.objects.create(study=study, user=created_by, role=Role.OWNER)
    if default_codebook:
        codebook_services.codebook_load(
            study=study, data=json.loads(codebook_services.DEFAULT_CODEBOOK.read_text("utf-8"))
        )
    codebook_services.codebook_version_record(study=study, actor=created_by, note="Study created")
    return study


@transaction.atomic
def study_update_settings(
    *, study: Study, name: str, description: str, blind_coding: bool, snap_to_words: bool
) -> Study:
    study.name = name
    study.description = description
    study.blind_coding = blind_coding
    study.snap_to_words = snap_to_words
    study.full_clean()
    study.save()
    return study


def _user_by_identifier(identifier: str) -> User:
    identifier = identifier.strip()
    user_model = get_user_model()
    query = Q(username__iexact=identifier)
    if "@" in identifier:
        query |= Q(email__iexact=identifier)
    users = list(user_model.objects.filter(query, is_active=True)[:2])
    if not users:
        raise ValidationError(
            {"identifier": f"No active user has the username or e-mail {identifier!r}."}
        )
    if len(users) > 1:
        raise ValidationError(
            {"identifier": f"Several users match {identifier!r}; use the username."}
        )
    return users[0]


def _check_owner_rules(*, actor_role: str, old_role: str | None, new_role: str | None) -> None:
    if Role.OWNER in (old_role, new_role) and actor_role != Role.OWNER:
        raise ValidationError("Only an owner can grant or take away the owner role.")


@transaction.atomic
def membership_add(*, study: Study, identifier: str, role: str, actor_role: str) -> Membership:
    """Add an existing user, found by username or e-mail, to the study with a role."""
    user = _user_by_identifier(identifier)
    if Membership.objects.filter(study=study, user=user).exists():
        raise ValidationError({"identifier": f"{user.username} is already a member of this study."})
    _check_owner_rules(actor_role=actor_role, old_role=None, new_role=role)
    membership = Membership(study=study, user=user, role=role)
    membership.full_clean()
    membership.save()
    return membership


def _lock_owners(study: Study) -> int:
    # Locking the owners' rows makes "is this the last owner?" safe against a concurrent change.
    return len(
        list(
            Membership.objects.select_for_update()
            .filter(study=study, role=Role.OWNER)
            .values_list("pk", flat=True)
        )
    )


@transaction.atomic
def membership_set_role(*, membership: Membership, role: str, actor_role: str) -> Membership:
    _check_owner_rules(actor_role=actor_role, old_role=membership.role, new_role=role)
    if membership.role == Role.OWNER and role != Role.OWNER and _lock_owners(membership.study) <= 1:
        raise ValidationError("A study needs at least one owner; make someone else owner first.")
    membership.role = role
    membership.full_clean()
    membership.save(update_fields=["role"])
    return membership


@transaction.atomic
def membership_remove(*, membership: Membership, actor_role: str) -> None:
    _check_owner_rules(actor_role=actor_role, old_role=membership.role, new_role=None)
    if membership.role == Role.OWNER and _lock_owners(membership.study) <= 1:
        raise ValidationError("A study needs at least one owner; make someone else owner first.")
    # Their codings stay (they are research data); only open, uncoded assignments go.
    Assignment.objects.filter(
        source__study=membership.study, coder=membership.user, status=AssignmentStatus.ASSIGNED
    ).delete()
    membership.delete()


@transaction.atomic
def party_create(*, study: Study, code: str, name: str) -> Party:
    party = Party(study=study, code=code.strip(), name=name.strip() or code.strip())
    party.full_clean()
    party.save()
    return party


def change_record_create(
    *,
    study: Study,
    actor: User | None,
    action: str,
    summary: str,
    before: dict,
    after: dict,
    affected: dict,
) -> ChangeRecord:
    """Record a change that touched coded data: who, when, before, after and what it affected."""
    record = ChangeRecord(
        study=study,
        actor=actor,
        action=action,
        summary=summary[:500],
        before=before,
        after=after,
        affected=affected,
    )
    record.full_clean()
    record.save()
    return record


@transaction.atomic
def party_update(*, party: Party, code: str, name: str, actor: User | None = None) -> Party:
    """Rename a party (its code or name); the codings that name it follow, and it is recorded."""
    party = Party.objects.select_for_update().get(pk=party.pk)
    before = {"code": party.code, "name": party.name}
    party.code = code.strip()
    party.name = name.strip() or party.code
    party.full_clean()
    party.save()
    after = {"code": party.code, "name": party.name}
    if after != before:
        change_record_create(
            study=party.study,
            actor=actor,
            action=ChangeRecord.Action.PARTY_RENAMED,
            summary=f"Party {before['code']} ({before['name']}) renamed "
            f"{after['code']} ({after['name']}).",
            before=before,
            after=after,
            affected={"party": party.pk, "codings": party.codings.count()},
        )
    return party


@transaction.atomic
def party_merge(*, party: Party, into: Party, actor: User | None) -> Party:
    """Merge `party` into `into`: codings, consensus codings, speaking parties, negotiation
    links and judgements move to `into`, then `party` is deleted; recorded.

    A coding that becomes identical to one of the same coder's codings of `into` is dropped (it
    is the same passage twice). Consensus units of both parties on one sentence and code would
    collide: such a merge is refused until those units are settled differently.
    """
    if party.pk == into.pk:
        raise ValidationError({"into": "Choose another party to merge into."})
    if party.study_id != into.study_id:
        raise ValidationError({"into": "This party belongs to another study."})
    locked = {p.pk: p for p in Party.objects.select_for_update().filter(pk__in=[party.pk, into.pk])}
    party, into = locked[party.pk], locked[into.pk]
    clashes = ConsensusUnit.objects.filter(party=party).filter(
        segment__in=ConsensusUnit.objects.filter(party=into).values("segment")
    )
    n_clashes = sum(
        1
        for unit in clashes.only("segment_id", "code_id")
        if ConsensusUnit.objects.filter(
            party=into, segment_id=unit.segment_id, code_id=unit.code_id
        ).exists()
    )
    if n_clashes:
        raise ValidationError(
            f"{counted(n_clashes, 'consensus unit')} exist for both "
            f"{party.code} and {into.code} on the same sentence and code; they cannot be merged "
            "automatically."
        )
    codings = list(Coding.objects.select_for_update().filter(demonstrating_party=party))
    duplicates = 0
    for coding in codings:
        twin = Coding.objects.filter(
            coder=coding.coder_id,
            source=coding.source_id,
            start=coding.start,
            end=coding.end,
            code=coding.code_id,
            stance=coding.stance,
            demonstrating_party=into,
        ).exists()
        if twin:
            coding.delete()
            duplicates += 1
    moved = Coding.objects.filter(demonstrating_party=party).update(demonstrating_party=into)
    consensus = ConsensusCoding.objects.filter(demonstrating_party=party).update(
        demonstrating_party=into
    )
    units = ConsensusUnit.objects.filter(party=party).update(party=into)
    sources = Source.objects.filter(speaker_party=party).update(speaker_party=into)
    judgements = AssessmentJudgement.objects.filter(party=party).update(party=into)
    negotiations = []
    for link in NegotiationParty.objects.filter(party=party).select_related("negotiation"):
        negotiations.append(link.negotiation.name)
        target, created = NegotiationParty.objects.get_or_create(
            negotiation=link.negotiation, party=into, defaults={"is_principal": link.is_principal}
        )
        if not created and link.is_principal and not target.is_principal:
            target.is_principal = True
            target.save(update_fields=["is_principal"])
    before = {"code": party.code, "name": party.name}
    party.delete()
    change_record_create(
        study=into.study,
        actor=actor,
        action=ChangeRecord.Action.PARTY_MERGED,
        summary=f"Party {before['code']} merged into {into.code}: "
        f"{counted(moved, 'coding')} moved, {counted(duplicates, 'identical coding')} dropped.",
        before=before,
        after={"code": into.code, "name": into.name},
        affected={
            "codings": moved,
            "duplicates_removed": duplicates,
            "consensus_codings": consensus,
            "consensus_units": units,
            "sources": sources,
            "judgements": judgements,
            "negotiations": sorted(negotiations),
        },
    )
    study_touch(into.study_id)
    return into


def _unique_slug(study: Study, name: str) -> str:
    base = slugify(name)[:50] or "negotiation"
    slug, n = base, 2
    while Negotiation.objects.filter(study=study, slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


def _set_negotiation_parties(
    negotiation: Negotiation, parties: Iterable[Party], principal: Iterable[Party]
) -> None:
    parties = list(parties)
    principal_ids = {p.pk for p in principal}
    for party in parties:
        if party.study_id != negotiation.study_id:
            raise ValidationError({"parties": "A party belongs to another study."})
    NegotiationParty.objects.filter(negotiation=negotiation).delete()
    NegotiationParty.objects.bulk_create(
        NegotiationParty(negotiation=negotiation, party=p, is_principal=p.pk in principal_ids)
        for p in parties
    )


@transaction.atomic
def negotiation_add_parties(*, negotiation: Negotiation, parties: Iterable[Party]) -> list[Party]:
    """Make parties parties of a negotiation (never removes one, so nothing coded is orphaned);
    the ones that were added. For imports whose codings name a party the case did not list."""
    present = set(negotiation.negotiationparty_set.values_list("party_id", flat=True))
    added = []
    for party in parties:
        if party.study_id != negotiation.study_id:
            raise ValidationError({"parties": "A party belongs to another study."})
        if party.pk not in present:
            present.add(party.pk)
            added.append(party)
    NegotiationParty.objects.bulk_create(
        NegotiationParty(negotiation=negotiation, party=p, is_principal=False) for p in added
    )
    return added


@transaction.atomic
def negotiation_create(
    *,
    study: Study,
    name: str,
    slug: str = "",
    description: str = "",
    start_date: date | None = None,
    end_date: date | None = None,
    parties: Iterable[Party] = (),
    principal_parties: Iterable[Party] = (),
) -> Negotiation:
    order = (Negotiation.objects.filter(study=study).aggregate(n=Max("order"))["n"] or 0) + 1
    negotiation = Negotiation(
        study=study,
        name=name.strip(),
        slug=slug or _unique_slug(study, name),
        description=description,
        start_date=start_date,
        end_date=end_date,
        order=order,
    )
    negotiation.full_clean()
    negotiation.save()
    _set_negotiation_parties(negotiation, parties, principal_parties)
    return negotiation


@transaction.atomic
def negotiation_update(
    *,
    negotiation: Negotiation,
    name: str,
    description: str,
    start_date: date | None,
    end_date: date | None,
    parties: Iterable[Party],
    principal_parties: Iterable[Party],
    actor: User | None = None,
) -> Negotiation:
    """Change a negotiation. A party that its sources or codings name cannot be removed (the
    error says how much names it); a change of its parties is recorded."""
    parties = list(parties)
    old = {
        link.party_id: link.party
        for link in NegotiationParty.objects.filter(negotiation=negotiation).select_related("party")
    }
    kept = {p.pk for p in parties}
    problems = []
    for party in sorted((p for pk, p in old.items() if pk not in kept), key=lambda p: p.code):
        counts = [
            (
                Coding.objects.filter(source__negotiation=negotiation, demonstrating_party=party),
                "coding",
            ),
            (
                ConsensusCoding.objects.filter(
                    source__negotiation=negotiation, demonstrating_party=party
                ),
                "consensus coding",
            ),
            (Source.objects.filter(negotiation=negotiation, speaker_party=party), "source"),
        ]
        named = [counted(n, label) for n, label in ((q.count(), label) for q, label in counts) if n]
        if named:
            problems.append(f"{party.code} ({', '.join(named)})")
    if problems:
        raise ValidationError(
            {
                "parties": (
                    f"Coded data of {negotiation.name} names "
                    + "; ".join(problems)
                    + ". Recode it or merge the party into another first."
                )
            }
        )
    negotiation.name = name.strip()
    negotiation.description = description
    negotiation.start_date = start_date
    negotiation.end_date = end_date
    negotiation.full_clean()
    outside = [p for p in negotiation.phases.all() if _phase_outside(p, negotiation)]
    if outside:
        raise ValidationError(
            {
                "start_date": "These dates leave out the phase"
                + ("s " if len(outside) > 1 else " ")
                + ", ".join(repr(p.name) for p in outside)
                + "; change the phase dates first."
            }
        )
    negotiation.save()
    _set_negotiation_parties(negotiation, parties, principal_parties)
    before, after = sorted(p.code for p in old.values()), sorted(p.code for p in parties)
    if before != after:
        change_record_create(
            study=negotiation.study,
            actor=actor,
            action=ChangeRecord.Action.NEGOTIATION_PARTIES,
            summary=f"Parties of {negotiation.name}: {', '.join(before) or 'none'} became "
            f"{', '.join(after) or 'none'}.",
            before={"parties": before},
            after={"parties": after},
            affected={"negotiation": negotiation.pk},
        )
    return negotiation


def _phase_outside(phase: Phase, negotiation: Negotiation) -> bool:
    """Whether a phase's dates fall (partly) outside its negotiation's dates."""
    starts_before = bool(
        negotiation.start_date
        and any(d and d < negotiation.start_date for d in (phase.start_date, phase.end_date))
    )
    ends_after = bool(
        negotiation.end_date
        and any(d and d > negotiation.end_date for d in (phase.start_date, phase.end_date))
    )
    return starts_before or ends_after


def _check_phase_overlap(phase: Phase) -> None:
    """A phase lies within its negotiation's dates and overlaps no other phase of it."""
    negotiation = phase.negotiation
    if _phase_outside(phase, negotiation):
        span = " to ".join(
            f"{d:%Y-%m-%d}" if d else "open" for d in (negotiation.start_date, negotiation.end_date)
        )
        raise ValidationError(
            {"start_date": f"A phase must lie within its negotiation's dates ({span})."}
        )
    if not (phase.start_date and phase.end_date):
        return
    clash = (
        Phase.objects.filter(
            negotiation=phase.negotiation,
            start_date__lte=phase.end_date,
            end_date__gte=phase.start_date,
        )
        .exclude(pk=phase.pk)
        .first()
    )
    if clash is not None:
        raise ValidationError({"start_date": f"The dates overlap the phase {clash.name!r}."})


@transaction.atomic
def phase_create(
    *,
    negotiation: Negotiation,
    name: str,
    kind: str,
    start_date: date | None = None,
    end_date: date | None = None,
) -> Phase:
    order = (Phase.objects.filter(negotiation=negotiation).aggregate(n=Max("order"))["n"] or 0) + 1
    phase = Phase(
        negotiation=negotiation,
        name=name.strip(),
        kind=kind,
        start_date=start_date,
        end_date=end_date,
        order=order,
    )
    phase.full_clean()
    _check_phase_overlap(phase)
    phase.save()
    return phase


@transaction.atomic
def phase_update(
    *, phase: Phase, name: str, kind: str, start_date: date | None, end_date: date | None
) -> Phase:
    phase.name = name.strip()
    phase.kind = kind
    phase.start_date = start_date
    phase.end_date = end_date
    phase.full_clean()
    _check_phase_overlap(phase)
    phase.save()
    return phase


@transaction.atomic
def phase_delete(*, phase: Phase) -> None:
    if phase.sources.exists():
        raise ValidationError("Sources belong to this phase; move them to another phase first.")
    phase.delete()


@transaction.atomic
def event_create(
    *, negotiation: Negotiation, date: date, title: str, end_date: date | None = None
) -> Event:
    event = Event(negotiation=negotiation, date=date, end_date=end_date, title=title.strip())
    event.full_clean()
    event.save()
    return event


def study_touch(study_id: int) -> None:
    """Mark the study's codings or submissions as changed: cached reports become stale."""
    Study.objects.filter(pk=study_id).update(data_version=F("data_version") + 1)
