"""The demo study: loads through the services, twice without change, with real disagreement."""

from __future__ import annotations

from collections import Counter
from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.test import RequestFactory

from negotiations.models import (
    Assignment,
    AssignmentStatus,
    Coding,
    Event,
    Negotiation,
    Phase,
    Source,
    Study,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo():
    out = StringIO()
    call_command("load_demo", stdout=out)
    return out.getvalue()


def test_load_demo_prints_logins_that_work(demo):
    assert "Loaded the demo study 'demo'" in demo
    for username in ("supervisor", "coder1", "coder2", "coder3", "reader", "owner"):
        assert f"{username}-demo" in demo
        request = RequestFactory().post("/accounts/login/")
        assert authenticate(request, username=username, password=f"{username}-demo") is not None


def test_load_demo_twice_changes_nothing(demo):
    counts = (Study.objects.count(), Source.objects.count(), Coding.objects.count())
    out = StringIO()
    call_command("load_demo", stdout=out)
    assert "nothing changed" in out.getvalue()
    assert (Study.objects.count(), Source.objects.count(), Coding.objects.count()) == counts


def test_demo_has_the_three_cases_with_phases_and_events(demo):
    study = Study.objects.get(slug="demo")
    names = set(Negotiation.objects.filter(study=study).values_list("name", flat=True))
    assert {"Agreed Framework", "Six-Party Talks"} <= names
    assert len(names) == 3
    assert Phase.objects.filter(negotiation__study=study).count() >= 15
    assert Event.objects.filter(negotiation__study=study, date="1994-10-21").exists()
    for phase in Phase.objects.filter(negotiation__study=study):
        for event in Event.objects.filter(negotiation=phase.negotiation):
            if phase.start_date <= event.date <= phase.end_date:
                break


def test_demo_sources_are_illustrative_with_korean_and_emoji(demo):
    sources = Source.objects.filter(study__slug="demo")
    assert 25 <= sources.count() <= 40
    assert all("illustrative" in s.citation.lower() for s in sources)
    assert any(any("\uac00" <= ch <= "\ud7a3" for ch in s.text) for s in sources)
    assert any(any(ord(ch) > 0xFFFF for ch in s.text) for s in sources)
    speakers = Counter(s.speaker_party.code for s in sources if s.speaker_party)
    assert speakers["US"] >= 5 and speakers["DPRK"] >= 5


def test_demo_codings_match_their_text_and_disagree_partly(demo):
    codings = list(Coding.objects.filter(source__study__slug="demo").select_related("source"))
    assert len(codings) >= 200
    assert all(c.quote == c.source.text[c.start : c.end] for c in codings)
    by_source = Counter()
    for source_id, _coder in {(c.source_id, c.coder_id) for c in codings}:
        by_source[source_id] += 1
    triple = [s for s, n in by_source.items() if n == 3]
    assert len(triple) >= 5  # about a fifth of the sources are coded by all three coders
    # Partial disagreement: on a triple-coded source, coders' sets of (code, stance, party) differ.
    source_id = triple[0]
    readings = {}
    for c in codings:
        if c.source_id == source_id:
            readings.setdefault(c.coder_id, set()).add(
                (c.code_id, c.stance, c.demonstrating_party_id)
            )
    assert len({frozenset(r) for r in readings.values()}) > 1
    common = set.intersection(*readings.values())
    assert common, "coders should also agree on some passages"


def test_demo_assignments_mostly_submitted(demo):
    statuses = Counter(
        Assignment.objects.filter(source__study__slug="demo").values_list("status", flat=True)
    )
    assert statuses[AssignmentStatus.SUBMITTED] > statuses[AssignmentStatus.IN_PROGRESS] > 0
    assert statuses[AssignmentStatus.ASSIGNED] > 0
