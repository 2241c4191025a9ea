"""Where a coding is saved: codings created, edited and deleted (assignments, which say who codes
which source, are in `assignments.py`).

Services take keyword-only arguments, validate with `full_clean()` and run in one transaction, so a
failure leaves nothing half-saved. A quote must equal the text at its offsets."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import fields as dataclass_fields
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connections, router, transaction

from negotiations.models import (
    Assignment,
    AssignmentStatus,
    Code,
    Coding,
    NegotiationParty,
    Party,
    Segment,
    Source,
    Stance,
    Strength,
)


def _open_assignment(*, source: Source, coder: User) -> Assignment:
    """The coder's assignment on the source, locked; refuses unassigned or submitted work.

    Only the assignment's row is locked (`of=("self",)`): the default ordering joins the source,
    whose row `source_for_write` locks in share mode.
    """
    assignment = (
        Assignment.objects.select_for_update(of=("self",))
        .filter(source=source, coder=coder)
        .first()
    )
    if assignment is None:
        raise PermissionDenied("This source is not assigned to you.")
    if assignment.status == AssignmentStatus.SUBMITTED:
        raise ValidationError(
            "You have submitted this source; a supervisor can reopen it if it needs changes."
        )
    return assignment


def source_for_write(source: Source) -> Source:
    """The source row, locked and read afresh: a span is checked against the text as it is inside
    this transaction, and a correction of the text waits until the coding is saved (and then
    becomes a new version, since the source is coded).

    On PostgreSQL the lock is shared (`FOR SHARE`): the coders of one source do not wait for each
    other, while a correction, which locks the row `FOR UPDATE`, waits for all of them. SQLite
    has one writer at a time anyway.
    """
    connection = connections[router.db_for_write(Source)]
    if connection.vendor != "postgresql":
        return Source.objects.get(pk=source.pk)
    table = connection.ops.quote_name(Source._meta.db_table)
    sql = f"SELECT * FROM {table} WHERE id = %s FOR SHARE"  # noqa: S608 (constant; id a parameter)
    locked = list(Source.objects.raw(sql, [source.pk]))
    if not locked:
        raise Source.DoesNotExist("The source was deleted.")
    return locked[0]


DUPLICATE_MESSAGE = (
    "You have already coded this passage with this code, stance and party; "
    "change the existing coding instead."
)


def _check_not_duplicate(coding: Coding) -> None:
    same = Coding.objects.filter(
        coder=coding.coder_id,
        source=coding.source_id,
        start=coding.start,
        end=coding.end,
        code=coding.code_id,
        stance=coding.stance,
        demonstrating_party=coding.demonstrating_party_id,
    ).exclude(pk=coding.pk)
    if same.exists():
        raise ValidationError(DUPLICATE_MESSAGE)


def _save_coding(coding: Coding) -> None:
    """Save; the unique constraint is the last word on duplicates. The error leaves the service's
    transaction (which is rolled back), so no savepoint is needed."""
    try:
        coding.save()
    except IntegrityError as exc:
        if "coding_unique_passage" in str(exc) or "UNIQUE constraint" in str(exc):
            raise ValidationError(DUPLICATE_MESSAGE) from exc
        raise


def check_coding_fields(
    *, source: Source, code: Code, stance: str, demonstrating_party: Party, strength: str
) -> dict[str, str]:
    errors: dict[str, str] = {}
    if code.study_id != source.study_id:
        errors["code"] = "This code belongs to another study."
    elif code.archived or not code.code_set.enabled:
        errors["code"] = "This code is not in use."
    if demonstrating_party.study_id != source.study_id:
        errors["demonstrating_party"] = "This party belongs to another study."
    elif not NegotiationParty.objects.filter(
        negotiation_id=source.negotiation_id, party=demonstrating_party
    ).exists():
        errors["demonstrating_party"] = (
            f"{demonstrating_party.code} is not a party of {source.negotiation.name}; "
            "a supervisor can add it to the negotiation."
        )
    if stance not in Stance.values:
        errors["stance"] = f"Stance must be one of {', '.join(Stance.values)}."
    if strength and strength not in Strength.values:
        errors["strength"] = f"Strength must be one of {', '.join(Strength.values)} or empty."
    return errors


def check_span(*, source: Source, start: int, end: int, quote: str) -> dict[str, str]:
    """The rules of a passage, the same for a new coding and a changed span: inside the text,
    not empty, and the quote the page showed equal to `text[start:end]`."""
    if not (0 <= start < end <= len(source.text)):
        return {
            "start": (
                f"The passage [{start}:{end}] is empty or outside the text "
                f"(0 to {len(source.text)} characters)."
            )
        }
    if source.text[start:end] != quote:
        return {
            "quote": (
                "The selected text does not match the source at these positions; "
                "reload the page and select the passage again."
            )
        }
    return {}


def _checked_coding(
    *,
    source: Source,
    coder: User,
    code: Code,
    start: int,
    end: int,
    quote: str,
    stance: str,
    demonstrating_party: Party,
    strength: str,
    memo: str,
) -> Coding:
    """An unsaved coding whose span, quote and fields were checked; ValidationError otherwise."""
    errors = check_coding_fields(
        source=source,
        code=code,
        stance=stance,
        demonstrating_party=demonstrating_party,
        strength=strength,
    )
    errors |= check_span(source=source, start=start, end=end, quote=quote)
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
    return coding


def _mark_in_progress(assignment: Assignment) -> None:
    """A coder's first coding of an assigned source puts the work in progress."""
    if assignment.status == AssignmentStatus.ASSIGNED:
        assignment.status = AssignmentStatus.IN_PROGRESS
        assignment.save(update_fields=["status"])


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
    coder's own, unsubmitted assignment can take codings. The source row is locked first, so the
    quote is checked against the text as it stands when the coding is saved; the same coder,
    span, code, stance and party is one coding (a second is refused, the database has the last
    word).
    """
    source = source_for_write(source)
    assignment = _open_assignment(source=source, coder=coder)
    coding = _checked_coding(
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
    _check_not_duplicate(coding)
    _save_coding(coding)
    _mark_in_progress(assignment)
    return coding


@dataclass(frozen=True)
class CodingInput:
    """One passage for `codings_bulk_create`, with the fields `coding_create` takes."""

    code: Code
    start: int
    end: int
    quote: str
    stance: str
    demonstrating_party: Party
    strength: str = ""
    memo: str = ""


@transaction.atomic
def codings_bulk_create(
    *, source: Source, coder: User, codings: Iterable[CodingInput]
) -> list[Coding]:
    """Save many passages of one coder on one source, each checked as `coding_create` checks it
    (span, quote equal to `text[start:end]`, code, party, stance, strength); all or none.

    For imports: one assignment check and one insert per batch instead of per coding. The source
    row is locked as in `coding_create`. Identical passages in the batch (same span, code, stance
    and party) become one coding whose memo joins theirs; one identical to a saved coding is
    refused.
    """
    source = source_for_write(source)
    assignment = _open_assignment(source=source, coder=coder)
    checked = []
    for number, item in enumerate(codings, start=1):
        try:
            checked.append(
                _checked_coding(
                    source=source,
                    coder=coder,
                    **{f.name: getattr(item, f.name) for f in dataclass_fields(item)},
                )
            )
        except ValidationError as err:
            raise ValidationError(
                f"Passage {number} ({item.start}-{item.end}) of {coder.username} on "
                f"'{source.title}': {' '.join(err.messages)}"
            ) from err
    by_key: dict[tuple, Coding] = {}
    for coding in checked:
        key = (
            coding.start,
            coding.end,
            coding.code_id,
            coding.stance,
            coding.demonstrating_party_id,
        )
        first = by_key.get(key)
        if first is None:
            by_key[key] = coding
        elif coding.memo and coding.memo not in first.memo:
            first.memo = f"{first.memo}\n\n{coding.memo}" if first.memo else coding.memo
    saved = set(
        Coding.objects.filter(source=source, coder=coder).values_list(
            "start", "end", "code_id", "stance", "demonstrating_party_id"
        )
    )
    if clash := next((key for key in by_key if key in saved), None):
        raise ValidationError(
            f"Passage {clash[0]}-{clash[1]} of {coder.username} on '{source.title}': "
            f"{DUPLICATE_MESSAGE}"
        )
    created = Coding.objects.bulk_create(list(by_key.values()), batch_size=1000)
    if created:
        _mark_in_progress(assignment)
    return created


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
    start: int | None = None,
    end: int | None = None,
    quote: str = "",
) -> Coding:
    """Change a coding's code, stance, party, strength or memo, and its span when `start` and
    `end` are given: a new span is checked like a new coding's (`check_span`)."""
    if coding.coder_id != coder.pk:
        raise PermissionDenied("You can only change your own codings.")
    source = source_for_write(coding.source)
    _open_assignment(source=source, coder=coder)
    errors = check_coding_fields(
        source=source,
        code=code,
        stance=stance,
        demonstrating_party=demonstrating_party,
        strength=strength,
    )
    if start is not None or end is not None:
        if start is None or end is None:
            errors["start"] = "A changed passage needs both its start and its end."
        else:
            errors |= check_span(source=source, start=start, end=end, quote=quote)
    if errors:
        raise ValidationError(errors)
    if start is not None and end is not None:
        coding.start, coding.end, coding.quote = start, end, quote
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
    _check_not_duplicate(coding)
    _save_coding(coding)
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
    """Code whole sentences (the page without JavaScript): one coding per run of adjacent ones.

    The source is locked before its segments are read, so the quotes come from the current text.
    """
    source = source_for_write(source)
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
