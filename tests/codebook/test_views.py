"""Codebook pages: codes, versions with who changed what, code sets, archiving."""

from __future__ import annotations

import pytest
from django.urls import reverse

from negotiations.models import (
    Code,
    CodebookVersion,
    CodeSet,
)
from tests.factories import CodingFactory, SourceFactory

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def test_codebook_page_and_partial(clients, members):
    url = reverse("negotiations:codebook", args=[members.study.slug])
    html = clients["coder"].get(url).content.decode()
    assert "ZOPA" in html
    assert "Understanding of interests" in html
    assert "understands the other side&#x27;s core interests" in html
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
