"""Reads of sources: the filtered, sorted list, one source, its newer version, an import."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import Q, QuerySet
from django.db.models.functions import Substr

from negotiations.models import (
    Source,
    SourceImport,
    SourceImportProblem,
    Study,
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
        .get(study=study, pk=source_id)
    )


def source_newer_version(*, source: Source) -> Source | None:
    return Source.objects.filter(supersedes=source).only("pk", "title", "version").first()


def source_import_get(*, study: Study, import_id: int) -> SourceImport:
    return SourceImport.objects.get(study=study, pk=import_id)


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


class ImportProblemRows:
    """The stored problems of a staged import as a sequence a Paginator can page.

    Problems are numbered 0..n-1 (`position`), so a page is a range of positions found through
    the index, not an OFFSET that walks every earlier row: the last of 1,000 pages costs what the
    first does.
    """

    def __init__(self, source_import: SourceImport) -> None:
        self.problems = SourceImportProblem.objects.filter(source_import=source_import)
        self.count = source_import.n_errors

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index: slice) -> list[SourceImportProblem]:
        if not isinstance(index, slice):
            raise TypeError("Problems are read a page at a time.")
        start, stop = index.start or 0, index.stop if index.stop is not None else self.count
        return list(
            self.problems.filter(position__gte=start, position__lt=stop).order_by("position")
        )


@dataclass(frozen=True)
class PreviewCell:
    value: str
    problems: tuple[str, ...]
    long: bool


@dataclass(frozen=True)
class PreviewRow:
    line: int | None  # the spreadsheet row number (header = 1); None in an older stored preview
    cells: tuple[PreviewCell, ...]
    problems: tuple[str, ...]  # the row's problems that name no column


@dataclass(frozen=True)
class ImportPreview:
    headers: list[str]
    rows: list[PreviewRow]


# A cell longer than this is shown clipped (CSS) so that a text column cannot make rows tall.
PREVIEW_LONG_CELL = 80


def _column_key(name: str) -> str:
    return str(name or "").strip().lstrip("\ufeff").lower()


def source_import_preview(*, source_import: SourceImport) -> ImportPreview:
    """The stored first rows of a staged file, each cell with the problems found in it, in one
    query for the problems of those rows."""
    stored = source_import.preview or []
    if not stored:
        return ImportPreview(headers=[], rows=[])
    headers, rows = [str(h) for h in stored[0]], stored[1:]
    numbered = [(r[0], r[1:]) if len(r) == len(headers) + 1 else (None, r) for r in rows]
    found: dict[tuple[int, str], list[str]] = {}
    lines = [line for line, _ in numbered if line is not None]
    if lines and source_import.n_errors:
        for row, column, message in SourceImportProblem.objects.filter(
            source_import=source_import, row__in=lines
        ).values_list("row", "column", "message"):
            found.setdefault((row, _column_key(column)), []).append(message)
    keys = [_column_key(h) for h in headers]
    return ImportPreview(
        headers=headers,
        rows=[
            PreviewRow(
                line=line,
                cells=tuple(
                    PreviewCell(
                        value=str(value),
                        problems=tuple(found.get((line, key), ())) if line else (),
                        long=len(str(value)) > PREVIEW_LONG_CELL,
                    )
                    for key, value in zip(keys, values, strict=False)
                ),
                problems=tuple(found.get((line, ""), ())) if line else (),
            )
            for line, values in numbered
        ],
    )


def source_import_problems(*, source_import: SourceImport) -> ImportProblemRows:
    """The stored problems of a staged import, in file order, for paging."""
    return ImportProblemRows(source_import)
