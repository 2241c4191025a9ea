"""Every write to TrustCoder's data goes through a function here.

Services take keyword-only arguments, validate with `full_clean()` and run in one transaction, so a
failure leaves nothing half-saved. Permission checks are the views' job; services check the rules of
the data (a coded text never changes, a study keeps an owner, a quote matches its offsets).
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, Max, Q
from django.utils import timezone
from django.utils.text import slugify

from negotiations.models import (
    AssessmentJudgement,
    Assignment,
    AssignmentStatus,
    Code,
    CodebookVersion,
    CodeSet,
    Coding,
    ConsensusCoding,
    ConsensusEvent,
    ConsensusStatus,
    ConsensusUnit,
    Decision,
    Event,
    ImportStatus,
    Membership,
    Negotiation,
    NegotiationParty,
    Party,
    Phase,
    ReportCache,
    Role,
    Segment,
    Source,
    SourceImport,
    Stance,
    Strength,
    Study,
)
from negotiations.text import normalise_text, split_sentences

DEFAULT_CODEBOOK = Path(settings.BASE_DIR) / "fixtures" / "codebook.json"


# Studies and members -----------------------------------------------------------------------------


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
        codebook_load(study=study, data=json.loads(DEFAULT_CODEBOOK.read_text("utf-8")))
    codebook_version_record(study=study, actor=created_by, note="Study created")
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


# Codebook ----------------------------------------------------------------------------------------


def codebook_snapshot(*, study: Study) -> dict[str, Any]:
    """The codebook as plain data, as stored in each version."""
    code_sets = []
    for code_set in CodeSet.objects.filter(study=study).prefetch_related("codes"):
        code_sets.append(
            {
                "slug": code_set.slug,
                "name": code_set.name,
                "for_label": code_set.for_label,
                "against_label": code_set.against_label,
                "enabled": code_set.enabled,
                "codes": [
                    {
                        "name": code.name,
                        "label": code.label,
                        "definition": code.definition,
                        "when_to_use": code.when_to_use,
                        "when_not_to_use": code.when_not_to_use,
                        "example": code.example,
                        "colour": code.colour,
                        "key": code.key,
                        "order": code.order,
                        "archived": code.archived,
                    }
                    for code in code_set.codes.all()
                ],
            }
        )
    return {"code_sets": code_sets}


def codebook_version_record(*, study: Study, actor: User | None, note: str) -> CodebookVersion:
    """Store the codebook as it now stands as the next version."""
    with transaction.atomic():
        # Lock the study row so two simultaneous edits cannot take the same number.
        Study.objects.select_for_update().filter(pk=study.pk).first()
        last = CodebookVersion.objects.filter(study=study).aggregate(n=Max("number"))["n"] or 0
        return CodebookVersion.objects.create(
            study=study,
            number=last + 1,
            snapshot=codebook_snapshot(study=study),
            note=note[:300],
            created_by=actor,
        )


@transaction.atomic
def codebook_load(*, study: Study, data: dict[str, Any]) -> None:
    """Create code sets and codes from plain data (the default codebook's JSON format)."""
    for set_order, set_data in enumerate(data["code_sets"]):
        code_set = CodeSet(
            study=study,
            slug=set_data["slug"],
            name=set_data["name"],
            for_label=set_data.get("for_label", "for"),
            against_label=set_data.get("against_label", "against"),
            enabled=set_data.get("enabled", True),
            order=set_order,
        )
        code_set.full_clean()
        code_set.save()
        for order, code_data in enumerate(set_data["codes"]):
            code = Code(
                study=study,
                code_set=code_set,
                name=code_data["name"],
                label=code_data.get("label", ""),
                definition=code_data.get("definition", ""),
                when_to_use=code_data.get("when_to_use", ""),
                when_not_to_use=code_data.get("when_not_to_use", ""),
                example=code_data.get("example", ""),
                colour=code_data.get("colour", "#a6cee3"),
                key=code_data.get("key", ""),
                order=code_data.get("order", order),
            )
            code.full_clean()
            code.save()


CODE_FIELDS = (
    "name",
    "label",
    "definition",
    "when_to_use",
    "when_not_to_use",
    "example",
    "colour",
    "key",
    "order",
)


@transaction.atomic
def code_create(*, study: Study, code_set: CodeSet, actor: User, **fields: Any) -> Code:
    if code_set.study_id != study.pk:
        raise ValidationError("This code set belongs to another study.")
    code = Code(
        study=study, code_set=code_set, **{k: fields[k] for k in CODE_FIELDS if k in fields}
    )
    code.full_clean()
    code.save()
    codebook_version_record(study=study, actor=actor, note=f"Added code {code.name}")
    return code


@transaction.atomic
def code_update(*, code: Code, actor: User, **fields: Any) -> Code:
    changed = [k for k in CODE_FIELDS if k in fields and getattr(code, k) != fields[k]]
    if not changed:
        return code
    if "name" in changed and code.codings.exists():
        # Exports and past versions refer to a code by name; renaming a used code rewrites history.
        raise ValidationError({"name": "This code has codings; its name can no longer change."})
    for key in changed:
        setattr(code, key, fields[key])
    code.full_clean()
    code.save()
    codebook_version_record(
        study=code.study, actor=actor, note=f"Changed {code.name}: {', '.join(changed)}"
    )
    return code


@transaction.atomic
def code_remove(*, code: Code, actor: User) -> str:
    """Delete an unused code; archive a code that has codings. Returns what was done."""
    name = code.name
    if code.codings.exists():
        code.archived = True
        code.save(update_fields=["archived"])
        action = "archived"
    else:
        code.delete()
        action = "deleted"
    codebook_version_record(
        study=code.study, actor=actor, note=f"{action.capitalize()} code {name}"
    )
    return action


@transaction.atomic
def code_restore(*, code: Code, actor: User) -> Code:
    code.archived = False
    code.full_clean()
    code.save(update_fields=["archived"])
    codebook_version_record(study=code.study, actor=actor, note=f"Restored code {code.name}")
    return code


@transaction.atomic
def code_set_set_enabled(*, code_set: CodeSet, enabled: bool, actor: User) -> CodeSet:
    if code_set.enabled != enabled:
        code_set.enabled = enabled
        code_set.save(update_fields=["enabled"])
        verb = "Switched on" if enabled else "Switched off"
        codebook_version_record(study=code_set.study, actor=actor, note=f"{verb} {code_set.name}")
    return code_set


# Parties, negotiations, phases, events -----------------------------------------------------------


@transaction.atomic
def party_create(*, study: Study, code: str, name: str) -> Party:
    party = Party(study=study, code=code.strip(), name=name.strip() or code.strip())
    party.full_clean()
    party.save()
    return party


@transaction.atomic
def party_update(*, party: Party, code: str, name: str) -> Party:
    party.code = code.strip()
    party.name = name.strip()
    party.full_clean()
    party.save()
    return party


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
) -> Negotiation:
    negotiation.name = name.strip()
    negotiation.description = description
    negotiation.start_date = start_date
    negotiation.end_date = end_date
    negotiation.full_clean()
    negotiation.save()
    _set_negotiation_parties(negotiation, parties, principal_parties)
    return negotiation


def _check_phase_overlap(phase: Phase) -> None:
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


# Sources -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceMetadata:
    """The descriptive fields of a source, as entered on a form or read from an import row."""

    negotiation: Negotiation
    title: str
    phase: Phase | None = None
    speaker: str = ""
    speaker_party: Party | None = None
    date: date | None = None
    source_type: str = "official_statement"
    citation: str = ""
    url: str = ""
    language: str = "en"


def text_digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def prepare_source_text(raw: str) -> str:
    """Normalise text as DOMAIN.md section 3 says and check the study's limits."""
    text = normalise_text(raw)
    if not text:
        raise ValidationError({"text": "The text is empty."})
    limit = settings.TRUSTCODER_MAX_TEXT_CHARS
    if len(text) > limit:
        raise ValidationError(
            {"text": f"The text has {len(text):,} characters; the limit is {limit:,}."}
        )
    return text


def segments_for(source: Source) -> list[Segment]:
    return [
        Segment(source=source, index=i, start=start, end=end)
        for i, (start, end) in enumerate(split_sentences(source.text))
    ]


def _apply_metadata(source: Source, metadata: SourceMetadata) -> None:
    for field in (
        "negotiation",
        "title",
        "phase",
        "speaker",
        "speaker_party",
        "date",
        "source_type",
        "citation",
        "url",
        "language",
    ):
        setattr(source, field, getattr(metadata, field))


@transaction.atomic
def source_create(
    *,
    study: Study,
    metadata: SourceMetadata,
    text: str,
    created_by: User | None,
    original_filename: str = "",
    allow_duplicate: bool = False,
) -> Source:
    """Create a source from raw text: normalise it, check it, split it into sentence segments."""
    text = prepare_source_text(text)
    digest = text_digest(text)
    if not allow_duplicate:
        existing = Source.objects.filter(study=study, text_sha256=digest).first()
        if existing is not None:
            raise ValidationError(
                {
                    "text": (
                        f"This text is already in the study as source #{existing.pk} "
                        f"({existing.title})."
                    )
                }
            )
    source = Source(
        study=study,
        text=text,
        text_sha256=digest,
        created_by=created_by,
        original_filename=original_filename[:255],
    )
    _apply_metadata(source, metadata)
    source.full_clean()
    source.save()
    Segment.objects.bulk_create(segments_for(source))
    return source


@transaction.atomic
def source_update_metadata(*, source: Source, metadata: SourceMetadata) -> Source:
    """Change a source's descriptive fields; its text is untouched."""
    _apply_metadata(source, metadata)
    source.full_clean()
    source.save()
    return source


def source_is_coded(source: Source) -> bool:
    return source.codings.exists()


@transaction.atomic
def source_replace_text(*, source: Source, text: str, actor: User) -> Source:
    """Correct a source's text.

    An uncoded source is corrected in place (its segments are recomputed). A coded source keeps
    its text, since every span points into it; the correction becomes a new version that
    supersedes it, with the same metadata and no codings.
    """
    source = Source.objects.select_for_update().get(pk=source.pk)
    new_text = prepare_source_text(text)
    if new_text == source.text:
        return source
    if not source_is_coded(source):
        source.text = new_text
        source.text_sha256 = text_digest(new_text)
        source.full_clean()
        source.save()
        source.segments.all().delete()
        Segment.objects.bulk_create(segments_for(source))
        return source
    if hasattr(source, "superseded_by"):
        raise ValidationError("A newer version of this source exists; correct that one instead.")
    new = Source(
        study=source.study,
        text=new_text,
        text_sha256=text_digest(new_text),
        created_by=actor,
        version=source.version + 1,
        supersedes=source,
        original_filename=source.original_filename,
    )
    for field in (
        "negotiation",
        "title",
        "phase",
        "speaker",
        "speaker_party",
        "date",
        "source_type",
        "citation",
        "url",
        "language",
    ):
        setattr(new, field, getattr(source, field))
    new.full_clean()
    new.save()
    Segment.objects.bulk_create(segments_for(new))
    return new


@transaction.atomic
def source_delete(*, source: Source) -> None:
    if source_is_coded(source):
        raise ValidationError("This source has codings and cannot be deleted.")
    source.delete()


def study_touch(study_id: int) -> None:
    """Mark the study's codings or submissions as changed: cached reports become stale."""
    Study.objects.filter(pk=study_id).update(data_version=F("data_version") + 1)


# Assignments and codings -------------------------------------------------------------------------


@transaction.atomic
def assignment_create(*, source: Source, coder: User, assigned_by: User | None) -> Assignment:
    membership = Membership.objects.filter(study=source.study_id, user=coder).first()
    if membership is None or membership.role != Role.CODER:
        raise ValidationError(f"{coder.username} is not a coder in this study.")
    assignment, _ = Assignment.objects.get_or_create(
        source=source, coder=coder, defaults={"assigned_by": assigned_by}
    )
    return assignment


@transaction.atomic
def assignment_submit(*, assignment: Assignment) -> Assignment:
    """Mark a coder's work on a source as done; from now on it counts in agreement."""
    assignment = Assignment.objects.select_for_update().get(pk=assignment.pk)
    if assignment.status != AssignmentStatus.SUBMITTED:
        assignment.status = AssignmentStatus.SUBMITTED
        assignment.submitted_at = timezone.now()
        assignment.save(update_fields=["status", "submitted_at"])
        study_touch(assignment.source.study_id)
    return assignment


@transaction.atomic
def assignment_reopen(*, assignment: Assignment) -> Assignment:
    assignment = Assignment.objects.select_for_update().get(pk=assignment.pk)
    if assignment.status == AssignmentStatus.SUBMITTED:
        assignment.status = AssignmentStatus.IN_PROGRESS
        assignment.submitted_at = None
        assignment.save(update_fields=["status", "submitted_at"])
        study_touch(assignment.source.study_id)
    return assignment


@dataclass(frozen=True)
class AssignmentPlan:
    """What a bulk assignment created: new assignments per coder and the double-coded sources."""

    created: dict[str, int]
    n_sources: int
    n_double_coded: int


def plan_assignments(
    *,
    source_ids: list[int],
    coder_ids: list[int],
    mode: str,
    share: float = 0.2,
    seed: int = 0,
) -> list[tuple[int, int]]:
    """(source, coder) pairs: every source to every coder (mode "all"), or each source to one
    coder with `share` of them double-coded by a second (mode "share").

    Loads are balanced (they differ by at most one assignment) and the plan depends only on the
    ids and the seed, so the same request gives the same plan.
    """
    sources = sorted(source_ids)
    coders = sorted(coder_ids)
    if not sources or not coders:
        return []
    if mode == "all":
        return [(s, c) for s in sources for c in coders]
    if not 0 <= share <= 1:
        raise ValidationError({"share": "The share of double-coded sources is between 0 and 1."})
    rng = random.Random(seed)
    order = sources[:]
    rng.shuffle(order)
    coder_order = coders[:]
    rng.shuffle(coder_order)
    doubles: set[int] = set()
    if len(coders) > 1:
        picks = order[:]
        rng.shuffle(picks)
        doubles = set(picks[: round(share * len(order))])
    # Dealing slots round the coders keeps loads within one of each other, and a double-coded
    # source's two adjacent slots always go to two different coders.
    slots = [s for source in order for s in ([source, source] if source in doubles else [source])]
    pairs = [(source, coder_order[i % len(coder_order)]) for i, source in enumerate(slots)]
    return pairs


@transaction.atomic
def assignments_bulk_create(
    *,
    study: Study,
    source_ids: Iterable[int],
    coders: Iterable[User],
    mode: str,
    share: float,
    seed: int,
    assigned_by: User,
) -> AssignmentPlan:
    """Assign sources to coders in bulk; existing assignments are kept, never duplicated."""
    coders = list(coders)
    coder_ids = set(
        Membership.objects.filter(
            study=study, role=Role.CODER, user__in=[c.pk for c in coders]
        ).values_list("user_id", flat=True)
    )
    if len(coder_ids) != len({c.pk for c in coders}):
        raise ValidationError({"coders": "Every chosen person must be a coder in this study."})
    source_ids = list(
        Source.objects.filter(study=study, pk__in=list(source_ids)).values_list("pk", flat=True)
    )
    pairs = plan_assignments(
        source_ids=source_ids, coder_ids=sorted(coder_ids), mode=mode, share=share, seed=seed
    )
    existing = set(
        Assignment.objects.filter(source_id__in=source_ids).values_list("source_id", "coder_id")
    )
    new = [pair for pair in pairs if pair not in existing]
    Assignment.objects.bulk_create(
        [Assignment(source_id=s, coder_id=c, assigned_by=assigned_by) for s, c in new],
        batch_size=1000,
    )
    names = dict(get_user_model().objects.filter(pk__in=coder_ids).values_list("pk", "username"))
    created: dict[str, int] = dict.fromkeys(sorted(names.values()), 0)
    for _, coder in new:
        created[names[coder]] += 1
    per_source: dict[int, int] = {}
    for source, _ in pairs:
        per_source[source] = per_source.get(source, 0) + 1
    return AssignmentPlan(
        created=created,
        n_sources=len(source_ids),
        n_double_coded=sum(1 for n in per_source.values() if n > 1),
    )


def _open_assignment(*, source: Source, coder: User) -> Assignment:
    """The coder's assignment on the source, locked; refuses unassigned or submitted work."""
    assignment = Assignment.objects.select_for_update().filter(source=source, coder=coder).first()
    if assignment is None:
        raise PermissionDenied("This source is not assigned to you.")
    if assignment.status == AssignmentStatus.SUBMITTED:
        raise ValidationError(
            "You have submitted this source; a supervisor can reopen it if it needs changes."
        )
    return assignment


def _check_coding_fields(
    *, source: Source, code: Code, stance: str, demonstrating_party: Party, strength: str
) -> dict[str, str]:
    errors: dict[str, str] = {}
    if code.study_id != source.study_id:
        errors["code"] = "This code belongs to another study."
    elif code.archived or not code.code_set.enabled:
        errors["code"] = "This code is not in use."
    if demonstrating_party.study_id != source.study_id:
        errors["demonstrating_party"] = "This party belongs to another study."
    if stance not in Stance.values:
        errors["stance"] = f"Stance must be one of {', '.join(Stance.values)}."
    if strength and strength not in Strength.values:
        errors["strength"] = f"Strength must be one of {', '.join(Strength.values)} or empty."
    return errors


@transaction.atomic
def coding_create(
    *,
    source: Source,
    coder: User,
    code: Code,
    start: int,
    end: int,
    quote: str,
    stance: str,
    demonstrating_party: Party,
    strength: str = "",
    memo: str = "",
) -> Coding:
    """Save a tagged passage after checking its span against the source text.

    The quote sent by the page must equal `text[start:end]`: a page showing stale text or a
    browser that counted offsets differently gets a clear error rather than a wrong span. Only the
    coder's own, unsubmitted assignment can take codings.
    """
    assignment = _open_assignment(source=source, coder=coder)
    errors = _check_coding_fields(
        source=source,
        code=code,
        stance=stance,
        demonstrating_party=demonstrating_party,
        strength=strength,
    )
    if not (0 <= start < end <= len(source.text)):
        errors["start"] = (
            f"The passage [{start}:{end}] is empty or outside the text "
            f"(0 to {len(source.text)} characters)."
        )
    elif source.text[start:end] != quote:
        errors["quote"] = (
            "The selected text does not match the source at these positions; "
            "reload the page and select the passage again."
        )
    if errors:
        raise ValidationError(errors)
    coding = Coding(
        source=source,
        coder=coder,
        code=code,
        start=start,
        end=end,
        quote=quote,
        stance=stance,
        demonstrating_party=demonstrating_party,
        strength=strength,
        memo=memo,
    )
    # Related objects and the span were checked above; skipping the uniqueness and constraint
    # checks saves their queries (the database enforces both).
    coding.full_clean(
        exclude=["source", "coder", "code", "demonstrating_party"],
        validate_unique=False,
        validate_constraints=False,
    )
    coding.save()
    if assignment.status == AssignmentStatus.ASSIGNED:
        assignment.status = AssignmentStatus.IN_PROGRESS
        assignment.save(update_fields=["status"])
    return coding


@transaction.atomic
def coding_update(
    *,
    coding: Coding,
    coder: User,
    code: Code,
    stance: str,
    demonstrating_party: Party,
    strength: str = "",
    memo: str = "",
) -> Coding:
    """Change a coding's code, stance, party, strength or memo; its span stays."""
    if coding.coder_id != coder.pk:
        raise PermissionDenied("You can only change your own codings.")
    _open_assignment(source=coding.source, coder=coder)
    errors = _check_coding_fields(
        source=coding.source,
        code=code,
        stance=stance,
        demonstrating_party=demonstrating_party,
        strength=strength,
    )
    if errors:
        raise ValidationError(errors)
    coding.code = code
    coding.stance = stance
    coding.demonstrating_party = demonstrating_party
    coding.strength = strength
    coding.memo = memo
    # Related objects and the span were checked above; skipping the uniqueness and constraint
    # checks saves their queries (the database enforces both).
    coding.full_clean(
        exclude=["source", "coder", "code", "demonstrating_party"],
        validate_unique=False,
        validate_constraints=False,
    )
    coding.save()
    return coding


@transaction.atomic
def coding_delete(*, coding: Coding, coder: User) -> dict[str, Any]:
    """Delete one of the coder's codings; returns its fields so that the page can undo it."""
    if coding.coder_id != coder.pk:
        raise PermissionDenied("You can only delete your own codings.")
    _open_assignment(source=coding.source, coder=coder)
    restorable = {
        "code": coding.code_id,
        "start": coding.start,
        "end": coding.end,
        "stance": coding.stance,
        "demonstrating_party": coding.demonstrating_party_id,
        "strength": coding.strength,
        "memo": coding.memo,
    }
    coding.delete()
    return restorable


@transaction.atomic
def codings_create_for_segments(
    *,
    source: Source,
    coder: User,
    segment_indexes: Iterable[int],
    code: Code,
    stance: str,
    demonstrating_party: Party,
    strength: str = "",
    memo: str = "",
) -> list[Coding]:
    """Code whole sentences (the page without JavaScript): one coding per run of adjacent ones."""
    wanted = sorted(set(segment_indexes))
    segments = {s.index: s for s in Segment.objects.filter(source=source, index__in=wanted)}
    if not wanted or len(segments) != len(wanted):
        raise ValidationError({"segments": "Choose one or more sentences of this source."})
    groups: list[list[Segment]] = []
    for index in wanted:
        if groups and groups[-1][-1].index == index - 1:
            groups[-1].append(segments[index])
        else:
            groups.append([segments[index]])
    codings = []
    for group in groups:
        start, end = group[0].start, group[-1].end
        codings.append(
            coding_create(
                source=source,
                coder=coder,
                code=code,
                start=start,
                end=end,
                quote=source.text[start:end],
                stance=stance,
                demonstrating_party=demonstrating_party,
                strength=strength,
                memo=memo,
            )
        )
    return codings


# Bulk import of statements -----------------------------------------------------------------------

MAX_IMPORT_ROWS = 100_000


@dataclass(frozen=True)
class ImportProblem:
    """One thing wrong with an import file; row numbers count the header as row 1."""

    message: str
    row: int | None = None
    column: str = ""


@dataclass
class ImportReport:
    filename: str
    n_rows: int = 0
    n_imported: int = 0
    dry_run: bool = True
    problems: list[ImportProblem] | None = None
    preview: list[dict[str, Any]] | None = None
    created: list[str] | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


class ImportFileError(Exception):
    """A file that cannot be read as rows at all, with where the problem is."""

    def __init__(self, message: str, row: int | None = None) -> None:
        super().__init__(message)
        self.problem = ImportProblem(message=message, row=row)


def size_limit_text(limit: int) -> str:
    if limit >= 1024 * 1024:
        return f"{limit / (1024 * 1024):g} MB"
    return f"{max(1, round(limit / 1024)):,} KB"


def _blank(cells: Iterable[Any]) -> bool:
    return not any(cell is not None and str(cell).strip() for cell in cells)


def _read_dataset(filename: str, content: bytes) -> tuple[Any, list[int]]:
    """Read a CSV or XLSX file into a tablib Dataset of its non-blank rows.

    Returns the dataset and, for each of its rows, the row number a spreadsheet shows (the
    header is row 1), so that problems point at the right row even after blank rows.
    """
    import csv
    import io
    import zipfile

    import tablib

    from negotiations.extract import ExtractionError, decode_text

    if not content:
        raise ImportFileError("The file is empty.")
    limit = settings.TRUSTCODER_MAX_UPLOAD_BYTES
    if len(content) > limit:
        raise ImportFileError(f"The file is larger than the {size_limit_text(limit)} limit.")
    lower = filename.lower()
    if lower.endswith(".xlsx"):
        try:
            with zipfile.ZipFile(io.BytesIO(content)) as archive:
                unpacked = sum(info.file_size for info in archive.infolist())
        except zipfile.BadZipFile:
            raise ImportFileError("This .xlsx file is damaged or not a spreadsheet.") from None
        if unpacked > 100 * 1024 * 1024 or unpacked > 200 * len(content):
            raise ImportFileError("This .xlsx unpacks to far more than its size; refusing it.")
        try:
            sheet = tablib.Dataset().load(io.BytesIO(content), format="xlsx")
        except Exception as exc:  # openpyxl raises many kinds for a broken workbook
            raise ImportFileError(f"This .xlsx file could not be read ({exc}).") from None
        header = list(sheet.headers or [])
        records = [(number, list(cells)) for number, cells in enumerate(sheet, start=2)]
    elif lower.endswith(".csv"):
        try:
            text, _encoding = decode_text(content)
        except ExtractionError as exc:
            raise ImportFileError(str(exc)) from None
        try:
            rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"), newline="")))
        except csv.Error as exc:
            raise ImportFileError(f"The file is not valid CSV ({exc}).") from None
        if not rows:
            raise ImportFileError("The file has no header row.")
        header = rows[0]
        records = list(enumerate(rows[1:], start=2))
    else:
        raise ImportFileError("Upload a .csv or .xlsx file.")
    if _blank(header):
        raise ImportFileError("The file has no header row.", row=1)
    dataset = tablib.Dataset(headers=[str(h or "") for h in header])
    line_numbers = []
    for number, cells in records:
        if _blank(cells):
            continue  # blank lines, and rows a spreadsheet formatted but never filled
        if len(cells) != len(header):
            raise ImportFileError(
                f"This row has {len(cells)} cells but the header has {len(header)}; "
                "check its quotes and commas.",
                row=number,
            )
        dataset.append(cells)
        line_numbers.append(number)
    return dataset, line_numbers


def _problems_from_result(result: Any, line_numbers: list[int]) -> list[ImportProblem]:
    def line(number: int) -> int:
        return line_numbers[number - 1] if 0 < number <= len(line_numbers) else number + 1

    problems = [ImportProblem(message=str(error.error)) for error in result.base_errors]
    for invalid in result.invalid_rows:
        for column, messages in invalid.error_dict.items():
            for message in messages:
                problems.append(
                    ImportProblem(
                        row=line(invalid.number),
                        column="" if column == "__all__" else column,
                        message=str(message),
                    )
                )
    for number, errors in result.row_errors():
        for error in errors:
            problems.append(ImportProblem(row=line(number), message=str(error.error)))
    return sorted(problems, key=lambda p: (p.row or 0, p.column))


def sources_import(
    *,
    study: Study,
    filename: str,
    content: bytes,
    actor: User | None,
    dry_run: bool,
    create_missing: bool = False,
) -> ImportReport:
    """Import statements from a CSV or XLSX file; with any problem, nothing is saved.

    The dry run goes through the same code, inside a transaction that is always rolled back, so
    its report lists exactly what the real import would refuse.
    """
    from negotiations.resources import SourceResource

    report = ImportReport(filename=filename, dry_run=dry_run, problems=[], preview=[], created=[])
    try:
        dataset, line_numbers = _read_dataset(filename, content)
    except ImportFileError as exc:
        report.problems = [exc.problem]
        return report
    report.n_rows = len(dataset)
    if report.n_rows == 0:
        report.problems = [ImportProblem(message="The file has a header but no rows.")]
        return report
    if report.n_rows > MAX_IMPORT_ROWS:
        report.problems = [
            ImportProblem(
                message=f"The file has {report.n_rows:,} rows; the limit is {MAX_IMPORT_ROWS:,}."
            )
        ]
        return report
    resource = SourceResource(
        study=study, actor=actor, create_missing=create_missing, line_numbers=line_numbers
    )

    class _Rollback(Exception):
        pass

    try:
        with transaction.atomic():
            result = (
                resource.import_data(
                    dataset, dry_run=True, use_transactions=True, raise_errors=False
                )
                if dry_run
                else resource.import_data(
                    dataset,
                    dry_run=False,
                    use_transactions=True,
                    raise_errors=False,
                    rollback_on_validation_errors=True,
                )
            )
            report.problems = _problems_from_result(result, line_numbers)
            if report.problems:
                raise _Rollback
    except _Rollback:
        pass
    if not report.problems:
        report.created = list(resource.created_objects)
        if not dry_run:
            report.n_imported = result.totals["new"]
    headers = list(dataset.headers or [])
    for values in dataset[:20]:
        report.preview.append({h: _preview_cell(v) for h, v in zip(headers, values, strict=False)})
    return report


def _preview_cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= 160 else text[:157] + "..."


IMPORT_COLUMNS = (
    "negotiation",
    "phase",
    "title",
    "date",
    "speaker",
    "speaker_party",
    "source_type",
    "citation",
    "url",
    "language",
    "text",
)


def source_import_stage(
    *, study: Study, filename: str, content: bytes, actor: User, create_missing: bool
) -> SourceImport:
    """Keep an uploaded file until its preview is confirmed, with the dry run's counts."""
    report = sources_import(
        study=study,
        filename=filename,
        content=content,
        actor=actor,
        dry_run=True,
        create_missing=create_missing,
    )
    return SourceImport.objects.create(
        study=study,
        uploaded_by=actor,
        filename=filename[:255],
        content=content,
        create_missing=create_missing,
        n_rows=report.n_rows,
        n_errors=len(report.problems or []),
    )


def source_import_confirm(*, source_import: SourceImport, actor: User) -> ImportReport:
    """Import a staged file for real; with any problem nothing is saved and it stays refused."""
    with transaction.atomic():
        staged = SourceImport.objects.select_for_update().get(pk=source_import.pk)
        if staged.status != ImportStatus.PREVIEWED:
            raise ValidationError("This file was already imported or refused.")
        report = sources_import(
            study=staged.study,
            filename=staged.filename,
            content=bytes(staged.content),
            actor=actor,
            dry_run=False,
            create_missing=staged.create_missing,
        )
        staged.status = ImportStatus.IMPORTED if report.ok else ImportStatus.FAILED
        staged.n_rows = report.n_rows
        staged.n_errors = len(report.problems or [])
        staged.n_imported = report.n_imported
        staged.finished_at = timezone.now()
        # The content is no longer needed once the file is in (or refused).
        staged.content = b""
        staged.save()
    return report


# Reliability report ---------------------------------------------------------------------------


def reliability_report(
    *,
    study: Study,
    filters: Any,
    pair: tuple[int, int] | None = None,
    use_cache: bool = True,
    compute: bool = True,
) -> dict[str, Any] | None:
    """The reliability report for the filters, from the cache while the study's data holds.

    With `compute=False` it only looks in the cache and returns None when nothing fresh is there.

    The cache is keyed by the filters and the codebook version, and is valid only for the
    study's current `data_version`, which every submission or reopening bumps.
    """
    import time

    from negotiations import reliability, selectors

    version, key = _reliability_cache_key(study, filters, pair)
    if use_cache:
        cached = ReportCache.objects.filter(study=study, key=key, data_version=version).first()
        if cached is not None:
            return {**cached.payload, "cached": True, "seconds": cached.seconds}
    if not compute:
        return None
    inputs = selectors.reliability_inputs(study=study, filters=filters)
    started = time.perf_counter()
    table = reliability.build_unit_table(
        inputs.sources,
        inputs.codings,
        code_ids=[pk for pk, _ in inputs.codes],
        coder_ids=inputs.coder_ids,
        level=filters.unit,
    )
    report = reliability.build_report(
        reliability.ReportInput(
            table=table,
            codes=inputs.codes,
            parties=inputs.parties,
            coder_names=inputs.coder_names,
            options=reliability.ReportOptions(level=filters.level, pair=pair),
        )
    )
    payload = reliability.strip_private(report)
    payload["coder_names"] = {str(k): v for k, v in inputs.coder_names.items()}
    payload["parties"] = {str(k): v for k, v in inputs.parties.items()}
    payload["codes"] = {str(k): v for k, v in inputs.codes}
    payload["unit"] = filters.unit
    seconds = time.perf_counter() - started
    ReportCache.objects.update_or_create(
        study=study,
        key=key,
        defaults={"data_version": version, "payload": payload, "seconds": seconds},
    )
    return {**payload, "cached": False, "seconds": seconds}


def _reliability_key(filters: Any, codebook_version: int, pair: tuple[int, int] | None) -> str:
    return hashlib.sha256(
        f"reliability:{filters.key()}:cb{codebook_version}:pair{pair}".encode()
    ).hexdigest()


def _reliability_cache_key(
    study: Study, filters: Any, pair: tuple[int, int] | None
) -> tuple[int, str]:
    version = Study.objects.filter(pk=study.pk).values_list("data_version", flat=True).get()
    codebook_version = (
        CodebookVersion.objects.filter(study=study)
        .order_by("-number")
        .values_list("number", flat=True)
        .first()
        or 0
    )
    return version, _reliability_key(filters, codebook_version, pair)


def reliability_matrix_lines(*, study: Study, filters: Any) -> Any:
    """CSV lines of the unit x coder matrix, for checking our figures in R or Python."""
    from negotiations import exports, reliability, selectors

    inputs = selectors.reliability_inputs(study=study, filters=filters)
    table = reliability.build_unit_table(
        inputs.sources,
        inputs.codings,
        code_ids=[pk for pk, _ in inputs.codes],
        coder_ids=inputs.coder_ids,
        level=filters.unit,
    )
    rows = reliability.matrix_csv_rows(table, inputs.coder_names, filters.level)
    header = next(rows)
    return exports.csv_lines(header, rows)


# Consensus layer ------------------------------------------------------------------------------


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
    from negotiations import reliability, selectors

    locked = Study.objects.select_for_update().get(pk=study.pk)
    if locked.consensus_version == locked.data_version and not force:
        return 0
    inputs = selectors.reliability_inputs(study=study, filters=selectors.ReliabilityFilters())
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
    source = unit.source
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
        errors = _check_coding_fields(
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


# Assessments ----------------------------------------------------------------------------------


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
