"""Reads behind the assessments: evidence grouped in the database, cells, verdicts, passages and
judgements, each with its joins done here."""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from negotiations.assessments.evidence import (
    SETTLED,
    STATUS_LABELS,
    UNANIMOUS,
    UNSETTLED,
    reading_of,
    unit_evidence,
)
from negotiations.assessments.rule import Evidence, Rule, strategic_trust, verdict
from negotiations.models import (
    Assignment,
    AssignmentStatus,
    Code,
    CodeSet,
    Coding,
    ConsensusCoding,
    ConsensusStatus,
    ConsensusUnit,
    Segment,
    Source,
    Strength,
    Study,
)
from negotiations.studies import selectors as study_selectors

STRENGTH_LABELS = dict(Strength.choices)

EVIDENCE_MODES = {
    "combined": "settled consensus where a unit is settled, the coders' majority elsewhere",
    "consensus": "settled consensus only",
    "unanimous": "unanimous units only",
    "coders": "the submitted coders' majority everywhere (consensus ignored)",
}


def assessment_codes(*, study: Study) -> list[Code]:
    """The codes assessed: the study's first enabled code set (the three elements by default)."""
    first = CodeSet.objects.filter(study=study, enabled=True).order_by("order", "pk").first()
    if first is None:
        return []
    return list(Code.objects.filter(code_set=first, archived=False).order_by("order", "pk"))


@dataclass
class _UnitData:
    """What the units of the assessed codes need from the database, in a fixed number of
    queries: per unit, each submitted coder's passages and any settled consensus."""

    sources: dict[int, tuple[int, int | None]]
    submitted: dict[int, set[int]]
    segments: dict[int, list[tuple[int, int]]]
    coder_passages: dict[tuple[int, int, int, int], dict[int, list[tuple[str, str, int]]]]
    settled: dict[tuple[int, int, int, int], tuple[int, bool]]
    consensus_passages: dict[int, list[tuple[str, str, int]]]


def _unit_data(*, study: Study, codes: list[int], negotiation_id: int | None) -> _UnitData:
    sources_qs = Source.objects.filter(study=study, negotiation__isnull=False)
    if negotiation_id is not None:
        sources_qs = sources_qs.filter(negotiation_id=negotiation_id)
    sources = {
        pk: (negotiation, phase)
        for pk, negotiation, phase in sources_qs.values_list("pk", "negotiation_id", "phase_id")
    }
    submitted: dict[int, set[int]] = {}
    for source_id, coder_id in Assignment.objects.filter(
        source__in=sources_qs, status=AssignmentStatus.SUBMITTED
    ).values_list("source_id", "coder_id"):
        submitted.setdefault(source_id, set()).add(coder_id)
    codings = list(
        Coding.objects.filter(source__in=sources_qs, code_id__in=codes).values_list(
            "pk",
            "source_id",
            "coder_id",
            "code_id",
            "demonstrating_party_id",
            "start",
            "end",
            "stance",
            "strength",
        )
    )
    codings = [c for c in codings if c[2] in submitted.get(c[1], ())]
    segments: dict[int, list[tuple[int, int]]] = {}
    for source_id, start, end in (
        Segment.objects.filter(source_id__in={c[1] for c in codings})
        .order_by("source_id", "index")
        .values_list("source_id", "start", "end")
    ):
        segments.setdefault(source_id, []).append((start, end))
    coder_passages: dict[tuple[int, int, int, int], dict[int, list[tuple[str, str, int]]]] = {}
    bounds = {
        source_id: ([s for s, _ in spans], [e for _, e in spans])
        for source_id, spans in segments.items()
    }
    for pk, source_id, coder_id, code_id, party_id, start, end, stance, strength in codings:
        starts, ends = bounds.get(source_id, ([], []))
        # Sentences overlapping [start, end): the first ending after start, up to the last
        # starting before end.
        first = bisect.bisect_right(ends, start)
        last = bisect.bisect_left(starts, end)
        for index in range(first, last):
            key = (source_id, index, code_id, party_id)
            coder_passages.setdefault(key, {}).setdefault(coder_id, []).append(
                (stance, strength, pk)
            )
    settled: dict[tuple[int, int, int, int], tuple[int, bool]] = {}
    for pk, source_id, index, code_id, party_id, unanimous in ConsensusUnit.objects.filter(
        study=study,
        status=ConsensusStatus.SETTLED,
        code_id__in=codes,
        source__in=sources_qs,
    ).values_list("pk", "source_id", "segment__index", "code_id", "party_id", "unanimous"):
        settled[(source_id, index, code_id, party_id)] = (pk, unanimous)
    consensus_passages: dict[int, list[tuple[str, str, int]]] = {}
    for unit_id, pk, stance, strength in ConsensusCoding.objects.filter(
        unit_id__in=[pk for pk, _ in settled.values()]
    ).values_list("unit_id", "pk", "stance", "strength"):
        consensus_passages.setdefault(unit_id, []).append((stance, strength, pk))
    return _UnitData(sources, submitted, segments, coder_passages, settled, consensus_passages)


def unit_evidence_rows(
    *, study: Study, rule: Any, mode: str = "combined", negotiation_id: int | None = None
) -> list[dict[str, Any]]:
    """One row per (sentence, element, party) unit that carries evidence or is unsettled, under
    an evidence base: its one reading (counts 0 or 1 per side, weights), status and the ids of
    the passages behind it (coder codings, or consensus codings where settled)."""
    codes = [c.pk for c in assessment_codes(study=study)]
    data = _unit_data(study=study, codes=codes, negotiation_id=negotiation_id)
    rows: list[dict[str, Any]] = []
    for key in sorted(set(data.coder_passages) | set(data.settled)):
        source_id, index, code_id, party_id = key
        by_coder = data.coder_passages.get(key, {})
        readings = {
            coder: reading_of(((s, st) for s, st, _ in passages), rule)
            for coder, passages in by_coder.items()
        }
        unit_id, unanimous = data.settled.get(key, (None, False))
        consensus = None
        if unit_id is not None:
            consensus = reading_of(
                ((s, st) for s, st, _ in data.consensus_passages.get(unit_id, [])), rule
            )
        found = unit_evidence(
            coder_readings=readings,
            n_submitted=len(data.submitted.get(source_id, ())),
            consensus=consensus,
            unanimous=unanimous,
            mode=mode,
        )
        if found is None or not (found.counts or found.status == UNSETTLED):
            continue
        if found.status in (SETTLED, UNANIMOUS):
            layer = "consensus"
            passage_ids = [pk for _, _, pk in data.consensus_passages.get(unit_id, [])]
            coders: list[int] = []
        else:
            layer = "coders" if found.counts else "unsettled"
            coders = sorted(
                c
                for c, r in readings.items()
                if found.status == UNSETTLED or r.value == found.reading.value
            )
            passage_ids = sorted({pk for c in coders for _, _, pk in by_coder[c]})
        negotiation, phase = data.sources[source_id]
        reading = found.reading
        rows.append(
            {
                "negotiation": negotiation,
                "phase": phase,
                "code_ref": code_id,
                "party": party_id,
                "source_ref": source_id,
                "segment": index,
                "value": reading.value,
                "n_for": reading.n_for if found.counts else 0,
                "n_against": reading.n_against if found.counts else 0,
                "w_for": reading.weight_for if found.counts and reading.n_for else 0.0,
                "w_against": reading.weight_against if found.counts and reading.n_against else 0.0,
                "status": found.status,
                "layer": layer,
                "unit_id": unit_id,
                "coders": coders,
                "passage_ids": passage_ids,
            }
        )
    return rows


def evidence_rows(
    *, study: Study, rule: Any, mode: str = "combined", negotiation_id: int | None = None
) -> list[dict[str, Any]]:
    """The unit rows of an evidence base (kept under this name for the timeline)."""
    return unit_evidence_rows(study=study, rule=rule, mode=mode, negotiation_id=negotiation_id)


@dataclass
class Cell:
    """Evidence of one negotiation x phase (0 = all phases) x code x party, counted per unit."""

    n_for: int = 0
    n_against: int = 0
    weight_for: float = 0.0
    weight_against: float = 0.0
    sources: set = None  # type: ignore[assignment]
    from_consensus: int = 0
    from_coders: int = 0
    unsettled: int = 0

    def __post_init__(self) -> None:
        if self.sources is None:
            self.sources = set()

    @property
    def n_sources(self) -> int:
        return len(self.sources)


def assessment_cells(rows: list[dict[str, Any]]) -> dict[tuple[int, int, int, int], Cell]:
    """Sum unit rows into cells, per phase and for all phases (phase 0)."""
    cells: dict[tuple[int, int, int, int], Cell] = {}
    for row in rows:
        for phase in {row["phase"] or 0, 0}:
            key = (row["negotiation"], phase, row["code_ref"], row["party"])
            cell = cells.setdefault(key, Cell())
            if row["layer"] == "unsettled":
                cell.unsettled += 1
                continue
            cell.n_for += row["n_for"]
            cell.n_against += row["n_against"]
            cell.weight_for += row["w_for"]
            cell.weight_against += row["w_against"]
            cell.sources.add(row["source_ref"])
            if row["layer"] == "consensus":
                cell.from_consensus += 1
            else:
                cell.from_coders += 1
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
    mode: str = "combined",
) -> list[dict[str, Any]]:
    """Every unit behind a cell (the ones counted and the unsettled ones), each with its sentence,
    its reading, where the reading comes from and the passages behind it. Optionally only those
    of one source, or of sources dated in one month ("YYYY-MM")."""
    rows = [
        r
        for r in unit_evidence_rows(
            study=study, rule=study_rule(study), mode=mode, negotiation_id=negotiation_id
        )
        if r["code_ref"] == code_id
        and r["party"] == party_id
        and (not phase_id or r["phase"] == phase_id)
        and (not source_id or r["source_ref"] == source_id)
    ]
    sources = {s.pk: s for s in Source.objects.filter(pk__in={r["source_ref"] for r in rows})}
    if month:
        year, number = int(month[:4]), int(month[5:])
        rows = [
            r
            for r in rows
            if (day := sources[r["source_ref"]].date) and (day.year, day.month) == (year, number)
        ]
    segments = {
        (s.source_id, s.index): s
        for s in Segment.objects.filter(source_id__in={r["source_ref"] for r in rows})
    }
    coding_ids = {pk for r in rows if r["layer"] != "consensus" for pk in r["passage_ids"]}
    consensus_ids = {pk for r in rows if r["layer"] == "consensus" for pk in r["passage_ids"]}
    codings = {c.pk: c for c in Coding.objects.filter(pk__in=coding_ids).select_related("coder")}
    consensus = {c.pk: c for c in ConsensusCoding.objects.filter(pk__in=consensus_ids)}
    deciders = dict(
        ConsensusUnit.objects.filter(
            pk__in={r["unit_id"] for r in rows if r["unit_id"]}
        ).values_list("pk", "decided_by__username")
    )
    units = []
    for r in rows:
        source = sources[r["source_ref"]]
        segment = segments.get((r["source_ref"], r["segment"]))
        if r["layer"] == "consensus":
            passages = [
                {
                    "quote": c.quote,
                    "stance": c.stance,
                    "strength": c.strength,
                    "strength_label": STRENGTH_LABELS.get(c.strength, ""),
                    "coder": "consensus",
                }
                for pk in r["passage_ids"]
                if (c := consensus.get(pk))
            ]
            who = deciders.get(r["unit_id"]) or ""
        else:
            passages = [
                {
                    "quote": c.quote,
                    "stance": c.stance,
                    "strength": c.strength,
                    "strength_label": STRENGTH_LABELS.get(c.strength, ""),
                    "coder": c.coder.username,
                }
                for pk in r["passage_ids"]
                if (c := codings.get(pk))
            ]
            who = ", ".join(sorted({p["coder"] for p in passages}))
        units.append(
            {
                **r,
                "source": source,
                "sentence_number": r["segment"] + 1,
                "sentence": source.text[segment.start : segment.end] if segment else "",
                "status_label": STATUS_LABELS[r["status"]],
                "who": who,
                "passages": passages,
            }
        )
    units.sort(key=lambda u: (u["source"].date or date.min, u["source"].pk, u["segment"]))
    return units


def timeline_marks(*, study: Study, negotiation_id: int, rule: Any) -> list[dict[str, Any]]:
    """Evidence per source, code, party and stance for a negotiation's timeline (grouped in the
    database)."""
    rows = [
        r
        for r in evidence_rows(
            study=study, rule=rule, mode="combined", negotiation_id=negotiation_id
        )
        if r["layer"] != "unsettled"
    ]
    dates = dict(
        Source.objects.filter(pk__in={r["source_ref"] for r in rows}).values_list("pk", "date")
    )
    return [{**r, "date": dates.get(r["source_ref"])} for r in rows]


def study_rule(study: Study) -> Any:

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

    rule = study_rule(study)
    negotiations = list(study_selectors.negotiation_list(study=study))
    if negotiation_id is not None:
        negotiations = [n for n in negotiations if n.pk == negotiation_id]
    codes = assessment_codes(study=study)
    cells = assessment_cells(
        evidence_rows(study=study, rule=rule, mode=mode, negotiation_id=negotiation_id)
    )
    judgements = latest_judgements(study=study) if mode == "combined" else {}
    assessed: dict[tuple[int, int, int, int], AssessedCell] = {}
    parties: dict[int, list[Any]] = {}
    principals: dict[int, list[int]] = {}
    totals = {"consensus": 0, "coders": 0, "unsettled": 0}
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
                        totals["unsettled"] += cell.unsettled
    return Assessment(negotiations, codes, assessed, parties, principals, mode, totals)


ASSESSMENT_COLUMNS = (
    "negotiation",
    "phase",
    "element",
    "party",
    "n_for",
    "n_against",
    "n_sources",
    "weight_for",
    "weight_against",
    "n_unsettled",
    "n_from_consensus",
    "n_from_majority",
    "verdict",
    "final_verdict",
    "override_verdict",
    "judgement",
    "rationale",
    "judged_by",
    "judged_at",
)


def assessment_rows(data: Any) -> Iterator[tuple[Any, ...]]:
    """One row per negotiation x phase ("all" for the whole case) x element x party: the
    counts per unit, the rule's verdict, and the newest judgement (the verdict after any
    override, the written judgement and rationale, who wrote it and when)."""
    for negotiation in data.negotiations:
        for phase in [None, *negotiation.phases.all()]:
            for code in data.codes:
                for party in data.parties[negotiation.pk]:
                    assessed = data.get(negotiation.pk, phase.pk if phase else 0, code.pk, party.pk)
                    cell, judgement = assessed.cell, assessed.judgement
                    yield (
                        negotiation.name,
                        phase.name if phase else "all",
                        code.name,
                        party.code,
                        cell.n_for,
                        cell.n_against,
                        cell.n_sources,
                        cell.weight_for,
                        cell.weight_against,
                        cell.unsettled,
                        cell.from_consensus,
                        cell.from_coders,
                        assessed.computed,
                        assessed.verdict,
                        judgement.override_verdict if judgement else "",
                        judgement.judgement if judgement else "",
                        judgement.rationale if judgement else "",
                        judgement.author.username if judgement and judgement.author_id else "",
                        judgement.created_at.isoformat() if judgement else "",
                    )
