"""The Passages page reads a fixed number of queries however many codings there are."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from negotiations.models import Assignment, AssignmentStatus, Code, Coding
from tests.factories import NegotiationFactory, PartyFactory, PhaseFactory, SourceFactory

pytestmark = pytest.mark.django_db


def add_codings(members, n_sources: int, per_source: int) -> None:
    study = members.study
    party = PartyFactory(study=study, code="US")
    negotiation = NegotiationFactory(study=study)
    negotiation.parties.add(party)
    phase = PhaseFactory(negotiation=negotiation)
    codes = list(Code.objects.filter(study=study)[:3])
    codings = []
    for _ in range(n_sources):
        source = SourceFactory(
            study=study, negotiation=negotiation, phase=phase, speaker_party=party
        )
        Assignment.objects.create(
            source=source, coder=members.coder, status=AssignmentStatus.SUBMITTED
        )
        for i in range(per_source):
            coder = members.coder if i % 2 else members.coder2
            codings.append(
                Coding(
                    source=source,
                    coder=coder,
                    code=codes[i % 3],
                    # One coding per passage and coder: the spans differ by their end.
                    start=0,
                    end=9 + i,
                    quote=source.text[0 : 9 + i],
                    stance="for" if i % 3 else "against",
                    demonstrating_party=party,
                )
            )
    Coding.objects.bulk_create(codings, batch_size=2000)


def queries(client, url, params) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, params)
    assert response.status_code == 200
    return len(ctx.captured_queries)


PARAMS = [{}, {"stance": "for", "counts": "phase", "text": "statement", "page": "2"}]


@pytest.mark.parametrize("role", ["supervisor", "coder"])
def test_passage_page_queries_do_not_grow(clients, members, role):
    url = reverse("negotiations:passage_list", args=[members.study.slug])
    add_codings(members, n_sources=2, per_source=4)
    small = [queries(clients[role], url, params) for params in PARAMS]
    add_codings(members, n_sources=40, per_source=250)  # 10,000 more codings
    assert Coding.objects.count() > 10_000
    large = [queries(clients[role], url, params) for params in PARAMS]
    assert large == small
    assert max(small) <= 16
