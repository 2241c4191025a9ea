"""Review in a real browser: settle with the keyboard, reopen, write a consensus coding over a
span selected with the mouse."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from negotiations.coding import assignments as assignment_services
from negotiations.coding import services as coding_services
from negotiations.consensus import services as consensus_services
from negotiations.models import (
    Assignment,
    Code,
    ConsensusCoding,
    ConsensusStatus,
    ConsensusUnit,
    Role,
)
from negotiations.studies import services as study_services
from tests.browser.conftest import log_in, span_points
from tests.factories import PASSWORD, NegotiationFactory, PartyFactory, SourceFactory, UserFactory

pytestmark = pytest.mark.browser

TEXT = "Kim said 🙂 the freeze held for a year. The envoy promised fuel. Talks ended in March."


@pytest.fixture
def disputed():
    owner = UserFactory(username="olivia")
    study = study_services.study_create(name="Review study", slug="review", created_by=owner)
    for name, role in [("sam", Role.SUPERVISOR), ("cora", Role.CODER), ("cody", Role.CODER)]:
        UserFactory(username=name)
        study_services.membership_add(
            study=study, identifier=name, role=role, actor_role=Role.OWNER
        )
    us = PartyFactory(study=study, code="US")
    negotiation = NegotiationFactory(study=study)
    negotiation.parties.add(us)
    source = SourceFactory(study=study, negotiation=negotiation, text=TEXT)
    zopa = Code.objects.get(study=study, name="ZOPA")
    for username, stance in (("cora", "for"), ("cody", "against")):
        coder = study.members.get(username=username)
        assignment_services.assignment_create(source=source, coder=coder, assigned_by=owner)
        passage = "the freeze held for a year."
        start = TEXT.index(passage)
        coding_services.coding_create(
            source=source,
            coder=coder,
            code=zopa,
            start=start,
            end=start + len(passage),
            quote=passage,
            stance=stance,
            demonstrating_party=us,
        )
    for assignment in Assignment.objects.filter(source=source):
        assignment_services.assignment_submit(assignment=assignment)
    consensus_services.consensus_sync(study=study)
    unit = ConsensusUnit.objects.get(unanimous=False)
    return {"study": study, "unit": unit, "zopa": zopa, "us": us, "source": source}


def test_settle_with_the_keyboard_then_reopen(page, disputed):
    unit = disputed["unit"]
    log_in(page, "sam", PASSWORD)
    page.goto(f"/studies/review/review/{unit.pk}/")
    lanes = page.locator(".lane h3").all_inner_texts()
    first_coder = lanes[0].split(".")[1].split()[0]  # lanes are numbered in the order of the keys
    page.keyboard.press("1")
    expect(page.locator(".messages")).to_contain_text("Settled.")
    unit.refresh_from_db()
    assert unit.status == ConsensusStatus.SETTLED
    assert unit.chosen_coder.username == first_coder
    assert ConsensusCoding.objects.filter(unit=unit).count() == 1
    page.wait_for_load_state("load")  # the keys work once review.js has run
    page.keyboard.press("r")
    expect(page.locator(".messages")).to_contain_text("Reopened.")
    unit.refresh_from_db()
    assert unit.status == ConsensusStatus.OPEN
    assert not ConsensusCoding.objects.filter(unit=unit).exists()


def test_accepting_none_needs_a_rationale(page, disputed):
    unit = disputed["unit"]
    log_in(page, "sam", PASSWORD)
    page.goto(f"/studies/review/review/{unit.pk}/")
    page.fill("input[name=rationale]", "Neither: the freeze is reported, not promised.")
    page.click("[data-accept='0']")
    expect(page.locator(".messages")).to_contain_text("Settled.")
    unit.refresh_from_db()
    assert unit.decision == "none" and unit.rationale.startswith("Neither")


def test_custom_consensus_coding_over_a_selected_span(page, disputed):
    unit = disputed["unit"]
    log_in(page, "sam", PASSWORD)
    page.goto(f"/studies/review/review/{unit.pk}/")
    passage = "freeze held"
    start = TEXT.index(passage)  # after an emoji: code points, not UTF-16 units
    box = span_points(page, "#review-text", [start, start + len(passage)])
    page.mouse.move(box["x1"], box["y1"])
    page.mouse.down()
    page.mouse.move(box["x2"], box["y2"], steps=5)
    page.mouse.up()
    expect(page.locator("#custom-preview")).to_contain_text(f"[{start}:{start + len(passage)}]")
    page.select_option("#custom-form select[name=stance]", "against")
    page.fill("#custom-form textarea[name=rationale]", "The freeze, not the year, is the evidence.")
    page.click("#custom-form button[type=submit]")
    expect(page.locator(".messages")).to_contain_text("Settled.")
    coding = ConsensusCoding.objects.get(unit=unit)
    assert (coding.start, coding.end, coding.quote) == (start, start + len(passage), passage)
    assert coding.stance == "against"
    expect(page.locator("#review-text .hl")).to_have_text(passage)
