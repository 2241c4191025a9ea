"""Long unbroken text (a 480-character title, a 6,000-character word) wraps instead of widening
the page: statements are adversarial input, and one paste must not make a page 95,000 px wide."""

from __future__ import annotations

import pytest

from negotiations.demo import demo_password, load_demo
from negotiations.models import Source, Study
from negotiations.sources import services as source_services
from tests.browser.conftest import log_in
from tests.browser.test_any_screen import _WIDTH_JS

pytestmark = pytest.mark.browser

TITLE = "T" * 480
WORD = "Pyongyang" * 667  # 6,003 characters without a break


def test_long_unbroken_text_wraps_on_every_page_that_shows_it(page, live_server):
    load_demo()
    study = Study.objects.get(slug="demo")
    template = Source.objects.filter(study=study).first()
    supervisor = study.memberships.get(role="supervisor").user
    source = source_services.source_create(
        study=study,
        metadata=source_services.SourceMetadata(
            negotiation=template.negotiation,
            title=TITLE,
            speaker="S" * 200,
            citation="C" * 400,
        ),
        text=f"The statement begins. {WORD} It ends here.",
        created_by=supervisor,
    )
    log_in(page, supervisor.username, demo_password(supervisor.username))
    base = f"{live_server.url}/studies/{study.slug}/"
    urls = [
        base + "sources/",
        base + f"sources/{source.pk}/",
        base + f"sources/{source.pk}/code/",
        base + f"sources/{source.pk}/edit/",
        base + "passages/",
    ]
    for width in (1400, 390):
        page.set_viewport_size({"width": width, "height": 900})
        for url in urls:
            page.goto(url)
            measured = page.evaluate(_WIDTH_JS)
            assert measured["scroll"] <= measured["client"] + 1, (width, url, measured)
