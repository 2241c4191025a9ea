"""Logging in and out and changing one's password."""

from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


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
