"""CSV exports of sources and codings: the browser downloads and the export commands."""

from __future__ import annotations

import csv
import datetime
import io
from dataclasses import dataclass

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.http import StreamingHttpResponse
from django.urls import reverse
from django.utils import timezone

from negotiations.coding import assignments as assignment_services
from negotiations.coding import selectors as coding_selectors
from negotiations.coding import services as coding_services
from negotiations.models import Code, Coding, Party, Source
from negotiations.sources import selectors as source_selectors
from negotiations.sources import services as source_services
from negotiations.tabular import FORMULA_TRIGGERS, neutralise, unneutralise
from tests.conftest import client_for
from tests.factories import CodingFactory, NegotiationFactory, PartyFactory, PhaseFactory

pytestmark = pytest.mark.django_db

PREFIX = "🙂 김정은 위원장: "  # an emoji (two UTF-16 units) and Korean before every span
HYPERLINK = '=HYPERLINK("http://evil.example","click")'


@dataclass
class Corpus:
    members: object
    sources: dict[str, Source]
    codings: dict[str, Coding]


def _source(members, negotiation, phase, party, title: str, text: str, **fields) -> Source:
    return source_services.source_create(
        study=members.study,
        metadata=source_services.SourceMetadata(
            negotiation=negotiation,
            title=title,
            phase=phase,
            speaker_party=party,
            date=datetime.date(1994, 10, 21),
            **fields,
        ),
        text=text,
        created_by=members.supervisor,
    )


def _code(source: Source, coder, phrase: str, *, code: str = "ZOPA", memo: str = "") -> Coding:
    start = source.text.index(phrase)
    return coding_services.coding_create(
        source=source,
        coder=coder,
        code=Code.objects.get(study=source.study, name=code),
        start=start,
        end=start + len(phrase),
        quote=phrase,
        stance="for",
        demonstrating_party=Party.objects.get(study=source.study, code="DPRK"),
        memo=memo,
    )


@pytest.fixture
def corpus(members) -> Corpus:
    """Three sources coded by both coders; cora submitted source A, is working on B, not on C."""
    negotiation = NegotiationFactory(
        study=members.study, name="Agreed Framework", slug="agreed-framework"
    )
    phase = PhaseFactory(negotiation=negotiation, name="Agreement")
    dprk = PartyFactory(study=members.study, code="DPRK", name="North Korea")
    us = PartyFactory(study=members.study, code="US", name="United States")
    negotiation.parties.add(dprk, us)
    text = PREFIX + "We agree to freeze the reactor. -5 percent fuel is late. We will wait."
    sources = {
        "A": _source(
            members, negotiation, phase, dprk, "+cmd", text, speaker="@SUM(1)", citation="=1+1"
        ),
        "B": _source(members, negotiation, None, dprk, "Statement B", "B text. We agree to talk."),
        "C": _source(members, negotiation, None, None, "Statement C", "C text. We will wait."),
    }
    cora, cody = members.coder, members.coder2
    for coder, keys in ((cora, "AB"), (cody, "ABC")):
        for key in keys:
            assignment_services.assignment_create(
                source=sources[key], coder=coder, assigned_by=members.supervisor
            )
    codings = {
        "cora A": _code(sources["A"], cora, "We agree to freeze the reactor.", memo=HYPERLINK),
        "cora A minus": _code(sources["A"], cora, "-5 percent fuel is late.", code="CAPACITY"),
        "cora B": _code(sources["B"], cora, "We agree to talk.", memo="\tTAB memo"),
        "cody A": _code(sources["A"], cody, "We will wait.", code="WILLINGNESS", memo="\rCR"),
        "cody B": _code(sources["B"], cody, "We agree", memo="+plus"),
        "cody C": _code(sources["C"], cody, "We will wait.", memo="-minus"),
    }
    assignment_services.assignment_submit(assignment=sources["A"].assignments.get(coder=cora))
    # A coding in another study must never appear.
    CodingFactory(memo="other study")
    return Corpus(members=members, sources=sources, codings=codings)


def download(client, name: str) -> tuple[StreamingHttpResponse, list[dict[str, str]], list[str]]:
    response = client.get(reverse(f"negotiations:{name}", args=["test-study"]))
    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode("utf-8")
    reader = csv.DictReader(io.StringIO(body, newline=""))
    rows = list(reader)
    return response, rows, list(reader.fieldnames or [])


def coding_ids(rows: list[dict[str, str]]) -> set[int]:
    return {int(row["coding_id"]) for row in rows}


# Columns, offsets, neutralisation ---------------------------------------------------------------


def test_coding_export_columns_and_offsets(corpus, clients):
    _response, rows, header = download(clients["supervisor"], "export_codings")

    assert header == list(coding_selectors.CODING_COLUMNS)
    assert coding_ids(rows) == {c.pk for c in corpus.codings.values()}
    for row in rows:
        source = Source.objects.get(pk=row["source_id"])
        start, end = int(row["start"]), int(row["end"])
        assert unneutralise(row["quote"]) == source.text[start:end]
        assert row["study"] == "test-study"
    first = next(r for r in rows if int(r["coding_id"]) == corpus.codings["cora A"].pk)
    # Code points: the emoji counts once, although a browser counts it as two UTF-16 units.
    assert int(first["start"]) == len(PREFIX) == 11
    assert len(PREFIX.encode("utf-16-le")) // 2 == 12
    assert first["quote"] == "We agree to freeze the reactor."
    assert (first["coder"], first["code"], first["stance"]) == ("cora", "ZOPA", "for")
    assert (first["demonstrating_party"], first["speaker_party"]) == ("DPRK", "DPRK")
    assert (first["negotiation"], first["phase"], first["source_date"]) == (
        "Agreed Framework",
        "Agreement",
        "1994-10-21",
    )
    assert datetime.datetime.fromisoformat(first["created_at"]) <= timezone.now()


def test_cells_that_a_spreadsheet_would_run_are_neutralised(corpus, clients):
    _response, rows, _header = download(clients["supervisor"], "export_codings")
    by_id = {int(r["coding_id"]): r for r in rows}
    codings = corpus.codings

    assert by_id[codings["cora A"].pk]["memo"] == "'" + HYPERLINK
    assert by_id[codings["cora A"].pk]["source_title"] == "'+cmd"
    assert by_id[codings["cora A"].pk]["speaker"] == "'@SUM(1)"
    assert by_id[codings["cora A minus"].pk]["quote"] == "'-5 percent fuel is late."
    assert by_id[codings["cora B"].pk]["memo"] == "'\tTAB memo"
    assert by_id[codings["cody A"].pk]["memo"] == "'\rCR"
    assert by_id[codings["cody B"].pk]["memo"] == "'+plus"
    assert by_id[codings["cody C"].pk]["memo"] == "'-minus"
    # Ordinary cells are untouched.
    assert by_id[codings["cora B"].pk]["source_title"] == "Statement B"
    assert by_id[codings["cora B"].pk]["quote"] == "We agree to talk."


def test_source_export(corpus, clients):
    _response, rows, header = download(clients["reader"], "export_sources")

    assert header == list(source_selectors.SOURCE_COLUMNS)
    assert [row["title"] for row in rows] == ["'+cmd", "Statement B", "Statement C"]
    a = rows[0]
    assert int(a["source_id"]) == corpus.sources["A"].pk
    assert (a["speaker"], a["citation"]) == ("'@SUM(1)", "'=1+1")
    assert a["text"] == corpus.sources["A"].text
    assert (a["negotiation"], a["phase"], a["date"], a["speaker_party"]) == (
        "Agreed Framework",
        "Agreement",
        "1994-10-21",
        "DPRK",
    )
    assert rows[2]["speaker_party"] == ""


@pytest.mark.parametrize(
    "value",
    ["=1+1", "+cmd", "-5", "@SUM(1)", "\tx", "\rx", "'=x", "''+x", "'plain", "plain", "'", ""],
)
def test_neutralise_round_trips(value):
    written = neutralise(value)
    assert not written.startswith(FORMULA_TRIGGERS)
    assert unneutralise(written) == value


# The blind rule ---------------------------------------------------------------------------------


def test_blind_coder_sees_own_codings_and_others_only_where_submitted(corpus, clients):
    assert corpus.members.study.blind_coding
    codings = corpus.codings

    _response, rows, _header = download(clients["coder"], "export_codings")

    assert coding_ids(rows) == {
        codings["cora A"].pk,
        codings["cora A minus"].pk,
        codings["cora B"].pk,  # her own, though not submitted
        codings["cody A"].pk,  # cody's, on the source she submitted
    }


def test_blind_coder_without_submissions_sees_only_own(corpus, members):
    _response, rows, _header = download(client_for(members.coder2), "export_codings")

    assert coding_ids(rows) == {corpus.codings[k].pk for k in ("cody A", "cody B", "cody C")}


def test_reopening_a_submission_hides_others_again(corpus, clients):
    assignment = corpus.sources["A"].assignments.get(coder=corpus.members.coder)
    assignment_services.assignment_reopen(assignment=assignment)

    _response, rows, _header = download(clients["coder"], "export_codings")

    assert all(row["coder"] == "cora" for row in rows)
    assert len(rows) == 3


@pytest.mark.parametrize("role", ["reader", "supervisor", "owner"])
def test_readers_and_supervisors_see_all(corpus, clients, role):
    _response, rows, _header = download(clients[role], "export_codings")
    assert coding_ids(rows) == {c.pk for c in corpus.codings.values()}


def test_without_blind_coding_coders_see_all(corpus, clients):
    study = corpus.members.study
    study.blind_coding = False
    study.save()

    _response, rows, _header = download(clients["coder"], "export_codings")

    assert coding_ids(rows) == {c.pk for c in corpus.codings.values()}


# Access and streaming ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["export_codings", "export_sources"])
def test_outsiders_and_anonymous_users(corpus, clients, name):
    url = reverse(f"negotiations:{name}", args=["test-study"])

    assert clients["outsider"].get(url).status_code == 404
    anonymous = clients["anonymous"].get(url)
    assert anonymous.status_code == 302
    assert anonymous["Location"] == f"{reverse('login')}?next={url}"
    assert clients["supervisor"].post(url).status_code == 405


@pytest.mark.parametrize(("name", "n_rows"), [("export_codings", 6), ("export_sources", 3)])
def test_export_is_streamed(corpus, clients, name, n_rows, monkeypatch):
    url = reverse(f"negotiations:{name}", args=["test-study"])
    whole = b"".join(clients["supervisor"].get(url).streaming_content)
    monkeypatch.setattr("negotiations.http.CHUNK_BYTES", 100)
    response = clients["supervisor"].get(url)

    assert isinstance(response, StreamingHttpResponse)
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    kind = name.removeprefix("export_")
    stamp = timezone.now().strftime("%Y%m%d")
    assert response["Content-Disposition"] == (
        f'attachment; filename="test-study-{kind}-{stamp}.csv"'
    )
    # Chunks of about CHUNK_BYTES: the body is never built in memory as a whole, and a server
    # does not write it one line at a time either.
    chunks = list(response.streaming_content)
    assert b"".join(chunks) == whole and whole.count(b"\n") >= 1 + n_rows
    assert len(chunks) >= 3
    assert all(100 <= len(chunk) < 100 + 2_000 for chunk in chunks[:-1])


# Commands ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "columns", "n_rows"),
    [
        ("export_codings", coding_selectors.CODING_COLUMNS, 6),
        ("export_sources", source_selectors.SOURCE_COLUMNS, 3),
    ],
)
def test_command_to_stdout(corpus, command, columns, n_rows):
    out, err = io.StringIO(), io.StringIO()

    call_command(command, "--study", "test-study", stdout=out, stderr=err)

    rows = list(csv.reader(io.StringIO(out.getvalue(), newline="")))
    assert rows[0] == list(columns)
    assert len(rows) == 1 + n_rows
    assert err.getvalue() == ""


@pytest.mark.parametrize(
    ("command", "url_name", "noun"),
    [
        ("export_codings", "export_codings", "codings"),
        ("export_sources", "export_sources", "sources"),
    ],
)
def test_command_to_a_file_matches_the_download(corpus, clients, tmp_path, command, url_name, noun):
    path = tmp_path / f"{noun}.csv"
    err = io.StringIO()

    call_command(command, "--study", "test-study", "--output", str(path), stderr=err)

    assert err.getvalue().strip() == f"Wrote {6 if noun == 'codings' else 3} {noun} to {path}."
    response = clients["supervisor"].get(reverse(f"negotiations:{url_name}", args=["test-study"]))
    # The command writes the same bytes a supervisor downloads (whose view is not blinded).
    assert path.read_bytes() == b"".join(response.streaming_content)


@pytest.mark.parametrize("command", ["export_codings", "export_sources"])
def test_command_on_an_unknown_study_exits_2(db, tmp_path, command):
    path = tmp_path / "out.csv"
    with pytest.raises(CommandError) as caught:
        call_command(command, "--study", "no-such-study", "--output", str(path))
    assert caught.value.returncode == 2
    assert str(caught.value) == "No study with the slug 'no-such-study'."
    assert not path.exists()


def test_command_export_of_an_empty_study(members):
    out = io.StringIO()
    call_command("export_codings", "--study", "test-study", stdout=out)
    assert out.getvalue() == ",".join(coding_selectors.CODING_COLUMNS) + "\n"
