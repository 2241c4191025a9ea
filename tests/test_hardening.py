"""The deployment's edges: the proxy header, login throttling and early refusal of big uploads."""

from __future__ import annotations

import secrets

import pytest
from django.test import Client
from django.urls import reverse

from tests.test_security import run_manage

pytestmark = pytest.mark.django_db

PRODUCTION = {
    "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
    "DJANGO_ALLOWED_HOSTS": "trustcoder.example.org",
    "DJANGO_DEBUG": "0",
}
SHOW = "print(settings.SECURE_PROXY_SSL_HEADER, settings.AXES_IPWARE_PROXY_COUNT)"


def proxy_settings(**env: str) -> str:
    result = run_manage("shell", "-c", "from django.conf import settings; " + SHOW, env=env)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def test_forwarded_proto_is_ignored_unless_the_app_is_behind_a_proxy():
    assert proxy_settings(**PRODUCTION) == "None None"
    assert (
        proxy_settings(**PRODUCTION, DJANGO_BEHIND_PROXY="1")
        == "('HTTP_X_FORWARDED_PROTO', 'https') 1"
    )


def login(client: Client, password: str, address: str = "203.0.113.7"):
    return client.post(
        reverse("login"),
        {"username": "cora", "password": password},
        REMOTE_ADDR=address,
    )


def test_wrong_passwords_lock_the_account_then_the_right_one_is_refused(members):
    client = Client()
    statuses = [login(client, "wrong").status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 200, 429]  # the fifth failure locks
    response = login(client, "correct-horse-battery")
    assert response.status_code == 429
    assert "Too many failed logins" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_the_lock_also_holds_for_the_user_from_another_address(members):
    for n in range(5):
        login(Client(), "wrong", address=f"198.51.100.{n}")
    assert login(Client(), "correct-horse-battery", address="192.0.2.1").status_code == 429


def test_one_address_trying_many_users_is_locked(members):
    client = Client()
    for n in range(5):
        client.post(
            reverse("login"), {"username": f"guess{n}", "password": "x"}, REMOTE_ADDR="192.0.2.9"
        )
    response = client.post(
        reverse("login"),
        {"username": "cora", "password": "correct-horse-battery"},
        REMOTE_ADDR="192.0.2.9",
    )
    assert response.status_code == 429


def test_a_few_mistakes_do_not_lock_anyone(members):
    client = Client()
    for _ in range(3):
        login(client, "wrong")
    assert login(client, "correct-horse-battery").status_code == 302


def test_an_upload_is_refused_by_its_declared_length_before_the_body_is_read(
    clients, members, settings
):
    """The declared Content-Length decides: the body below is never read."""
    url = reverse("negotiations:source_create", args=[members.study.slug])

    class Unreadable:
        def read(self, *args):
            raise AssertionError("the body was read")

        readline = read

    response = clients["supervisor"].generic(
        "POST",
        url,
        data=b"",
        content_type="multipart/form-data; boundary=xyz",
        CONTENT_LENGTH=str(settings.TRUSTCODER_MAX_UPLOAD_BYTES + 2 * 1024 * 1024),
        **{"wsgi.input": Unreadable()},
    )
    assert response.status_code == 413
    assert "larger than the" in response.content.decode()


def test_a_nul_character_in_a_filter_is_refused_not_a_server_error(clients, members):
    from django.urls import reverse

    url = reverse("negotiations:source_list", args=[members.study.slug])
    response = clients["reader"].get(url, {"q": "fuel\x00"})
    assert response.status_code == 400
    assert "NUL" in response.content.decode()
    api = clients["reader"].get(
        "/api/v1/studies/" + members.study.slug + "/codings", {"code": "\x00"}
    )
    assert api.status_code == 400
    assert clients["reader"].get(url, {"q": "fuel"}).status_code == 200


def test_streamed_pieces_are_joined_into_chunks():
    from negotiations.http import chunked

    pieces = ["a" * 30, b"b" * 30, "é" * 20, "c" * 5]
    chunks = list(chunked(pieces, size=50))
    assert chunks == [b"a" * 30 + b"b" * 30, "é".encode() * 20 + b"c" * 5]
    assert list(chunked([], size=50)) == []
