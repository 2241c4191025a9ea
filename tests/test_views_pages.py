"""Each page as a whole and as the htmx partial it swaps, with what a user sees and can do."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from negotiations.models import (
    Code,
    CodebookVersion,
    CodeSet,
    Membership,
    Negotiation,
    Phase,
    Role,
    Segment,
    Source,
    Study,
)
from negotiations.sources import services as source_services
from tests.factories import CodingFactory, NegotiationFactory, PartyFactory, SourceFactory

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def test_home_lists_studies_with_roles(clients, members):
    response = clients["coder"].get(reverse("home"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Test study" in html
    assert "Coder" in html
    assert "not a member of any study" in clients["outsider"].get(reverse("home")).content.decode()


def test_study_create_makes_owner_and_default_codebook(clients, members):
    response = clients["outsider"].post(
        reverse("negotiations:study_create"),
        {"name": "Six-Party research", "slug": "six-party", "description": ""},
    )
    assert response.status_code == 302
    study = Study.objects.get(slug="six-party")
    assert Membership.objects.get(study=study, user=members.outsider).role == Role.OWNER
    names = set(Code.objects.filter(study=study).values_list("name", flat=True))
    assert {"ZOPA", "CAPACITY", "WILLINGNESS"} <= names
    assert {
        "POWER_ALTERNATIVES",
        "TIME_PRESSURE",
        "FORUM",
        "AGENDA_STRUCTURE",
        "CHINA_ROLE",
    } <= names
    assert not CodeSet.objects.get(study=study, slug="assumptions").enabled
    assert CodebookVersion.objects.filter(study=study).count() == 1


def test_study_create_rejects_taken_slug(clients, members):
    response = clients["outsider"].post(
        reverse("negotiations:study_create"), {"name": "Copy", "slug": members.study.slug}
    )
    assert response.status_code == 200
    assert "already exists" in response.content.decode()
    assert Study.objects.filter(slug=members.study.slug).count() == 1


def test_member_add_full_page_and_partial(clients, members):
    url = reverse("negotiations:member_add", args=[members.study.slug])
    response = clients["supervisor"].post(url, {"identifier": "nora@example.org", "role": "reader"})
    assert response.status_code == 302
    assert Membership.objects.get(study=members.study, user=members.outsider).role == Role.READER

    from tests.factories import UserFactory

    UserFactory(username="pat")
    response = clients["supervisor"].post(url, {"identifier": "pat", "role": "coder"}, headers=HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="members">')
    assert "<html" not in html
    assert "pat" in html


def test_member_add_unknown_user_is_a_clear_error(clients, members):
    url = reverse("negotiations:member_add", args=[members.study.slug])
    response = clients["supervisor"].post(
        url, {"identifier": "ghost", "role": "coder"}, headers=HTMX
    )
    assert response.status_code == 422
    assert "No active user has the username or e-mail" in response.content.decode()


def test_supervisor_cannot_make_an_owner_but_owner_can(clients, members):
    target = Membership.objects.get(study=members.study, user=members.coder)
    url = reverse("negotiations:member_update", args=[members.study.slug, target.pk])
    response = clients["supervisor"].post(url, {"role": "owner"}, follow=True)
    assert "Only an owner can grant" in response.content.decode()
    target.refresh_from_db()
    assert target.role == Role.CODER
    clients["owner"].post(url, {"role": "owner"})
    target.refresh_from_db()
    assert target.role == Role.OWNER


def test_last_owner_cannot_leave(clients, members):
    owner = Membership.objects.get(study=members.study, user=members.owner)
    url = reverse("negotiations:member_remove", args=[members.study.slug, owner.pk])
    response = clients["owner"].post(url, follow=True)
    assert "at least one owner" in response.content.decode()
    assert Membership.objects.filter(pk=owner.pk).exists()


def test_negotiation_create_and_phases(clients, members):
    us = PartyFactory(study=members.study, code="US")
    dprk = PartyFactory(study=members.study, code="DPRK")
    response = clients["supervisor"].post(
        reverse("negotiations:negotiation_create", args=[members.study.slug]),
        {
            "name": "Agreed Framework",
            "start_date": "1993-03-12",
            "end_date": "2003-01-10",
            "parties": [us.pk, dprk.pk],
            "principal_parties": [us.pk, dprk.pk],
        },
    )
    assert response.status_code == 302
    negotiation = Negotiation.objects.get(study=members.study, name="Agreed Framework")
    assert negotiation.slug == "agreed-framework"
    assert set(
        negotiation.negotiationparty_set.filter(is_principal=True).values_list(
            "party__code", flat=True
        )
    ) == {"US", "DPRK"}
    phase_url = reverse("negotiations:phase_create", args=[members.study.slug, negotiation.pk])
    ok = clients["supervisor"].post(
        phase_url,
        {
            "name": "Agreement",
            "kind": "agreement",
            "start_date": "1994-10-01",
            "end_date": "1994-10-31",
        },
    )
    assert ok.status_code == 302
    clash = clients["supervisor"].post(
        phase_url,
        {
            "name": "Overlap",
            "kind": "negotiation",
            "start_date": "1994-10-15",
            "end_date": "1994-11-30",
        },
    )
    assert clash.status_code == 422
    assert "overlap the phase" in clash.content.decode()
    assert list(Phase.objects.filter(negotiation=negotiation).values_list("name", flat=True)) == [
        "Agreement"
    ]
    page = clients["reader"].get(
        reverse("negotiations:negotiation_list", args=[members.study.slug])
    )
    assert "Agreed Framework" in page.content.decode()
    assert "phase-agreement" in page.content.decode()


def test_negotiation_form_rejects_reversed_dates(clients, members):
    response = clients["supervisor"].post(
        reverse("negotiations:negotiation_create", args=[members.study.slug]),
        {"name": "Backwards", "start_date": "2003-01-10", "end_date": "1993-01-10"},
    )
    assert response.status_code == 200
    assert not Negotiation.objects.filter(name="Backwards").exists()


def test_codebook_page_and_partial(clients, members):
    url = reverse("negotiations:codebook", args=[members.study.slug])
    html = clients["coder"].get(url).content.decode()
    assert "Understanding of interests" in html or "ZOPA" in html
    assert "When to use" in html
    assert "New code" not in html  # coders cannot edit
    partial = clients["coder"].get(url, headers=HTMX).content.decode()
    assert partial.lstrip().startswith('<div id="code-sets">')


def test_code_edit_records_a_version_with_who(clients, members):
    code = Code.objects.get(study=members.study, name="ZOPA")
    before = CodebookVersion.objects.filter(study=members.study).count()
    response = clients["supervisor"].post(
        reverse("negotiations:code_edit", args=[members.study.slug, code.pk]),
        {
            "code_set": code.code_set_id,
            "name": "ZOPA",
            "label": code.label,
            "definition": "A sharper definition.",
            "when_to_use": code.when_to_use,
            "when_not_to_use": code.when_not_to_use,
            "example": code.example,
            "colour": "#112233",
            "key": code.key,
            "order": code.order,
        },
    )
    assert response.status_code == 302
    version = CodebookVersion.objects.filter(study=members.study).order_by("-number").first()
    assert version.number == before + 1
    assert version.created_by == members.supervisor
    assert "definition" in version.note and "colour" in version.note
    zopa = next(c for s in version.snapshot["code_sets"] for c in s["codes"] if c["name"] == "ZOPA")
    assert zopa["definition"] == "A sharper definition."
    css = clients["coder"].get(reverse("negotiations:codebook_css", args=[members.study.slug]))
    assert css["Content-Type"].startswith("text/css")
    assert f".code-{code.pk} {{ --code-colour: #112233; }}" in css.content.decode()


def test_code_with_duplicate_key_is_refused(clients, members):
    code_set = CodeSet.objects.get(study=members.study, slug="elements")
    response = clients["supervisor"].post(
        reverse("negotiations:code_create", args=[members.study.slug]),
        {
            "code_set": code_set.pk,
            "name": "TRUST",
            "label": "x",
            "definition": "y",
            "colour": "#000000",
            "key": "1",
            "order": 9,
        },
    )
    assert response.status_code == 200
    assert not Code.objects.filter(study=members.study, name="TRUST").exists()


def test_code_set_toggle_via_htmx_and_version(clients, members):
    code_set = CodeSet.objects.get(study=members.study, slug="assumptions")
    response = clients["supervisor"].post(
        reverse("negotiations:code_set_toggle", args=[members.study.slug, code_set.pk]),
        {"enabled": "1"},
        headers=HTMX,
    )
    assert response.status_code == 200
    assert response.content.decode().lstrip().startswith('<div id="code-sets">')
    code_set.refresh_from_db()
    assert code_set.enabled
    assert CodebookVersion.objects.filter(
        study=members.study, note__startswith="Switched on"
    ).exists()


def test_used_code_is_archived_not_deleted(clients, members):
    code = Code.objects.get(study=members.study, name="CAPACITY")
    CodingFactory(source=SourceFactory(study=members.study), code=code)
    clients["supervisor"].post(
        reverse("negotiations:code_remove", args=[members.study.slug, code.pk])
    )
    code.refresh_from_db()
    assert code.archived


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


def test_password_change(clients, members):
    response = clients["coder"].post(
        reverse("password_change"),
        {
            "old_password": "correct-horse-battery",
            "new_password1": "a-much-longer-pass-2026",
            "new_password2": "a-much-longer-pass-2026",
        },
    )
    assert response.status_code == 302
    members.coder.refresh_from_db()
    assert members.coder.check_password("a-much-longer-pass-2026")


def test_login_and_logout(members, client):
    response = client.post(
        reverse("login"), {"username": "cora", "password": "correct-horse-battery"}
    )
    assert response.status_code == 302
    assert client.get(reverse("home")).status_code == 200
    client.post(reverse("logout"))
    assert client.get(reverse("home")).status_code == 302
