"""Reads behind review: the queue of units, one unit with every coder's lane, the audit trail and
each coder's agreement with the consensus."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Count, F, QuerySet, Value
from django.db.models.functions import Least, Substr

from negotiations.coding import selectors as coding_selectors
from negotiations.models import (
    Assignment,
    AssignmentStatus,
    Coding,
    ConsensusCoding,
    ConsensusStatus,
    ConsensusUnit,
    Source,
    Strength,
    Study,
)
from negotiations.reliability import selectors as reliability_selectors
from negotiations.reliability.agreement import MISSING, ReliabilityData, cohen_kappa
from negotiations.reliability.report import VALUE_LABELS, build_unit_table


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
    return (
        units.select_related(
            "source__negotiation", "segment", "code", "party", "decided_by", "chosen_coder"
        )
        # The queue shows each unit's sentence, cut in the database: a page of units never
        # loads the full text of their sources.
        .defer("source__text", "source__citation")
        .annotate(
            sentence_start=Substr(
                "source__text",
                F("segment__start") + 1,
                Least(F("segment__end") - F("segment__start"), Value(QUEUE_SENTENCE_CHARS + 1)),
            )
        )
        .order_by(*order, "pk")
    )


QUEUE_SENTENCE_CHARS = 300


@dataclass(frozen=True)
class QueueReading:
    """One submitted coder's reading of a unit and the evidence strengths they gave it."""

    coder: str
    value: str
    strengths: tuple[str, ...]


@dataclass(frozen=True)
class QueueUnit:
    unit: ConsensusUnit
    sentence: str
    trimmed: bool
    readings: tuple[QueueReading, ...]


@dataclass(frozen=True)
class QueueSource:
    source: Source
    units: tuple[QueueUnit, ...]


def consensus_queue_by_source(*, units: list[ConsensusUnit]) -> list[QueueSource]:
    """A page of the queue grouped under one heading per source (in the order the sources first
    appear), each unit with its sentence (trimmed) and the readings of the coders behind it.

    Only the coders in the unit's readings appear: the submitted coders the unit was built
    from, whose work a supervisor may see. Two queries whatever the number of units.
    """
    coder_ids = {int(pk) for unit in units for pk in unit.readings}
    names = dict(get_user_model().objects.filter(pk__in=coder_ids).values_list("pk", "username"))
    strengths: dict[tuple[int, int], set[str]] = {}
    units_by_source: dict[int, list[ConsensusUnit]] = {}
    for unit in units:
        units_by_source.setdefault(unit.source_id, []).append(unit)
    codings = Coding.objects.filter(
        source_id__in=list(units_by_source),
        coder_id__in=coder_ids,
        code_id__in={unit.code_id for unit in units},
    ).exclude(strength="")
    rows = codings.values_list(
        "source_id", "coder_id", "code_id", "demonstrating_party_id", "start", "end", "strength"
    )
    for source_id, coder_id, code_id, party_id, start, end, strength in rows:
        for unit in units_by_source[source_id]:
            segment = unit.segment
            if (unit.code_id, unit.party_id) == (code_id, party_id) and (
                start < segment.end and end > segment.start
            ):
                strengths.setdefault((unit.pk, coder_id), set()).add(strength)
    order = [s.value for s in Strength]
    labels = dict(Strength.choices)
    groups: dict[int, tuple[Source, list[QueueUnit]]] = {}
    for unit in units:
        readings = tuple(
            QueueReading(
                coder=names.get(int(pk), "?"),
                value=value,
                strengths=tuple(
                    labels[s]
                    for s in sorted(strengths.get((unit.pk, int(pk)), ()), key=order.index)
                ),
            )
            for pk, value in sorted(unit.readings.items(), key=lambda r: names.get(int(r[0]), ""))
        )
        text = unit.sentence_start
        trimmed = len(text) > QUEUE_SENTENCE_CHARS
        queued = QueueUnit(
            unit=unit,
            sentence=text[:QUEUE_SENTENCE_CHARS].rstrip() if trimmed else text,
            trimmed=trimmed,
            readings=readings,
        )
        groups.setdefault(unit.source_id, (unit.source, []))[1].append(queued)
    return [QueueSource(source=source, units=tuple(queued)) for source, queued in groups.values()]


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


def _coder_consensus_table(*, study: Study) -> tuple[Any, Any, Any]:
    """The unit table of submitted work, the consensus value of every unit (MISSING where there
    is none) and the reliability inputs.

    The consensus value of a unit is the settled decision where there is one; where all submitted
    coders agree (also on "none") it is their shared value; open disagreements are left out.
    """
    import numpy as np

    inputs = reliability_selectors.reliability_inputs(
        study=study, filters=reliability_selectors.ReliabilityFilters()
    )
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
    return table, consensus, inputs


def coder_consensus_matrix_rows(
    *, study: Study, coder_id: int, code_id: int | None = None
) -> Iterator[list[Any]]:
    """One coder against the consensus as a unit x coder matrix (`unit,<coder>,consensus`) that
    `agreement_stats` reads: the units of that coder's row on the page (or of one element)."""
    table, consensus, inputs = _coder_consensus_table(study=study)
    from django.contrib.auth import get_user_model

    name = inputs.coder_names.get(coder_id) or (
        get_user_model().objects.filter(pk=coder_id).values_list("username", flat=True).first()
    )
    yield ["unit", name or str(coder_id), "consensus"]
    if coder_id not in table.coders:
        return
    k = table.coders.index(coder_id)
    for u in range(len(table)):
        value = int(table.values[u, k])
        if value == MISSING or consensus[u] == MISSING:
            continue
        if code_id is not None and int(table.code[u]) != code_id:
            continue
        key = f"s{table.source[u]}-{table.segment[u]}-c{table.code[u]}-p{table.party[u]}"
        yield [key, VALUE_LABELS[value], VALUE_LABELS[int(consensus[u])]]


def coder_consensus_figures(*, study: Study, only_coder: int | None = None) -> dict[str, Any]:
    """Each coder's Cohen's kappa and percent agreement with the consensus, per element and by
    month of submission (see `_coder_consensus_table` for the consensus value of a unit)."""
    import numpy as np

    table, consensus, inputs = _coder_consensus_table(study=study)
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
                coders=(inputs.coder_names[table.coders[k]], "consensus"),
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
            {
                "element": code_names[code_id],
                "code": code_id,
                **stats(mask & (table.code == code_id)),
            }
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
        rows.append(
            {"coder": name, "coder_id": coder_id, "overall": stats(mask), "elements": per_element}
        )
        drift.append({"coder": name, "points": points})
    return {"rows": rows, "drift": drift, "months": sorted(months)}


CONSENSUS_COLUMNS = (
    *coding_selectors.CODING_COLUMNS[:10],
    "code",
    "stance",
    "demonstrating_party",
    "strength",
    "start",
    "end",
    "quote",
    "decision",
    "rationale",
    "decided_by",
    "decided_at",
    "unanimous",
    "unit_status",
    "segment",
    "unit_code",
    "unit_party",
)


def consensus_rows(*, study: Study) -> Iterator[tuple[Any, ...]]:
    """The consensus layer: one row per consensus coding, and one per unit settled as "none"."""
    from negotiations.models import ConsensusUnit

    units = (
        ConsensusUnit.objects.filter(study=study, status="settled")
        .select_related(
            "source__negotiation",
            "source__phase",
            "source__speaker_party",
            "segment",
            "code",
            "party",
            "decided_by",
        )
        .prefetch_related("consensus_codings__code", "consensus_codings__demonstrating_party")
        .order_by("source__date", "source_id", "segment__index", "code_id", "party_id")
    )
    for unit in units.iterator(chunk_size=500):
        source = unit.source
        head = (
            f"consensus-{unit.pk}",
            study.slug,
            source.negotiation.name,
            source.phase.name if source.phase_id else "",
            source.pk,
            source.title,
            source.date,
            source.speaker,
            source.speaker_party.code if source.speaker_party_id else "",
            source.source_type,
        )
        tail = (
            unit.decision,
            unit.rationale,
            unit.decided_by.username if unit.decided_by_id else "",
            unit.decided_at,
            "yes" if unit.unanimous else "no",
            unit.status,
            unit.segment.index,
            unit.code.name,
            unit.party.code,
        )
        codings = list(unit.consensus_codings.all())
        if not codings:
            yield (*head, unit.code.name, "none", unit.party.code, "", "", "", "", *tail)
        for c in codings:
            yield (
                *head,
                c.code.name,
                c.stance,
                c.demonstrating_party.code,
                c.strength,
                c.start,
                c.end,
                c.quote,
                *tail,
            )
