"""The shapes of the read API's answers; the OpenAPI schema is generated from them."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from ninja import Schema
from pydantic import Field

# A row id in a filter or path: the databases' integers end at 2**63 - 1, so a larger number is
# refused as invalid (422) instead of overflowing in the query.
RowId = Annotated[int, Field(ge=0, le=2**63 - 1)]


class Error(Schema):
    detail: Any


class StudyOut(Schema):
    slug: str
    name: str
    description: str
    role: str
    blind_coding: bool
    n_sources: int
    n_members: int


class RuleOut(Schema):
    min_sources: int
    use_strength: bool
    contested_min_weight: float
    contested_ratio: float


class StudyDetailOut(StudyOut):
    snap_to_words: bool
    data_version: int
    assessment_rule: RuleOut


class PartyOut(Schema):
    id: int
    code: str
    name: str


class PhaseOut(Schema):
    id: int
    name: str
    kind: str
    start_date: date | None
    end_date: date | None


class EventOut(Schema):
    id: int
    date: date
    end_date: date | None
    title: str


class NegotiationPartyOut(Schema):
    code: str
    name: str
    is_principal: bool


class NegotiationOut(Schema):
    id: int
    name: str
    slug: str
    description: str
    start_date: date | None
    end_date: date | None
    n_sources: int
    parties: list[NegotiationPartyOut]
    phases: list[PhaseOut]
    events: list[EventOut]


class CodeOut(Schema):
    id: int
    name: str
    label: str
    definition: str
    when_to_use: str
    when_not_to_use: str
    example: str
    colour: str
    key: str
    archived: bool


class CodeSetOut(Schema):
    slug: str
    name: str
    enabled: bool
    for_label: str
    against_label: str
    codes: list[CodeOut]


class CodebookOut(Schema):
    version: int
    code_sets: list[CodeSetOut]


class SourceOut(Schema):
    id: int
    title: str
    negotiation: str
    phase: str | None
    speaker: str
    speaker_party: str | None
    date: date | None
    source_type: str
    citation: str
    url: str
    language: str
    version: int
    n_characters: int
    text: str | None = None


class Page(Schema):
    """One page of a cursor-paginated list: pass `next_cursor` back as `cursor` for the next."""

    count: int
    next_cursor: str | None
    results: list[Any]


class SourcePage(Page):
    results: list[SourceOut]


class RowPage(Page):
    """Rows of a table, each an object with the columns of the matching CSV download."""

    columns: list[str]
    results: list[dict[str, Any]]


class ReliabilityOut(Schema):
    unit: str
    level: str
    n_coders: int
    coders: list[str]
    columns: list[str]
    rows: list[dict[str, Any]]


class PassagesOut(Schema):
    categories: str
    columns: list[str]
    rows: list[dict[str, Any]]


class AssessmentOut(Schema):
    columns: list[str]
    rows: list[dict[str, Any]]
    strategic_trust: dict[str, str]
