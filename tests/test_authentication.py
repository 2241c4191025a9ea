"""The authentication backends (negotiations/authentication.py) and the sessions made before them.

`get_user` must answer what Django's `ModelBackend.get_user` answers, in one query; a session that
names Django's or django-axes' backend (made before these) must stay logged in; a login through
the form must name the app's backend.
"""

from __future__ import annotations

import pytest
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.backends import ModelBackend as DjangoModelBackend
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from negotiations import authentication, sessions
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _fields(user):
    return (
        None
        if user is None
        else {f.attname: getattr(user, f.attname) for f in user._meta.concrete_fields}
    )


def test_get_user_is_djangos_in_one_query(members):
    inactive = UserFactory(username="gone", is_active=False)
    for ours, theirs in ((authentication.ModelBackend(), DjangoModelBackend()),):
        for user_id in (
            members.coder.pk,
            members.owner.pk,
            inactive.pk,
            7_919_000_000_000_001,
            "x",
        ):
            with CaptureQueriesContext(connection) as queries:
                got = ours.get_user(user_id)
            expected = theirs.get_user(user_id) if user_id != "x" else None
            assert _fields(got) == _fields(expected), user_id
            assert len(queries) == (0 if user_id == "x" else 1)
        assert (
            ours.get_user(inactive.pk) is None
            and ours.get_user(members.coder.pk).pk == members.coder.pk
        )
        assert ours.get_user(members.coder.pk).username == "cora"


def _session_naming(user, backend: str) -> Client:
    """A logged-in client whose session names `backend`, as a session made before would."""
    store = sessions.SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = backend
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    client = Client()
    client.cookies["sessionid"] = store.session_key
    return client


def test_a_session_naming_the_old_backend_stays_logged_in(members):
    client = _session_naming(members.coder, "django.contrib.auth.backends.ModelBackend")
    response = client.get(reverse("home"))
    assert response.status_code == 200 and response.wsgi_request.user == members.coder
    assert "cora" in response.content.decode()


def test_a_session_naming_another_backend_is_logged_out(members):
    client = _session_naming(members.coder, "some.other.Backend")
    assert client.get(reverse("home")).status_code == 302


def test_a_changed_password_still_logs_out_an_old_session(members):
    client = _session_naming(members.coder, "django.contrib.auth.backends.ModelBackend")
    members.coder.set_password("another-long-pass-2026")
    members.coder.save()
    assert client.get(reverse("home")).status_code == 302


def test_login_through_the_form_names_the_apps_backend(members, client):
    response = client.post(
        reverse("login"), {"username": "cora", "password": "correct-horse-battery"}
    )
    assert response.status_code == 302
    session = Session.objects.get().get_decoded()
    assert session[BACKEND_SESSION_KEY] == "negotiations.authentication.ModelBackend"
    assert client.get(reverse("home")).wsgi_request.user == members.coder
