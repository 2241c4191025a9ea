"""Every read that a page, export or command needs, with its joins done here, not in templates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.contrib.auth.models import User
from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet
from django.db.models.functions import Substr

from negotiations.models import (
    MANAGING_ROLES,
    Assignment,
    AssignmentStatus,
    Code,
    CodebookVersion,
    CodeSet,
    Coding,
    Membership,
    Negotiation,
    NegotiationParty,
    Party,
    Phase,
    Role,
    Segment,
    Source,
    SourceImport,
    Study,
)


def membership_list_for_user(*, user: User) -> QuerySet[Membership]:
    """The studies a user belongs to, with their role and a few counts."""
    return (
        Membership.objects.filter(user=user)
        .select_related("study")
        .annotate(
            n_sources=Count("study__sources", distinct=True),
            n_members=Count("study__memberships", distinct=True),
        )
        .order_by("study__name")
    )


def membership_list(*, study: Study) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(study=study)
        .select_related("user")
        .order_by("role", "user__username")
    )


def party_list(*, study: Study) -> QuerySet[Party]:
    return Party.objects.filter(study=study).order_by("code")


def negotiation_list(*, study: Study) -> QuerySet[Negotiation]:
    return (
        Negotiation.objects.filter(study=study)
        .annotate(n_sources=Count("sources", distinct=True))
        .prefetch_related(
            Prefetch("phases", queryset=Phase.objects.order_by("order", "start_date")),
            Prefetch(
                "negotiationparty_set",
                queryset=NegotiationParty.objects.select_related("party"),
            ),
            "events",
        )
    )


def phase_list(*, study: Study) -> QuerySet[Phase]:
    return (
        Phase.objects.filter(negotiation__study=study)
        .select_related("negotiation")
        .order_by("negotiation__order", "negotiation__name", "order")
    )


def code_set_list(*, study: Study) -> QuerySet[CodeSet]:
    return CodeSet.objects.filter(study=study).prefetch_related(
        Prefetch(
            "codes",
            queryset=Code.objects.annotate(n_codings=Count("codings")).order_by("order", "pk"),
        )
    )


def active_code_list(*, study: Study) -> QuerySet[Code]:
    """Codes a coder may use now: not archived, in an enabled code set."""
    return (
        Code.objects.filter(study=study, archived=False, code_set__enabled=True)
        .select_related("code_set")
        .order_by("code_set__order", "order", "pk")
    )


def codebook_version_list(*, study: Study) -> QuerySet[CodebookVersion]:
    return (
        CodebookVersion.objects.filter(study=study)
        .select_related("created_by")
        .defer("snapshot")
        .order_by("-number")
    )


@dataclass(frozen=True)
class SourceFilters:
    negotiation: int | None = None
    phase: int | None = None
    party: int | None = None
    source_type: str = ""
    date_from: date | None = None
    date_to: date | None = None
    q: str = ""
    sort: str = "date"


SOURCE_SORTS = {
    "date": ("date", "pk"),
    "-date": ("-date", "-pk"),
    "title": ("title", "pk"),
    "speaker": ("speaker", "pk"),
    "negotiation": ("negotiation__order", "negotiation__name", "date", "pk"),
    "-created": ("-created_at", "-pk"),
}

EXCERPT_CHARS = 220


def source_list(*, study: Study, filters: SourceFilters) -> QuerySet[Source]:
    """Sources matching the filters, without their full text (an excerpt is annotated)."""
    sources = Source.objects.filter(study=study)
    if filters.negotiation:
        sources = sources.filter(negotiation_id=filters.negotiation)
    if filters.phase:
        sources = sources.filter(phase_id=filters.phase)
    if filters.party:
        sources = sources.filter(speaker_party_id=filters.party)
    if filters.source_type:
        sources = sources.filter(source_type=filters.source_type)
    if filters.date_from:
        sources = sources.filter(date__gte=filters.date_from)
    if filters.date_to:
        sources = sources.filter(date__lte=filters.date_to)
    # Every word must occur in the title, speaker or text (case-insensitive), the same on
    # SQLite and PostgreSQL so that results never depend on the database.
    for term in filters.q.split()[:10]:
        sources = sources.filter(
            Q(title__icontains=term) | Q(speaker__icontains=term) | Q(text__icontains=term)
        )
    return (
        sources.select_related("negotiation", "phase", "speaker_party")
        .defer("text", "citation")
        .annotate(excerpt=Substr("text", 1, EXCERPT_CHARS))
        .order_by(*SOURCE_SORTS.get(filters.sort, SOURCE_SORTS["date"]))
    )


def source_detail(*, study: Study, source_id: int) -> Source:
    """A source of the study with its metadata and segments; DoesNotExist for any other id."""
    return (
        Source.objects.select_related(
            "negotiation", "phase", "speaker_party", "created_by", "supersedes"
        )
        .prefetch_related("segments")
        .annotate(n_codings=Count("codings", distinct=True))
        .get(study=study, pk=source_id)
    )


def source_newer_version(*, source: Source) -> Source | None:
    return Source.objects.filter(supersedes=source).only("pk", "title", "version").first()


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


def source_import_get(*, study: Study, import_id: int) -> SourceImport:
    return SourceImport.objects.get(study=study, pk=import_id)


# Coding ------------------------------------------------------------------------------------------


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
        codes=list(active_code_list(study=study)),
        parties=list(party_list(study=study)),
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


# Reliability -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReliabilityFilters:
    negotiation: int | None = None
    phase: int | None = None
    code: int | None = None
    party: int | None = None
    coders: tuple[int, ...] = ()
    unit: str = "segment"
    level: str = "nominal"

    def key(self) -> str:
        return (
            f"n{self.negotiation}-p{self.phase}-c{self.code}-y{self.party}-"
            f"k{','.join(map(str, self.coders))}-{self.unit}-{self.level}"
        )


@dataclass
class ReliabilityInputs:
    """What the reliability report needs from the database, as plain data."""

    sources: list[Any]
    codings: list[Any]
    codes: list[tuple[int, str]]
    parties: dict[int, str]
    coder_names: dict[int, str]
    coder_ids: list[int]
    codebook_version: int


def reliability_inputs(*, study: Study, filters: ReliabilityFilters) -> ReliabilityInputs:
    """Sources, segments, submitted coders and their codings, in a fixed number of queries."""
    from negotiations.reliability import CodingInput, SourceInput

    sources = Source.objects.filter(study=study)
    if filters.negotiation:
        sources = sources.filter(negotiation_id=filters.negotiation)
    if filters.phase:
        sources = sources.filter(phase_id=filters.phase)
    submitted = Assignment.objects.filter(
        source__in=sources, status=AssignmentStatus.SUBMITTED
    ).values_list("source_id", "coder_id", "coder__username")
    if filters.coders:
        submitted = submitted.filter(coder_id__in=filters.coders)
    submitted_by_source: dict[int, list[int]] = {}
    coder_names: dict[int, str] = {}
    for source_id, coder_id, username in submitted:
        submitted_by_source.setdefault(source_id, []).append(coder_id)
        coder_names[coder_id] = username
    source_rows = list(
        sources.filter(pk__in=list(submitted_by_source)).values_list("pk", "negotiation_id")
    )
    segments: dict[int, list[tuple[int, int]]] = {}
    segment_rows = (
        Segment.objects.filter(source_id__in=[pk for pk, _ in source_rows])
        .order_by("source_id", "index")
        .values_list("source_id", "start", "end")
    )
    for source_id, start, end in segment_rows:
        segments.setdefault(source_id, []).append((start, end))
    negotiation_parties: dict[int, list[int]] = {}
    for negotiation_id, party_id in NegotiationParty.objects.filter(
        negotiation__study=study
    ).values_list("negotiation_id", "party_id"):
        negotiation_parties.setdefault(negotiation_id, []).append(party_id)
    codes = list(active_code_list(study=study).values_list("pk", "name"))
    if filters.code:
        codes = [c for c in codes if c[0] == filters.code]
    coding_rows = Coding.objects.filter(
        source_id__in=[pk for pk, _ in source_rows],
        code_id__in=[pk for pk, _ in codes],
    )
    if filters.party:
        coding_rows = coding_rows.filter(demonstrating_party_id=filters.party)
    codings = []
    coded_parties: dict[int, set[int]] = {}
    for row in coding_rows.values_list(
        "source_id", "coder_id", "code_id", "demonstrating_party_id", "start", "end", "stance"
    ):
        if row[1] in submitted_by_source.get(row[0], ()):
            codings.append(CodingInput(*row))
            coded_parties.setdefault(row[0], set()).add(row[3])
    inputs = []
    for source_id, negotiation_id in source_rows:
        parties = list(negotiation_parties.get(negotiation_id, []))
        parties += sorted(coded_parties.get(source_id, set()) - set(parties))
        if filters.party:
            parties = [p for p in parties if p == filters.party] or [filters.party]
        inputs.append(
            SourceInput(
                id=source_id,
                segments=segments.get(source_id, []),
                submitted=submitted_by_source[source_id],
                parties=parties,
            )
        )
    last_version = (
        CodebookVersion.objects.filter(study=study)
        .order_by("-number")
        .values_list("number", flat=True)
        .first()
        or 0
    )
    return ReliabilityInputs(
        sources=inputs,
        codings=codings,
        codes=codes,
        parties=dict(Party.objects.filter(study=study).values_list("pk", "code")),
        coder_names=coder_names,
        coder_ids=sorted(coder_names, key=lambda c: coder_names[c]),
        codebook_version=last_version,
    )
