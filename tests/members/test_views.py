"""The members page with invitations, the invitation link's page, reset links and the
forgotten-password page."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from negotiations.members import services
from negotiations.models import Invitation, Membership, Role
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def members_url(members) -> str:
    return reverse("negotiations:member_list", args=[members.study.slug])


def test_invitation_link_is_shown_once_on_the_members_page(clients, members):
    response = clients["supervisor"].post(
        reverse("negotiations:invitation_create", args=[members.study.slug]),
        {"role": "coder", "email": "", "days": "7"},
        follow=True,
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "copy the link below" in html
    assert 'id="invitation-link"' in html
    link = html.split('id="invitation-link" type="text" readonly value="')[1].split('"')[0]
    assert "/invitations/" in link
    invitation = Invitation.objects.get(study=members.study)
    assert invitation.state == "open"
    again = clients["supervisor"].get(members_url(members)).content.decode()
    assert 'id="invitation-link"' not in again
    assert "Open" in again and "Withdraw" in again


def test_the_invitation_form_says_how_many_days_a_link_is_valid(clients, members):
    html = clients["supervisor"].get(members_url(members)).content.decode()
    options = re.findall(r'<option value="(\d+)"[^>]*>([^<]*)</option>', html)
    assert [label for value, label in options if value in {"1", "7", "14", "30"}] == [
        "1 day",
        "7 days",
        "14 days",
        "30 days",
    ]


def test_invitation_form_errors_keep_the_page(clients, members):
    response = clients["supervisor"].post(
        reverse("negotiations:invitation_create", args=[members.study.slug]),
        {"role": "owner", "email": "not-an-address", "days": "7"},
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert "Enter a valid email address." in html
    assert not Invitation.objects.exists()


def test_supervisor_cannot_invite_an_owner(clients, members):
    response = clients["supervisor"].post(
        reverse("negotiations:invitation_create", args=[members.study.slug]),
        {"role": "owner", "email": "", "days": "7"},
    )
    assert response.status_code == 422
    assert "Only an owner can invite an owner." in response.content.decode()


def test_invitation_is_emailed_when_email_is_set_up(clients, members, settings, mailoutbox):
    settings.TRUSTCODER_EMAIL_ENABLED = True
    response = clients["owner"].post(
        reverse("negotiations:invitation_create", args=[members.study.slug]),
        {"role": "reader", "email": "guest@example.org", "days": "1"},
        follow=True,
    )
    assert "sent to guest@example.org" in response.content.decode()
    assert len(mailoutbox) == 1
    assert "/invitations/" in mailoutbox[0].body


def test_withdrawing_an_invitation(clients, members):
    invitation, token = services.invitation_create(
        study=members.study, role=Role.CODER, created_by=members.owner, actor_role=Role.OWNER
    )
    response = clients["owner"].post(
        reverse("negotiations:invitation_revoke", args=[members.study.slug, invitation.pk])
    )
    assert response.status_code == 302
    invitation.refresh_from_db()
    assert invitation.state == "withdrawn"
    page = Client().get(reverse("negotiations:invitation_accept", args=[token]))
    assert page.status_code == 410
    assert "withdrawn" in page.content.decode()


def test_a_newcomer_creates_an_account_from_the_link(members):
    _, token = services.invitation_create(
        study=members.study,
        role=Role.CODER,
        email="newbie@example.org",
        created_by=members.owner,
        actor_role=Role.OWNER,
    )
    url = reverse("negotiations:invitation_accept", args=[token])
    client = Client()
    page = client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Join Test study" in html and "as <strong>coder</strong>" in html
    assert 'value="newbie@example.org"' in html
    bad = client.post(url, {"username": "newbie", "password1": "x", "password2": "y"})
    assert bad.status_code == 422
    assert "Your account was not created" in bad.content.decode()
    response = client.post(
        url,
        {
            "username": "newbie",
            "full_name": "New Bie",
            "email": "newbie@example.org",
            "password1": "quiet harbour lantern",
            "password2": "quiet harbour lantern",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("negotiations:my_work", args=[members.study.slug])
    assert Membership.objects.get(user__username="newbie").role == Role.CODER
    # Logged in already: the next page opens without logging in.
    assert client.get(response["Location"]).status_code == 200
    # The link is used up.
    assert Client().get(url).status_code == 410


def test_a_logged_in_person_joins_with_their_account(members):
    _, token = services.invitation_create(
        study=members.study, role=Role.READER, created_by=members.owner, actor_role=Role.OWNER
    )
    url = reverse("negotiations:invitation_accept", args=[token])
    client = Client()
    client.force_login(members.outsider)
    assert "Join as nora" in client.get(url).content.decode()
    response = client.post(url)
    assert response.status_code == 302
    assert response["Location"] == reverse("negotiations:study_detail", args=[members.study.slug])
    assert Membership.objects.get(user=members.outsider).role == Role.READER


def test_login_from_the_invitation_page_comes_back_to_it(members):
    _, token = services.invitation_create(
        study=members.study, role=Role.READER, created_by=members.owner, actor_role=Role.OWNER
    )
    url = reverse("negotiations:invitation_accept", args=[token])
    client = Client()
    assert f"?next={url}" in client.get(url).content.decode()
    response = client.post(
        reverse("login"), {"username": "nora", "password": PASSWORD, "next": url}
    )
    assert response["Location"] == url


def test_owner_makes_a_reset_link_that_sets_a_new_password(clients, members):
    target = Membership.objects.get(study=members.study, user=members.coder)
    response = clients["owner"].post(
        reverse("negotiations:member_reset_link", args=[members.study.slug, target.pk]),
        follow=True,
    )
    html = response.content.decode()
    assert "Password reset link for cora" in html
    link = html.split('id="reset-link" type="text" readonly value="')[1].split('"')[0]
    path = link.removeprefix("http://testserver")
    client = Client()
    set_password = client.get(path, follow=True)
    assert "Set a new password" in set_password.content.decode()
    done = client.post(
        set_password.redirect_chain[-1][0],
        {"new_password1": "violet ferry compass", "new_password2": "violet ferry compass"},
    )
    assert done.status_code == 302
    members.coder.refresh_from_db()
    assert members.coder.check_password("violet ferry compass")
    # One time only.
    assert "cannot be used" in Client().get(path, follow=True).content.decode()


def test_only_owners_see_and_use_reset_links(clients, members):
    target = Membership.objects.get(study=members.study, user=members.coder)
    url = reverse("negotiations:member_reset_link", args=[members.study.slug, target.pk])
    assert "Reset link" not in clients["supervisor"].get(members_url(members)).content.decode()
    assert "Reset link" in clients["owner"].get(members_url(members)).content.decode()
    assert clients["supervisor"].post(url).status_code == 403
    assert clients["coder"].post(url).status_code == 403
    assert clients["outsider"].post(url).status_code == 404


def test_forgotten_password_without_email_explains_what_to_do(settings):
    settings.TRUSTCODER_EMAIL_ENABLED = False
    response = Client().get(reverse("password_reset"))
    assert response.status_code == 200
    assert "Ask an owner of your study" in response.content.decode()


def test_forgotten_password_with_email_sends_the_reset(settings, mailoutbox):
    settings.TRUSTCODER_EMAIL_ENABLED = True
    UserFactory(username="pat", email="pat@example.org")
    response = Client().post(reverse("password_reset"), {"email": "pat@example.org"})
    assert response.status_code == 302
    assert len(mailoutbox) == 1
    assert "/accounts/reset/" in mailoutbox[0].body


def test_members_partial_still_works(clients, members):
    response = clients["owner"].post(
        reverse("negotiations:member_add", args=[members.study.slug]),
        {"identifier": "nora", "role": "reader"},
        headers=HTMX,
    )
    assert response.status_code == 200
    assert "<h1>" not in response.content.decode()
    assert "nora" in response.content.decode()
