"""Legible overlaps and the coding page's behaviour in a real browser (issue 12): coding stripes,
the overview bar, a saved coding's span changed from the keyboard, feedback that moves nothing,
no carry-over, asking before leaving, the layer chooser without a button, the save button in
view at 800 and 1400 px, and the page's weight at 2,000 codings."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from negotiations.models import Coding
from tests.browser import test_coding
from tests.browser.conftest import log_in
from tests.browser.test_coding import (
    STATEMENT,
    assert_same_page,
    coding_url,
    drag_select,
    mark_page,
    painted,
    settled,
    wait_painted,
)
from tests.factories import PASSWORD

world = test_coding.world  # the fixture: a study, its coders, parties and a negotiation

pytestmark = pytest.mark.browser

# The stripes as drawn: each path's column, classes and rectangles (x, top, bottom) in SVG units,
# and the vertical extent of each coding's text measured against the same SVG.
_STRIPES_JS = """() => {
  const svg = document.getElementById("stripes");
  const paths = Array.from(svg.querySelectorAll("path.stripe")).map((p) => {
    const rects = [];
    for (const m of p.getAttribute("d").matchAll(/M([\\d.]+) ([\\d.]+)h[\\d.]+v([\\d.]+)/g)) {
      rects.push({ x: Number(m[1]), top: Number(m[2]), bottom: Number(m[2]) + Number(m[3]) });
    }
    return { cls: p.getAttribute("class"), column: p.dataset.column, rects };
  });
  const labels = Array.from(svg.querySelectorAll("text.initials"), (t) => t.textContent);
  const width = Number(svg.getAttribute("width"));
  return { paths, labels, children: svg.childElementCount, width };
}"""


def stripes(page: Page) -> dict:
    return page.evaluate(_STRIPES_JS)


def wait_stripes(page: Page, n_rects: int) -> dict:
    page.wait_for_function(
        """(n) => {
          const svg = document.getElementById("stripes");
          let count = 0;
          for (const p of svg.querySelectorAll("path.stripe")) {
            count += (p.getAttribute("d").match(/M/g) || []).length;
          }
          return count === n;
        }""",
        arg=n_rects,
    )
    return stripes(page)


def text_extent(page: Page, quote: str) -> dict:
    """Top and bottom of a passage's lines, measured from the top of the stripes."""
    return page.evaluate(
        """(quote) => {
          const root = document.getElementById("text");
          const at = root.textContent.indexOf(quote);
          const start = Array.from(root.textContent.slice(0, at)).length;
          const end = start + Array.from(quote).length;
          const range = window.TrustCoderOffsets.range(root, start, end);
          const box = range.getBoundingClientRect();
          const base = document.getElementById("stripes").getBoundingClientRect().top;
          return { top: box.top - base, bottom: box.bottom - base };
        }""",
        quote,
    )


# 1. Coding stripes ------------------------------------------------------------------------------


def test_stripes_show_nested_and_overlapping_codings_and_list_them_on_click(page, world):
    source = world.source(STATEMENT * 3)
    outer = world.coding(source, "deliver heavy fuel oil on schedule")
    inner = world.coding(source, "heavy fuel oil", stance="against")
    other = world.coding(source, "The reactor freeze", code=world.code("ZOPA"))
    capacity, zopa = world.code("CAPACITY").pk, world.code("ZOPA").pk
    log_in(page, "cora", PASSWORD)
    page.goto(coding_url(source))
    drawn = wait_stripes(page, 3)

    by_class = {p["cls"]: p for p in drawn["paths"]}
    assert set(by_class) == {
        f"stripe code-{capacity}",
        f"stripe code-{capacity} against",
        f"stripe code-{zopa}",
    }
    outer_rect = by_class[f"stripe code-{capacity}"]["rects"][0]
    inner_rect = by_class[f"stripe code-{capacity} against"]["rects"][0]
    zopa_rect = by_class[f"stripe code-{zopa}"]["rects"][0]
    # Nested codings of one code: one column, two lanes side by side, each beside its own text.
    assert by_class[f"stripe code-{capacity}"]["column"] == str(capacity)
    assert inner_rect["x"] - outer_rect["x"] >= 3  # a lane of its own, not drawn over
    # Another code, another column.
    assert by_class[f"stripe code-{zopa}"]["column"] == str(zopa)
    assert not outer_rect["x"] - 2 < zopa_rect["x"] < inner_rect["x"] + 4
    for rect, coding in [(outer_rect, outer), (inner_rect, inner), (zopa_rect, other)]:
        extent = text_extent(page, coding.quote)
        assert abs(rect["top"] - extent["top"]) < 1.5
        assert abs(rect["bottom"] - extent["bottom"]) < 1.5
    # No element per coding in the HTML the server sent; a handful of paths in the SVG.
    assert drawn["children"] == 3

    # A click on the column where both CAPACITY codings run lists the two of them.
    box = page.locator("#stripes").bounding_box()
    page.mouse.click(box["x"] + outer_rect["x"] + 1, box["y"] + inner_rect["top"] + 2)
    listed = page.locator("#stripe-list button")
    expect(listed).to_have_count(2)
    expect(listed.first).to_contain_text("CAPACITY")
    expect(page.locator(f"#coding-{outer.pk}")).to_have_class(re.compile(r"\bfocus\b"))
    expect(page.locator(f"#coding-{inner.pk}")).to_have_class(re.compile(r"\bfocus\b"))
    expect(page.locator(f"#coding-{other.pk}")).not_to_have_class(re.compile(r"\bfocus\b"))
    # Choosing one from the list makes it the coding the arrows change.
    listed.nth(1).click()
    expect(page.locator("#stripe-list")).to_be_hidden()
    expect(page.locator("#text")).to_have_attribute("data-chosen", str(inner.pk))


def test_stripes_follow_a_save_and_a_narrower_window(page, world):
    source = world.source(STATEMENT * 4)
    world.coding(source, "The reactor freeze stays in place while deliveries continue.")
    log_in(page, "cora", PASSWORD)
    page.set_viewport_size({"width": 1400, "height": 900})
    page.goto(coding_url(source))
    wait_stripes(page, 1)
    page.keyboard.press("j")
    page.keyboard.press("1")  # ZOPA: a column of its own
    with settled(page):
        page.keyboard.press("Enter")
    drawn = wait_stripes(page, 2)
    assert len({p["column"] for p in drawn["paths"]}) == 2
    # Narrower: the lines wrap anew and the stripes are measured again.
    quote = "The reactor freeze stays in place while deliveries continue."
    wide = text_extent(page, quote)
    page.set_viewport_size({"width": 520, "height": 900})
    narrow = text_extent(page, quote)
    assert narrow != wide

    def beside_the_text() -> bool:
        rects = [r for p in stripes(page)["paths"] for r in p["rects"]]
        return any(
            abs(r["top"] - narrow["top"]) < 1.5 and abs(r["bottom"] - narrow["bottom"]) < 1.5
            for r in rects
        )

    for _ in range(50):
        if beside_the_text():
            break
        page.wait_for_timeout(20)
    assert beside_the_text()


def test_all_coders_overlaid_get_a_column_each_with_their_initials(page, world):
    source = world.source(STATEMENT, coders=(world.coder2,))
    world.coding(source, "heavy fuel oil", coder=world.coder)
    world.coding(source, "heavy fuel oil", coder=world.coder2)
    log_in(page, "sam", PASSWORD)
    page.goto(coding_url(source, "?layer=all"))
    drawn = wait_stripes(page, 2)
    columns = {p["column"] for p in drawn["paths"]}
    assert columns == {
        f"{world.coder.pk}:{world.code('CAPACITY').pk}",
        f"{world.coder2.pk}:{world.code('CAPACITY').pk}",
    }
    xs = sorted(p["rects"][0]["x"] for p in drawn["paths"])
    assert xs[1] > xs[0] + 4
    # cora and cody: the shortest beginnings that tell them apart.
    assert sorted(drawn["labels"]) == ["COD", "COR"]
    # One coder's layer: one column, labelled with that coder.
    page.locator("#layer").select_option(str(world.coder2.pk))
    drawn = wait_stripes(page, 1)
    assert drawn["labels"] == ["CO"]


# 2. The overview ---------------------------------------------------------------------------------


def test_the_overview_shows_where_the_codings_are_and_scrolls_there(page, world):
    filler = "Nothing of note was said in this part of the meeting at all. " * 120
    source = world.source(filler + "The reactor freeze stays in place. " + filler)
    coding = world.coding(source, "The reactor freeze stays in place.")
    log_in(page, "cora", PASSWORD)
    page.set_viewport_size({"width": 1400, "height": 700})
    page.goto(coding_url(source))
    wait_stripes(page, 1)
    bar = page.locator("#overview")
    expect(bar.locator(f"path.mark.code-{coding.code_id}")).to_have_count(1)
    d = bar.locator("path.mark").get_attribute("d")
    top, height = (float(v) for v in re.match(r"M[\d.]+ ([\d.]+)h[\d.]+v([\d.]+)", d).groups())
    box = bar.bounding_box()
    # The bar spans the window at its right edge; the mark sits about half-way down.
    assert box["height"] == 700 and box["x"] + box["width"] == 1400
    assert 0.3 < top / box["height"] < 0.7
    assert page.evaluate("window.scrollY") == 0

    page.mouse.click(box["x"] + 6, box["y"] + top + height / 2)
    page.wait_for_function("window.scrollY > 0")
    passage = page.evaluate(
        """() => {
          const rows = JSON.parse(document.getElementById("codings-data").textContent).codings;
          const root = document.getElementById("text");
          const r = window.TrustCoderOffsets.range(root, rows[0][1], rows[0][2]);
          const b = r.getBoundingClientRect();
          return { top: b.top, bottom: b.bottom };
        }"""
    )
    assert passage["top"] >= 0
    assert passage["bottom"] <= 700
    # The part of the text in view is drawn on the bar too.
    view = bar.locator("rect.view")
    page.wait_for_function(
        "() => Number(document.querySelector('#overview rect.view').getAttribute('y')) > 100"
    )
    assert float(view.get_attribute("height")) < box["height"]


# 3. A saved coding's span from the keyboard ------------------------------------------------------


def click_in(page: Page, quote: str, *, last: bool = False) -> None:
    """A click on the middle of the first character of `quote` (its last occurrence with
    `last`) in the text."""
    point = page.evaluate(
        """([quote, last]) => {
          const root = document.getElementById("text");
          const text = root.textContent;
          const before = text.slice(0, last ? text.lastIndexOf(quote) : text.indexOf(quote));
          const start = Array.from(before).length;
          const b = window.TrustCoderOffsets.range(root, start, start + 1).getBoundingClientRect();
          return { x: (b.left + b.right) / 2, y: (b.top + b.bottom) / 2 };
        }""",
        [quote, last],
    )
    page.mouse.click(point["x"], point["y"])


def test_shift_alt_arrows_change_the_chosen_codings_span(page, world):
    source = world.source(STATEMENT)
    coding = world.coding(source, "heavy fuel oil", memo="kept", strength="hoop")
    log_in(page, "cora", PASSWORD)
    page.goto(coding_url(source))
    wait_painted(page, 1)
    mark_page(page)
    click_in(page, "fuel")
    expect(page.locator("#text")).to_have_attribute("data-chosen", str(coding.pk))

    # Two steps before the change is sent: one request with the end two words later.
    page.keyboard.press("Shift+Alt+ArrowRight")
    page.keyboard.press("Shift+Alt+ArrowRight")
    with settled(page):
        pass
    expect(page.locator("#save-note")).to_contain_text("Span changed")
    coding.refresh_from_db()
    assert coding.quote == "heavy fuel oil on schedule"
    assert coding.quote == source.text[coding.start : coding.end]
    # The start a word earlier, then the end a word earlier.
    with settled(page):
        page.keyboard.press("Shift+Alt+ArrowUp")
    with settled(page):
        page.keyboard.press("Shift+Alt+ArrowLeft")
    coding.refresh_from_db()
    assert coding.quote == "deliver heavy fuel oil on"
    assert (coding.memo, coding.strength, coding.code.name) == ("kept", "hoop", "CAPACITY")
    spans = [(p["start"], p["end"]) for p in painted(page) if p["name"] != "coding-chosen"]
    assert spans == [(coding.start, coding.end)]
    expect(page.locator(f"#coding-{coding.pk} blockquote")).to_have_text(coding.quote)
    assert_same_page(page)
    assert Coding.objects.count() == 1


def test_a_span_cannot_shrink_to_nothing_and_others_codings_cannot_be_chosen(page, world):
    source = world.source(STATEMENT, coders=(world.coder2,))
    coding = world.coding(source, "fuel")
    log_in(page, "cora", PASSWORD)
    page.goto(coding_url(source))
    wait_painted(page, 1)
    click_in(page, "fuel")
    expect(page.locator("#text")).to_have_attribute("data-chosen", str(coding.pk))
    page.keyboard.press("Shift+Alt+ArrowLeft")  # would leave nothing: no step, no request
    page.wait_for_timeout(600)
    coding.refresh_from_db()
    assert coding.quote == "fuel"
    assert page.evaluate("performance.getEntriesByName('coding-save-shown').length") == 0

    # The supervisor sees the coding but cannot change it.
    page.context.clear_cookies()
    log_in(page, "sam", PASSWORD)
    page.goto(coding_url(source, "?layer=all"))
    wait_painted(page, 1)
    click_in(page, "fuel")
    expect(page.locator("#text")).to_have_attribute("data-chosen", "")
    page.keyboard.press("Shift+Alt+ArrowRight")
    page.wait_for_timeout(600)
    coding.refresh_from_db()
    assert coding.quote == "fuel"


def char_point(page: Page, quote: str, *, after: str = "") -> dict:
    """The middle of the last character of `quote`, first found after `after`, in the text."""
    return page.evaluate(
        """([quote, after]) => {
          const root = document.getElementById("text");
          const text = root.textContent;
          const at = text.indexOf(quote, text.indexOf(after) + after.length);
          const last = Array.from(text.slice(0, at + quote.length)).length - 1;
          const b = window.TrustCoderOffsets.range(root, last, last + 1).getBoundingClientRect();
          return { x: (b.left + b.right) / 2, y: (b.top + b.bottom) / 2 };
        }""",
        [quote, after],
    )


def drag_handle(page: Page, which: str, to: dict, steps: int = 6) -> None:
    """Drag the chosen coding's start or end handle to a point with real mouse events."""
    box = page.locator(f"#span-{which}").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(to["x"], to["y"], steps=steps)
    page.mouse.up()


def test_dragging_a_handle_changes_the_span_and_the_server_still_checks_it(page, world):
    source = world.source(STATEMENT)
    coding = world.coding(source, "heavy fuel oil", memo="kept", strength="hoop")
    # The same coder, code, stance and party on a longer span: the drag may not end there.
    world.coding(source, "heavy fuel oil on schedule")
    log_in(page, "cora", PASSWORD)
    page.goto(coding_url(source))
    wait_painted(page, 2)
    mark_page(page)
    start_handle, end_handle = page.locator("#span-start"), page.locator("#span-end")
    expect(end_handle).to_be_hidden()
    click_in(page, "fuel")
    expect(page.locator("#text")).to_have_attribute("data-chosen", str(coding.pk))
    expect(start_handle).to_be_visible()
    expect(end_handle).to_be_visible()
    expect(end_handle).to_have_attribute("aria-label", re.compile("^End of the chosen coding"))
    # The end handle stands at the end of "oil", the start handle at the start of "heavy".
    oil = char_point(page, "oil")
    box = end_handle.bounding_box()
    assert abs(box["x"] + box["width"] / 2 - oil["x"]) < 12
    assert box["y"] <= oil["y"] <= box["y"] + box["height"]

    # Dropped inside "on" (its last letter): the end snaps to the end of the word.
    with settled(page):
        drag_handle(page, "end", char_point(page, "on", after="oil"))
    expect(page.locator("#save-note")).to_contain_text("Span changed")
    coding.refresh_from_db()
    assert coding.quote == "heavy fuel oil on"
    assert coding.quote == source.text[coding.start : coding.end]
    assert (coding.memo, coding.strength, coding.code.name) == ("kept", "hoop", "CAPACITY")
    moved = end_handle.bounding_box()
    assert moved["x"] > box["x"]
    expect(page.locator(f"#coding-{coding.pk} blockquote")).to_have_text(coding.quote)

    # Onto the end of the other coding's span: the server refuses the duplicate, as it refuses a
    # new coding, and the span stays as saved.
    with settled(page):
        drag_handle(page, "end", char_point(page, "schedule"))
    expect(page.locator("#save-note")).to_contain_text("Span not changed")
    expect(page.locator("#messages")).not_to_be_empty()
    coding.refresh_from_db()
    assert coding.quote == "heavy fuel oil on"
    chosen = [p for p in painted(page) if p["name"] == "coding-chosen"]
    assert [(p["start"], p["end"]) for p in chosen] == [(coding.start, coding.end)]
    # Chromium logs every 4xx response on the console; this one is the expected refusal.
    refused = "Failed to load resource: the server responded with a status of 422"
    assert [e for e in page.problems.console_errors if e.startswith(refused)] != []
    page.problems.console_errors[:] = [
        e for e in page.problems.console_errors if not e.startswith(refused)
    ]

    # The start handle, dragged a word earlier, onto "deliver".
    with settled(page):
        drag_handle(page, "start", char_point(page, "deliver"))
    coding.refresh_from_db()
    assert coding.quote == "deliver heavy fuel oil on"

    # The end at once past the start: a span of nothing is not offered, and nothing is sent.
    shown = "performance.getEntriesByName('coding-save-shown').length"
    before = page.evaluate(shown)
    drag_handle(page, "end", char_point(page, "United"), steps=1)
    page.wait_for_timeout(600)
    assert page.evaluate(shown) == before
    coding.refresh_from_db()
    assert coding.quote == "deliver heavy fuel oil on"
    # Dragged there through the words between, the span stops at its first word.
    with settled(page):
        drag_handle(page, "end", char_point(page, "United"), steps=12)
    coding.refresh_from_db()
    assert coding.quote == "deliver"
    assert Coding.objects.count() == 2
    assert_same_page(page)


def test_no_handles_on_other_coders_codings_nor_for_a_reader_who_cannot_code(page, world):
    world.study.blind_coding = False  # cora sees cody's codings while she codes
    world.study.save(update_fields=["blind_coding"])
    source = world.source(STATEMENT, coders=(world.coder2,))
    world.coding(source, "heavy fuel oil", coder=world.coder2)
    log_in(page, "cora", PASSWORD)
    page.goto(coding_url(source, "?layer=all"))
    wait_painted(page, 1)
    click_in(page, "fuel")
    expect(page.locator(".coding-item.focus")).to_have_count(1)
    expect(page.locator("#text")).to_have_attribute("data-chosen", "")
    expect(page.locator("#span-start")).to_be_hidden()
    expect(page.locator("#span-end")).to_be_hidden()

    # The supervisor codes nothing: the page has no handles at all.
    page.context.clear_cookies()
    log_in(page, "sam", PASSWORD)
    page.goto(coding_url(source, "?layer=all"))
    wait_painted(page, 1)
    click_in(page, "fuel")
    expect(page.locator(".coding-item.focus")).to_have_count(1)
    expect(page.locator(".span-handle")).to_have_count(0)


# 4 and 5. Feedback that moves nothing, no carry-over, asking before leaving ----------------------

# Every element of the page with its box, except what a save is meant to change: the list's items,
# the floating message and note, the drawn stripes and overview.
_BOXES_JS = """() => {
  const skip = "#codings *, #messages, #messages *, #save-note, #stripes *, #overview *, #hl-tip";
  const boxes = {};
  let i = 0;
  document.querySelectorAll("body *").forEach((el) => {
    if (el.matches(skip)) return;
    i++;
    const b = el.getBoundingClientRect();
    // The list's containers grow by the new item at their foot; nothing else may change size.
    const grows = el.contains(document.getElementById("codings"));
    boxes[`${i}:${el.tagName}#${el.id}`] = [b.x, b.y, b.width, grows ? "grows" : b.height]
      .map((v) => (typeof v === "number" ? Math.round(v * 10) / 10 : v));
  });
  return boxes;
}"""


def test_feedback_appears_near_the_passage_and_moves_nothing(page, world):
    source = world.source(STATEMENT)
    world.coding(source, "Both sides will meet again")  # the list is not empty: no empty-state swap
    log_in(page, "cora", PASSWORD)
    page.set_viewport_size({"width": 1400, "height": 900})
    page.goto(coding_url(source))
    wait_painted(page, 1)
    quote = "deliver heavy fuel oil"
    start = source.text.index(quote)
    drag_select(page, start, start + len(quote))
    page.keyboard.press("2")
    page.fill("#c-memo", "A long memo " * 30)
    page.locator("#text").focus()
    page.evaluate("window.getSelection().removeAllRanges()")
    before = page.evaluate(_BOXES_JS)
    with settled(page):
        page.keyboard.press("Enter")
    wait_painted(page, 2)

    note = page.locator("#save-note")
    expect(note).to_be_visible()
    expect(note).to_have_text("Saved CAPACITY")
    after = page.evaluate(_BOXES_JS)
    moved = {k: (before[k], after.get(k)) for k in before if before[k] != after.get(k)}
    assert moved == {}
    assert len(before) > 100
    # Near the passage: just under its line, starting where its last line does.
    passage = page.evaluate(
        f"""() => {{
          const root = document.getElementById("text");
          const r = window.TrustCoderOffsets.range(root, {start}, {start + len(quote)});
          const rects = r.getClientRects(); const b = rects[rects.length - 1];
          return {{ left: b.left, bottom: b.bottom }};
        }}"""
    )
    box = note.bounding_box()
    assert 0 <= box["y"] - passage["bottom"] <= 10
    assert abs(box["x"] - passage["left"]) <= 2


def test_code_strength_and_memo_do_not_carry_over(page, world):
    source = world.source(STATEMENT)
    log_in(page, "cora", PASSWORD)
    page.goto(coding_url(source))
    page.keyboard.press("j")
    page.keyboard.press("3")
    page.keyboard.press("a")
    page.keyboard.press("s")
    page.keyboard.press("p")
    page.keyboard.press("m")
    page.keyboard.type("First memo.")
    with settled(page):
        page.keyboard.press("Control+Enter")
    first = Coding.objects.get()
    assert (first.code.name, first.stance, first.strength, first.memo) == (
        "WILLINGNESS",
        "against",
        "straw_in_the_wind",
        "First memo.",
    )
    assert page.locator("#coding-form input[name=code]:checked").count() == 0
    expect(page.locator("#c-strength")).to_have_value("")
    expect(page.locator("#c-memo")).to_have_value("")
    # Stance and party stay: they follow the speaker more often than not.
    expect(page.locator("#coding-form input[name=stance][value=against]")).to_be_checked()
    expect(page.locator("#c-party")).to_have_value(str(world.dprk.pk))
    # The next passage needs its own code.
    page.locator("#text").focus()
    page.keyboard.press("j")
    expect(page.locator("#selection-preview")).to_contain_text("The reactor freeze")
    page.keyboard.press("Enter")
    expect(page.locator("#selection-preview")).to_contain_text("Choose a code")
    assert Coding.objects.count() == 1


_LEAVING_JS = """() => {
  const event = new Event("beforeunload", { cancelable: true });
  window.dispatchEvent(event);
  return event.defaultPrevented;
}"""


def test_leaving_with_an_unsaved_selection_or_memo_asks_first(page, world):
    source = world.source(STATEMENT)
    log_in(page, "cora", PASSWORD)
    page.goto(coding_url(source))
    assert page.evaluate(_LEAVING_JS) is False
    page.keyboard.press("j")
    assert page.evaluate(_LEAVING_JS) is True
    page.keyboard.press("Escape")
    assert page.evaluate(_LEAVING_JS) is False
    page.fill("#c-memo", "Half a thought")
    assert page.evaluate(_LEAVING_JS) is True
    page.fill("#c-memo", "")
    page.locator("#text").focus()
    page.keyboard.press("j")
    page.keyboard.press("1")
    with settled(page):
        page.keyboard.press("Enter")
    # Saved: nothing is left to lose.
    assert page.evaluate(_LEAVING_JS) is False

    # And a real navigation asks (the dialog is refused here, so the page stays).
    page.locator("#text").focus()
    page.keyboard.press("j")
    dialogs = []
    page.once("dialog", lambda dialog: dialogs.append(dialog.type))
    page.evaluate("() => { window.location.href = '/'; }")
    page.wait_for_timeout(500)
    assert dialogs == ["beforeunload"]
    assert "/code/" in page.url
    page.problems.dialogs.clear()


def test_the_layer_chooser_needs_no_button_with_javascript(
    page, world, chromium_browser, live_server
):
    source = world.source(STATEMENT, coders=(world.coder2,))
    world.coding(source, "heavy fuel oil", coder=world.coder)
    his = world.coding(source, "Geneva next month", coder=world.coder2)
    log_in(page, "sam", PASSWORD)
    page.goto(coding_url(source))
    expect(page.locator(".layer-switch button")).to_be_hidden()
    mark_page(page)
    page.locator("#layer").select_option(str(world.coder2.pk))
    expect(page.locator("#coding-list .coding-item")).to_have_count(1)
    assert_same_page(page)

    # Without JavaScript the button is there and the form works.
    context = chromium_browser.new_context(base_url=live_server.url, java_script_enabled=False)
    context.set_default_timeout(10_000)
    plain = context.new_page()
    try:
        log_in(plain, "sam", PASSWORD)
        plain.goto(coding_url(source, "?mode=sentences"))
        plain.select_option("#layer", str(world.coder2.pk))
        plain.locator(".layer-switch button").click()
        plain.wait_for_url(f"**layer={world.coder2.pk}*")
        expect(plain.locator(".coding-item")).to_have_count(1)
        expect(plain.locator(".coding-item")).to_contain_text(his.quote[:10])
    finally:
        context.close()


# 6. The save button in view after choosing a passage --------------------------------------------


@pytest.mark.parametrize("width", [800, 1400])
def test_the_save_button_is_in_view_after_choosing_a_passage(page, world, width):
    filler = "A long statement keeps going, sentence after sentence, about fuel. " * 60
    source = world.source(filler + STATEMENT)
    log_in(page, "cora", PASSWORD)
    page.set_viewport_size({"width": width, "height": 720})
    page.goto(coding_url(source))
    page.keyboard.press("j")  # the first sentence, at the top of the page
    expect(page.locator("#selection-preview")).to_have_class(re.compile("ready"))
    page.wait_for_timeout(50)
    where = page.evaluate(
        """() => {
          const b = document.getElementById("save-coding").getBoundingClientRect();
          const hit = document.elementFromPoint((b.left + b.right) / 2, (b.top + b.bottom) / 2);
          return { top: b.top, bottom: b.bottom, left: b.left, right: b.right,
                   width: innerWidth, height: innerHeight, scrollY,
                   hit: Boolean(hit && hit.closest("#save-coding")) };
        }"""
    )
    assert where["scrollY"] == 0
    assert where["top"] >= 0
    assert where["bottom"] <= where["height"]
    assert where["left"] >= 0
    assert where["right"] <= where["width"]
    assert where["hit"], "the save button is covered"
    page.keyboard.press("1")
    with settled(page):
        page.mouse.click((where["left"] + where["right"]) / 2, (where["top"] + where["bottom"]) / 2)
    assert Coding.objects.get().code.name == "ZOPA"


# Weight and cost at 2,000 codings ---------------------------------------------------------------


def test_two_thousand_codings_stay_light_and_draw_as_a_few_paths(page, world):
    sentence = "Delegates discussed fuel, inspections and the schedule of talks again. "
    source = world.source(sentence * 1400)  # about 100,000 characters
    codes = [world.code(name) for name in ("ZOPA", "CAPACITY", "WILLINGNESS")]
    text = source.text
    rows = []
    for i in range(2000):
        start = (i * 47) % (len(text) - 400)
        end = start + 20 + (i * 37) % 300
        rows.append(
            Coding(
                source=source,
                coder=world.coder,
                code=codes[i % 3],
                start=start,
                end=end,
                quote=text[start:end],
                stance="against" if i % 5 == 0 else "for",
                demonstrating_party=world.us,
            )
        )
    Coding.objects.bulk_create(rows)
    log_in(page, "cora", PASSWORD)
    page.set_viewport_size({"width": 1400, "height": 900})
    page.goto(coding_url(source))
    page.wait_for_function("performance.getEntriesByName('coding-stripes').length > 0")
    figures = page.evaluate(
        """() => {
          const nav = performance.getEntriesByType("navigation")[0];
          const files = performance.getEntriesByType("resource");
          let paths = 0;
          for (const p of document.querySelectorAll("#stripes path.stripe")) {
            paths += (p.getAttribute("d").match(/M/g) || []).length;
          }
          return {
            html: nav.encodedBodySize,
            total: nav.encodedBodySize + files.reduce((n, f) => n + f.encodedBodySize, 0),
            elements: document.getElementById("stripes").childElementCount,
            textElements: document.querySelectorAll("#text *").length,
            stripes: paths,
            drawMs: performance.getEntriesByName("coding-stripes").at(-1).duration,
          };
        }"""
    )
    print(f"\n2,000 codings: {figures}")
    assert figures["total"] <= 500_000
    assert figures["stripes"] == 2000
    # A few paths (codes x lanes x stances), not an element per coding; the text's HTML holds
    # one run per sentence, whatever the codings.
    assert figures["elements"] <= 3 * 4 * 2
    assert figures["textElements"] <= source.segments.count() * 2 + 1


def test_the_codings_list_is_built_as_it_is_read(page, world):
    sentence = "Delegates discussed fuel, inspections and the schedule of talks again. "
    source = world.source(sentence * 120)
    text = source.text
    step = len(sentence)
    Coding.objects.bulk_create(
        Coding(
            source=source,
            coder=world.coder,
            code=world.code("CAPACITY"),
            start=i * step,
            end=i * step + 9,
            quote=text[i * step : i * step + 9],
            stance="for",
            demonstrating_party=world.us,
        )
        for i in range(120)
    )
    last = Coding.objects.order_by("start").last()
    log_in(page, "cora", PASSWORD)
    page.goto(coding_url(source))
    wait_painted(page, 120)
    items = page.locator("#coding-list .coding-item")
    expect(items).to_have_count(30)
    expect(page.locator("#codings-count")).to_have_text("(120)")
    # Scrolled to its end, the list grows.
    page.locator("#coding-list").evaluate("(box) => { box.scrollTop = box.scrollHeight; }")
    page.wait_for_function(
        "() => document.querySelectorAll('#coding-list .coding-item').length > 30"
    )
    # A click on the last coding in the text builds the list up to it and shows it.
    assert page.locator(f"#coding-{last.pk}").count() == 0
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    click_in(page, "Delegates", last=True)
    expect(page.locator(f"#coding-{last.pk}")).to_have_class(re.compile("focus"))
    expect(page.locator(f"#coding-{last.pk}")).to_be_in_viewport()
    starts = page.locator("#coding-list .coding-item").evaluate_all(
        "(items) => items.map((item) => Number(item.dataset.start))"
    )
    assert starts == sorted(starts) and starts[0] == 0


def test_the_page_takes_its_shortcut_keys_from_the_server(page, world, monkeypatch):
    """shortcuts.py is the one list: change a key there and the page follows."""
    from negotiations import shortcuts

    monkeypatch.setitem(shortcuts.SHORTCUTS, "next_sentence", "n")
    source = world.source(STATEMENT)
    log_in(page, "cora", PASSWORD)
    page.goto(coding_url(source))
    page.keyboard.press("j")  # no longer a shortcut
    page.wait_for_timeout(100)
    expect(page.locator("#selection-preview")).not_to_have_class(re.compile("ready"))
    page.keyboard.press("n")
    expect(page.locator("#selection-preview")).to_contain_text("The United States will deliver")
    expect(page.locator("#help-dialog")).to_contain_text("select the next sentence")
    keys = page.locator("#help-dialog kbd").all_text_contents()
    assert "n" in keys
    assert "j" not in keys
