"""Reads for coding: what the coding page shows (blind coding applied here), a coder's
assignments and everyone's progress."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery

from negotiations.codebook import selectors as codebook_selectors
from negotiations.models import (
    MANAGING_ROLES,
    Assignment,
    AssignmentStatus,
    Code,
    Coding,
    Membership,
    Party,
    Role,
    Source,
    Study,
)
from negotiations.studies import selectors as study_selectors


def coding_list_visible_to(*, study: Study, user: User, role: str) -> QuerySet[Coding]:
    """The study's codings that this member may see.

    Supervisors, owners and readers see all. With blind coding on, a coder sees their own codings
    and, on sources they have submitted, everybody's.
    """
    codings = Coding.objects.filter(source__study=study)
    if role in MANAGING_ROLES or role == Role.READER or not study.blind_coding:
        return codings
    submitted_here = Assignment.objects.filter(
        source=OuterRef("source"), coder=user, status=AssignmentStatus.SUBMITTED
    )
    return codings.filter(Q(coder=user) | Exists(submitted_here))


@dataclass
class CodingPage:
    """Everything the coding page shows, read in a fixed number of queries."""

    source: Source
    segments: list[tuple[int, int]]
    codings: list[Coding]
    codes: list[Code]
    parties: list[Party]
    assignment: Assignment | None
    can_code: bool
    can_see_others: bool
    layer: str
    layers: list[tuple[str, str]]
    assignments: list[Assignment]


def coding_page(*, study: Study, source_id: int, user: User, role: str, layer: str) -> CodingPage:
    """The source, its segments and the codings this member may see in the chosen layer.

    `layer` is "mine", "all" or a coder's user id. A coder whose work on the source is not
    submitted sees only their own layer while blind coding is on, whatever they ask for.
    """
    source = (
        Source.objects.select_related("negotiation", "phase", "speaker_party")
        .filter(study=study)
        .get(pk=source_id)
    )
    segments = list(source.segments.order_by("index").values_list("start", "end"))
    assignment = None
    if role == Role.CODER:
        assignment = Assignment.objects.filter(source=source, coder=user).first()
    submitted = assignment is not None and assignment.status == AssignmentStatus.SUBMITTED
    can_see_others = role in MANAGING_ROLES or role == Role.READER or submitted
    if role == Role.CODER and not study.blind_coding:
        can_see_others = True
    can_code = role == Role.CODER and assignment is not None and not submitted

    assignments = list(
        Assignment.objects.filter(source=source).select_related("coder").order_by("coder__username")
    )
    layers: list[tuple[str, str]] = []
    if role == Role.CODER:
        layers.append(("mine", "My codings"))
    if can_see_others:
        layers.append(("all", "All coders overlaid"))
        layers += [
            (str(a.coder_id), f"{a.coder.username} ({a.get_status_display().lower()})")
            for a in assignments
            if a.coder_id != user.pk
        ]
    allowed = {key for key, _ in layers}
    if layer not in allowed:
        layer = layers[0][0] if layers else "all"

    codings = Coding.objects.filter(source=source).select_related(
        "code", "coder", "demonstrating_party"
    )
    if layer == "mine":
        codings = codings.filter(coder=user)
    elif layer != "all":
        codings = codings.filter(coder_id=int(layer))
    if not can_see_others:
        codings = codings.filter(coder=user)
    return CodingPage(
        source=source,
        segments=segments,
        codings=list(codings.order_by("start", "end", "pk")),
        codes=list(codebook_selectors.active_code_list(study=study)),
        parties=list(study_selectors.party_list(study=study)),
        assignment=assignment,
        can_code=can_code,
        can_see_others=can_see_others,
        layer=layer,
        layers=layers,
        assignments=assignments,
    )


def assignment_list_for_coder(*, study: Study, user: User) -> QuerySet[Assignment]:
    return (
        Assignment.objects.filter(source__study=study, coder=user)
        .select_related("source__negotiation", "source__phase", "source__speaker_party")
        .annotate(n_codings=Count("source__codings", filter=Q(source__codings__coder=user)))
        .order_by("source__date", "source_id")
    )


@dataclass(frozen=True)
class CoderProgress:
    coder_id: int
    username: str
    assigned: int
    in_progress: int
    submitted: int

    @property
    def total(self) -> int:
        return self.assigned + self.in_progress + self.submitted


def progress_by_coder(*, study: Study) -> list[CoderProgress]:
    """Assignment counts per coder, by status, in one grouped query."""
    rows = (
        Assignment.objects.filter(source__study=study)
        .values("coder_id", "coder__username")
        .annotate(
            assigned=Count("pk", filter=Q(status=AssignmentStatus.ASSIGNED)),
            in_progress=Count("pk", filter=Q(status=AssignmentStatus.IN_PROGRESS)),
            submitted=Count("pk", filter=Q(status=AssignmentStatus.SUBMITTED)),
        )
        .order_by("coder__username")
    )
    return [
        CoderProgress(
            coder_id=r["coder_id"],
            username=r["coder__username"],
            assigned=r["assigned"],
            in_progress=r["in_progress"],
            submitted=r["submitted"],
        )
        for r in rows
    ]


def coder_list(*, study: Study) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(study=study, role=Role.CODER)
        .select_related("user")
        .order_by("user__username")
    )


CODING_COLUMNS = (
    "coding_id",
    "study",
    "negotiation",
    "phase",
    "source_id",
    "source_title",
    "source_date",
    "speaker",
    "speaker_party",
    "source_type",
    "coder",
    "assignment_status",
    "code",
    "stance",
    "demonstrating_party",
    "strength",
    "start",
    "end",
    "quote",
    "memo",
    "created_at",
    "updated_at",
)


def coding_rows(
    *, codings: QuerySet[Coding], study: Study, submitted_only: bool = False
) -> Iterator[tuple[Any, ...]]:
    """One row per coding, with the coder's assignment status on its source (assigned, in
    progress, submitted; empty without an assignment). With `submitted_only`, only codings of
    sources their coder has submitted: the work that counts in agreement and assessments."""
    status = Assignment.objects.filter(source=OuterRef("source"), coder=OuterRef("coder")).values(
        "status"
    )[:1]
    codings = codings.annotate(assignment_status=Subquery(status))
    if submitted_only:
        codings = codings.filter(assignment_status=AssignmentStatus.SUBMITTED)
    rows = codings.order_by("source__date", "source_id", "start", "end", "pk").values_list(
        "pk",
        "source__negotiation__name",
        "source__phase__name",
        "source_id",
        "source__title",
        "source__date",
        "source__speaker",
        "source__speaker_party__code",
        "source__source_type",
        "coder__username",
        "assignment_status",
        "code__name",
        "stance",
        "demonstrating_party__code",
        "strength",
        "start",
        "end",
        "quote",
        "memo",
        "created_at",
        "updated_at",
    )
    for row in rows.iterator(chunk_size=2000):
        yield (row[0], study.slug, *row[1:])
