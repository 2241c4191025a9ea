"""Retrieval: every passage on a question, from a coder layer or the consensus layer, with the
text around it, counts by code x negotiation (and x phase), and the rows of its download.

Blind coding is applied here through `coding_list_visible_to`: a coder sees their own passages
and, on sources they have submitted, everyone's. Every read is a fixed number of queries, however
many codings the study holds."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.contrib.auth.models import User
from django.db.models import Case, Count, F, IntegerField, QuerySet, Value, When
from django.db.models.functions import Greatest, Length, Substr

from negotiations.access import coding_list_visible_to
from negotiations.models import (
    MANAGING_ROLES,
    Code,
    Coding,
    ConsensusCoding,
    ConsensusStatus,
    Negotiation,
    Phase,
    Role,
    Study,
)

CONTEXT_CHARS = 160
CONSENSUS = "consensus"
CODERS = "coders"


@dataclass(frozen=True)
class PassageFilters:
    layer: str = CODERS  # CODERS, CONSENSUS, or a coder's user id as text
    code: int | None = None
    stance: str = ""
    party: int | None = None
    negotiation: int | None = None
    phase: int | None = None
    speaker: str = ""
    speaker_party: int | None = None
    source_type: str = ""
    date_from: date | None = None
    date_to: date | None = None
    text: str = ""


def can_see_consensus(*, role: str) -> bool:
    # The consensus layer is built from every coder's work, so coders do not retrieve from it.
    return role in MANAGING_ROLES or role == Role.READER


def _layer_queryset(*, study: Study, user: User, role: str, layer: str) -> QuerySet:
    if layer == CONSENSUS and can_see_consensus(role=role):
        return ConsensusCoding.objects.filter(
            source__study=study, unit__status=ConsensusStatus.SETTLED
        )
    codings = coding_list_visible_to(study=study, user=user, role=role)
    if layer.isdigit():
        codings = codings.filter(coder_id=int(layer))
    return codings


def _filtered(queryset: QuerySet, filters: PassageFilters, *, scope: bool = True) -> QuerySet:
    """The filters applied; with scope=False code, negotiation and phase are left out (counts)."""
    if scope and filters.code:
        queryset = queryset.filter(code_id=filters.code)
    if scope and filters.negotiation:
        queryset = queryset.filter(source__negotiation_id=filters.negotiation)
    if scope and filters.phase:
        queryset = queryset.filter(source__phase_id=filters.phase)
    if filters.stance:
        queryset = queryset.filter(stance=filters.stance)
    if filters.party:
        queryset = queryset.filter(demonstrating_party_id=filters.party)
    if filters.speaker_party:
        queryset = queryset.filter(source__speaker_party_id=filters.speaker_party)
    if filters.source_type:
        queryset = queryset.filter(source__source_type=filters.source_type)
    if filters.date_from:
        queryset = queryset.filter(source__date__gte=filters.date_from)
    if filters.date_to:
        queryset = queryset.filter(source__date__lte=filters.date_to)
    if filters.speaker.strip():
        queryset = queryset.filter(source__speaker__icontains=filters.speaker.strip())
    # Every word must occur in the passage (case-insensitive), as in the source list's search.
    for term in filters.text.split()[:10]:
        queryset = queryset.filter(quote__icontains=term)
    return queryset


def passage_list(*, study: Study, user: User, role: str, filters: PassageFilters) -> QuerySet:
    """Passages matching the filters, oldest source first, each with `before` and `after`: up
    to CONTEXT_CHARS code points of the source text on either side (cut in the database, so a
    long source is never loaded whole)."""
    queryset = _filtered(
        _layer_queryset(study=study, user=user, role=role, layer=filters.layer), filters
    )
    related = ["source__negotiation", "source__phase", "source__speaker_party", "code"]
    related.append("demonstrating_party")
    if queryset.model is Coding:
        related.append("coder")
    context_start = Greatest(F("start") - CONTEXT_CHARS, Value(0), output_field=IntegerField())
    return (
        queryset.select_related(*related)
        .defer("source__text", "source__citation")
        .annotate(
            before=Substr("source__text", context_start + 1, F("start") - context_start),
            after=Substr("source__text", F("end") + 1, CONTEXT_CHARS),
            more_before=Case(When(start__gt=CONTEXT_CHARS, then=True), default=False),
            more_after=Case(
                When(end__lt=Length("source__text") - CONTEXT_CHARS, then=True), default=False
            ),
        )
        .order_by("source__date", "source_id", "start", "end", "pk")
    )


@dataclass
class CountColumn:
    label: str
    negotiation_id: int
    phase_id: int | None = None  # by phase: None is the negotiation's sources without a phase


@dataclass
class CountRow:
    code: Code
    cells: list[tuple[CountColumn, int]]
    total: int


@dataclass
class PassageCounts:
    """Passages by code x negotiation, or by code x phase."""

    by_phase: bool
    columns: list[CountColumn] = field(default_factory=list)
    rows: list[CountRow] = field(default_factory=list)
    total: int = 0


def passage_counts(
    *, study: Study, user: User, role: str, filters: PassageFilters, by_phase: bool = False
) -> PassageCounts:
    """Counts over every code, negotiation and phase, with the other filters applied (four
    queries at most: the counts, codes, negotiations and phases)."""
    queryset = _filtered(
        _layer_queryset(study=study, user=user, role=role, layer=filters.layer),
        filters,
        scope=False,
    )
    keys = ["code_id", "source__negotiation_id"] + (["source__phase_id"] if by_phase else [])
    counts: dict[tuple, int] = {}
    for row in queryset.order_by().values(*keys).annotate(n=Count("pk")):
        counts[tuple(row[k] for k in keys)] = row["n"]
    negotiations = list(Negotiation.objects.filter(study=study))
    columns: list[CountColumn] = []
    if by_phase:
        phases_of = defaultdict(list)
        for phase in Phase.objects.filter(negotiation__study=study).order_by("order", "start_date"):
            phases_of[phase.negotiation_id].append(phase)
        for negotiation in negotiations:
            for phase in phases_of[negotiation.pk]:
                columns.append(
                    CountColumn(f"{negotiation.name} · {phase.name}", negotiation.pk, phase.pk)
                )
            if any(key[1:] == (negotiation.pk, None) for key in counts):
                columns.append(CountColumn(f"{negotiation.name} · no phase", negotiation.pk))
    else:
        columns = [CountColumn(n.name, n.pk) for n in negotiations]
    # Every active code has a row; another only while it has passages here.
    with_passages = {key[0] for key in counts}
    codes = [
        code
        for code in Code.objects.filter(study=study)
        .select_related("code_set")
        .order_by("code_set__order", "order", "pk")
        if (not code.archived and code.code_set.enabled) or code.pk in with_passages
    ]
    result = PassageCounts(by_phase=by_phase, columns=columns)
    for code in codes:
        cells = []
        for column in columns:
            key = (code.pk, column.negotiation_id)
            if by_phase:
                key += (column.phase_id,)
            cells.append((column, counts.get(key, 0)))
        total = sum(n for key, n in counts.items() if key[0] == code.pk)
        result.rows.append(CountRow(code=code, cells=cells, total=total))
        result.total += total
    return result


PASSAGE_COLUMNS = [
    "passage_id",
    "layer",
    "coder",
    "negotiation",
    "phase",
    "source_id",
    "source_title",
    "source_date",
    "speaker",
    "speaker_party",
    "source_type",
    "code",
    "stance",
    "demonstrating_party",
    "strength",
    "start",
    "end",
    "quote",
    "context_before",
    "context_after",
]


def passage_rows(
    *, study: Study, user: User, role: str, filters: PassageFilters
) -> Iterator[tuple[Any, ...]]:
    """The rows of the Passages download: what the page lists, every page of it."""
    passages = passage_list(study=study, user=user, role=role, filters=filters)
    consensus = passages.model is ConsensusCoding
    for p in passages.iterator(chunk_size=2000):
        yield (
            p.pk,
            CONSENSUS if consensus else "coder",
            "" if consensus else p.coder.username,
            p.source.negotiation.name,
            p.source.phase.name if p.source.phase else "",
            p.source_id,
            p.source.title,
            p.source.date,
            p.source.speaker,
            p.source.speaker_party.code if p.source.speaker_party else "",
            p.source.source_type,
            p.code.name,
            p.stance,
            p.demonstrating_party.code,
            p.strength,
            p.start,
            p.end,
            p.quote,
            p.before,
            p.after,
        )
