"""Query counts that must not grow with the data (exact bounds, measured)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from negotiations.models import Source
from negotiations.sources import services as source_services
from tests.factories import NegotiationFactory, PartyFactory, PhaseFactory

pytestmark = pytest.mark.django_db


def make_sources(study, n: int) -> None:
    negotiation = NegotiationFactory(study=study)
    phase = PhaseFactory(negotiation=negotiation)
    party = PartyFactory(study=study, code="US")
    Source.objects.bulk_create(
        Source(
            study=study,
            negotiation=negotiation,
            phase=phase,
            speaker_party=party,
            title=f"Statement {i}",
            text=f"Statement {i}. It has two sentences.",
            text_sha256=source_services.text_digest(f"Statement {i}. It has two sentences."),
            date=f"19{90 + i % 10}-01-01",
        )
        for i in range(n)
    )


def count_queries(client, url, params=None) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, params or {})
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("params", [{}, {"q": "Statement two", "sort": "-date"}])
def test_source_list_queries_do_not_grow(clients, members, params, django_assert_max_num_queries):
    url = reverse("negotiations:source_list", args=[members.study.slug])
    make_sources(members.study, 10)
    small = count_queries(clients["reader"], url, params)
    make_sources(members.study, 10_000)
    with django_assert_max_num_queries(small):
        response = clients["reader"].get(url, params)
    assert response.status_code == 200
    assert "Page 1 of" in response.content.decode()
    assert small <= 12


def test_study_pages_have_few_queries(clients, members, django_assert_max_num_queries):
    make_sources(members.study, 50)
    slug = members.study.slug
    for name in ("study_detail", "negotiation_list", "codebook", "member_list"):
        with django_assert_max_num_queries(12):
            assert (
                clients["reader"].get(reverse(f"negotiations:{name}", args=[slug])).status_code
                == 200
            )
