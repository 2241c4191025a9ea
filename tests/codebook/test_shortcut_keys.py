"""A code's key may not be one of the coding page's shortcut letters: the codebook form refuses it
with a sentence naming the shortcut, and the page reads its shortcuts from the same constant."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from negotiations.models import Code, CodeSet
from negotiations.shortcuts import SHORTCUTS, shortcut_taking
from tests.coding.test_views import page_url, setup  # noqa: F401

pytestmark = pytest.mark.django_db


def code_post(members, key: str) -> dict:
    return {
        "code_set": CodeSet.objects.get(study=members.study, slug="elements").pk,
        "name": "TRUST",
        "label": "x",
        "definition": "y",
        "colour": "#000000",
        "key": key,
        "order": 9,
    }


@pytest.mark.parametrize("key", sorted(k for k in SHORTCUTS.values() if k.islower()))
def test_a_shortcut_letter_is_refused_as_a_code_key(clients, members, key):
    url = reverse("negotiations:code_create", args=[members.study.slug])
    response = clients["supervisor"].post(url, code_post(members, key))
    assert response.status_code == 200
    html = response.content.decode()
    assert f"is a shortcut of the coding page ({shortcut_taking(key)})" in html
    assert not Code.objects.filter(study=members.study, name="TRUST").exists()


def test_a_free_key_is_taken(clients, members):
    url = reverse("negotiations:code_create", args=[members.study.slug])
    response = clients["supervisor"].post(url, code_post(members, "x"))
    assert response.status_code == 302
    assert Code.objects.get(study=members.study, name="TRUST").key == "x"


def test_editing_a_code_to_a_shortcut_letter_is_refused(clients, members):
    code = Code.objects.get(study=members.study, name="ZOPA")
    url = reverse("negotiations:code_edit", args=[members.study.slug, code.pk])
    data = code_post(members, "m") | {"name": "ZOPA", "code_set": code.code_set_id}
    response = clients["supervisor"].post(url, data)
    assert response.status_code == 200
    assert "(write a memo)" in response.content.decode()
    code.refresh_from_db()
    assert code.key != "m"


def test_the_page_gets_its_shortcuts_from_the_same_constant(clients, setup):  # noqa: F811
    html = clients["coder"].get(page_url(setup)).content.decode()
    script = html.split('<script id="shortcuts-data" type="application/json">')[1]
    assert json.loads(script.split("</script>")[0]) == SHORTCUTS
    # The help dialog lists them too.
    for key in SHORTCUTS.values():
        assert f"<td><kbd>{key}</kbd></td>" in html
