"""htmx failures said in the page with the input kept; back after logging in again; the
Passages page with blind coding in a real browser."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from negotiations.models import Assignment, AssignmentStatus, Code, Coding, Role
from negotiations.sources import services as source_services
from negotiations.studies import services as study_services
from tests.browser.conftest import log_in
from tests.browser.test_invitations import screenshot
from tests.factories import PASSWORD, NegotiationFactory, UserFactory

pytestmark = pytest.mark.browser

TEXT = (
    "The United States will deliver heavy fuel oil on schedule. "
    "The reactor freeze stays in place while deliveries continue."
)


@pytest.fixture
def study(transactional_db):
    owner = UserFactory(username="olivia")
    study = study_services.study_create(name="Errors study", slug="errs", created_by=owner)
    for name, role in [("cora", Role.CODER), ("cody", Role.CODER), ("rex", Role.READER)]:
        UserFactory(username=name)
        study_services.membership_add(
            study=study, identifier=name, role=role, actor_role=Role.OWNER
        )
    us = study_services.party_create(study=study, code="US", name="United States")
    negotiation = NegotiationFactory(study=study, name="Agreed Framework")
    negotiation.parties.add(us)
    source = source_services.source_create(
        study=study,
        metadata=source_services.SourceMetadata(
            negotiation=negotiation,
            title="Fuel statement",
            speaker="Spokesperson",
            speaker_party=us,
        ),
        text=TEXT,
        created_by=owner,
    )
    code = Code.objects.get(study=study, name="CAPACITY")
    for username, quote in [("cora", "deliver heavy fuel oil"), ("cody", "reactor freeze")]:
        coder = UserFactory(username=username)
        Assignment.objects.create(source=source, coder=coder)
        start = source.text.index(quote)
        Coding.objects.create(
            source=source,
            coder=coder,
            code=code,
            start=start,
            end=start + len(quote),
            quote=quote,
            stance="for",
            demonstrating_party=us,
        )
    return study, source


def forget_expected_errors(page, *patterns: str) -> None:
    """The browser logs failed requests as console errors; drop the ones this test caused."""
    page.problems.console_errors[:] = [
        e for e in page.problems.console_errors if not any(re.search(p, e) for p in patterns)
    ]


def test_htmx_failures_are_said_in_the_page_and_keep_the_input(page, study):
    study, _source = study
    log_in(page, "rex", PASSWORD)
    page.goto(f"/studies/{study.slug}/sources/")
    search = page.locator("#id_q")

    page.route("**/sources/?*", lambda route: route.fulfill(status=500, body="boom"))
    search.fill("fuel")
    expect(page.locator("#messages")).to_contain_text("The server could not do this (error 500)")
    expect(page.locator("#messages")).to_contain_text("What you typed is still here")
    assert search.input_value() == "fuel"
    page.unroute("**/sources/?*")

    page.route("**/sources/?*", lambda route: route.abort())
    search.fill("fuel oil")
    expect(page.locator("#messages")).to_contain_text("No connection to the server")
    assert search.input_value() == "fuel oil"
    page.unroute("**/sources/?*")
    screenshot(page, "htmx-error.png")

    # The session ends (logged out elsewhere): the page says so and keeps the input.
    page.context.clear_cookies()
    search.fill("fuel oil schedule")
    link = page.locator("#messages a", has_text="Log in again")
    expect(link).to_be_visible()
    assert search.input_value() == "fuel oil schedule"
    assert page.locator("h1").text_content() == "Sources"
    assert "next=%2Fstudies%2Ferrs%2Fsources%2F" in link.get_attribute("href")
    with page.context.expect_page() as new_tab:
        link.click()
    login = new_tab.value
    login.fill("#id_username", "rex")
    login.fill("#id_password", PASSWORD)
    login.click("button[type=submit]")
    login.wait_for_url(re.compile(r"/studies/errs/sources/"))
    expect(login.locator("h1")).to_have_text("Sources")
    login.close()
    # Back in the first tab, trying again now works.
    search.fill("fuel")
    expect(page.locator("#results")).to_contain_text("1 source")
    forget_expected_errors(
        page,
        r"status of (500|401)",
        r"ERR_FAILED",
        r"Response Status Error Code (500|401)",
        r"htmx:",
    )
    assert page.problems.console_errors == [], page.problems.console_errors


def test_passages_hold_blind_coding_until_submitted(page, study):
    study, source = study
    log_in(page, "cora", PASSWORD)
    page.set_viewport_size({"width": 1400, "height": 900})
    page.goto(f"/studies/{study.slug}/passages/")
    expect(page.locator("#passage-count")).to_have_text("1 passage")
    expect(page.locator(".passage mark")).to_have_text(["deliver heavy fuel oil"])
    expect(page.locator(".lead")).to_contain_text("Blind coding is on")
    screenshot(page, "passages-coder.png")

    Assignment.objects.filter(source=source, coder__username="cora").update(
        status=AssignmentStatus.SUBMITTED
    )
    page.reload()
    expect(page.locator("#passage-count")).to_have_text("2 passages")
    # Filtering swaps the results in place.
    page.fill("#id_text", "reactor")
    expect(page.locator("#passage-count")).to_have_text("1 passage")
    expect(page.locator(".passage mark")).to_have_text(["reactor freeze"])
    assert "text=reactor" in page.url
    # The link goes to the passage on the coding page.
    page.locator(".passage-source a").click()
    expect(page.locator("#text")).to_be_visible()
    assert re.search(r"/sources/\d+/code/\?layer=\d+#coding-\d+$", page.url)


def test_passages_page_at_narrow_widths(page, study):
    study, _source = study
    log_in(page, "rex", PASSWORD)
    for width in (800, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"/studies/{study.slug}/passages/")
        scroll, client = page.evaluate(
            "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        )
        assert scroll <= client
        screenshot(page, f"passages-{width}.png")
    # The navigation folds behind Menu at 390 px.
    menu = page.locator("button.nav-toggle")
    expect(menu).to_be_visible()
    expect(page.locator("#study-nav a", has_text="Passages")).to_be_hidden()
    menu.click()
    expect(page.locator("#study-nav a", has_text="Passages")).to_be_visible()
    assert menu.get_attribute("aria-expanded") == "true"
