"""exports.selectors (from exports)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db.models import QuerySet

from negotiations.models import Coding, Source, Study

SOURCE_COLUMNS = (
    "source_id",
    "negotiation",
    "phase",
    "title",
    "date",
    "speaker",
    "speaker_party",
    "source_type",
    "citation",
    "url",
    "language",
    "text",
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


def source_rows(*, study: Study) -> Iterator[tuple[Any, ...]]:
    sources = (
        Source.objects.filter(study=study)
        .order_by("date", "pk")
        .values_list(
            "pk",
            "negotiation__name",
            "phase__name",
            "title",
            "date",
            "speaker",
            "speaker_party__code",
            "source_type",
            "citation",
            "url",
            "language",
            "text",
        )
    )
    # Texts can be long: fetch a few hundred at a time so memory stays flat.
    yield from sources.iterator(chunk_size=200)


def coding_rows(*, codings: QuerySet[Coding], study: Study) -> Iterator[tuple[Any, ...]]:
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


RELIABILITY_COLUMNS = (
    "element",
    "unit",
    "level",
    "n_units",
    "n_pairable_units",
    "n_coders",
    "krippendorff_alpha",
    "alpha_ci95_low",
    "alpha_ci95_high",
    "gwet_ac1",
    "fleiss_kappa",
    "percent_agreement",
    "verdict",
    "undefined",
)


def reliability_rows(report: dict[str, Any]) -> Iterator[tuple[Any, ...]]:
    """One CSV row per element and one for all elements, from a reliability report."""
    for row in [*report["rows"], report["overall"]]:
        ci = row.get("alpha_ci95") or [None, None]
        undefined = "; ".join(
            f"{name}: {reason}"
            for name, reason in (
                ("alpha", row.get("alpha_undefined")),
                ("ac1", row["ac1"]["undefined"]),
                ("fleiss", row["fleiss"]["undefined"]),
                ("percent_agreement", row["percent_agreement"]["undefined"]),
            )
            if reason
        )
        yield (
            row["element"],
            report.get("unit", "segment"),
            report["level"],
            row["n_units"],
            row["n_pairable_units"],
            row["n_coders"],
            row["alpha"],
            ci[0],
            ci[1],
            row["ac1"]["value"],
            row["fleiss"]["value"],
            row["percent_agreement"]["value"],
            row["verdict"],
            undefined,
        )


CONSENSUS_COLUMNS = (
    *CODING_COLUMNS[:10],
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
