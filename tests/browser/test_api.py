"""The API's docs page (vendored Swagger UI under the strict CSP) and the account page's tokens
in a real browser."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from negotiations.studies import services as study_services
from tests.browser.conftest import log_in
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.browser


@pytest.fixture
def reader():
    owner = UserFactory(username="olivia")
    study_services.study_create(name="Browser study", slug="browser", created_by=owner)
    return owner


def test_docs_page_renders_from_vendored_files_under_the_csp(page, reader):
    log_in(page, "olivia", PASSWORD)
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto("/api/v1/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("TrustCoder API")
    expect(page.locator(".opblock-summary-path").first).to_be_visible()
    assert all(url.startswith(page.url.split("/api/")[0]) for url in requested)
    # The session works from the browser, as the docs' "Try it out" uses it.
    answer = page.evaluate(
        "async () => { const r = await fetch('/api/v1/studies');"
        " return [r.status, await r.json()]; }"
    )
    assert answer[0] == 200 and answer[1][0]["slug"] == "browser"


def test_token_is_created_shown_once_and_revoked(page, reader):
    log_in(page, "olivia", PASSWORD)
    page.goto("/account/api-tokens/")
    page.fill("#id_name", "R on my laptop")
    page.click("text=Create token")
    secret = page.locator("#new-token").inner_text()
    assert secret.startswith("tc_")
    answer = page.evaluate(
        """async (secret) => {
            const r = await fetch('/api/v1/studies', {
                credentials: 'omit', headers: {Authorization: 'Bearer ' + secret}});
            return r.status;
        }""",
        secret,
    )
    assert answer == 200
    page.reload()
    expect(page.locator("#new-token")).to_have_count(0)
    page.click("text=Revoke")
    expect(page.locator("#tokens")).to_contain_text("revoked")
    answer = page.evaluate(
        """async (secret) => {
            const r = await fetch('/api/v1/studies', {
                credentials: 'omit', headers: {Authorization: 'Bearer ' + secret}});
            return r.status;
        }""",
        secret,
    )
    assert answer == 401
    # The browser logs the refused request; that 401 is what this test expects.
    page.problems.console_errors[:] = [e for e in page.problems.console_errors if "401" not in e]
