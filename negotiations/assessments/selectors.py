"""Reads behind the assessments: evidence grouped in the database, cells, verdicts, passages and
judgements, each with its joins done here."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet

from negotiations.assessments.rule import WEIGHTS, Evidence, Rule, strategic_trust, verdict
from negotiations.models import (
    Assignment,
    AssignmentStatus,
    Code,
    CodeSet,
    Coding,
    ConsensusCoding,
    ConsensusStatus,
    ConsensusUnit,
    Source,
    Study,
)
from negotiations.studies import selectors as study_selectors

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

    if not rule.use_strength:
        return Value(1.0, output_field=FloatField())
    whens = [
        When(stance=stance, strength=strength, then=Value(float(weight)))
        for stance, weights in WEIGHTS.items()
        for strength, weight in weights.items()
    ]
    return Case(*whens, default=Value(1.0), output_field=FloatField())


def _grouped(queryset: QuerySet, rule: Any, source_prefix: str) -> list[dict[str, Any]]:
    from django.db.models import Sum

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
    "verdict",
    "override_verdict",
    "rationale",
)


def assessment_rows(data: Any) -> Iterator[tuple[Any, ...]]:
    """One row per negotiation x phase ("all" for the whole case) x element x party."""
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
                        round(cell.weight_for, 3),
                        round(cell.weight_against, 3),
                        assessed.computed,
                        judgement.override_verdict if judgement else "",
                        judgement.rationale if judgement else "",
                    )
