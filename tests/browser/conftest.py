"""Chromium driven by Playwright against pytest-django's live server.

Where Chromium is missing the browser tests skip with a message; with
TRUSTCODER_REQUIRE_BROWSER=1 (CI) they fail instead, so CI never passes without them.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest

CHROMIUM = os.environ.get("TRUSTCODER_CHROMIUM", "/usr/bin/chromium")
# Playwright's sync API runs an event loop in this thread; Django's ORM calls made by the test
# itself (fixtures, assertions) are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def _unavailable(reason: str) -> None:
    if os.environ.get("TRUSTCODER_REQUIRE_BROWSER") == "1":
        pytest.fail(f"browser tests are required here but {reason}")
    pytest.skip(f"browser test skipped: {reason}")


@pytest.fixture(scope="session")
def chromium_browser() -> Iterator[object]:
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        _unavailable(f"no Chromium at {CHROMIUM} (install Debian's 'chromium' package)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - playwright is in the dev lock
        _unavailable("the playwright package is not installed")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


class PageProblems:
    """Console errors, page errors and dialogs seen while a test ran."""

    def __init__(self) -> None:
        self.console_errors: list[str] = []
        self.page_errors: list[str] = []
        self.dialogs: list[str] = []


@pytest.fixture
def page(chromium_browser, live_server, transactional_db):
    """A fresh browser page; fails the test on any console error, page error or dialog."""
    context = chromium_browser.new_context(base_url=live_server.url)
    context.set_default_timeout(10_000)
    page = context.new_page()
    problems = PageProblems()
    page.on(
        "console",
        lambda msg: problems.console_errors.append(msg.text) if msg.type == "error" else None,
    )
    page.on("pageerror", lambda exc: problems.page_errors.append(str(exc)))

    def on_dialog(dialog) -> None:
        problems.dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.problems = problems
    yield page
    context.close()
    assert problems.page_errors == []
    assert problems.dialogs == []
    assert problems.console_errors == []


def log_in(page, username: str, password: str) -> None:
    page.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_url("**/")


# Where a code point sits on screen: the run holding it (the last `data-o` at or before it), then
# the UTF-16 index inside the run's text node, then the rectangle of that one character.
_SPAN_POINTS_JS = """([selector, start, end]) => {
  const runs = Array.from(document.querySelectorAll(selector + " [data-o]"));
  function charRect(offset) {
    let run = runs[0];
    for (const r of runs) { if (Number(r.dataset.o) <= offset) run = r; else break; }
    const node = run.firstChild;
    const before = Array.from(node.data).slice(0, offset - Number(run.dataset.o)).join("");
    const ch = Array.from(node.data.slice(before.length))[0];
    const range = document.createRange();
    range.setStart(node, before.length);
    range.setEnd(node, before.length + ch.length);
    const box = range.getClientRects()[0];
    return { left: box.left, right: box.right, middle: (box.top + box.bottom) / 2 };
  }
  const first = charRect(start);
  const last = charRect(end - 1);
  return { x1: first.left + 1, y1: first.middle, x2: last.right - 1, y2: last.middle };
}"""


def span_points(page, selector: str, span: list[int]) -> dict:
    """Screen points at the first and last characters of a code-point span of a rendered text."""
    return page.evaluate(_SPAN_POINTS_JS, [selector, *span])
