"""Bulk import of statements from CSV and XLSX: the service, the upload pages and the command.

Every refusal must name the row (the header being row 1) and the column, and leave the database
exactly as it was. Files are real files written to tmp_path.
"""

from __future__ import annotations

import csv
import datetime
import io
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl.styles import Font

from negotiations.models import (
    ImportStatus,
    Negotiation,
    NegotiationParty,
    Party,
    Phase,
    PhaseKind,
    Segment,
    Source,
    SourceImport,
)
from negotiations.sources import imports as source_imports
from negotiations.sources import services as source_services
from negotiations.studies import services as study_services
from tests.factories import NegotiationFactory, PartyFactory, PhaseFactory

pytestmark = pytest.mark.django_db

HEADER = [
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
]
COUNTED = (Source, Segment, Negotiation, Phase, Party, NegotiationParty)


def db_counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in COUNTED}


def statement(n: int = 0, **cells: str) -> list[str]:
    """A valid row for the `case` fixture's study; keyword arguments replace cells."""
    values = {
        "negotiation": "Agreed Framework",
        "phase": "Agreement",
        "title": f"Statement {n}",
        "date": "1994-10-21",
        "speaker": "Robert Gallucci",
        "speaker_party": "US",
        "source_type": "joint_statement",
        "citation": "Illustrative statement written for TrustCoder.",
        "url": "https://example.org/agreed-framework",
        "language": "en",
        "text": f"Statement {n} opens here. The parties met in Geneva. They will meet again.",
    }
    values.update(cells)
    return [values[column] for column in HEADER]


def write_csv(path: Path, rows: Sequence[Sequence[Any]], *, encoding: str = "utf-8") -> Path:
    with path.open("w", newline="", encoding=encoding) as handle:
        csv.writer(handle).writerows(rows)
    return path


def write_xlsx(path: Path, rows: Sequence[Sequence[Any]]) -> Path:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(list(row))
    workbook.save(path)
    return path


WRITERS: dict[str, Callable[[Path, Sequence[Sequence[Any]]], Path]] = {
    "csv": write_csv,
    "xlsx": write_xlsx,
}


def write(tmp_path: Path, rows: Sequence[Sequence[Any]], kind: str = "csv") -> Path:
    return WRITERS[kind](tmp_path / f"statements.{kind}", rows)


def import_file(study, path: Path, *, dry_run: bool = False, create_missing: bool = False):
    return source_imports.sources_import(
        study=study,
        filename=path.name,
        content=path.read_bytes(),
        actor=None,
        dry_run=dry_run,
        create_missing=create_missing,
    )


def run_command(path: Path, *args: str, slug: str = "test-study") -> str:
    out = io.StringIO()
    call_command("import_sources", str(path), "--study", slug, *args, stdout=out)
    return out.getvalue()


def failing_command(path: Path, *args: str) -> tuple[CommandError, list[str]]:
    out = io.StringIO()
    with pytest.raises(CommandError) as caught:
        call_command("import_sources", str(path), "--study", "test-study", *args, stdout=out)
    return caught.value, out.getvalue().splitlines()


@pytest.fixture
def case(members):
    """The members' study with the Agreed Framework, two phases and the US and DPRK."""
    study = members.study
    negotiation = NegotiationFactory(study=study, name="Agreed Framework", slug="agreed-framework")
    PhaseFactory(negotiation=negotiation, name="Agreement", kind=PhaseKind.AGREEMENT)
    PhaseFactory(negotiation=negotiation, name="Implementation", kind=PhaseKind.IMPLEMENTATION)
    for code, name in [("US", "United States"), ("DPRK", "North Korea")]:
        party = PartyFactory(study=study, code=code, name=name)
        NegotiationParty.objects.create(negotiation=negotiation, party=party)
    return members


# Refusals ---------------------------------------------------------------------------------------

# (rows after the header, problem row, problem column, message). The bad row is row 3, after a
# valid row 2, so that the numbering is not trivially right and the valid row must not be saved.
ROW_PROBLEMS = {
    "impossible date": (
        [statement(1), statement(2, date="1994-13-45")],
        3,
        "date",
        "'1994-13-45' is not a date; write dates as YYYY-MM-DD.",
    ),
    "day-first date": (
        [statement(1), statement(2, date="21/10/1994")],
        3,
        "date",
        "'21/10/1994' is not a date; write dates as YYYY-MM-DD.",
    ),
    "unknown negotiation": (
        [statement(1), statement(2, negotiation="Geneva Talks", phase="")],
        3,
        "negotiation",
        "Unknown negotiation 'Geneva Talks'. The study has: Agreed Framework.",
    ),
    "unknown party": (
        [statement(1), statement(2, speaker_party="KEDO")],
        3,
        "speaker_party",
        "Unknown party 'KEDO'. The study has: DPRK, US.",
    ),
    "party in another letter case": (
        [statement(1), statement(2, speaker_party="us")],
        3,
        "speaker_party",
        "Unknown party 'us'; parties match exactly. Did you mean US?",
    ),
    "unknown phase": (
        [statement(1), statement(2, phase="Collapse")],
        3,
        "phase",
        "Unknown phase 'Collapse' of Agreed Framework. Its phases are: Agreement, Implementation.",
    ),
    "unknown source type": (
        [statement(1), statement(2, source_type="tweet")],
        3,
        "source_type",
        "Unknown source type 'tweet'; use one of official_statement, press_briefing, "
        "joint_statement, testimony, interview, news_report, other.",
    ),
    "web address without scheme": (
        [statement(1), statement(2, url="example.org/statement")],
        3,
        "url",
        "'example.org/statement' is not a web address (http or https).",
    ),
    "javascript address": (
        [statement(1), statement(2, url="javascript:alert(1)")],
        3,
        "url",
        "'javascript:alert(1)' is not a web address (http or https).",
    ),
    "duplicate rows": (
        [statement(1), statement(1)],
        3,
        "text",
        "The same text is already in the study as row 2 of this file.",
    ),
    "missing title": (
        [statement(1), statement(2, title="")],
        3,
        "title",
        "A title is required.",
    ),
}


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
@pytest.mark.parametrize("name", list(ROW_PROBLEMS))
def test_invalid_row_is_reported_with_row_and_column(case, tmp_path, name, kind):
    rows, row, column, message = ROW_PROBLEMS[name]
    path = write(tmp_path, [HEADER, *rows], kind)
    before = db_counts()

    report = import_file(case.study, path)

    assert report.problems == [
        source_imports.ImportProblem(row=row, column=column, message=message)
    ]
    assert report.n_imported == 0
    assert db_counts() == before


@pytest.mark.parametrize("name", list(ROW_PROBLEMS))
def test_command_prints_the_problem_and_exits_2(case, tmp_path, name):
    rows, row, column, message = ROW_PROBLEMS[name]
    path = write(tmp_path, [HEADER, *rows])
    before = db_counts()

    error, lines = failing_command(path)

    assert error.returncode == 2
    assert lines == [f"row {row}, column {column}: {message}"]
    assert "1 problem(s) in statements.csv; nothing was saved" in str(error)
    assert db_counts() == before


def test_text_already_in_the_study(case, tmp_path):
    existing = source_services.source_create(
        study=case.study,
        metadata=source_services.SourceMetadata(
            negotiation=Negotiation.objects.get(name="Agreed Framework"), title="Earlier"
        ),
        text=statement(7)[-1],
        created_by=case.supervisor,
    )
    path = write(tmp_path, [HEADER, statement(1), statement(7)])
    before = db_counts()

    error, lines = failing_command(path)

    assert error.returncode == 2
    assert lines == [
        f"row 3, column text: The same text is already in the study as source #{existing.pk}."
    ]
    assert db_counts() == before


# (file content as rows or bytes, message): problems of the whole file, not of one row.
FILE_PROBLEMS = {
    "empty file": (b"", "The file is empty."),
    "header only": ([HEADER], "The file has a header but no rows."),
    "missing columns": (
        [
            [c for c in HEADER if c not in ("title", "text")],
            [c for h, c in zip(HEADER, statement(1), strict=True) if h not in ("title", "text")],
        ],
        "The header row has missing column(s): title, text. Expected columns: "
        + ", ".join(HEADER)
        + ".",
    ),
    "unknown column": (
        [[*HEADER, "mood"], [*statement(1), "hopeful"]],
        "The header row has unknown column(s): mood. Expected columns: " + ", ".join(HEADER) + ".",
    ),
    "repeated column": (
        [[*HEADER, "title"], [*statement(1), "Again"]],
        "The header row has repeated column(s): title. Expected columns: "
        + ", ".join(HEADER)
        + ".",
    ),
}


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
@pytest.mark.parametrize("name", list(FILE_PROBLEMS))
def test_file_problem_is_reported_once(case, tmp_path, name, kind):
    content, message = FILE_PROBLEMS[name]
    path = tmp_path / f"statements.{kind}"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        write(tmp_path, content, kind)
    before = db_counts()

    report = import_file(case.study, path)
    error, lines = failing_command(path)

    # One problem, not one more per row: a refused header must not be checked row by row.
    assert report.problems == [source_imports.ImportProblem(message=message)]
    assert error.returncode == 2
    assert lines == [message]
    assert db_counts() == before


def test_row_with_the_wrong_number_of_cells(case, tmp_path):
    path = write(tmp_path, [HEADER, statement(1), statement(2)[:5], statement(3)])
    before = db_counts()

    error, lines = failing_command(path)

    assert error.returncode == 2
    assert lines == [
        "row 3: This row has 5 cells but the header has 11; check its quotes and commas.",
    ]
    assert db_counts() == before


def test_unclosed_quote_is_reported_by_row(case, tmp_path):
    path = tmp_path / "statements.csv"
    good = io.StringIO()
    csv.writer(good).writerows([HEADER, statement(1)])
    # An unclosed quote swallows the rest of the file into one cell of row 3.
    path.write_text(good.getvalue() + 'Agreed Framework,,"Broken title,1994-10-21\n' + "x," * 10)

    error, lines = failing_command(path)

    assert error.returncode == 2
    assert lines[0].startswith("row 3: This row has ")
    assert Source.objects.count() == 0


def test_ten_thousand_rows_with_one_bad_row(case, tmp_path):
    rows = [statement(n) for n in range(10_000)]
    rows[5001 - 2] = statement(4999, date="1994-13-45")  # the header is row 1, data starts at 2
    path = write(tmp_path, [HEADER, *rows])
    before = db_counts()

    error, lines = failing_command(path)

    assert error.returncode == 2
    assert lines == [
        "row 5001, column date: '1994-13-45' is not a date; write dates as YYYY-MM-DD."
    ]
    assert "1 problem(s)" in str(error)
    assert db_counts() == before


def test_text_over_the_character_limit(case, tmp_path, settings):
    settings.TRUSTCODER_MAX_TEXT_CHARS = 80
    path = write(tmp_path, [HEADER, statement(1), statement(2, text="A very long statement. " * 4)])
    before = db_counts()

    error, lines = failing_command(path)

    assert error.returncode == 2
    # Counted after normalisation: the trailing space is stripped.
    assert lines == ["row 3, column text: The text has 91 characters; the limit is 80."]
    assert db_counts() == before


def test_file_over_the_size_limit(case, tmp_path, settings):
    settings.TRUSTCODER_MAX_UPLOAD_BYTES = 1024 * 1024
    rows = [
        statement(n, text=f"Statement {n}. " + "Words of the statement. " * 60) for n in range(800)
    ]
    path = write(tmp_path, [HEADER, *rows])
    assert path.stat().st_size > 1024 * 1024
    before = db_counts()

    error, lines = failing_command(path)

    assert error.returncode == 2
    assert lines == ["The file is larger than the 1 MB limit."]
    assert db_counts() == before


def test_file_of_another_type(case, tmp_path):
    path = tmp_path / "statements.txt"
    path.write_text("negotiation,title,text\n")

    error, lines = failing_command(path)

    assert error.returncode == 2
    assert lines == ["Upload a .csv or .xlsx file."]


def test_damaged_xlsx(case, tmp_path):
    path = tmp_path / "statements.xlsx"
    path.write_bytes(b"PK\x03\x04 not really a workbook")

    error, lines = failing_command(path)

    assert error.returncode == 2
    assert lines == ["This .xlsx file is damaged or not a spreadsheet."]


def test_unknown_study(case, tmp_path):
    path = write(tmp_path, [HEADER, statement(1)])
    with pytest.raises(CommandError) as caught:
        run_command(path, slug="no-such-study")
    assert caught.value.returncode == 2
    assert "No study with the slug 'no-such-study'." in str(caught.value)
    assert Source.objects.count() == 0


def test_every_problem_of_the_file_is_listed(case, tmp_path):
    path = write(
        tmp_path,
        [
            HEADER,
            statement(1, date="1994-13-45"),
            statement(2),
            statement(3, speaker_party="KEDO", url="ftp://example.org/x"),
        ],
    )

    report = import_file(case.study, path, dry_run=True)

    assert [(p.row, p.column) for p in report.problems] == [
        (2, "date"),
        (4, "speaker_party"),
        (4, "url"),
    ]


def test_row_numbers_count_blank_lines(case, tmp_path):
    path = write(tmp_path, [HEADER, statement(1), [], statement(2, date="1994-13-45")])

    report = import_file(case.study, path, dry_run=True)

    # In a spreadsheet the blank line is row 3 and the bad row is row 4.
    assert [(p.row, p.column) for p in report.problems] == [(4, "date")]


def test_formatted_blank_rows_at_the_end_of_a_workbook_are_skipped(case, tmp_path):
    path = write(tmp_path, [HEADER, statement(1), statement(2)], "xlsx")
    workbook = openpyxl.load_workbook(path)
    # Spreadsheet programs keep rows that were formatted but never filled.
    workbook.active.cell(row=5, column=1).font = Font(bold=True)
    workbook.save(path)

    report = import_file(case.study, path)

    assert report.problems == []
    assert report.n_imported == 2


# Successful imports -----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_valid_import_normalises_text_and_makes_segments(case, tmp_path, kind):
    raw = "Caf" + "e\u0301 talks went well.\r\nThe second sentence follows.\r\n\r\nThird one!"
    rows = [
        HEADER,
        statement(1, text=raw, source_type="Joint statement", speaker_party="North Korea"),
        statement(2, phase="", date="", speaker_party="", source_type="", url="", language=""),
    ]
    path = write(tmp_path, rows, kind)

    output = run_command(path)

    assert "Imported 2 sources." in output
    first = Source.objects.get(title="Statement 1")
    assert first.text == "Café talks went well.\nThe second sentence follows.\n\nThird one!"
    assert "\u0301" not in first.text and "\r" not in first.text
    assert first.text_sha256 == source_services.text_digest(first.text)
    assert [first.text[s.start : s.end] for s in first.segments.order_by("index")] == [
        "Café talks went well.",
        "The second sentence follows.",
        "Third one!",
    ]
    assert first.negotiation.name == "Agreed Framework"
    assert first.phase.name == "Agreement"
    assert first.date == datetime.date(1994, 10, 21)
    assert first.speaker == "Robert Gallucci"
    assert first.speaker_party.code == "DPRK"
    assert first.source_type == "joint_statement"
    assert first.url == "https://example.org/agreed-framework"
    assert first.language == "en"
    assert first.study == case.study
    second = Source.objects.get(title="Statement 2")
    assert (second.phase, second.date, second.speaker_party, second.url) == (None, None, None, "")
    assert (second.source_type, second.language) == ("other", "en")
    assert second.segments.count() == 3


def test_xlsx_cells_that_are_not_text(case, tmp_path):
    rows = [HEADER, statement(1), statement(2)]
    rows[1][HEADER.index("date")] = datetime.datetime(1994, 10, 21, 0, 0)
    rows[1][HEADER.index("title")] = 1994
    rows[2][HEADER.index("date")] = datetime.date(1995, 3, 9)
    path = write(tmp_path, rows, "xlsx")

    run_command(path)

    assert sorted(Source.objects.values_list("title", "date")) == [
        ("1994", datetime.date(1994, 10, 21)),
        ("Statement 2", datetime.date(1995, 3, 9)),
    ]


def test_windows_1252_csv(case, tmp_path):
    text = "Caf\u00e9 na\u00efve \u2013 \u201cwe agree\u201d, said the envoy."
    path = write_csv(
        tmp_path / "statements.csv", [HEADER, statement(1, text=text)], encoding="cp1252"
    )
    assert "\u00e9\u2013".encode("cp1252") not in path.read_bytes()
    assert "\u2013".encode("cp1252") in path.read_bytes()

    run_command(path)

    assert Source.objects.get().text == text


def test_windows_1252_csv_with_accented_names(case, tmp_path):
    text = "Caf\u00e9 na\u00efve \u2013 \u201cwe agree\u201d, said the envoy."
    rows = [HEADER, statement(1, text=text, speaker="Andr\u00e9 M\u00fcller")]
    path = write_csv(tmp_path / "statements.csv", rows, encoding="cp1252")

    run_command(path)

    source = Source.objects.get()
    assert (source.speaker, source.text) == ("Andr\u00e9 M\u00fcller", text)


def test_csv_with_utf8_byte_order_mark(case, tmp_path):
    path = write_csv(
        tmp_path / "statements.csv",
        [HEADER, statement(1, text="김정은 위원장은 회담을 제안했다.")],
        encoding="utf-8-sig",
    )
    assert path.read_bytes().startswith(b"\xef\xbb\xbfnegotiation,")

    run_command(path)

    assert Source.objects.get().text == "김정은 위원장은 회담을 제안했다."


def test_headers_are_case_and_space_insensitive_and_source_id_is_ignored(case, tmp_path):
    header = ["source_id", *(f" {c.title()} " for c in HEADER)]
    path = write(tmp_path, [header, ["999", *statement(1)]])

    run_command(path)

    source = Source.objects.get()
    assert source.pk != 999
    assert source.title == "Statement 1"


def test_create_missing(case, tmp_path):
    rows = [
        HEADER,
        statement(1, negotiation="Six-Party Talks", phase="Negotiation", speaker_party="CHN"),
        statement(2, negotiation="Six-Party Talks", phase="Negotiation", speaker_party="CHN"),
        statement(3, negotiation="Six-Party Talks", phase="Negotiation", speaker_party="US"),
    ]
    path = write(tmp_path, rows)
    error, lines = failing_command(path)
    assert error.returncode == 2
    assert lines[0] == (
        "row 2, column negotiation: Unknown negotiation 'Six-Party Talks'. "
        "The study has: Agreed Framework."
    )

    output = run_command(path, "--create-missing")

    assert output.splitlines() == [
        "created negotiation Six-Party Talks",
        "created phase Negotiation of Six-Party Talks",
        "created party CHN",
        "Imported 3 sources.",
    ]
    talks = Negotiation.objects.get(study=case.study, name="Six-Party Talks")
    assert talks.slug == "six-party-talks"
    phase = Phase.objects.get(negotiation=talks)
    assert (phase.name, phase.kind) == ("Negotiation", PhaseKind.NEGOTIATION)
    assert Party.objects.get(study=case.study, code="CHN").name == "CHN"
    assert sorted(talks.parties.values_list("code", flat=True)) == ["CHN", "US"]
    assert Source.objects.filter(negotiation=talks, phase=phase).count() == 3


def test_dry_run_saves_nothing(case, tmp_path):
    rows = [HEADER, statement(1, negotiation="Six-Party Talks", phase="Negotiation")]
    path = write(tmp_path, [*rows, statement(2, speaker_party="CHN")])
    before = db_counts()

    output = run_command(path, "--dry-run", "--create-missing")

    assert output.splitlines() == [
        "created negotiation Six-Party Talks",
        "created phase Negotiation of Six-Party Talks",
        "created party CHN",
        "2 rows checked: no problems (dry run, nothing saved).",
    ]
    assert db_counts() == before


def test_dry_run_reports_the_same_problems(case, tmp_path):
    path = write(tmp_path, [HEADER, statement(1), statement(2, phase="Collapse")])
    dry = import_file(case.study, path, dry_run=True)
    real = import_file(case.study, path)
    assert dry.problems == real.problems
    assert [(p.row, p.column) for p in dry.problems] == [(3, "phase")]
    assert Source.objects.count() == 0


def test_export_then_import_into_another_study(case, tmp_path):
    agreed = Negotiation.objects.get(study=case.study, name="Agreed Framework")
    phase = Phase.objects.get(negotiation=agreed, name="Agreement")
    us, dprk = Party.objects.get(code="US"), Party.objects.get(code="DPRK")
    texts = {
        '=HYPERLINK("http://evil.example") was written on the placard. It was removed.': "+cmd",
        "-5 percent is what they offered.\nThe DPRK refused.": "@SUM(1)",
        "'=quoted' is how the memo began. It was strange.": "'-apostrophe",
        'An ordinary statement, with "quotes", commas and\nline breaks.': "Ordinary",
    }
    for n, (text, title) in enumerate(texts.items()):
        source_services.source_create(
            study=case.study,
            metadata=source_services.SourceMetadata(
                negotiation=agreed,
                title=title,
                phase=phase if n % 2 else None,
                speaker="Spokesperson" if n else "",
                speaker_party=[us, dprk, None, us][n],
                date=datetime.date(1994, 10, 21 + n) if n != 2 else None,
                source_type=["joint_statement", "press_briefing", "other", "interview"][n],
                citation="=cmd|' /C calc'!A0" if n == 0 else "KCNA",
                url="https://example.org/s" if n else "",
                language="ko" if n == 1 else "en",
            ),
            text=text,
            created_by=case.supervisor,
        )
    exported = tmp_path / "sources.csv"
    call_command(
        "export_sources", "--study", "test-study", "--output", str(exported), stderr=io.StringIO()
    )
    raw = exported.read_text("utf-8")
    assert "'=HYPERLINK" in raw
    assert "'-5 percent" in raw
    assert "'+cmd" in raw
    assert "'@SUM(1)" in raw

    replica = study_services.study_create(name="Replica", slug="replica", created_by=case.owner)
    copy = NegotiationFactory(study=replica, name="Agreed Framework", slug="agreed-framework")
    PhaseFactory(negotiation=copy, name="Agreement", kind=PhaseKind.AGREEMENT)
    copy.parties.add(
        PartyFactory(study=replica, code="US"), PartyFactory(study=replica, code="DPRK")
    )
    run_command(exported, slug="replica")

    fields = (
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
        "text_sha256",
    )

    def rows(study):
        return list(Source.objects.filter(study=study).order_by("title").values_list(*fields))

    assert rows(replica) == rows(case.study)
    assert len(rows(replica)) == 4
    for source in Source.objects.filter(study=replica):
        assert source.segments.count() == len(
            Source.objects.get(study=case.study, title=source.title).segments.all()
        )


# Query counts -----------------------------------------------------------------------------------


def _file_of(tmp_path: Path, n: int, name: str) -> Path:
    rows = [statement(i, text=f"{name} {i} opens. It goes on. It ends here.") for i in range(n)]
    for i, row in enumerate(rows):
        row[HEADER.index("speaker_party")] = ["US", "DPRK", "CHN"][i % 3]
    return write_csv(tmp_path / f"{name}.csv", [HEADER, *rows])


@pytest.mark.parametrize("create_missing", [False, True])
def test_import_cost_does_not_grow_per_row(
    case, tmp_path, django_assert_max_num_queries, create_missing
):
    if not create_missing:
        NegotiationParty.objects.create(
            negotiation=Negotiation.objects.get(study=case.study, name="Agreed Framework"),
            party=PartyFactory(study=case.study, code="CHN"),
        )
    small, large = _file_of(tmp_path, 200, "small"), _file_of(tmp_path, 2000, "large")

    with CaptureQueriesContext(connection) as small_queries:
        assert import_file(case.study, small, create_missing=create_missing).n_imported == 200
    with django_assert_max_num_queries(60), CaptureQueriesContext(connection) as large_queries:
        report = import_file(case.study, large, create_missing=create_missing)

    assert report.problems == []
    assert report.n_imported == 2000
    assert Segment.objects.count() == 3 * 2200
    # Sources are written in batches of 500: a few queries per batch, none per row.
    assert len(large_queries) - len(small_queries) <= 16


# The upload pages -------------------------------------------------------------------------------


def upload(client, path: Path, *, create_missing: bool = False):
    with path.open("rb") as handle:
        data = {"file": handle}
        if create_missing:
            data["create_missing"] = "on"
        return client.post(reverse("negotiations:source_import", args=["test-study"]), data)


def test_upload_preview_confirm(case, clients, tmp_path):
    path = write(tmp_path, [HEADER, statement(1), statement(2, text="Ein Satz. Noch einer.")])
    supervisor = clients["supervisor"]
    page = supervisor.get(reverse("negotiations:source_import", args=["test-study"]))
    assert page.status_code == 200
    assert b'enctype="multipart/form-data"' in page.content
    before = db_counts()

    response = upload(supervisor, path)

    staged = SourceImport.objects.get()
    preview_url = reverse("negotiations:source_import_preview", args=["test-study", staged.pk])
    assert response.status_code == 302
    assert response["Location"] == preview_url
    assert (staged.status, staged.n_rows, staged.n_errors) == (ImportStatus.PREVIEWED, 2, 0)
    assert db_counts() == before

    preview = supervisor.get(preview_url)
    html = preview.content.decode()
    assert preview.status_code == 200
    assert "2 rows checked: no problems." in html
    assert '<button type="submit">Import 2 sources</button>' in html
    assert "Ein Satz. Noch einer." in html
    assert db_counts() == before

    confirmed = supervisor.post(preview_url)

    assert confirmed.status_code == 302
    assert confirmed["Location"] == (
        reverse("negotiations:source_list", args=["test-study"]) + "?sort=-created"
    )
    assert Source.objects.count() == 2
    assert set(Source.objects.values_list("created_by", flat=True)) == {case.supervisor.pk}
    staged.refresh_from_db()
    assert (staged.status, staged.n_imported) == (ImportStatus.IMPORTED, 2)
    assert bytes(staged.content) == b""
    listing = supervisor.get(confirmed["Location"])
    assert "Imported 2 sources." in listing.content.decode()


def test_confirming_twice_imports_once(case, clients, tmp_path):
    supervisor = clients["supervisor"]
    upload(supervisor, write(tmp_path, [HEADER, statement(1)]))
    staged = SourceImport.objects.get()
    preview_url = reverse("negotiations:source_import_preview", args=["test-study", staged.pk])
    supervisor.post(preview_url)
    after_first = db_counts()

    again = supervisor.post(preview_url, follow=True)

    assert db_counts() == after_first
    assert Source.objects.count() == 1
    assert again.redirect_chain[-1][0] == reverse("negotiations:source_import", args=["test-study"])
    assert "This file was already imported or refused." in again.content.decode()
    with pytest.raises(ValidationError):
        source_imports.source_import_confirm(source_import=staged, actor=case.supervisor)
    assert Source.objects.count() == 1


def test_preview_lists_problems_and_offers_no_import(case, clients, tmp_path):
    supervisor = clients["supervisor"]
    rows = [HEADER, statement(1, date="21/10/1994"), statement(2), statement(3, source_type="x")]
    upload(supervisor, write(tmp_path, rows, "xlsx"))
    staged = SourceImport.objects.get()
    assert staged.n_errors == 2
    preview_url = reverse("negotiations:source_import_preview", args=["test-study", staged.pk])
    before = db_counts()

    html = supervisor.get(preview_url).content.decode()

    assert "<strong>2 problems</strong> in 3 rows. Nothing has been saved." in html
    assert (
        '<td><a href="#row-2">2</a></td><td>date</td><td>&#x27;21/10/1994&#x27; is not a date'
    ) in html
    assert (
        '<td><a href="#row-4">4</a></td><td>source_type</td><td>Unknown source type &#x27;x&#x27;'
    ) in html
    assert "Import 3 sources" not in html
    assert '<button type="submit">' not in html.split("<main", 1)[-1]

    # Posting the confirmation anyway imports nothing and marks the file refused.
    refused = supervisor.post(preview_url)
    assert refused.status_code == 200
    assert "2 problems" in refused.content.decode()
    assert db_counts() == before
    staged.refresh_from_db()
    assert staged.status == ImportStatus.FAILED


def test_upload_with_create_missing(case, clients, tmp_path):
    supervisor = clients["supervisor"]
    rows = [HEADER, statement(1, negotiation="Summits", phase="", speaker_party="ROK")]
    upload(supervisor, write(tmp_path, rows), create_missing=True)
    staged = SourceImport.objects.get()
    preview_url = reverse("negotiations:source_import_preview", args=["test-study", staged.pk])

    html = supervisor.get(preview_url).content.decode()
    assert "The import will also create: negotiation Summits, party ROK." in html
    assert not Negotiation.objects.filter(name="Summits").exists()

    supervisor.post(preview_url)
    assert Source.objects.get().negotiation.name == "Summits"
    assert Party.objects.filter(study=case.study, code="ROK").exists()


def test_upload_over_the_size_limit_is_refused_on_the_form(case, clients, tmp_path, settings):
    settings.TRUSTCODER_MAX_UPLOAD_BYTES = 1024 * 1024
    rows = [statement(n, text=f"Statement {n}. " + "Words. " * 200) for n in range(800)]
    path = write(tmp_path, [HEADER, *rows])
    assert path.stat().st_size > 1024 * 1024

    response = upload(clients["supervisor"], path)

    assert response.status_code == 200
    assert "The file is larger than the 1 MB limit." in response.content.decode()
    assert not SourceImport.objects.exists()
    assert Source.objects.count() == 0


def test_upload_of_another_type_is_refused_on_the_form(case, clients, tmp_path):
    path = tmp_path / "statements.txt"
    path.write_text("negotiation,title,text\n")

    response = upload(clients["supervisor"], path)

    assert "Upload a .csv or .xlsx file." in response.content.decode()
    assert not SourceImport.objects.exists()


@pytest.mark.parametrize("role", ["coder", "reader"])
def test_coders_and_readers_may_not_import(case, clients, tmp_path, role):
    staged = source_imports.source_import_stage(
        study=case.study,
        filename="statements.csv",
        content=write(tmp_path, [HEADER, statement(1)]).read_bytes(),
        actor=case.supervisor,
        create_missing=False,
    )
    preview_url = reverse("negotiations:source_import_preview", args=["test-study", staged.pk])
    client = clients[role]

    assert client.get(reverse("negotiations:source_import", args=["test-study"])).status_code == 403
    assert upload(client, tmp_path / "statements.csv").status_code == 403
    assert client.get(preview_url).status_code == 403
    assert client.post(preview_url).status_code == 403
    assert Source.objects.count() == 0
    assert SourceImport.objects.count() == 1


def test_outsiders_do_not_learn_the_study_exists(case, clients, tmp_path):
    staged = source_imports.source_import_stage(
        study=case.study,
        filename="statements.csv",
        content=write(tmp_path, [HEADER, statement(1)]).read_bytes(),
        actor=case.supervisor,
        create_missing=False,
    )
    preview_url = reverse("negotiations:source_import_preview", args=["test-study", staged.pk])
    outsider = clients["outsider"]

    assert (
        outsider.get(reverse("negotiations:source_import", args=["test-study"])).status_code == 404
    )
    assert upload(outsider, tmp_path / "statements.csv").status_code == 404
    assert outsider.get(preview_url).status_code == 404
    assert outsider.post(preview_url).status_code == 404
    anonymous = clients["anonymous"].post(preview_url)
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith(reverse("login"))
    assert Source.objects.count() == 0


def test_a_staged_file_of_another_study_is_not_found(case, clients, tmp_path):
    other = study_services.study_create(name="Other", slug="other", created_by=case.supervisor)
    staged = source_imports.source_import_stage(
        study=other,
        filename="statements.csv",
        content=write(tmp_path, [HEADER, statement(1)]).read_bytes(),
        actor=case.supervisor,
        create_missing=False,
    )
    url = reverse("negotiations:source_import_preview", args=["test-study", staged.pk])
    assert clients["supervisor"].get(url).status_code == 404
    assert clients["supervisor"].post(url).status_code == 404
    assert Source.objects.count() == 0


def test_a_speaking_party_outside_the_negotiation_is_refused(case, tmp_path):
    PartyFactory(study=case.study, code="KEDO", name="KEDO")
    path = write(tmp_path, [HEADER, statement(1, speaker_party="KEDO")])
    report = import_file(case.study, path)
    assert report.problems == [
        source_imports.ImportProblem(
            row=2,
            column="speaker_party",
            message="KEDO is not a party of Agreed Framework; add it to the negotiation first "
            "(or import with the option to create what is missing).",
        )
    ]
