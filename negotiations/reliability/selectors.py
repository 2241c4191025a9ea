"""Reads behind the reliability report: sources, segments and submitted codings as plain inputs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models.functions import Length

from negotiations.codebook import selectors as codebook_selectors
from negotiations.models import (
    Assignment,
    AssignmentStatus,
    CodebookVersion,
    Coding,
    NegotiationParty,
    Party,
    Segment,
    Source,
    Study,
)
from negotiations.reliability import passages
from negotiations.reliability.report import CodingInput, SourceInput


def lowest_agreement_rows(study, report: dict, can_review: bool) -> list[dict]:
    """The least-agreed units with their source titles and sentences, for supervisors."""
    if not can_review or not report.get("lowest"):
        return []
    ids = {row["source"] for row in report["lowest"]}
    sources = {
        s["pk"]: s
        for s in Source.objects.filter(study=study, pk__in=ids).values("pk", "title", "text")
    }
    segments = {
        (s.source_id, s.index): s
        for s in Segment.objects.filter(source_id__in=ids).only(
            "source_id", "index", "start", "end"
        )
    }
    rows = []
    for row in report["lowest"]:
        source = sources.get(row["source"])
        if source is None:
            continue
        segment = segments.get((row["source"], row["segment"]))
        text = source["text"][segment.start : segment.end] if segment else ""
        rows.append(
            {
                **row,
                "title": source["title"],
                "sentence": text,
                "element": report["codes"].get(str(row["code"]), "?"),
                "party_code": report["parties"].get(str(row["party"]), "?"),
                "readings": [
                    (report["coder_names"].get(str(coder), str(coder)), value)
                    for coder, value in sorted(row["values"].items(), key=lambda kv: str(kv[0]))
                ],
            }
        )
    return rows


@dataclass(frozen=True)
class ReliabilityFilters:
    negotiation: int | None = None
    phase: int | None = None
    code: int | None = None
    party: int | None = None
    coders: tuple[int, ...] = ()
    unit: str = "segment"
    level: str = "nominal"
    # Categories of the passages (unitizing) unit: "stance" or "stance_party".
    categories: str = "stance"

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
    codes = list(codebook_selectors.active_code_list(study=study).values_list("pk", "name"))
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


def passage_inputs(*, study: Study, filters: ReliabilityFilters) -> passages.PassageInput:
    """The continuum of double-coded sources and their submitted codings, as plain data.

    Five queries whatever the number of codings: submissions, source lengths (counted in the
    database, texts are not loaded), codes, parties and the codings as tuples.
    """
    sources = Source.objects.filter(study=study)
    if filters.negotiation:
        sources = sources.filter(negotiation_id=filters.negotiation)
    if filters.phase:
        sources = sources.filter(phase_id=filters.phase)
    submitted_rows = Assignment.objects.filter(
        source__in=sources, status=AssignmentStatus.SUBMITTED
    ).values_list("source_id", "coder_id", "coder__username")
    if filters.coders:
        submitted_rows = submitted_rows.filter(coder_id__in=filters.coders)
    submitted: dict[int, list[int]] = {}
    coder_names: dict[int, str] = {}
    for source_id, coder_id, username in submitted_rows:
        submitted.setdefault(source_id, []).append(coder_id)
        coder_names[coder_id] = username
    coders = passages.counted_coders(submitted, filters.coders)
    coders = tuple(sorted(coders, key=lambda c: coder_names.get(c, str(c))))
    source_ids, left_out = passages.continuum_source_ids(submitted, coders)
    lengths = dict(
        Source.objects.filter(pk__in=source_ids)
        .annotate(text_length=Length("text"))
        .values_list("pk", "text_length")
    )
    continuum = passages.build_continuum(lengths, coders, left_out)
    codes = list(codebook_selectors.active_code_list(study=study).values_list("pk", "name"))
    if filters.code:
        codes = [c for c in codes if c[0] == filters.code]
    coding_rows = Coding.objects.filter(
        source_id__in=source_ids, coder_id__in=coders, code_id__in=[pk for pk, _ in codes]
    )
    if filters.party:
        coding_rows = coding_rows.filter(demonstrating_party_id=filters.party)
    codings = [
        CodingInput(*row)
        for row in coding_rows.values_list(
            "source_id", "coder_id", "code_id", "demonstrating_party_id", "start", "end", "stance"
        )
    ]
    mode = filters.categories if filters.categories in passages.CATEGORY_MODES else "stance"
    return passages.PassageInput(
        continuum=continuum,
        codings=codings,
        codes=codes,
        parties=dict(Party.objects.filter(study=study).values_list("pk", "code")),
        coder_names={c: coder_names[c] for c in coders if c in coder_names},
        mode=mode,
    )


def report_size(*, study: Study, filters: ReliabilityFilters) -> int:
    """Units x coders of a report: the submitted (unit, coder) pairs it reads, in one count.

    What decides whether the report (with its bootstrap) is computed by a worker."""
    assignments = Assignment.objects.filter(source__study=study, status=AssignmentStatus.SUBMITTED)
    if filters.negotiation:
        assignments = assignments.filter(source__negotiation_id=filters.negotiation)
    if filters.phase:
        assignments = assignments.filter(source__phase_id=filters.phase)
    if filters.coders:
        assignments = assignments.filter(coder_id__in=filters.coders)
    if filters.unit == "source":
        return assignments.count()
    return Segment.objects.filter(source__assignments__in=assignments).count()
