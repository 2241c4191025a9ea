"""Personal API tokens: the account page, hashed storage, revocation, expiry, throttling,
and session auth with CSRF."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from negotiations.api import services
from negotiations.models import ApiToken
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

STUDY = "/api/v1/studies/test-study"


def bearer(secret: str) -> dict[str, str]:
    return {"authorization": f"Bearer {secret}"}


def test_account_page_creates_a_token_shown_once_and_stored_hashed(members):
    client = client_for(members.reader)
    response = client.post(reverse("negotiations:api_tokens"), {"name": "R on my laptop"})
    assert response.status_code == 200
    token = ApiToken.objects.get(user=members.reader)
    secret = response.context["created"].secret
    assert secret.startswith("tc_") and secret in response.content.decode()
    assert token.digest == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in {token.digest, token.prefix} and secret.startswith(token.prefix)
    again = client.get(reverse("negotiations:api_tokens"))
    assert secret not in again.content.decode()
    assert token.prefix in again.content.decode()
    assert Client().get(STUDY, headers=bearer(secret)).status_code == 200


def test_account_page_full_page_and_partial(members):
    client = client_for(members.reader)
    page = client.get(reverse("negotiations:api_tokens"))
    assert "<html" in page.content.decode() and 'id="tokens"' in page.content.decode()
    partial = client.get(reverse("negotiations:api_tokens"), headers={"HX-Request": "true"})
    assert "<html" not in partial.content.decode() and 'id="tokens"' in partial.content.decode()


def test_account_page_needs_login(client):
    response = client.get(reverse("negotiations:api_tokens"))
    assert response.status_code == 302 and "login" in response["Location"]


def test_revoked_token_stops_working(members):
    created = services.api_token_create(user=members.reader, name="script")
    assert Client().get(STUDY, headers=bearer(created.secret)).status_code == 200
    response = client_for(members.reader).post(
        reverse("negotiations:api_token_revoke", args=[created.token.pk])
    )
    assert response.status_code == 302
    assert Client().get(STUDY, headers=bearer(created.secret)).status_code == 401


def test_nobody_revokes_another_users_token(members):
    created = services.api_token_create(user=members.reader, name="script")
    response = client_for(members.coder).post(
        reverse("negotiations:api_token_revoke", args=[created.token.pk])
    )
    assert response.status_code == 404
    assert Client().get(STUDY, headers=bearer(created.secret)).status_code == 200


def test_expired_token_stops_working(members):
    created = services.api_token_create(
        user=members.reader, name="short", expires_at=timezone.now() + timedelta(hours=1)
    )
    assert Client().get(STUDY, headers=bearer(created.secret)).status_code == 200
    ApiToken.objects.filter(pk=created.token.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert Client().get(STUDY, headers=bearer(created.secret)).status_code == 401


def test_expiry_in_the_past_is_refused(members):
    response = client_for(members.reader).post(
        reverse("negotiations:api_tokens"), {"name": "old", "expires_on": "2001-01-01"}
    )
    assert response.status_code == 200
    assert "future" in response.content.decode()
    assert not ApiToken.objects.exists()


def test_inactive_user_token_stops_working(members):
    created = services.api_token_create(user=members.reader, name="script")
    members.reader.is_active = False
    members.reader.save()
    assert Client().get(STUDY, headers=bearer(created.secret)).status_code == 401


def test_wrong_token_is_401(members):
    assert Client().get(STUDY, headers=bearer("tc_not-a-token")).status_code == 401


def test_token_is_throttled_per_token_in_the_database(members):
    created = services.api_token_create(user=members.reader, name="busy")
    other = services.api_token_create(user=members.reader, name="other")
    ApiToken.objects.filter(pk=created.token.pk).update(rate_per_minute=3)
    statuses = [Client().get(STUDY, headers=bearer(created.secret)).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    throttled = Client().get(STUDY, headers=bearer(created.secret))
    assert throttled.status_code == 429 and int(throttled["Retry-After"]) >= 1
    # The count lives in the row (shared by every process), and other tokens are untouched.
    assert ApiToken.objects.get(pk=created.token.pk).window_count == 5
    assert Client().get(STUDY, headers=bearer(other.secret)).status_code == 200
    # A new minute starts a new window.
    ApiToken.objects.filter(pk=created.token.pk).update(
        window_started_at=timezone.now() - timedelta(minutes=2)
    )
    assert Client().get(STUDY, headers=bearer(created.secret)).status_code == 200


def test_session_auth_checks_csrf_on_unsafe_methods(members):
    client = Client(enforce_csrf_checks=True)
    client.force_login(members.reader)
    assert client.get(STUDY).status_code == 200
    # The API is read-only; a cross-site POST with the session is refused, never run.
    response = client.post(STUDY)
    assert response.status_code in (403, 405)
    token_page = client.post(reverse("negotiations:api_tokens"), {"name": "x"})
    assert token_page.status_code == 403
    assert not ApiToken.objects.exists()


def test_token_create_and_revoke_services(members):
    created = services.api_token_create(user=members.reader, name="  spaced  ")
    assert created.token.name == "spaced"
    revoked = services.api_token_revoke(user=members.reader, token_id=created.token.pk)
    assert revoked.revoked_at is not None
    with pytest.raises(ApiToken.DoesNotExist):
        services.api_token_revoke(user=members.coder, token_id=created.token.pk)
