"""The browser console stays clean: every kind of page, for each role, with the demo data, and
a few htmx swaps on them, give no console error or warning, no page error, no Content Security
Policy violation and no failed request (a missing favicon or static file, a 4xx or 5xx)."""

from __future__ import annotations

import pytest

from negotiations.demo import demo_password, load_demo
from tests.browser.conftest import log_in
from tests.browser.test_any_screen import pages_for

pytestmark = pytest.mark.browser

# Run before any script of each page (through the browser's debugging protocol, so the strict
# CSP does not stop it): CSP violations and htmx's error events become console errors.
_WATCH_JS = """
document.addEventListener("securitypolicyviolation", (e) => {
  console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || "inline"} `
    + `at ${e.sourceFile}:${e.lineNumber}`);
});
for (const name of ["htmx:responseError", "htmx:sendError", "htmx:swapError",
                    "htmx:targetError", "htmx:onLoadError", "htmx:historyCacheError"]) {
  document.addEventListener(name, (e) => console.error(`${name} ${e.detail && e.detail.pathInfo
    ? e.detail.pathInfo.requestPath : ""}`));
}
"""


class Watch:
    """What went wrong in the browser, and how many htmx responses were swapped in."""

    def __init__(self, page) -> None:
        self.problems: list[str] = []
        self.swaps = 0
        self.url = ""
        page.context.add_init_script(_WATCH_JS)
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.problems.append(f"{self.url}: page error {exc}"))
        page.on("requestfailed", self._failed)
        page.on("response", self._response)

    def _failed(self, request) -> None:
        # A request the browser dropped because the page went on to the next one (net::ERR_ABORTED,
        # a favicon still loading when the test navigates) is no failure of the app; every other
        # one is.
        if "ERR_ABORTED" in (request.failure or ""):
            return
        self.problems.append(f"{self.url}: request failed {request.url} ({request.failure})")

    def _console(self, message) -> None:
        if message.type in ("error", "warning", "assert"):
            where = message.location.get("url", "")
            self.problems.append(f"{self.url}: console {message.type}: {message.text} {where}")

    def _response(self, response) -> None:
        if response.status >= 400:
            self.problems.append(f"{self.url}: {response.status} for {response.url}")
        if response.request.headers.get("hx-request") == "true":
            self.swaps += 1


def htmx_response(page):
    return page.expect_response(lambda r: r.request.headers.get("hx-request") == "true")


def filter_by_first_choice(page, form: str) -> None:
    """Choose the second option of the first select of a filter form: htmx swaps the results."""
    select = page.locator(f"{form} select").first
    with htmx_response(page) as response:
        select.select_option(index=1)
    assert response.value.status == 200
    page.wait_for_load_state("networkidle")


@pytest.fixture
def demo(transactional_db):
    load_demo()


@pytest.mark.parametrize("role", ["owner", "supervisor", "coder1", "reader"])
def test_the_console_stays_clean_on_every_page_and_swap(page, demo, role):
    watch = Watch(page)
    watch.url = "log in"
    log_in(page, role, demo_password(role))
    s = "/studies/demo/"
    urls = [
        *pages_for(role),
        "/account/api-tokens/",
        "/accounts/password_change/",
        "/api/v1/docs",
        s + "jobs/",
        s + "numbers/",
    ]
    if role in ("owner", "supervisor"):
        urls += [s + "reliability/?compute=1"]
    if role != "coder1":
        # Before anything has cached the report, the page computes it by an htmx request.
        watch.url = "reliability computed on load"
        with htmx_response(page):
            page.goto(s + "reliability/")
        page.wait_for_selector(".reliability")
    for url in urls:
        watch.url = url
        assert page.goto(url).status == 200, url
        page.wait_for_load_state("networkidle")

    watch.url = "sources, filtered"
    page.goto(s + "sources/")
    filter_by_first_choice(page, "form.filters")
    watch.url = "passages, filtered"
    page.goto(s + "passages/")
    filter_by_first_choice(page, "#passage-filters")
    watch.url = "API token created"
    page.goto("/account/api-tokens/")
    page.fill("#id_name", f"console check {role}")
    with htmx_response(page):
        page.click("text=Create token")
    page.wait_for_selector("#new-token")
    if role in ("owner", "supervisor"):
        watch.url = "review queue, filtered"
        page.goto(s + "review/")
        filter_by_first_choice(page, "form.filters")
        watch.url = "code set switched off and on"
        page.goto(s + "codebook/")
        for _ in range(2):
            with htmx_response(page):
                page.locator("#code-sets form button").first.click()
            page.wait_for_load_state("networkidle")
    assert watch.swaps >= (3 if role == "coder1" else 6 if role in ("owner", "supervisor") else 4)
    assert watch.problems == [], "\n".join(watch.problems)
