"""Assignments in a real browser: the filter's count follows the filter (htmx), and a supervisor
unassigns a coder after seeing what goes."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from negotiations.coding import assignments as assignment_services
from negotiations.coding import services as coding_services
from negotiations.models import Assignment, Code, Coding, Role
from negotiations.studies import services as study_services
from tests.browser.conftest import log_in
from tests.factories import PASSWORD, NegotiationFactory, PartyFactory, SourceFactory, UserFactory

pytestmark = pytest.mark.browser


@pytest.fixture
def study():
    owner = UserFactory(username="olivia")
    study = study_services.study_create(name="Assign study", slug="assign", created_by=owner)
    for name, role in [("sam", Role.SUPERVISOR), ("cora", Role.CODER)]:
        UserFactory(username=name)
        study_services.membership_add(
            study=study, identifier=name, role=role, actor_role=Role.OWNER
        )
    party = PartyFactory(study=study, code="US")
    geneva = NegotiationFactory(study=study, name="Agreed Framework")
    beijing = NegotiationFactory(study=study, name="Six-Party Talks")
    geneva.parties.add(party)
    source = SourceFactory(study=study, negotiation=geneva, title="Geneva statement")
    for n in range(3):
        SourceFactory(study=study, negotiation=beijing, title=f"Beijing {n}")
    cora = study.members.get(username="cora")
    assignment_services.assignment_create(source=source, coder=cora, assigned_by=owner)
    coding_services.coding_create(
        source=source,
        coder=cora,
        code=Code.objects.get(study=study, name="ZOPA"),
        start=0,
        end=9,
        quote=source.text[:9],
        stance="for",
        demonstrating_party=party,
    )
    return {"study": study, "geneva": geneva, "source": source, "cora": cora}


def test_count_follows_the_filter_and_unassign_after_confirmation(page, study):
    log_in(page, "sam", PASSWORD)
    page.goto("/studies/assign/assignments/")
    count = page.locator("#match-count")
    expect(count).to_contain_text("matches 4 sources")
    page.select_option("#id_negotiation", str(study["geneva"].pk))
    expect(count).to_contain_text("matches 1 source.")
    page.fill("#id_q", "Beijing")
    expect(count).to_contain_text("matches 0 sources")
    # The page is still the whole page: htmx replaced the count only.
    expect(page.locator("h1")).to_have_text("Assignments")

    row = page.locator("table.assignments-by-source tr", has_text="Geneva statement")
    expect(row).to_contain_text("cora · In progress · 1 coding")
    row.get_by_role("link", name="Unassign…").click()
    expect(page.locator("h1")).to_contain_text("Unassign cora")
    expect(page.locator("table.unassign-codings tbody tr")).to_have_count(1)
    page.check("#id_confirm")
    page.get_by_role("button", name="Unassign").click()
    expect(page.locator(".message")).to_contain_text("1 coding deleted")
    assert not Assignment.objects.filter(coder=study["cora"]).exists()
    assert not Coding.objects.exists()
