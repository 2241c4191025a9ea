"""Settings from the environment, the deployment check, CSP and escaping on every page."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.urls import reverse

from tests.factories import CodingFactory, NegotiationFactory, SourceFactory

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent
HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)> =cmd|calc'


class _TagAudit(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {name.lower() for name, _ in attrs}
        if tag in ("script", "style") and (tag == "style" or "src" not in names):
            self.problems.append(f"inline <{tag}>")
        self.problems += [f"{tag}[{n}]" for n in names if n.startswith("on") or n == "style"]


def inline_code(html: str) -> list[str]:
    audit = _TagAudit()
    audit.feed(html)
    return audit.problems


def run_manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    base.pop("DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_with_production_values():
    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        env={
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "DJANGO_ALLOWED_HOSTS": "trustcoder.example.org",
            "DJANGO_DEBUG": "0",
        },
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    result = run_manage("check", env={"DJANGO_DEBUG": "0"})
    assert result.returncode != 0
    assert "Set DJANGO_SECRET_KEY" in result.stderr


def test_strict_csp_header_and_no_inline_script_or_style(clients, members):
    source = SourceFactory(study=members.study, title=HOSTILE, text=HOSTILE + " More text.")
    CodingFactory(source=source, start=0, end=8, memo=HOSTILE)
    slug = members.study.slug
    for url in (
        reverse("home"),
        reverse("negotiations:study_detail", args=[slug]),
        reverse("negotiations:source_list", args=[slug]),
        reverse("negotiations:source_detail", args=[slug, source.pk]),
        reverse("negotiations:codebook", args=[slug]),
        reverse("negotiations:member_list", args=[slug]),
        reverse("negotiations:source_edit", args=[slug, source.pk]),
    ):
        response = clients["owner"].get(url)
        assert response.status_code == 200, url
        csp = response["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        html = response.content.decode()
        # Every script is a file; no inline handlers or style attributes on any element.
        assert inline_code(html) == [], url
        assert '<script>alert("x")' not in html
        assert "<img src=x" not in html


def test_hostile_text_is_escaped(clients, members):
    negotiation = NegotiationFactory(study=members.study, name="<b>Talks</b>")
    source = SourceFactory(
        study=members.study, negotiation=negotiation, title=HOSTILE, text=HOSTILE
    )
    html = (
        clients["reader"]
        .get(reverse("negotiations:source_detail", args=[members.study.slug, source.pk]))
        .content.decode()
    )
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "&lt;b&gt;Talks&lt;/b&gt;" in html


def test_csrf_is_enforced_and_htmx_sends_the_token(members):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(members.supervisor)
    url = reverse("negotiations:party_list", args=[members.study.slug])
    assert client.post(url, {"code": "EU", "name": "EU"}).status_code == 403
    page = client.get(url).content.decode()
    token = re.search(r'hx-headers=\'\{"X-CSRFToken": "([^"]+)"\}\'', page).group(1)
    response = client.post(
        url, {"code": "EU", "name": "EU"}, headers={"X-CSRFToken": token, "HX-Request": "true"}
    )
    assert response.status_code == 302


def test_static_htmx_is_vendored_not_from_a_cdn(clients, members):
    html = clients["reader"].get(reverse("home")).content.decode()
    assert "vendor/htmx-2.0.11.min.js" in html
    assert "https://" not in re.sub(r'href="https?://[^"]*" rel="noopener', "", html)
    assert (ROOT / "static" / "vendor" / "htmx-2.0.11.min.js").exists()
