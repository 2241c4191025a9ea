"""Foundation flows in a real browser: htmx filtering, inline role changes, hostile text."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from negotiations.models import Membership, Role
from negotiations.studies import services as study_services
from tests.browser.conftest import log_in
from tests.factories import PASSWORD, NegotiationFactory, SourceFactory, UserFactory

pytestmark = pytest.mark.browser


@pytest.fixture
def study():
    owner = UserFactory(username="olivia")
    study = study_services.study_create(name="Browser study", slug="browser", created_by=owner)
    for name, role in [("sam", Role.SUPERVISOR), ("cora", Role.CODER)]:
        UserFactory(username=name)
        study_services.membership_add(
            study=study, identifier=name, role=role, actor_role=Role.OWNER
        )
    negotiation = NegotiationFactory(study=study, name="Agreed Framework")
    SourceFactory(
        study=study,
        negotiation=negotiation,
        title="Fuel oil complaint",
        text="Heavy fuel oil arrived late.",
    )
    SourceFactory(
        study=study,
        negotiation=negotiation,
        title="Geneva signing",
        text="The parties signed in Geneva.",
    )
    SourceFactory(
        study=study,
        negotiation=negotiation,
        title="<img src=x onerror=alert(1)>",
        text='<script>alert("boom")</script> Nothing runs here.',
    )
    return study


def test_source_search_updates_results_without_reload(page, study):
    log_in(page, "cora", PASSWORD)
    page.goto(f"/studies/{study.slug}/sources/")
    assert page.locator("#results").inner_text().count("source") >= 1
    page.evaluate("window.__marker = 'same page'")
    page.fill("#id_q", "fuel")
    expect(page.locator("#results")).to_contain_text("1 source")
    results = page.locator("#results").inner_text()
    assert "Fuel oil complaint" in results and "Geneva signing" not in results
    # htmx swapped the region: the page was not reloaded, and the address records the filter.
    assert page.evaluate("window.__marker") == "same page"
    assert "q=fuel" in page.url


def test_hostile_source_text_runs_nothing(page, study):
    log_in(page, "cora", PASSWORD)
    page.goto(f"/studies/{study.slug}/sources/")
    link = page.get_by_role("link", name="<img src=x onerror=alert(1)>")
    link.click()
    page.wait_for_selector("text=Nothing runs here.")
    assert '<script>alert("boom")</script>' in page.locator(".segments").inner_text()
    # The page fixture fails the test on any dialog or console error.


def test_supervisor_changes_a_role_inline(page, study):
    log_in(page, "sam", PASSWORD)
    page.goto(f"/studies/{study.slug}/members/")
    membership = Membership.objects.get(study=study, user__username="cora")
    page.select_option(f"#role-{membership.pk}", "reader")
    page.evaluate("window.__marker = 'same page'")
    page.locator(f"#role-{membership.pk}").locator("xpath=..").locator("button").click()
    page.wait_for_selector("text=cora is now Reader")
    assert page.evaluate("window.__marker") == "same page"
    membership.refresh_from_db()
    assert membership.role == Role.READER
