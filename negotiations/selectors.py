"""Every read that a page, export or command needs, with its joins done here, not in templates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.contrib.auth.models import User
from django.db.models import Count, Exists, F, OuterRef, Prefetch, Q, QuerySet
from django.db.models.functions import Substr

from negotiations.models import (
    MANAGING_ROLES,
    Assignment,
    AssignmentStatus,
    Code,
    CodebookVersion,
    CodeSet,
    Coding,
    ConsensusCoding,
    ConsensusStatus,
    ConsensusUnit,
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


# Consensus ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConsensusFilters:
    negotiation: int | None = None
    phase: int | None = None
    code: int | None = None
    party: int | None = None
    coder: int | None = None
    status: str = ""
    order: str = "impact"


CONSENSUS_ORDERS = {
    "impact": ("impact", "source__date", "source_id", "segment__index", "code__order", "party_id"),
    "source": ("source__date", "source_id", "segment__index", "code__order", "party_id"),
}


def consensus_queue(*, study: Study, filters: ConsensusFilters) -> QuerySet[ConsensusUnit]:
    """Units of the consensus layer for the review queue, most decisive first by default.

    Without a status filter the queue holds the disagreements (open, settled and flagged);
    `status="unanimous"` lists the units all coders agreed on.
    """
    units = ConsensusUnit.objects.filter(study=study)
    if filters.status == "unanimous":
        units = units.filter(unanimous=True)
    else:
        units = units.filter(unanimous=False)
        if filters.status:
            units = units.filter(status=filters.status)
    if filters.negotiation:
        units = units.filter(source__negotiation_id=filters.negotiation)
    if filters.phase:
        units = units.filter(source__phase_id=filters.phase)
    if filters.code:
        units = units.filter(code_id=filters.code)
    if filters.party:
        units = units.filter(party_id=filters.party)
    if filters.coder:
        units = units.filter(readings__has_key=str(filters.coder))
    order = CONSENSUS_ORDERS.get(filters.order, CONSENSUS_ORDERS["impact"])
    return units.select_related(
        "source__negotiation", "segment", "code", "party", "decided_by", "chosen_coder"
    ).order_by(*order, "pk")


def consensus_progress(*, study: Study) -> dict[str, int]:
    """Disagreement units by status, in one grouped query."""
    counts = dict(
        ConsensusUnit.objects.filter(study=study, unanimous=False)
        .values_list("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
    )
    total = sum(counts.values())
    return {
        "total": total,
        "settled": counts.get(ConsensusStatus.SETTLED, 0),
        "open": counts.get(ConsensusStatus.OPEN, 0),
        "flagged": counts.get(ConsensusStatus.FLAGGED, 0),
        "unanimous": ConsensusUnit.objects.filter(study=study, unanimous=True).count(),
    }


@dataclass
class ConsensusUnitPage:
    unit: ConsensusUnit
    lanes: list[dict[str, Any]]
    consensus_codings: list[Any]
    events: list[Any]
    previous_id: int | None
    next_id: int | None
    position: int
    total: int


def consensus_unit_page(
    *, study: Study, unit_id: int, filters: ConsensusFilters
) -> ConsensusUnitPage:
    """A unit with each coder's codings on its sentence, its history and its neighbours."""
    unit = (
        ConsensusUnit.objects.select_related(
            "source__negotiation",
            "source__speaker_party",
            "segment",
            "code__code_set",
            "party",
            "decided_by",
            "chosen_coder",
        )
        .filter(study=study)
        .get(pk=unit_id)
    )
    segment = unit.segment
    codings = (
        Coding.objects.filter(source=unit.source, start__lt=segment.end, end__gt=segment.start)
        .select_related("code", "demonstrating_party")
        .order_by("start", "end")
    )
    by_coder: dict[int, list[Coding]] = {}
    for coding in codings:
        by_coder.setdefault(coding.coder_id, []).append(coding)
    lanes = []
    assignments = Assignment.objects.filter(source=unit.source).select_related("coder")
    for assignment in assignments.order_by("coder__username"):
        lane_codings = by_coder.get(assignment.coder_id, [])
        lanes.append(
            {
                "coder": assignment.coder,
                "status": assignment.get_status_display(),
                "reading": unit.readings.get(str(assignment.coder_id)),
                "codings": lane_codings,
                "on_unit": [
                    c
                    for c in lane_codings
                    if c.code_id == unit.code_id and c.demonstrating_party_id == unit.party_id
                ],
            }
        )
    ids = list(consensus_queue(study=study, filters=filters).values_list("pk", flat=True))
    position = ids.index(unit.pk) if unit.pk in ids else -1
    return ConsensusUnitPage(
        unit=unit,
        lanes=[lane for lane in lanes if lane["reading"] is not None or lane["codings"]],
        consensus_codings=list(
            unit.consensus_codings.select_related("code", "demonstrating_party")
        ),
        events=list(unit.events.select_related("actor")[:50]),
        previous_id=ids[position - 1] if position > 0 else None,
        next_id=ids[position + 1] if 0 <= position < len(ids) - 1 else None,
        position=position + 1,
        total=len(ids),
    )


def consensus_event_list(*, study: Study) -> QuerySet[Any]:
    from negotiations.models import ConsensusEvent

    return (
        ConsensusEvent.objects.filter(unit__study=study)
        .select_related("actor", "unit__source", "unit__code", "unit__party", "unit__segment")
        .order_by("-at", "-pk")
    )


def coder_consensus_figures(*, study: Study, only_coder: int | None = None) -> dict[str, Any]:
    """Each coder's Cohen's kappa and percent agreement with the consensus, per element and by
    month of submission.

    The consensus value of a unit is the settled decision where there is one; where all submitted
    coders agree (also on "none") it is their shared value; open disagreements are left out.
    """
    import numpy as np

    from negotiations.agreement import MISSING, ReliabilityData, cohen_kappa
    from negotiations.reliability import VALUE_LABELS, build_unit_table

    inputs = reliability_inputs(study=study, filters=ReliabilityFilters())
    table = build_unit_table(
        inputs.sources,
        inputs.codings,
        code_ids=[pk for pk, _ in inputs.codes],
        coder_ids=inputs.coder_ids,
        level="segment",
    )
    decided: dict[tuple[int, int, int, int], set[str]] = {}
    open_keys: set[tuple[int, int, int, int]] = set()
    units = ConsensusUnit.objects.filter(study=study).select_related("segment")
    for unit in units:
        key = (unit.source_id, unit.segment.index, unit.code_id, unit.party_id)
        if unit.status == ConsensusStatus.SETTLED:
            decided[key] = set()
        else:
            open_keys.add(key)
    for c in ConsensusCoding.objects.filter(unit__study=study).values_list(
        "unit__source_id", "unit__segment__index", "unit__code_id", "unit__party_id", "stance"
    ):
        if c[:4] in decided:
            decided[c[:4]].add(c[4])
    consensus = np.full(len(table), MISSING, dtype=np.int64)
    for u in range(len(table)):
        key = (int(table.source[u]), int(table.segment[u]), int(table.code[u]), int(table.party[u]))
        if key in decided:
            stances = decided[key]
            consensus[u] = (
                2
                if stances == {"for", "against"}
                else 0
                if stances == {"for"}
                else 1
                if stances == {"against"}
                else 3
            )
        elif key not in open_keys:
            row = table.values[u][table.values[u] != MISSING]
            if len(row) >= 2 and (row == row[0]).all():
                consensus[u] = row[0]
    submitted_month = {
        (source_id, coder_id): at.strftime("%Y-%m")
        for source_id, coder_id, at in Assignment.objects.filter(
            source__study=study, status=AssignmentStatus.SUBMITTED, submitted_at__isnull=False
        ).values_list("source_id", "coder_id", "submitted_at")
    }
    code_names = dict(inputs.codes)
    rows, drift, months = [], [], set()
    for k, coder_id in enumerate(table.coders):
        if only_coder is not None and coder_id != only_coder:
            continue
        mask = (table.values[:, k] != MISSING) & (consensus != MISSING)

        def stats(selection: np.ndarray, k: int = k) -> dict[str, Any]:
            pairs = np.stack([table.values[selection, k], consensus[selection]], axis=1)
            data = ReliabilityData(
                values=pairs,
                categories=VALUE_LABELS,
                coders=("coder", "consensus"),
                units=tuple(f"u{i}" for i in range(len(pairs))),
            )
            kappa = cohen_kappa(data)
            n = len(pairs)
            agree = int((pairs[:, 0] == pairs[:, 1]).sum()) if n else 0
            return {
                "kappa": kappa.value,
                "undefined": kappa.undefined_reason,
                "percent": agree / n if n else None,
                "n_units": n,
            }

        per_element = [
            {"element": code_names[code_id], **stats(mask & (table.code == code_id))}
            for code_id, _ in inputs.codes
        ]
        coder_months = np.array(
            [submitted_month.get((int(s), coder_id), "") for s in table.source], dtype=object
        )
        points = []
        for month in sorted({m for m in coder_months[mask] if m}):
            months.add(month)
            points.append((month, stats(mask & (coder_months == month))["kappa"]))
        name = inputs.coder_names[coder_id]
        rows.append({"coder": name, "overall": stats(mask), "elements": per_element})
        drift.append({"coder": name, "points": points})
    return {"rows": rows, "drift": drift, "months": sorted(months)}


# Assessments -------------------------------------------------------------------------------------

EVIDENCE_MODES = {
    "combined": "settled consensus where a unit is settled, all submitted coders elsewhere",
    "consensus": "settled consensus only",
    "unanimous": "unanimous units only",
    "coders": "all submitted coders' codings",
}


def assessment_codes(*, study: Study) -> list[Code]:
    """The codes assessed: the study's first enabled code set (the three elements by default)."""
    first = CodeSet.objects.filter(study=study, enabled=True).order_by("order", "pk").first()
    if first is None:
        return []
    return list(Code.objects.filter(code_set=first, archived=False).order_by("order", "pk"))


def _weight_expression(rule: Any) -> Any:
    from django.db.models import Case, FloatField, Value, When

    from negotiations.assessment import WEIGHTS

    if not rule.use_strength:
        return Value(1.0, output_field=FloatField())
    whens = [
        When(stance=stance, strength=strength, then=Value(float(weight)))
        for stance, weights in WEIGHTS.items()
        for strength, weight in weights.items()
    ]
    return Case(*whens, default=Value(1.0), output_field=FloatField())


def _grouped(queryset: QuerySet, rule: Any, source_prefix: str) -> list[dict[str, Any]]:
    from django.db.models import Count, Q, Sum

    weight = _weight_expression(rule)
    rows = (
        queryset.annotate(_w=weight)
        .values(
            negotiation=F(f"{source_prefix}negotiation_id"),
            phase=F(f"{source_prefix}phase_id"),
            code_ref=F("code_id"),
            party=F("demonstrating_party_id"),
            source_ref=F("source_id"),
        )
        .annotate(
            n_for=Count("pk", filter=Q(stance="for")),
            n_against=Count("pk", filter=Q(stance="against")),
            w_for=Sum("_w", filter=Q(stance="for")),
            w_against=Sum("_w", filter=Q(stance="against")),
        )
        .order_by()
    )
    return list(rows)


def _coder_layer(*, study: Study, codes: list[int], exclude_settled: bool) -> QuerySet[Coding]:
    submitted = Assignment.objects.filter(
        source=OuterRef("source"), coder=OuterRef("coder"), status=AssignmentStatus.SUBMITTED
    )
    codings = Coding.objects.filter(source__study=study, code_id__in=codes).filter(
        Exists(submitted)
    )
    if exclude_settled:
        settled = ConsensusUnit.objects.filter(
            status=ConsensusStatus.SETTLED,
            source=OuterRef("source"),
            code=OuterRef("code"),
            party=OuterRef("demonstrating_party"),
            segment__start__lt=OuterRef("end"),
            segment__end__gt=OuterRef("start"),
        )
        codings = codings.exclude(Exists(settled))
    return codings


def _consensus_layer(*, study: Study, codes: list[int], unanimous_only: bool) -> QuerySet[Any]:
    codings = ConsensusCoding.objects.filter(
        unit__study=study, unit__status=ConsensusStatus.SETTLED, code_id__in=codes
    )
    if unanimous_only:
        codings = codings.filter(unit__unanimous=True)
    return codings


def evidence_rows(*, study: Study, rule: Any, mode: str = "combined") -> list[dict[str, Any]]:
    """Evidence grouped in the database by negotiation, phase, code, party and source, with
    conditional counts and weights, for the chosen evidence base. Each row says its layer."""
    codes = [c.pk for c in assessment_codes(study=study)]
    rows: list[dict[str, Any]] = []
    if mode in ("combined", "coders"):
        layer = _coder_layer(study=study, codes=codes, exclude_settled=mode == "combined")
        rows += [{**r, "layer": "coders"} for r in _grouped(layer, rule, "source__")]
    if mode in ("combined", "consensus", "unanimous"):
        layer = _consensus_layer(study=study, codes=codes, unanimous_only=mode == "unanimous")
        rows += [{**r, "layer": "consensus"} for r in _grouped(layer, rule, "source__")]
    return rows


@dataclass
class Cell:
    """Evidence of one negotiation x phase (0 = all phases) x code x party."""

    n_for: int = 0
    n_against: int = 0
    weight_for: float = 0.0
    weight_against: float = 0.0
    sources: set = None  # type: ignore[assignment]
    from_consensus: int = 0
    from_coders: int = 0

    def __post_init__(self) -> None:
        if self.sources is None:
            self.sources = set()

    @property
    def n_sources(self) -> int:
        return len(self.sources)


def assessment_cells(rows: list[dict[str, Any]]) -> dict[tuple[int, int, int, int], Cell]:
    """Sum grouped rows into cells, per phase and for all phases (phase 0)."""
    cells: dict[tuple[int, int, int, int], Cell] = {}
    for row in rows:
        for phase in {row["phase"] or 0, 0}:
            key = (row["negotiation"], phase, row["code_ref"], row["party"])
            cell = cells.setdefault(key, Cell())
            cell.n_for += row["n_for"]
            cell.n_against += row["n_against"]
            cell.weight_for += row["w_for"] or 0.0
            cell.weight_against += row["w_against"] or 0.0
            cell.sources.add(row["source_ref"])
            passages = row["n_for"] + row["n_against"]
            if row["layer"] == "consensus":
                cell.from_consensus += passages
            else:
                cell.from_coders += passages
    return cells


def latest_judgements(*, study: Study) -> dict[tuple[int, int, int, int], Any]:
    """The newest judgement of every cell, in one query."""
    from negotiations.models import AssessmentJudgement

    latest: dict[tuple[int, int, int, int], Any] = {}
    for judgement in AssessmentJudgement.objects.filter(study=study).select_related("author"):
        key = (
            judgement.negotiation_id,
            judgement.phase_id or 0,
            judgement.code_id,
            judgement.party_id,
        )
        latest.setdefault(key, judgement)  # ordered newest first
    return latest


def cell_passages(
    *,
    study: Study,
    negotiation_id: int,
    phase_id: int,
    code_id: int,
    party_id: int,
    source_id: int | None = None,
    month: str | None = None,
) -> list[dict[str, Any]]:
    """Every passage behind a cell of the combined evidence: quote, source, coder(s), status.
    Optionally only those of one source, or of sources dated in one month ("YYYY-MM")."""
    codes = [c.pk for c in assessment_codes(study=study)]
    scope = {
        "source__negotiation_id": negotiation_id,
        "code_id": code_id,
        "demonstrating_party_id": party_id,
    }
    if phase_id:
        scope["source__phase_id"] = phase_id
    if source_id:
        scope["source_id"] = source_id
    if month:
        scope["source__date__year"] = int(month[:4])
        scope["source__date__month"] = int(month[5:])
    passages = []
    consensus = (
        _consensus_layer(study=study, codes=codes, unanimous_only=False)
        .filter(**scope)
        .select_related("source", "unit__decided_by", "unit__chosen_coder", "code")
    )
    for c in consensus:
        status = "unanimous" if c.unit.unanimous else "settled"
        passages.append(
            {
                "quote": c.quote,
                "stance": c.stance,
                "strength": c.strength,
                "source": c.source,
                "start": c.start,
                "end": c.end,
                "coders": (c.unit.decided_by.username if c.unit.decided_by_id else ""),
                "status": status,
                "unit_id": c.unit_id,
            }
        )
    coders = (
        _coder_layer(study=study, codes=codes, exclude_settled=True)
        .filter(**scope)
        .select_related("source", "coder")
    )
    for c in coders:
        passages.append(
            {
                "quote": c.quote,
                "stance": c.stance,
                "strength": c.strength,
                "source": c.source,
                "start": c.start,
                "end": c.end,
                "coders": c.coder.username,
                "status": "coder (not settled)",
                "unit_id": None,
            }
        )
    passages.sort(key=lambda p: (p["source"].date or date.min, p["source"].pk, p["start"]))
    return passages


def timeline_marks(*, study: Study, negotiation_id: int, rule: Any) -> list[dict[str, Any]]:
    """Evidence per source, code, party and stance for a negotiation's timeline (grouped in the
    database)."""
    rows = [
        r
        for r in evidence_rows(study=study, rule=rule, mode="combined")
        if r["negotiation"] == negotiation_id
    ]
    dates = dict(
        Source.objects.filter(pk__in={r["source_ref"] for r in rows}).values_list("pk", "date")
    )
    return [{**r, "date": dates.get(r["source_ref"])} for r in rows]


def study_rule(study: Study) -> Any:
    from negotiations.assessment import Rule

    return Rule(
        min_sources=study.rule_min_sources,
        use_strength=study.rule_use_strength,
        contested_min_weight=study.rule_contested_min_weight,
        contested_ratio=study.rule_contested_ratio,
    )


@dataclass
class AssessedCell:
    negotiation: Any
    phase: Any
    code: Any
    party: Any
    cell: Cell
    computed: str
    judgement: Any

    @property
    def verdict(self) -> str:
        if self.judgement is not None and self.judgement.override_verdict:
            return self.judgement.override_verdict
        return self.computed

    @property
    def overridden(self) -> bool:
        return self.judgement is not None and bool(self.judgement.override_verdict)


@dataclass
class Assessment:
    """Every assessed cell of a study, with what the page and the table need around them."""

    negotiations: list[Any]
    codes: list[Any]
    cells: dict[tuple[int, int, int, int], AssessedCell]
    parties: dict[int, list[Any]]
    principals: dict[int, list[int]]
    mode: str
    totals: dict[str, int]

    def get(self, negotiation_id: int, phase_id: int, code_id: int, party_id: int) -> AssessedCell:
        return self.cells[(negotiation_id, phase_id, code_id, party_id)]

    def strategic_trust(self, negotiation_id: int) -> str:
        from negotiations.assessment import strategic_trust

        verdicts = {
            (code.pk, party.pk): self.cells[(negotiation_id, 0, code.pk, party.pk)].verdict
            for code in self.codes
            for party in self.parties[negotiation_id]
        }
        return strategic_trust(
            verdicts, [c.pk for c in self.codes], self.principals.get(negotiation_id, [])
        )


def assessment(
    *, study: Study, mode: str = "combined", negotiation_id: int | None = None
) -> Assessment:
    """The study's assessments: every negotiation (or one) x phase x element x party, with the
    evidence grouped in the database, the rule's verdict and the latest judgement."""
    from negotiations.assessment import Evidence, verdict

    rule = study_rule(study)
    negotiations = list(negotiation_list(study=study))
    if negotiation_id is not None:
        negotiations = [n for n in negotiations if n.pk == negotiation_id]
    codes = assessment_codes(study=study)
    cells = assessment_cells(evidence_rows(study=study, rule=rule, mode=mode))
    judgements = latest_judgements(study=study) if mode == "combined" else {}
    assessed: dict[tuple[int, int, int, int], AssessedCell] = {}
    parties: dict[int, list[Any]] = {}
    principals: dict[int, list[int]] = {}
    totals = {"consensus": 0, "coders": 0}
    for negotiation in negotiations:
        links = list(negotiation.negotiationparty_set.all())
        parties[negotiation.pk] = [link.party for link in links]
        principals[negotiation.pk] = [link.party_id for link in links if link.is_principal]
        for phase in [None, *negotiation.phases.all()]:
            phase_id = phase.pk if phase else 0
            for code in codes:
                for party in parties[negotiation.pk]:
                    key = (negotiation.pk, phase_id, code.pk, party.pk)
                    cell = cells.get(key, Cell())
                    evidence = Evidence(
                        cell.n_for,
                        cell.n_against,
                        cell.weight_for,
                        cell.weight_against,
                        cell.n_sources,
                    )
                    assessed[key] = AssessedCell(
                        negotiation,
                        phase,
                        code,
                        party,
                        cell,
                        verdict(evidence, rule),
                        judgements.get(key),
                    )
                    if phase is None:
                        totals["consensus"] += cell.from_consensus
                        totals["coders"] += cell.from_coders
    return Assessment(negotiations, codes, assessed, parties, principals, mode, totals)
