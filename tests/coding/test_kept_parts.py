"""The coding page's parts kept per content (negotiations/fragments.py): the codebook reference
and the coding form's list of codes. A change to any code must show at once; the same codes
must not render the part again."""

from __future__ import annotations

import pytest
from django.urls import reverse

from negotiations import fragments
from negotiations.models import Code
from tests.coding.test_views import setup  # noqa: F401 (the fixture)

pytestmark = pytest.mark.django_db


def _page(client, setup, **query):  # noqa: F811
    url = reverse("negotiations:coding_page", args=[setup["study"].slug, setup["source"].pk])
    if query:
        url += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def test_a_changed_code_shows_at_once_in_both_parts(clients, setup):  # noqa: F811
    html = _page(clients["coder"], setup)
    zopa = setup["zopa"]
    assert html.count(f"code-{zopa.pk}") >= 2  # the form's choice and the reference
    Code.objects.filter(pk=zopa.pk).update(name="ZONE", definition="A <b>new</b> definition & more")
    html = _page(clients["coder"], setup)
    assert html.count('>\n      <span class="swatch" aria-hidden="true"></span> ZONE') == 1
    assert "ZONE" in html.split('class="codebook-ref"')[1]
    assert "A &lt;b&gt;new&lt;/b&gt; definition &amp; more" in html  # escaped in both parts
    assert "<b>new</b>" not in html
    Code.objects.filter(pk=zopa.pk).update(archived=True)
    html = _page(clients["coder"], setup)
    assert f'name="code" value="{zopa.pk}"' not in html and "ZONE" not in html


def test_the_same_codes_render_each_part_once_and_modes_apart(clients, setup, monkeypatch):  # noqa: F811
    fragments._KEPT.clear()
    rendered = []
    original = fragments.render_to_string

    def counting(template, context):
        rendered.append(template.split("#")[1])
        return original(template, context)

    monkeypatch.setattr(fragments, "render_to_string", counting)
    first = _page(clients["coder"], setup)
    again = _page(clients["coder"], setup)
    assert sorted(rendered) == ["code-choices", "codebook-ref"]
    assert (
        first.split('class="codebook-ref"')[1][:2000]
        == again.split('class="codebook-ref"')[1][:2000]
    )
    # The page without JavaScript shows no shortcut keys: its parts are kept apart.
    sentences = _page(clients["coder"], setup, mode="sentences")
    assert sorted(rendered) == ["code-choices", "code-choices", "codebook-ref", "codebook-ref"]
    assert "<kbd>" not in sentences.split('class="codes-choice"')[1].split("</fieldset>")[0]
    # A supervisor's page shows the same codebook reference: kept once for both.
    _page(clients["supervisor"], setup, layer="all")
    assert len(rendered) == 4


def test_kept_parts_are_bounded(monkeypatch):
    fragments._KEPT.clear()
    monkeypatch.setattr(fragments, "KEPT_MAX", 2)
    monkeypatch.setattr(fragments, "render_to_string", lambda template, context: str(context))
    for n in range(5):
        assert fragments.kept_fragment("t#p", n, {"n": n}) == str({"n": n})
    assert [key for _, key in fragments._KEPT] == [3, 4]
