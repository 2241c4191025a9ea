"""The codings export written by the database (COPY on PostgreSQL, a SELECT on SQLite, both
neutralised in the SQL) writes the Python path's bytes."""

from __future__ import annotations

import csv
import datetime
import io

import pytest

from negotiations.access import coding_list_visible_to
from negotiations.coding import selectors
from negotiations.models import Assignment, AssignmentStatus, Code, Coding, Role
from negotiations.sources import services as source_services
from negotiations.tabular import csv_lines
from tests.factories import NegotiationFactory, PartyFactory, PhaseFactory

pytestmark = pytest.mark.django_db

AWKWARD = [
    "=1+2",
    "+plus",
    "-minus",
    "@at",
    "\ttab",
    "\rreturn",
    "'=already",
    "''@twice",
    "'plain apostrophe",
    "'",
    "'''",
    "'\t'",
    "x=1",
    "a, comma",
    'a "quote"',
    "two\nlines",
    "Kim (김정은) 🇺🇸",
    "",
    "\\.",
]


def python_bytes(codings, study, submitted_only=False) -> bytes:
    rows = selectors.coding_rows(codings=codings, study=study, submitted_only=submitted_only)
    return "".join(csv_lines(selectors.CODING_COLUMNS, rows)).encode()


def database_bytes(codings, study, submitted_only=False) -> bytes:
    pieces = selectors.coding_csv(codings=codings, study=study, submitted_only=submitted_only)
    return b"".join(pieces)


def n_rows(data: bytes) -> int:
    return len(list(csv.reader(io.StringIO(data.decode(), newline="")))) - 1


def test_database_writes_the_same_bytes_as_python(members):
    study = members.study
    negotiation = NegotiationFactory(study=study, name="-Agreed, Framework")
    phase = PhaseFactory(negotiation=negotiation, name="=phase")
    party = PartyFactory(study=study, code="@US")
    negotiation.parties.add(party)
    text = " ".join(f"Sentence {i} about fuel." for i in range(40))
    sources = [
        source_services.source_create(
            study=study,
            metadata=source_services.SourceMetadata(
                negotiation=negotiation,
                title=title,
                speaker=speaker,
                speaker_party=speaker_party,
                phase=phase_,
                date=date,
            ),
            text=f"{text} {n}",
            created_by=members.supervisor,
        )
        for n, (title, speaker, speaker_party, phase_, date) in enumerate(
            [
                ('=HYPERLINK("x")', "", None, None, None),
                ("Plain, title", "+speaker", party, phase, datetime.date(1994, 10, 21)),
            ]
        )
    ]
    code = Code.objects.get(study=study, name="ZOPA")
    codings = []
    for i, value in enumerate(AWKWARD * 2):
        source = sources[i % 2]
        start = i * 3
        codings.append(
            Coding(
                source=source,
                coder=(members.coder, members.coder2)[(i // 2) % 2],
                code=code,
                start=start,
                end=start + 9,
                quote=source.text[start : start + 9],
                stance="for" if i % 3 else "against",
                demonstrating_party=party,
                strength="" if i % 2 else "hoop",
                memo=value,
            )
        )
    Coding.objects.bulk_create(codings)
    # A timestamp without a fraction is written without one, as isoformat() does.
    Coding.objects.filter(pk=codings[0].pk).update(
        created_at=datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)
    )
    Coding.objects.filter(pk=codings[1].pk).update(
        created_at=datetime.datetime(2026, 1, 2, 3, 4, 5, 120000, tzinfo=datetime.UTC)
    )
    Assignment.objects.create(
        source=sources[0], coder=members.coder, status=AssignmentStatus.SUBMITTED
    )
    Assignment.objects.create(
        source=sources[1], coder=members.coder2, status=AssignmentStatus.IN_PROGRESS
    )

    everything = coding_list_visible_to(study=study, user=members.owner, role=Role.OWNER)
    blind = coding_list_visible_to(study=study, user=members.coder, role=Role.CODER)
    rows = {}
    for name, visible in (("everything", everything), ("blind", blind)):
        for submitted_only in (False, True):
            expected = python_bytes(visible, study, submitted_only)
            assert database_bytes(visible, study, submitted_only) == expected
            rows[name, submitted_only] = n_rows(expected)

    # Every coder's codings, a coder's own and the submitted ones differ: each filter is held.
    assert rows["everything", False] == len(codings)
    assert rows["everything", False] > rows["blind", False] > rows["blind", True] > 0
    assert rows["everything", False] > rows["everything", True] > 0
    expected = python_bytes(everything, study)
    assert b"'=1+2" in expected and b"'''@twice" in expected and b'"two\nlines"' in expected
    assert b",''\t'," in expected  # an apostrophe before a trigger is escaped too
    assert b",in_progress," in expected and b",submitted," in expected and b",,ZOPA," in expected
    assert b"2026-01-02T03:04:05+00:00" in expected
    assert b"2026-01-02T03:04:05.120000+00:00" in expected


def test_empty_export_is_the_header(members):
    codings = Coding.objects.filter(source__study=members.study)
    data = database_bytes(codings, members.study)
    assert data == python_bytes(codings, members.study)
    assert data == (",".join(selectors.CODING_COLUMNS) + "\n").encode()
