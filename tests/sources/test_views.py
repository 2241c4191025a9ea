"""Source pages: list, filters, detail, paste, text correction and deletion rules."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from negotiations.coding import assignments as assignment_services
from negotiations.models import (
    Phase,
    Segment,
    Source,
)
from negotiations.sources import services as source_services
from tests.factories import CodingFactory, NegotiationFactory, PartyFactory, SourceFactory

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


@pytest.fixture
def sources(members):
    af = NegotiationFactory(study=members.study, name="Agreed Framework")
    st = NegotiationFactory(study=members.study, name="Summits")
    us = PartyFactory(study=members.study, code="US")
    return [
        SourceFactory(
            study=members.study,
            negotiation=af,
            title="Fuel oil complaint",
            speaker_party=us,
            date="1996-03-01",
            text="Heavy fuel oil arrived late. The delay matters.",
        ),
        SourceFactory(
            study=members.study,
            negotiation=af,
            title="Geneva signing",
            date="1994-10-21",
            source_type="joint_statement",
            text="The parties signed in Geneva.",
        ),
        SourceFactory(
            study=members.study,
            negotiation=st,
            title="Singapore statement",
            date="2018-06-12",
            text="Leaders met in Singapore.",
        ),
    ]


def test_source_list_filters_search_and_partial(clients, members, sources):
    url = reverse("negotiations:source_list", args=[members.study.slug])
    html = clients["reader"].get(url).content.decode()
    assert "3 sources" in html
    assert "<form" in html  # the filter form is part of the full page
    html = clients["reader"].get(url, {"negotiation": sources[0].negotiation_id}).content.decode()
    assert "2 sources" in html and "Singapore" not in html
    html = clients["reader"].get(url, {"q": "fuel LATE"}).content.decode()
    assert "1 source" in html and "Fuel oil complaint" in html
    html = clients["reader"].get(url, {"date_from": "2000-01-01"}).content.decode()
    assert "1 source" in html and "Singapore statement" in html
    html = clients["reader"].get(url, {"source_type": "joint_statement"}).content.decode()
    assert "Geneva signing" in html and "Fuel oil" not in html
    html = clients["reader"].get(url, {"party": sources[0].speaker_party_id}).content.decode()
    assert "Fuel oil complaint" in html and "Geneva" not in html
    partial = clients["reader"].get(url, {"sort": "-date"}, headers=HTMX).content.decode()
    assert partial.lstrip().startswith('<div id="results">')
    assert partial.index("Singapore statement") < partial.index("Geneva signing")


def test_source_list_paginates(clients, members):
    negotiation = NegotiationFactory(study=members.study)
    SourceFactory.create_batch(55, study=members.study, negotiation=negotiation)
    url = reverse("negotiations:source_list", args=[members.study.slug])
    html = clients["reader"].get(url).content.decode()
    assert "Page 1 of 2" in html
    html = clients["reader"].get(url, {"page": 2}).content.decode()
    assert "Page 2 of 2" in html


def test_source_detail_shows_metadata_and_segments(clients, members, sources):
    response = clients["coder"].get(
        reverse("negotiations:source_detail", args=[members.study.slug, sources[0].pk])
    )
    html = response.content.decode()
    assert "Heavy fuel oil arrived late." in html
    assert "The delay matters." in html
    assert html.count('class="seg-text"') == 2
    # Sentences are numbered from 1 wherever a person sees a number.
    assert '<li value="1"' in html and '<li value="2"' in html and '<li value="0"' not in html
    assert "1996-03-01" in html


def test_source_create_by_paste_normalises_and_segments(clients, members):
    negotiation = NegotiationFactory(study=members.study)
    response = clients["supervisor"].post(
        reverse("negotiations:source_create", args=[members.study.slug]),
        {
            "negotiation": negotiation.pk,
            "title": "Pasted",
            "source_type": "press_briefing",
            "language": "en",
            "text": "Cafe\u0301 talks began.\r\nThe U.S. delegation arrived.\r\n\r\nNo deal yet.",
        },
    )
    assert response.status_code == 302
    source = Source.objects.get(title="Pasted")
    assert source.text == "Caf\u00e9 talks began.\nThe U.S. delegation arrived.\n\nNo deal yet."
    assert [source.text[s.start : s.end] for s in source.segments.all()] == [
        "Caf\u00e9 talks began.",
        "The U.S. delegation arrived.",
        "No deal yet.",
    ]


def test_source_create_requires_text_or_file(clients, members):
    negotiation = NegotiationFactory(study=members.study)
    response = clients["supervisor"].post(
        reverse("negotiations:source_create", args=[members.study.slug]),
        {
            "negotiation": negotiation.pk,
            "title": "Nothing",
            "source_type": "other",
            "language": "en",
        },
    )
    assert response.status_code == 422
    assert "Paste the text or choose a file" in response.content.decode()
    assert not Source.objects.filter(title="Nothing").exists()


def test_phase_of_another_negotiation_is_refused(clients, members):
    a = NegotiationFactory(study=members.study)
    b = NegotiationFactory(study=members.study)
    phase = Phase.objects.create(negotiation=b, name="Talks", kind="negotiation")
    response = clients["supervisor"].post(
        reverse("negotiations:source_create", args=[members.study.slug]),
        {
            "negotiation": a.pk,
            "phase": phase.pk,
            "title": "Mixed",
            "source_type": "other",
            "language": "en",
            "text": "Some text.",
        },
    )
    assert response.status_code == 422
    assert "belongs to another negotiation" in response.content.decode()
    assert not Source.objects.filter(title="Mixed").exists()


def test_uncoded_text_is_corrected_in_place(clients, members):
    source = SourceFactory(study=members.study)
    clients["supervisor"].post(
        reverse("negotiations:source_text", args=[members.study.slug, source.pk]),
        {"text": "One sentence. Two sentences. Three."},
    )
    source.refresh_from_db()
    assert source.text == "One sentence. Two sentences. Three."
    assert Segment.objects.filter(source=source).count() == 3
    assert source.version == 1


def test_coded_text_never_changes_correction_is_new_version(clients, members):
    source = SourceFactory(study=members.study)
    coding = CodingFactory(source=source, start=0, end=9)
    original = source.text
    response = clients["supervisor"].post(
        reverse("negotiations:source_text", args=[members.study.slug, source.pk]),
        {"text": "A corrected text. With two sentences."},
    )
    assert response.status_code == 302
    source.refresh_from_db()
    assert source.text == original
    coding.refresh_from_db()
    assert coding.quote == source.text[coding.start : coding.end]
    new = Source.objects.get(supersedes=source)
    assert new.version == 2
    assert new.text == "A corrected text. With two sentences."
    assert new.codings.count() == 0
    page = clients["reader"].get(
        reverse("negotiations:source_detail", args=[members.study.slug, source.pk])
    )
    assert "A corrected version exists" in page.content.decode()
    # The service refuses a second correction of the old version.
    with pytest.raises(ValidationError):
        source_services.source_replace_text(source=source, text="Again.", actor=members.supervisor)


def test_coded_source_cannot_be_deleted(clients, members):
    source = SourceFactory(study=members.study)
    CodingFactory(source=source)
    clients["supervisor"].post(
        reverse("negotiations:source_delete", args=[members.study.slug, source.pk])
    )
    assert Source.objects.filter(pk=source.pk).exists()
    uncoded = SourceFactory(study=members.study)
    clients["supervisor"].post(
        reverse("negotiations:source_delete", args=[members.study.slug, uncoded.pk])
    )
    assert not Source.objects.filter(pk=uncoded.pk).exists()


@pytest.mark.parametrize("language", ["<script>", "english language", "e", "en-"])
def test_source_form_refuses_what_the_importer_refuses_as_a_language(clients, members, language):
    negotiation = NegotiationFactory(study=members.study)
    response = clients["supervisor"].post(
        reverse("negotiations:source_create", args=[members.study.slug]),
        {
            "negotiation": negotiation.pk,
            "title": "Pasted",
            "source_type": "press_briefing",
            "language": language,
            "text": "Talks began.",
        },
    )
    assert response.status_code == 422
    assert "is not a language tag such as en or ko." in response.content.decode()
    assert not Source.objects.filter(title="Pasted").exists()


def test_source_page_counts_only_the_codings_a_blind_coder_may_see(clients, members):
    from negotiations.coding import services as coding_services
    from negotiations.models import Code
    from tests.factories import PartyFactory

    negotiation = NegotiationFactory(study=members.study)
    us = PartyFactory(study=members.study, code="US")
    negotiation.parties.add(us)
    source = source_services.source_create(
        study=members.study,
        metadata=source_services.SourceMetadata(negotiation=negotiation, title="Blind"),
        text="Alpha talks resumed. Beta followed. Gamma ended.",
        created_by=members.supervisor,
    )
    zopa = Code.objects.get(study=members.study, name="ZOPA")
    for coder, spans in [(members.coder, [(0, 5)]), (members.coder2, [(21, 25), (36, 41)])]:
        assignment_services.assignment_create(source=source, coder=coder, assigned_by=None)
        for start, end in spans:
            coding_services.coding_create(
                source=source,
                coder=coder,
                code=zopa,
                start=start,
                end=end,
                quote=source.text[start:end],
                stance="for",
                demonstrating_party=us,
            )
    url = reverse("negotiations:source_detail", args=[members.study.slug, source.pk])
    assert "3 codings" in clients["supervisor"].get(url).content.decode()
    html = clients["coder"].get(url).content.decode()
    assert "1 coding<" in html and "3 codings" not in html
