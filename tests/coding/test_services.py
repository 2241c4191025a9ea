"""`codings_bulk_create`: the checks of `coding_create` on every passage, all or none."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from negotiations.coding import assignments as assignment_services
from negotiations.coding import services
from negotiations.models import AssignmentStatus, Code, Coding
from tests.factories import PartyFactory, SourceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def setting(members):
    source = SourceFactory(study=members.study, text="We will deliver the fuel. They doubt it.")
    party = PartyFactory(study=members.study, code="US")
    source.negotiation.parties.add(party)
    code = Code.objects.filter(study=members.study, code_set__enabled=True).first()
    assignment_services.assignment_create(
        source=source, coder=members.coder, assigned_by=members.owner
    )
    return source, party, code, members.coder


def passage(source, code, party, start, end, quote=None):
    return services.CodingInput(
        code=code,
        start=start,
        end=end,
        quote=source.text[start:end] if quote is None else quote,
        stance="for",
        demonstrating_party=party,
    )


def test_bulk_create_saves_every_passage_and_marks_the_work_in_progress(setting):
    source, party, code, coder = setting
    created = services.codings_bulk_create(
        source=source,
        coder=coder,
        codings=[passage(source, code, party, 0, 24), passage(source, code, party, 26, 40)],
    )
    assert [c.quote for c in created] == ["We will deliver the fuel", "They doubt it."]
    assert Coding.objects.filter(source=source).count() == 2
    assert source.assignments.get(coder=coder).status == AssignmentStatus.IN_PROGRESS


@pytest.mark.parametrize(
    ("start", "end", "quote", "message"),
    [(0, 99, "", "outside the text"), (0, 7, "We will", None), (3, 7, "nope", "does not match")],
)
def test_one_bad_passage_saves_none(setting, start, end, quote, message):
    source, party, code, coder = setting
    good = passage(source, code, party, 0, 2)
    if message is None:
        bad = services.CodingInput(
            code=code, start=start, end=end, quote=quote, stance="maybe", demonstrating_party=party
        )
        message = "Stance must be"
    else:
        bad = passage(source, code, party, start, end, quote)
    with pytest.raises(ValidationError, match=message):
        services.codings_bulk_create(source=source, coder=coder, codings=[good, bad])
    assert not Coding.objects.filter(source=source).exists()


def test_bulk_create_needs_the_coders_own_assignment(setting, members):
    source, party, code, _ = setting
    with pytest.raises(PermissionDenied):
        services.codings_bulk_create(
            source=source, coder=members.coder2, codings=[passage(source, code, party, 0, 2)]
        )
