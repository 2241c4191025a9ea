"""Writes of single sources: creation with segmentation, metadata, text corrections, deletion.

Services take keyword-only arguments, validate with `full_clean()` and run in one transaction, so a
failure leaves nothing half-saved. A coded text never changes. The bulk import of many sources
from a file is in `imports.py`."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction

from negotiations.models import (
    ChangeRecord,
    Coding,
    ConsensusCoding,
    Negotiation,
    Party,
    Phase,
    Segment,
    Source,
    Study,
)
from negotiations.sources.text import normalise_text, split_sentences
from negotiations.studies import services as study_services
from negotiations.wording import counted


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


def size_limit_text(limit: int) -> str:
    """The upload limit in words, for the upload and import forms and the import's problems."""
    if limit >= 1024 * 1024:
        return f"{limit / (1024 * 1024):g} MB"
    return f"{max(1, round(limit / 1024)):,} KB"


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


class ConfirmationRequired(ValidationError):
    """A change that re-files coded data: the page lists what it affects and asks again."""


def _refiling_effects(source: Source, metadata: SourceMetadata) -> tuple[list[str], dict]:
    """What moving a coded source to another negotiation or phase would affect."""
    codings = Coding.objects.filter(source=source)
    coders = sorted(set(codings.values_list("coder__username", flat=True)))
    n_codings = codings.count()
    n_consensus = ConsensusCoding.objects.filter(source=source).count()
    old_case, new_case = source.negotiation.name, metadata.negotiation.name
    old_phase = source.phase.name if source.phase_id else "no phase"
    new_phase = metadata.phase.name if metadata.phase else "no phase"
    lines = [
        f"{counted(n_codings, 'coding')} by {', '.join(coders)} "
        f"move from {old_case} ({old_phase}) to {new_case} ({new_phase})",
    ]
    if n_consensus:
        lines.append(f"{counted(n_consensus, 'consensus coding')} move too")
    lines.append("agreement and assessments of both places change")
    affected = {"codings": n_codings, "consensus_codings": n_consensus, "coders": coders}
    return lines, affected


@transaction.atomic
def source_update_metadata(
    *,
    source: Source,
    metadata: SourceMetadata,
    actor: User | None = None,
    confirmed: bool = False,
) -> Source:
    """Change a source's descriptive fields; its text is untouched.

    Moving a coded source to another negotiation or phase re-files its codings: it is refused
    while a coded party is not a party of the new negotiation, needs `confirmed` (the error
    lists what would move), and is recorded with who, when, before and after.
    """
    current = (
        Source.objects.select_for_update(of=("self",))
        .select_related("negotiation", "phase")
        .get(pk=source.pk)
    )
    new_phase_id = metadata.phase.pk if metadata.phase else None
    moves = current.negotiation_id != metadata.negotiation.pk or current.phase_id != new_phase_id
    record = None
    if moves and source_is_coded(current):
        if current.negotiation_id != metadata.negotiation.pk:
            coded_parties = set(
                Coding.objects.filter(source=current).values_list(
                    "demonstrating_party__code", flat=True
                )
            ) | set(
                ConsensusCoding.objects.filter(source=current).values_list(
                    "demonstrating_party__code", flat=True
                )
            )
            allowed = set(metadata.negotiation.parties.values_list("code", flat=True))
            if missing := sorted(coded_parties - allowed):
                raise ValidationError(
                    {
                        "negotiation": (
                            f"Codings of this source name {', '.join(missing)}, which "
                            f"{'is' if len(missing) == 1 else 'are'} not a party of "
                            f"{metadata.negotiation.name}; add "
                            f"{'it' if len(missing) == 1 else 'them'} there first."
                        )
                    }
                )
        lines, affected = _refiling_effects(current, metadata)
        if not confirmed:
            raise ConfirmationRequired(
                "This source is coded. Saving re-files its coded data: "
                + "; ".join(lines)
                + ". Tick the confirmation to save anyway."
            )
        record = {
            "summary": f"{current.title[:200]}: " + "; ".join(lines),
            "before": {
                "negotiation": current.negotiation.name,
                "phase": current.phase.name if current.phase_id else None,
            },
            "after": {
                "negotiation": metadata.negotiation.name,
                "phase": metadata.phase.name if metadata.phase else None,
            },
            "affected": {"source": current.pk, **affected},
        }
    _apply_metadata(current, metadata)
    current.full_clean()
    current.save()
    if record is not None:
        study_services.change_record_create(
            study=current.study, actor=actor, action=ChangeRecord.Action.SOURCE_REFILED, **record
        )
        study_services.study_touch(current.study_id)
    return current


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
