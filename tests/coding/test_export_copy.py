"""The codings export on PostgreSQL (COPY, neutralised in SQL) writes the Python path's bytes."""

from __future__ import annotations

import datetime

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
    "a, comma",
    'a "quote"',
    "two\nlines",
    "Kim (김정은) 🇺🇸",
    "",
    "\\.",
]


def python_bytes(codings, study) -> bytes:
    rows = selectors.coding_rows(codings=codings, study=study)
    return "".join(csv_lines(selectors.CODING_COLUMNS, rows)).encode()


def copy_bytes(codings, study) -> bytes:
    return b"".join(selectors.coding_csv(codings=codings, study=study))


def test_copy_writes_the_same_bytes_as_python(postgres_only, members):
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
                coder=(members.coder, members.coder2)[i % 2],
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
    Assignment.objects.create(
        source=sources[0], coder=members.coder, status=AssignmentStatus.SUBMITTED
    )

    everything = coding_list_visible_to(study=study, user=members.owner, role=Role.OWNER)
    blind = coding_list_visible_to(study=study, user=members.coder, role=Role.CODER)
    for visible in (everything, blind):
        expected = python_bytes(visible, study)
        assert copy_bytes(visible, study) == expected
    assert python_bytes(blind, study).count(b"\n") < python_bytes(everything, study).count(b"\n")
    assert b"'=1+2" in expected and b"'''@twice" in expected and b'"two\nlines"' in expected


def test_sqlite_keeps_the_python_path(members):
    codings = Coding.objects.filter(source__study=members.study)
    assert copy_bytes(codings, members.study) == python_bytes(codings, members.study)
