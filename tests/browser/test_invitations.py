"""From an invitation link to the first coding saved, in a real browser, timed."""

from __future__ import annotations

import os
import time

import pytest
from playwright.sync_api import expect

from negotiations.coding import assignments as assignment_services
from negotiations.models import Coding, Membership, Role
from negotiations.sources import services as source_services
from negotiations.studies import services as study_services
from tests.browser.conftest import log_in, span_points
from tests.factories import PASSWORD, NegotiationFactory, UserFactory

pytestmark = pytest.mark.browser

STATEMENT = (
    "The United States will deliver heavy fuel oil on schedule. "
    "The reactor freeze stays in place while deliveries continue."
)


def screenshot(page, name: str) -> None:
    """Saved only where TRUSTCODER_SCREENSHOTS names a folder, for looking at the pages."""
    folder = os.environ.get("TRUSTCODER_SCREENSHOTS")
    if folder:
        page.screenshot(path=os.path.join(folder, name), full_page=True)


@pytest.fixture
def study(transactional_db):
    owner = UserFactory(username="olivia")
    study = study_services.study_create(name="Invitation study", slug="invited", created_by=owner)
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
        text=STATEMENT,
        created_by=owner,
    )
    return study, owner, source


def test_from_invitation_link_to_first_coding_saved(page, chromium_browser, live_server, study):
    study, owner, source = study
    # The owner makes the invitation on the members page and copies its link.
    log_in(page, "olivia", PASSWORD)
    page.goto(f"/studies/{study.slug}/members/")
    page.select_option("#invite_role", "coder")
    page.click("#invite-form button[type=submit]")
    link = page.input_value("#invitation-link")
    assert link.startswith(live_server.url + "/invitations/")
    screenshot(page, "members-invitation.png")

    # The newcomer, in a browser of their own.
    context = chromium_browser.new_context(viewport={"width": 1400, "height": 900})
    newcomer = context.new_page()
    errors: list[str] = []
    newcomer.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    steps: list[tuple[str, float]] = []
    started = time.monotonic()

    def step(name: str) -> None:
        steps.append((name, round(time.monotonic() - started, 2)))

    newcomer.goto(link)  # 1. open the link
    expect(newcomer.locator("h1")).to_have_text("Join Invitation study")
    screenshot(newcomer, "invitation-signup.png")
    step("open the invitation link")
    newcomer.fill("#id_username", "nadia")  # 2. make the account
    newcomer.fill("#id_full_name", "Nadia Park")
    newcomer.fill("#id_password1", "quiet harbour lantern")
    newcomer.fill("#id_password2", "quiet harbour lantern")
    newcomer.click("button[type=submit]")
    expect(newcomer.locator("h1")).to_have_text("My work")
    expect(newcomer.locator("#messages")).to_contain_text("Welcome to Invitation study")
    step("create the account and join (lands on My work)")
    assert Membership.objects.get(user__username="nadia").role == Role.CODER

    # The supervisor assigns the source to the new coder (not part of the newcomer's steps).
    assign_started = time.monotonic()
    assignment_services.assignment_create(
        source=source, coder=Membership.objects.get(user__username="nadia").user, assigned_by=owner
    )
    started += time.monotonic() - assign_started

    newcomer.reload()  # 3. open the assigned source
    newcomer.click(f"a[href='/studies/{study.slug}/sources/{source.pk}/code/']")
    expect(newcomer.locator("#text")).to_be_visible()
    step("open the assigned source on My work")
    quote = "deliver heavy fuel oil"  # 4. select a passage, pick the code, save
    start = source.text.index(quote)
    points = span_points(newcomer, "#text", [start, start + len(quote)])
    newcomer.mouse.move(points["x1"], points["y1"])
    newcomer.mouse.down()
    newcomer.mouse.move(points["x2"], points["y2"], steps=6)
    newcomer.mouse.up()
    newcomer.locator("#coding-form label.code-choice", has_text="CAPACITY").click()
    newcomer.click("#save-coding")
    expect(newcomer.locator("#messages")).to_contain_text("Saved CAPACITY")
    step("select a passage, choose CAPACITY and save")

    coding = Coding.objects.get(source=source)
    assert coding.coder.username == "nadia"
    assert coding.quote == quote
    assert errors == []
    print("invitation to first coding:", steps)
    assert steps[-1][1] < 30
    # The link is used up: a second person gets the explanation, not a form.
    other = context.new_page()
    context.clear_cookies()
    other.goto(link)
    expect(other.locator(".message.error")).to_contain_text("used already")
    context.close()
