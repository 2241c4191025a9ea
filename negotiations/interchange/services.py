"""Writes of REFI-QDA import: the import of a planned file, all of it or nothing.

`qdpx_import` saves a plan (`planning.py`) in one transaction through the features' own services
(sources through `source_create`, codings through `codings_bulk_create` with `coding_create`'s
checks, quote included). `qdpx_import_run` does the same for an upload stored in `QdpxImport`,
reporting progress through a callback, so that it can run in a background task.
"""

from __future__ import annotations

import dataclasses
import re

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from negotiations.blobs import blob_write
from negotiations.codebook import services as codebook_services
from negotiations.coding import assignments as assignment_services
from negotiations.coding import services as coding_services
from negotiations.interchange.mapping import (
    DEFINITION_MAX,
)
from negotiations.interchange.planning import (
    _PALETTE,
    ImportPlan,
    Progress,
    QdpxImportError,
    _Coding,
    qdpx_import_plan,
)
from negotiations.models import (
    Code,
    CodeSet,
    ImportStatus,
    Membership,
    Negotiation,
    Party,
    QdpxImport,
    Role,
    Study,
)
from negotiations.sources import services as source_services
from negotiations.studies import services as study_services


def _ensure_users(plan: ImportPlan, study: Study, actor: User | None) -> dict[str, User]:
    user_model = get_user_model()
    users: dict[str, User] = {}
    for guid, username in plan._users.items():
        user = user_model.objects.filter(username__iexact=username).first()
        if user is None:
            user = user_model.objects.create_user(username=username, password=None)
        if not Membership.objects.filter(study=study, user=user).exists():
            study_services.membership_add(
                study=study, identifier=user.username, role=Role.CODER, actor_role=Role.OWNER
            )
        users[guid] = user
    return users


def _ensure_codes(plan: ImportPlan, study: Study, actor: User | None) -> dict[str, Code]:
    sets = {s.slug: s for s in CodeSet.objects.filter(study=study)}
    new_sets = [f for slug, f in plan._code_sets.items() if slug not in sets]
    codebook_services.codebook_load(
        study=study,
        data={
            "code_sets": [
                {
                    "slug": f.slug,
                    "name": f.name[:200],
                    "for_label": f.for_label[:40],
                    "against_label": f.against_label[:40],
                    # Enabled while codings are imported; switched off again afterwards.
                    "enabled": True,
                    "codes": [],
                }
                for f in new_sets
            ]
        },
    )
    offset = CodeSet.objects.filter(study=study).count()
    for index, code_set in enumerate(
        CodeSet.objects.filter(study=study, slug__in=[f.slug for f in new_sets])
    ):
        code_set.order = offset + index
        code_set.save(update_fields=["order"])
    sets = {s.slug: s for s in CodeSet.objects.filter(study=study)}
    keys = set(
        Code.objects.filter(study=study, archived=False)
        .exclude(key="")
        .values_list("key", flat=True)
    )
    existing = {c.name: c for c in Code.objects.filter(study=study)}
    codes: dict[str, Code] = {}
    for order, item in enumerate(plan._codes):
        if item.existing:
            codes[item.guid] = existing[item.name]
            continue
        key = item.fields.key if item.fields.key and item.fields.key not in keys else ""
        keys.add(key)
        code = Code(
            study=study,
            code_set=sets[item.set_slug],
            name=item.name,
            label=item.fields.label[:200] or item.name,
            definition=item.fields.definition[:DEFINITION_MAX] or item.fields.label[:200],
            when_to_use=item.fields.when_to_use,
            when_not_to_use=item.fields.when_not_to_use,
            example=item.fields.example,
            colour=item.colour if re.fullmatch(r"#[0-9a-fA-F]{6}", item.colour) else _PALETTE[0],
            key=key,
            order=order,
        )
        code.full_clean()
        code.save()
        codes[item.guid] = code
    return codes


def _ensure_structure(
    plan: ImportPlan, study: Study
) -> tuple[dict[str, Party], dict[str, Negotiation], dict[tuple[str, str], object]]:
    parties = {p.code: p for p in Party.objects.filter(study=study)}
    for code in plan.parties_created:
        parties[code] = study_services.party_create(
            study=study, code=code, name=(plan._party_names.get(code) or code)[:200]
        )
    negotiations = {n.name: n for n in Negotiation.objects.filter(study=study)}
    for name, values in plan._negotiations.items():
        if name in negotiations:
            continue
        party_codes = [c for c in values["parties"] if c in parties]  # type: ignore[union-attr]
        negotiations[name] = study_services.negotiation_create(
            study=study,
            name=name,
            description=str(values["description"]),
            start_date=values["start_date"],  # type: ignore[arg-type]
            end_date=values["end_date"],  # type: ignore[arg-type]
            parties=[parties[c] for c in party_codes],
            principal_parties=[parties[c] for c in values["principal"] if c in parties],  # type: ignore[union-attr]
        )
    # A coding's party and a source's speaking party must be parties of its negotiation: the
    # file's cases need not list them (other tools have no such rule), so they are added.
    negotiation_of = {s.guid: s.negotiation for s in plan._sources}
    needed: dict[str, set[str]] = {}
    for source in plan._sources:
        if source.party:
            needed.setdefault(source.negotiation, set()).add(source.party)
    for coding in plan._codings:
        needed.setdefault(negotiation_of[coding.source_guid], set()).add(coding.party)
    for name, codes in needed.items():
        study_services.negotiation_add_parties(
            negotiation=negotiations[name], parties=[parties[c] for c in sorted(codes)]
        )
    phases: dict[tuple[str, str], object] = {}
    for negotiation in negotiations.values():
        for phase in negotiation.phases.all():
            phases[(negotiation.name, phase.name)] = phase
    for source in plan._sources:
        if source.phase and (source.negotiation, source.phase[0]) not in phases:
            phases[(source.negotiation, source.phase[0])] = study_services.phase_create(
                negotiation=negotiations[source.negotiation],
                name=source.phase[0],
                kind=source.phase[1],
            )
    return parties, negotiations, phases


@transaction.atomic
def qdpx_import(
    *,
    plan: ImportPlan,
    actor: User | None,
    study: Study | None = None,
    new_study_slug: str = "",
    progress: Progress | None = None,
) -> Study:
    """Save a planned import: all of it, or nothing (raises `QdpxImportError` or
    `ValidationError`). Without `study`, a new study owned by `actor` is created first."""
    if not plan.ok:
        raise QdpxImportError(plan)
    if study is None:
        if actor is None:
            raise ValidationError("A new study needs an owner.")
        study = study_services.study_create(
            name=plan.study_name or plan.project_name or "Imported study",
            slug=new_study_slug,
            created_by=actor,
            default_codebook=False,
        )
    total = len(plan._sources) + len(plan._codings)
    done = 0
    users = _ensure_users(plan, study, actor)
    codes = _ensure_codes(plan, study, actor)
    parties, negotiations, phases = _ensure_structure(plan, study)
    sources = {}
    for item in plan._sources:
        metadata = source_services.SourceMetadata(
            negotiation=negotiations[item.negotiation],
            title=item.title,
            phase=phases.get((item.negotiation, item.phase[0])) if item.phase else None,  # type: ignore[arg-type]
            speaker=item.speaker,
            speaker_party=parties.get(item.party) if item.party else None,
            date=item.date,
            source_type=item.source_type,
            citation=item.citation,
            url=item.url,
            language=item.language,
        )
        sources[item.guid] = source_services.source_create(
            study=study, metadata=metadata, text=item.text, created_by=actor
        )
        done += 1
        if progress is not None:
            progress(done, total)
    # One batch per (source, coder), in the file's order within it.
    batches: dict[tuple[str, str], list[_Coding]] = {}
    for item in plan._codings:
        batches.setdefault((item.source_guid, item.user_guid), []).append(item)
    for (source_guid, user_guid), items in batches.items():
        source = sources[source_guid]
        coder = users[user_guid]
        assignment_services.assignment_create(source=source, coder=coder, assigned_by=actor)
        coding_services.codings_bulk_create(
            source=source,
            coder=coder,
            codings=[
                coding_services.CodingInput(
                    code=codes[item.code_guid],
                    start=item.start,
                    end=item.end,
                    quote=source.text[item.start : item.end],
                    stance=item.stance,
                    demonstrating_party=parties[item.party],
                    strength=item.strength,
                    memo=item.memo,
                )
                for item in items
            ],
        )
        done += len(items)
        if progress is not None:
            progress(done, total)
    for slug, fields in plan._code_sets.items():
        if not fields.enabled:
            CodeSet.objects.filter(study=study, slug=slug).update(enabled=False)
    codebook_services.codebook_version_record(
        study=study, actor=actor, note=f"Imported from {plan.project_name or 'a REFI-QDA project'}"
    )
    study_services.study_touch(study.pk)
    return study


def plan_preview(plan: ImportPlan) -> dict[str, object]:
    """The plan's public fields as JSON-ready data: what the preview shows, stored once."""
    preview: dict[str, object] = {
        f.name: getattr(plan, f.name)
        for f in dataclasses.fields(plan)
        if not f.name.startswith("_")
    }
    preview["ok"] = plan.ok
    return preview


@transaction.atomic
def qdpx_import_stage(
    *,
    content: bytes,
    filename: str,
    uploaded_by: User,
    study: Study | None,
    new_study_name: str = "",
    new_study_slug: str = "",
    check: bool = True,
) -> tuple[QdpxImport, ImportPlan | None]:
    """Keep an upload for its preview; nothing of the study changes.

    With `check` the file is planned at once (its preview stored); without, it waits, marked as
    being checked, for `qdpx_import_check` (a background job) and no plan is returned.
    """
    stored = QdpxImport(
        study=study,
        new_study_name=new_study_name,
        new_study_slug=new_study_slug,
        uploaded_by=uploaded_by,
        filename=filename[:255],
        content=b"",
        status=ImportStatus.CHECKING,
    )
    stored.full_clean(exclude=["content"])
    stored.save()
    blob_write(instance=stored, field="content", content=content)
    if not check:
        return stored, None
    return stored, _check(stored)


def qdpx_import_check(*, upload: QdpxImport) -> QdpxImport:
    """Plan a stored upload and keep its preview: what the background check runs."""
    if upload.status != ImportStatus.CHECKING:
        raise ValidationError("This upload was checked already.")
    _check(upload)
    return upload


def _check(stored: QdpxImport) -> ImportPlan:
    plan = qdpx_import_plan(
        content=bytes(stored.content), study=stored.study, study_name=stored.new_study_name
    )
    stored.status = ImportStatus.PREVIEWED if plan.ok else ImportStatus.FAILED
    stored.n_sources = len(plan.sources)
    stored.n_codings = plan.n_codings
    stored.message = "\n".join(plan.problems)
    stored.preview = plan_preview(plan)
    stored.save(update_fields=["status", "n_sources", "n_codings", "message", "preview"])
    return plan


def qdpx_import_run(*, upload: QdpxImport, progress: Progress | None = None) -> Study:
    """Import a stored upload (the preview's file) and empty it; what a background task runs.

    Raises `QdpxImportError` with the plan when the file has a problem; the upload is then
    marked failed and nothing else is saved.
    """
    if upload.status != ImportStatus.PREVIEWED:
        raise ValidationError("This upload was already imported or refused; upload it again.")
    plan = qdpx_import_plan(
        content=bytes(upload.content),
        study=upload.study,
        study_name=upload.new_study_name,
    )
    try:
        study = qdpx_import(
            plan=plan,
            actor=upload.uploaded_by,
            study=upload.study,
            new_study_slug=upload.new_study_slug,
            progress=progress,
        )
    except (QdpxImportError, ValidationError) as err:
        upload.status = ImportStatus.FAILED
        upload.message = "\n".join(plan.problems) or "; ".join(getattr(err, "messages", [str(err)]))
        upload.finished_at = timezone.now()
        upload.save(update_fields=["status", "message", "finished_at"])
        raise
    upload.study = study
    upload.status = ImportStatus.IMPORTED
    upload.content = b""
    upload.finished_at = timezone.now()
    upload.save(update_fields=["study", "status", "content", "finished_at"])
    return study
