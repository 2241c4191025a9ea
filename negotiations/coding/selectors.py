"""Reads for coding: what the coding page shows (blind coding applied here), a coder's
assignments and everyone's progress."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User
from django.core.cache import cache
from django.db import connections
from django.db.models import Count, F, FilteredRelation, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from negotiations.codebook import selectors as codebook_selectors
from negotiations.coding.highlight import render_text_html
from negotiations.fragments import Kept
from negotiations.models import (
    MANAGING_ROLES,
    Assignment,
    AssignmentStatus,
    Code,
    Coding,
    Membership,
    Negotiation,
    Party,
    Phase,
    Role,
    Source,
    Study,
)
from negotiations.prepared import PreparedRead, instance, run
from negotiations.studies import selectors as study_selectors
from negotiations.tabular import (
    csv_lines,
    csv_lines_written,
    date_sql,
    isoformat_sql,
    neutralise,
    neutralised_sql,
)

# The fields of a coding that the coding page shows, in this order (see `coding_page`).
CODING_PAGE_FIELDS = (
    "pk",
    "start",
    "end",
    "code_id",
    "code__name",
    "stance",
    "demonstrating_party__code",
    "strength",
    "coder_id",
    "coder__username",
    "memo",
)


# The source's fields that the page's heading and the text need (the text itself is deferred).
SOURCE_PAGE_FIELDS = (
    "pk",
    "study_id",
    "title",
    "speaker",
    "date",
    "source_type",
    "language",
    "text_sha256",
    "negotiation__name",
    "phase__name",
    "speaker_party__code",
)


@dataclass
class CodingPage:
    """Everything the coding page shows, read in a fixed number of queries.

    `codings` are plain tuples in the order of `CODING_PAGE_FIELDS`: the page needs a few small
    values per coding, and building model instances for thousands of them was most of its cost.
    The source's text is deferred: the page takes its HTML from `coding_text_html`.
    """

    source: Source
    codings: list[tuple]
    codes: list[Code]
    # Every value of every code of the study (`codes` are the active ones): what the parts of
    # the page that show codes are kept by (negotiations/fragments.py).
    codes_key: tuple
    colours: list[tuple[int, str]]
    parties: list[Party]
    assignment: Assignment | None
    can_code: bool
    can_see_others: bool
    layer: str
    layers: list[tuple[str, str]]
    assignments: list[Assignment]


# The coding page's reads, compiled once per connection (see `negotiations/prepared.py`).
_SOURCE_OWN_FIELDS = (
    "id",
    "study_id",
    "negotiation_id",
    "phase_id",
    "speaker_party_id",
    "title",
    "speaker",
    "date",
    "source_type",
    "language",
    "text_sha256",
)
_SOURCE_READ = PreparedRead(
    lambda study_id, source_id: Source.objects.filter(study_id=study_id, pk=source_id).values_list(
        *_SOURCE_OWN_FIELDS, "negotiation__name", "phase__name", "speaker_party__code"
    ),
    study_id=int,
    source_id=int,
)
_ASSIGNMENT_FIELDS = ("id", "source_id", "coder_id", "status", "submitted_at")
# The reads after the source's are kept to the study's sources too: run with it in one round trip
# (see `coding_page`), none of them may read a row of another study's source.
_ASSIGNMENTS_READ = PreparedRead(
    lambda study_id, source_id: (
        Assignment.objects.filter(source_id=source_id, source__study_id=study_id)
        .order_by("coder__username")
        .values_list(*_ASSIGNMENT_FIELDS, "coder__username")
    ),
    study_id=int,
    source_id=int,
)
_CODINGS_READ = PreparedRead(
    lambda study_id, source_id: (
        Coding.objects.filter(source_id=source_id, source__study_id=study_id)
        .order_by("start", "end", "pk")
        .values_list(*CODING_PAGE_FIELDS)
    ),
    study_id=int,
    source_id=int,
)
_CODINGS_OF_CODER_READ = PreparedRead(
    lambda study_id, source_id, coder_id: (
        Coding.objects.filter(source_id=source_id, source__study_id=study_id, coder_id=coder_id)
        .order_by("start", "end", "pk")
        .values_list(*CODING_PAGE_FIELDS)
    ),
    study_id=int,
    source_id=int,
    coder_id=int,
)


def _source_of_rows(rows: list[tuple]) -> Source | None:
    """The source with the names its heading shows; its text stays deferred."""
    if not rows:
        return None
    row = rows[0]
    split = len(_SOURCE_OWN_FIELDS)
    source = instance(Source, _SOURCE_OWN_FIELDS, row[:split])
    negotiation_name, phase_name, party_code = row[split:]
    source.negotiation = instance(
        Negotiation, ("id", "name"), (source.negotiation_id, negotiation_name)
    )
    source.phase = (
        instance(Phase, ("id", "name"), (source.phase_id, phase_name))
        if source.phase_id is not None
        else None
    )
    source.speaker_party = (
        instance(Party, ("id", "code"), (source.speaker_party_id, party_code))
        if source.speaker_party_id is not None
        else None
    )
    return source


def _assignments_of_rows(rows: list[tuple]) -> list[Assignment]:
    assignments = []
    for row in rows:
        assignment = instance(Assignment, _ASSIGNMENT_FIELDS, row[:-1])
        assignment.coder = instance(User, ("id", "username"), (row[2], row[-1]))
        assignments.append(assignment)
    return assignments


def _codings_read(*, study: Study, source_id: int, coder_id: int | None):
    """The page's codings of one coder, or of every coder (`coder_id` None)."""
    if coder_id is None:
        return _CODINGS_READ.bind(study_id=study.pk, source_id=source_id)
    return _CODINGS_OF_CODER_READ.bind(study_id=study.pk, source_id=source_id, coder_id=coder_id)


def _likely_coder_of_layer(*, role: str, layer: str, user: User) -> int | None:
    """Whose codings the page will most likely show, known before the assignments are read: a
    coder's own (their default, and all a blind coder may see); for other roles the coder the
    layer names, or everyone. Never a layer the role could not be allowed."""
    if role == Role.CODER:
        return user.pk
    # Only a value that could be a coder's id reaches the read (`isdigit` alone allows "²").
    if layer.isascii() and layer.isdigit() and len(layer) <= 18:
        return int(layer)
    return None


def coding_page(*, study: Study, source_id: int, user: User, role: str, layer: str) -> CodingPage:
    """The source, its segments and the codings this member may see in the chosen layer.

    `layer` is "mine", "all" or a coder's user id. A coder whose work on the source is not
    submitted sees only their own layer while blind coding is on, whatever they ask for.

    The source, its assignments, the codes, the coding form's parties and the codings of the
    layer the page most likely shows are read together (one round trip on PostgreSQL); the
    codings are read again only when the layer turns out to be another (a coder who submitted
    asking for everyone's, a layer naming no coder of this source).
    """
    likely = _likely_coder_of_layer(role=role, layer=layer, user=user)
    reads = [
        _SOURCE_READ.bind(study_id=study.pk, source_id=source_id).then(_source_of_rows),
        _ASSIGNMENTS_READ.bind(study_id=study.pk, source_id=source_id).then(_assignments_of_rows),
        # Every code of the study: the colours of all (a coding may use an archived code) and
        # the active ones for the coding form.
        codebook_selectors.codes_marking_active_read(study=study),
        _codings_read(study=study, source_id=source_id, coder_id=likely),
    ]
    # The parties are the coding form's choices: read only for a member who may code.
    if role == Role.CODER:
        reads.append(study_selectors.party_list_read(study=study))
    source, assignments, all_codes, codings, *parties = run(*reads)
    if source is None:
        raise Source.DoesNotExist("No such source in this study.")
    assignment = None
    if role == Role.CODER:
        assignment = next((a for a in assignments if a.coder_id == user.pk), None)
    submitted = assignment is not None and assignment.status == AssignmentStatus.SUBMITTED
    can_see_others = role in MANAGING_ROLES or role == Role.READER or submitted
    if role == Role.CODER and not study.blind_coding:
        can_see_others = True
    can_code = role == Role.CODER and assignment is not None and not submitted

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

    if layer == "mine" or not can_see_others:
        shown: int | None = user.pk
    elif layer == "all":
        shown = None
    else:
        shown = int(layer)
    if shown != likely:
        (codings,) = run(_codings_read(study=study, source_id=source.pk, coder_id=shown))
    codes = [code for code in all_codes if code.active]
    return CodingPage(
        source=source,
        codings=codings,
        codes=codes,
        codes_key=all_codes.rows,
        colours=[(code.pk, code.colour) for code in all_codes],
        parties=parties[0] if parties and can_code else [],
        assignment=assignment,
        can_code=can_code,
        can_see_others=can_see_others,
        layer=layer,
        layers=layers,
        assignments=assignments,
    )


# Bump when the HTML that `render_text_html` makes changes, so no stale text is served.
TEXT_HTML_VERSION = 1


def source_segments(*, source: Source) -> list[tuple[int, int]]:
    return list(source.segments.order_by("index").values_list("start", "end"))


def coding_text_key(*, source: Source) -> str:
    """The cache key of the source's text HTML: it names that HTML for good."""
    return f"coding-text:{TEXT_HTML_VERSION}:{source.text_sha256}"


# The text HTML of the sources a worker served last, by cache key. The key names the HTML for
# good (the text's digest), so keeping it in the process can never serve a stale text: it only
# saves reading and unpickling the shared cache's file on every open.
_TEXT_HTML_KEPT = Kept()
TEXT_HTML_KEPT_MAX = 32


def coding_text_html(*, source: Source) -> str:
    """The source's text as HTML runs of sentences, rendered once and cached by the text's digest.

    A coded text never changes and segments follow from the text alone, so the digest names the
    HTML for good; the cache is shared by every process (settings: `CACHES`), and each process
    keeps the last few it served. Highlights are painted over it in the browser.
    """
    key = coding_text_key(source=source)

    def shared() -> str:
        html = cache.get(key)
        if html is None:
            html = render_text_html(source.text, source_segments(source=source), [])
            cache.set(key, html, timeout=None)
        return html

    return _TEXT_HTML_KEPT.get_or_make(key, shared, TEXT_HTML_KEPT_MAX)


def assignment_list_for_coder(*, study: Study, user: User) -> QuerySet[Assignment]:
    return (
        Assignment.objects.filter(source__study=study, coder=user)
        .select_related("source__negotiation", "source__phase", "source__speaker_party")
        .annotate(n_codings=Count("source__codings", filter=Q(source__codings__coder=user)))
        .order_by("source__date", "source_id")
    )


def _n_codings_of_assignment() -> Subquery:
    """The number of codings the assignment's coder made on its source (one correlated count)."""
    return Subquery(
        Coding.objects.filter(source=OuterRef("source_id"), coder=OuterRef("coder_id"))
        .order_by()
        .values("source")
        .annotate(n=Count("pk"))
        .values("n")
    )


def source_list_with_assignments(*, sources: QuerySet[Source]) -> QuerySet[Source]:
    """The given sources, each with its assignments (coder, status and the coder's number of
    codings on it) prefetched: two queries whatever the number of sources or coders."""
    assignments = (
        Assignment.objects.select_related("coder")
        .annotate(n_codings=Coalesce(_n_codings_of_assignment(), 0))
        .order_by("coder__username")
    )
    return sources.prefetch_related(Prefetch("assignments", queryset=assignments))


def assignment_for_unassign(*, study: Study, assignment_id: int) -> Assignment:
    """An assignment of the study with its source and coder; DoesNotExist for any other id."""
    return Assignment.objects.select_related("source", "coder").get(
        source__study=study, pk=assignment_id
    )


def coding_list_of_assignment(*, assignment: Assignment) -> QuerySet[Coding]:
    """Every coding the assignment's coder made on its source: what unassigning would delete."""
    return (
        Coding.objects.filter(source_id=assignment.source_id, coder_id=assignment.coder_id)
        .select_related("code", "demonstrating_party")
        .order_by("start", "end", "pk")
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


def _coding_values(codings: QuerySet[Coding], *, submitted_only: bool = False) -> QuerySet:
    """The export's columns, with the coder's assignment status on its source (assigned, in
    progress, submitted; empty without an assignment). With `submitted_only`, only codings of
    sources their coder has submitted: the work that counts in agreement and assessments.

    The status is joined (a coder has at most one assignment per source), not read by a
    subquery per coding: with the assignments' default ordering that subquery joined and sorted
    for every row, and made the plan costly enough for PostgreSQL to compile it (JIT)."""
    codings = codings.annotate(
        own_assignment=FilteredRelation(
            "source__assignments", condition=Q(source__assignments__coder=F("coder"))
        )
    )
    if submitted_only:
        codings = codings.filter(own_assignment__status=AssignmentStatus.SUBMITTED)
    return codings.order_by("source__date", "source_id", "start", "end", "pk").values_list(
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
        "own_assignment__status",
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


def coding_rows(
    *, codings: QuerySet[Coding], study: Study, submitted_only: bool = False
) -> Iterator[tuple[Any, ...]]:
    """One row per coding in CODING_COLUMNS order (see `_coding_values`)."""
    for row in _coding_values(codings, submitted_only=submitted_only).iterator(chunk_size=2000):
        yield (row[0], study.slug, *row[1:])


def _export_cells(vendor: str) -> str:
    """How the database writes each column of `_coding_values` (c0, c1...), in CODING_COLUMNS
    order, as `neutralise` does; the study's slug is a parameter."""
    text = [neutralised_sql(f"c{i}", vendor) for i in range(21)]
    return ", ".join(
        (
            "c0",
            "%s",
            text[1],
            text[2],
            "c3",
            text[4],
            date_sql("c5", vendor),
            *text[6:15],
            "c15",
            "c16",
            text[17],
            text[18],
            isoformat_sql("c19", vendor),
            isoformat_sql("c20", vendor),
        )
    )


def coding_csv(
    *, codings: QuerySet[Coding], study: Study, submitted_only: bool = False
) -> Iterator[bytes | memoryview]:
    """The codings export as CSV bytes, written by the database: the cells come neutralised out
    of the SQL (`_export_cells`). PostgreSQL writes the rows itself (`COPY (SELECT ...) TO
    STDOUT`, streamed by psycopg row by row, each row's buffer passed on as it is); SQLite's
    rows are only quoted by csv.writer. The bytes are the Python path's (`coding_rows` through
    `csv_lines`, kept for other databases): a test compares them on both."""
    connection = connections[codings.db]
    vendor = connection.vendor
    if vendor not in ("postgresql", "sqlite"):
        rows = coding_rows(codings=codings, study=study, submitted_only=submitted_only)
        yield from (line.encode() for line in csv_lines(CODING_COLUMNS, rows))
        return
    yield from (line.encode() for line in csv_lines(CODING_COLUMNS, []))
    values = _coding_values(codings, submitted_only=submitted_only)
    inner, params = values.query.sql_with_params()
    params = (*params, neutralise(study.slug))  # in the order of the text: the slug comes last
    names = ", ".join(f"c{i}" for i in range(21))
    # Built from constant expressions and the ORM's own SQL; every value is a parameter.
    select = f"WITH t({names}) AS ({inner}) SELECT {_export_cells(vendor)} FROM t"  # noqa: S608
    if vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute(select, params)
            yield from (line.encode() for line in csv_lines_written(cursor))
        return
    connection.ensure_connection()
    with (
        connection.connection.cursor() as cursor,
        cursor.copy(f"COPY ({select}) TO STDOUT (FORMAT csv, ENCODING 'UTF8')", params) as copy,
    ):
        yield from copy
