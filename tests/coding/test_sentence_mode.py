"""The no-JavaScript sentence mode: only the hints that work there, and the coder's codings."""

from __future__ import annotations

import pytest

from negotiations.coding import services as coding_services
from tests.coding.test_views import page_url, setup  # noqa: F401 (the fixture)

pytestmark = pytest.mark.django_db


def test_sentence_mode_shows_my_codings_and_no_keyboard_hints(clients, members, setup):  # noqa: F811
    source = setup["source"]
    segment = source.segments.order_by("index").first()
    coding_services.coding_create(
        source=source,
        coder=members.coder,
        code=setup["zopa"],
        start=segment.start,
        end=segment.end,
        quote=source.text[segment.start : segment.end],
        stance="for",
        demonstrating_party=setup["us"],
    )
    html = clients["coder"].get(page_url(setup, mode="sentences")).content.decode()
    assert "My codings" in html and "(1)" in html
    before_dialog = html.split('<dialog id="help-dialog"')[0]
    assert "<kbd>" not in before_dialog
    assert 'data-action="help"' not in html
    text_mode = clients["coder"].get(page_url(setup)).content.decode()
    assert "<kbd>f</kbd>" in text_mode and 'data-action="help"' in text_mode
