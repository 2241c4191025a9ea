"""Study pages as a whole and as htmx partials: home, create, members, negotiations."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from negotiations.coding import assignments as assignment_services
from negotiations.models import (
    Code,
    CodebookVersion,
    CodeSet,
    Membership,
    Negotiation,
    Phase,
    Role,
    Study,
)
from tests.factories import PartyFactory

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


def test_new_study_shows_its_setup_checklist_until_done(clients, members):
    from tests.factories import NegotiationFactory, SourceFactory

    url = reverse("negotiations:study_detail", args=[members.study.slug])
    html = clients["owner"].get(url).content.decode()
    assert "Setting up this study" in html
    for label in ("Codebook", "Parties", "Negotiations", "Sources", "Members", "Assignments"):
        assert label in html
    assert html.count('class="done"') == 2  # the default codebook and the members
    assert reverse("negotiations:assignments", args=[members.study.slug]) in html
    assert "Setting up this study" not in clients["coder"].get(url).content.decode()

    PartyFactory(study=members.study, code="US")
    negotiation = NegotiationFactory(study=members.study)
    source = SourceFactory(study=members.study, negotiation=negotiation)
    assignment_services.assignment_create(
        source=source, coder=members.coder, assigned_by=members.owner
    )
    assert "Setting up this study" not in clients["owner"].get(url).content.decode()


def test_new_study_page_fills_the_slug_by_script(clients):
    html = clients["outsider"].get(reverse("negotiations:study_create")).content.decode()
    assert "js/slug.js" in html


def test_reversed_dates_are_explained_in_words(clients, members):
    response = clients["supervisor"].post(
        reverse("negotiations:negotiation_create", args=[members.study.slug]),
        {"name": "Backwards", "start_date": "2003-01-10", "end_date": "1993-01-10"},
    )
    html = response.content.decode()
    assert "The end date must be on or after the start date." in html
    assert "Constraint" not in html and "violated" not in html


def test_phases_lie_within_their_negotiations_dates(members):
    from negotiations.studies import services as study_services

    negotiation = study_services.negotiation_create(
        study=members.study,
        name="Agreed Framework",
        start_date=date(1993, 3, 12),
        end_date=date(2003, 1, 10),
    )
    with pytest.raises(ValidationError) as refused:
        study_services.phase_create(
            negotiation=negotiation,
            name="Before",
            kind="pre_negotiation",
            start_date=date(1990, 1, 1),
            end_date=date(1993, 3, 1),
        )
    assert refused.value.message_dict["start_date"] == [
        "A phase must lie within its negotiation's dates (1993-03-12 to 2003-01-10)."
    ]
    phase = study_services.phase_create(
        negotiation=negotiation,
        name="Talks",
        kind="negotiation",
        start_date=date(1993, 6, 11),
        end_date=date(1994, 10, 20),
    )
    with pytest.raises(ValidationError) as narrowed:
        study_services.negotiation_update(
            negotiation=negotiation,
            name=negotiation.name,
            description="",
            start_date=date(1994, 1, 1),
            end_date=date(2003, 1, 10),
            parties=[],
            principal_parties=[],
        )
    assert "leave out the phase 'Talks'" in narrowed.value.message_dict["start_date"][0]
    negotiation.refresh_from_db()
    assert negotiation.start_date == date(1993, 3, 12)
    assert phase.pk
    with pytest.raises(ValidationError) as reversed_phase:
        study_services.phase_create(
            negotiation=negotiation,
            name="Backwards",
            kind="negotiation",
            start_date=date(1999, 1, 1),
            end_date=date(1998, 1, 1),
        )
    assert "A phase must end on or after its start date." in reversed_phase.value.messages
