"""The coding page in a real browser: selecting, saving, overlaps, the keyboard, undo, blind coding.

Offsets are checked on both sides of the boundary: in the database (code points, `quote ==
text[start:end]`) and in the DOM (the highlighted runs spell the quote).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from negotiations.coding import assignments as assignment_services
from negotiations.coding import services as coding_services
from negotiations.models import Code, Coding, Negotiation, Party, Role, Source, Study
from negotiations.sources import services as source_services
from negotiations.studies import services as study_services
from tests.browser.conftest import log_in, span_points
from tests.factories import PASSWORD, NegotiationFactory, UserFactory

pytestmark = pytest.mark.browser

STATEMENT = (
    "The United States will deliver heavy fuel oil on schedule. "
    "The reactor freeze stays in place while deliveries continue. "
    "Both sides will meet again in Geneva next month."
)

# Where a code point sits on screen: the run holding it (the last `data-o` at or before it), then
# the UTF-16 index inside the run's text node, then the rectangle of that one character.


@dataclass
class World:
    study: Study
    owner: User
    supervisor: User
    coder: User
    coder2: User
    us: Party
    dprk: Party
    negotiation: Negotiation

    def source(self, text: str, *, title: str = "Statement", coders: tuple = ()) -> Source:
        """A source made by the service (so its text is normalised), assigned to the coders."""
        source = source_services.source_create(
            study=self.study,
            metadata=source_services.SourceMetadata(
                negotiation=self.negotiation,
                title=title,
                speaker="Spokesperson",
                speaker_party=self.us,
            ),
            text=text,
            created_by=self.owner,
        )
        for coder in (self.coder, *coders):
            assignment_services.assignment_create(
                source=source, coder=coder, assigned_by=self.owner
            )
        return source

    def code(self, name: str) -> Code:
        return Code.objects.get(study=self.study, name=name)

    def coding(self, source: Source, quote: str, *, coder: User | None = None, **fields) -> Coding:
        """A coding saved by the service on the first occurrence of `quote` in the source."""
        start = source.text.index(quote)
        values = {
            "code": self.code("CAPACITY"),
            "stance": "for",
            "demonstrating_party": self.us,
        } | fields
        return coding_services.coding_create(
            source=source,
            coder=coder or self.coder,
            start=start,
            end=start + len(quote),
            quote=quote,
            **values,
        )


@pytest.fixture
def world(transactional_db) -> World:
    owner = UserFactory(username="olivia")
    study = study_services.study_create(name="Coding study", slug="coding", created_by=owner)
    people = {}
    for name, role in [("sam", Role.SUPERVISOR), ("cora", Role.CODER), ("cody", Role.CODER)]:
        people[name] = UserFactory(username=name)
        study_services.membership_add(
            study=study, identifier=name, role=role, actor_role=Role.OWNER
        )
    us = study_services.party_create(study=study, code="US", name="United States")
    dprk = study_services.party_create(study=study, code="DPRK", name="North Korea")
    negotiation = NegotiationFactory(study=study, name="Agreed Framework")
    negotiation.parties.add(us, dprk)
    return World(
        study=study,
        owner=owner,
        supervisor=people["sam"],
        coder=people["cora"],
        coder2=people["cody"],
        us=us,
        dprk=dprk,
        negotiation=negotiation,
    )


def coding_url(source: Source, query: str = "") -> str:
    return f"/studies/{source.study.slug}/sources/{source.pk}/code/{query}"


def drag_select(page: Page, start: int, end: int) -> None:
    """Select code points [start, end) with real mouse events: press, move, release."""
    points = span_points(page, "#text", [start, end])
    page.mouse.move(points["x1"], points["y1"])
    page.mouse.down()
    page.mouse.move((points["x1"] + points["x2"]) / 2, (points["y1"] + points["y2"]) / 2, steps=4)
    page.mouse.move(points["x2"], points["y2"], steps=4)
    page.mouse.up()


# Every range painted with the CSS Custom Highlight API, in text order, with code-point offsets.
_PAINTED_JS = """() => {
  const root = document.getElementById("text");
  const at = (node, index) => window.TrustCoderOffsets.pointToOffset(root, node, index);
  const painted = [];
  for (const [name, highlight] of CSS.highlights) {
    for (const range of highlight) {
      painted.push({
        name, text: range.toString(),
        start: at(range.startContainer, range.startOffset),
        end: at(range.endContainer, range.endOffset),
      });
    }
  }
  return painted.sort((a, b) => a.start - b.start || a.end - b.end);
}"""


def painted(page: Page) -> list[dict]:
    return page.evaluate(_PAINTED_JS)


def highlighted_text(page: Page) -> str:
    """The text under any highlight, each character once, in text order."""
    text = page.evaluate("() => document.getElementById('text').textContent")
    chars = list(text)
    covered = set()
    for span in painted(page):
        covered.update(range(span["start"], span["end"]))
    return "".join(chars[i] for i in sorted(covered))


def wait_painted(page: Page, count: int, suffix: str = "") -> None:
    """Wait until `count` ranges are painted (of highlights whose name ends with `suffix`)."""
    page.wait_for_function(
        """([count, suffix]) => {
          let n = 0;
          for (const [name, h] of CSS.highlights) if (name.endsWith(suffix)) n += h.size;
          return n === count;
        }""",
        arg=[count, suffix],
    )


def choose_code(page: Page, name: str) -> None:
    page.locator("#coding-form label.code-choice", has_text=name).click()


@contextmanager
def settled(page: Page) -> Iterator[None]:
    """Wait, after the block, until htmx has swapped and settled the workspace once more.

    htmx wires up swapped-in forms when it settles, a few milliseconds after they appear;
    `coding.js` marks that moment as `coding-save-shown`.
    """
    count = "performance.getEntriesByName('coding-save-shown').length"
    before = page.evaluate(count)
    yield
    deadline = time.monotonic() + 10
    while page.evaluate(count) <= before:
        assert time.monotonic() < deadline, "the workspace was not swapped in"
        page.wait_for_timeout(10)


def mark_page(page: Page) -> None:
    page.evaluate("window.__marker = 'same page'")


def assert_same_page(page: Page) -> None:
    assert page.evaluate("window.__marker") == "same page"


# 1. Mouse selection, save without reload, same characters after reload ---------------------------


def test_mouse_selection_saves_and_highlights_the_same_characters(page, world):
    source = world.source(STATEMENT)
    quote = "deliver heavy fuel oil"
    start = source.text.index(quote)
    log_in(page, "cora", PASSWORD)
    page.goto(coding_url(source))
    mark_page(page)

    drag_select(page, start, start + len(quote))
    expect(page.locator("#selection-preview")).to_contain_text(f"“{quote}”")
    choose_code(page, "CAPACITY")
    page.click("#save-coding")

    expect(page.locator("#messages")).to_contain_text("Saved CAPACITY (for, US)")
    wait_painted(page, 1)
    assert highlighted_text(page) == quote
    assert_same_page(page)
    coding = Coding.objects.get(source=source)
    assert (coding.start, coding.end) == (start, start + len(quote))
    assert coding.quote == source.text[coding.start : coding.end] == quote

    page.reload()
    expect(page.locator("#coding-list .coding-item")).to_have_count(1)
    assert highlighted_text(page) == coding.quote
    assert [(p["start"], p["end"]) for p in painted(page)] == [(start, start + len(quote))]


# 2. Astral characters before and inside the passage, Korean and CRLF before it --------------------


def test_offsets_are_code_points_with_astral_characters_before_and_inside(page, world):
    """Emoji (a flag is two code points) and a CJK extension-B character (U+2000B) before the
    selected run and inside it, Korean and CRLF before it: the saved offsets count code points."""
    raw = (
        "Flags 🇺🇸 and 😀 were waved; 𠀋 was on a banner.\r\n"
        "김정은 위원장은 회담을 환영했다.\r\n"
        "Officials said the fuel 🚢 shipment 𠀋 would arrive 😀 soon, before winter."
    )
    source = world.source(raw)
    assert "\r" not in source.text
    quote = "fuel 🚢 shipment 𠀋 would arrive 😀 soon"
    # Four astral code points before the run, three inside it: the browser counts 88 and 40
    # UTF-16 units where TrustCoder counts 84 and 37 code points.
    assert source.text.index(quote) == 84
    assert len(source.text[:84].encode("utf-16-le")) // 2 == 88
    assert len(quote) == 37 and len(quote.encode("utf-16-le")) // 2 == 40
    log_in(page, "cora", PASSWORD)
    page.goto(coding_url(source))

    drag_select(page, 84, 121)
    choose_code(page, "CAPACITY")
    page.click("#save-coding")
    expect(page.locator("#messages")).to_contain_text("Saved CAPACITY")

    coding = Coding.objects.get(source=source)
    assert (coding.start, coding.end) == (84, 121)
    assert coding.quote == "fuel 🚢 shipment 𠀋 would arrive 😀 soon"
    assert source.text[84:121] == coding.quote
    page.reload()
    assert highlighted_text(page) == quote


def test_a_passage_made_of_emoji_and_korean_saves_whole_characters(page, world):
    source = world.source("Opening remarks.\r\n김정은 🇺🇸😀 만세.\r\nClosing remarks.")
    quote = "김정은 🇺🇸😀 만세"
    start = source.text.index(quote)
    log_in(page, "cora", PASSWORD)
    page.goto(coding_url(source))

    drag_select(page, start, start + len(quote))
    choose_code(page, "WILLINGNESS")
    page.click("#save-coding")
    expect(page.locator("#messages")).to_contain_text("Saved WILLINGNESS")

    coding = Coding.objects.get(source=source)
    assert (coding.start, coding.end, coding.quote) == (start, start + len(quote), quote)
    assert highlighted_text(page) == quote


# 3. Word snapping --------------------------------------------------------------------------------


def test_a_selection_inside_words_snaps_to_whole_words(page, world):
    assert world.study.snap_to_words
    source = world.source(STATEMENT)
    # From the middle of "heavy" to the middle of "fuel".
    start = source.text.index("heavy") + 2
    end = source.text.index("fuel") + 2
    log_in(page, "cora", PASSWORD)
    page.goto(coding_url(source))

    drag_select(page, start, end)
    expect(page.locator("#selection-preview")).to_contain_text("“heavy fuel”")
    choose_code(page, "CAPACITY")
    page.click("#save-coding")
    expect(page.locator("#messages")).to_contain_text("Saved CAPACITY")

    coding = Coding.objects.get(source=source)
    assert coding.quote == "heavy fuel"
    assert coding.start == source.text.index("heavy fuel")
    assert highlighted_text(page) == "heavy fuel"


def test_without_snapping_the_exact_characters_are_saved(page, world):
    world.study.snap_to_words = False
    world.study.save(update_fields=["snap_to_words"])
    source = world.source(STATEMENT)
    start = source.text.index("heavy") + 2
    end = source.text.index("fuel") + 2
    log_in(page, "cora", PASSWORD)
    page.goto(coding_url(source))

    drag_select(page, start, end)
    expect(page.locator("#selection-preview")).to_contain_text("“avy fu”")
    choose_code(page, "CAPACITY")
    page.click("#save-coding")
    expect(page.locator("#messages")).to_contain_text("Saved CAPACITY")

    coding = Coding.objects.get(source=source)
    assert (coding.start, coding.end, coding.quote) == (start, end, "avy fu")
    assert highlighted_text(page) == "avy fu"


def test_double_click_and_shift_click_extend_to_whole_words(page, world):
    source = world.source(STATEMENT)
    log_in(page, "cora", PASSWORD)
    page.goto(coding_url(source))
    heavy = source.text.index("heavy")
    schedule = source.text.index("schedule")

    points = span_points(page, "#text", [heavy + 1, heavy + 2])
    page.mouse.dblclick(points["x1"], points["y1"])
    expect(page.locator("#selection-preview")).to_contain_text("“heavy”")
    # Shift-click in the middle of "schedule" extends the selection; snapping completes the word.
    points = span_points(page, "#text", [schedule + 3, schedule + 4])
    page.keyboard.down("Shift")
    page.mouse.click(points["x1"], points["y1"])
    page.keyboard.up("Shift")
    expect(page.locator("#selection-preview")).to_contain_text("“heavy fuel oil on schedule”")
    choose_code(page, "CAPACITY")
    page.click("#save-coding")
    expect(page.locator("#messages")).to_contain_text("Saved CAPACITY")

    coding = Coding.objects.get(source=source)
    assert (coding.start, coding.end) == (heavy, schedule + len("schedule"))
    assert coding.quote == "heavy fuel oil on schedule"


# 4. Overlapping codings --------------------------------------------------------------------------


def test_overlapping_codings_show_layers_tooltip_and_focus(page, world):
    source = world.source(STATEMENT)
    outer = world.coding(source, "The United States will deliver heavy fuel oil on schedule.")
    nested = world.coding(
        source, "heavy fuel oil", code=world.code("ZOPA"), stance="against", memo="nested"
    )
    partial = world.coding(
        source,
        "on schedule. The reactor freeze",
        code=world.code("WILLINGNESS"),
        demonstrating_party=world.dprk,
    )
    log_in(page, "cora", PASSWORD)
    page.goto(coding_url(source))

    expect(page.locator("#coding-list .coding-item")).to_have_count(3)
    # Each coding is one range of its code and stance, spelling its quote; overlaps are painted
    # on top of each other.
    spans = painted(page)
    assert sorted((p["start"], p["end"], p["text"], p["name"]) for p in spans) == sorted(
        (c.start, c.end, c.quote, f"c{c.code_id}-{c.stance}") for c in (outer, nested, partial)
    )

    def point(quote: str) -> dict:
        start = source.text.index(quote)
        return span_points(page, "#text", [start, start + len(quote)])

    tip = page.locator("#hl-tip")
    expect(tip).to_be_hidden()
    inside = point("fuel")
    page.mouse.move(inside["x1"] + 2, inside["y1"])
    expect(tip).to_be_visible()
    expect(tip.locator("div")).to_have_count(2)
    expect(tip).to_contain_text("CAPACITY · for · US")
    expect(tip).to_contain_text("ZOPA · against · US")
    page.mouse.move(5, 5)
    expect(tip).to_be_hidden()

    both = point("schedule")
    page.mouse.click(both["x1"] + 2, both["y1"])
    expect(page.locator(".coding-item.focus")).to_have_count(2)
    expect(page.locator(f"#coding-{outer.pk}")).to_have_class(_has("focus"))
    expect(page.locator(f"#coding-{partial.pk}")).to_have_class(_has("focus"))
    expect(page.locator(f"#coding-{nested.pk}")).not_to_have_class(_has("focus"))


def _has(css_class: str) -> re.Pattern:
    return re.compile(rf"(^|\s){re.escape(css_class)}(\s|$)")


# 5. Keyboard only --------------------------------------------------------------------------------


def test_keyboard_only_coding_of_two_sentences(page, world):
    source = world.source(STATEMENT)
    first, second = list(source.segments.order_by("index"))[:2]
    log_in(page, "cora", PASSWORD)
    page.goto(coding_url(source))
    mark_page(page)

    page.keyboard.press("j")
    expect(page.locator("#selection-preview")).to_contain_text(f"[{first.start}:{first.end}]")
    page.keyboard.press("Shift+J")
    expect(page.locator("#selection-preview")).to_contain_text(f"[{first.start}:{second.end}]")
    page.keyboard.press("2")
    expect(page.locator("#coding-form input[name=code][data-key='2']")).to_be_checked()
    page.keyboard.press("a")
    expect(page.locator("#coding-form input[name=stance][value=against]")).to_be_checked()
    expect(page.locator("#c-party")).to_have_value(str(world.us.pk))
    page.keyboard.press("p")
    expect(page.locator("#c-party")).to_have_value(str(world.dprk.pk))
    page.keyboard.press("Enter")

    expect(page.locator("#messages")).to_contain_text("Saved CAPACITY (against, DPRK)")
    assert_same_page(page)
    coding = Coding.objects.get(source=source)
    assert (coding.start, coding.end) == (first.start, second.end)
    assert coding.quote == source.text[first.start : second.end]
    assert (coding.code.name, coding.stance, coding.demonstrating_party) == (
        "CAPACITY",
        "against",
        world.dprk,
    )
    assert highlighted_text(page) == coding.quote


def test_shortcuts_still_work_after_choosing_a_code_with_the_mouse(page, world):
    source = world.source(STATEMENT)
    quote = "The reactor freeze stays in place"
    start = source.text.index(quote)
    log_in(page, "cora", PASSWORD)
    page.goto(coding_url(source))

    drag_select(page, start, start + len(quote))
    choose_code(page, "WILLINGNESS")  # the radio button now has the focus
    page.keyboard.press("a")
    page.keyboard.press("p")
    expect(page.locator("#coding-form input[name=stance][value=against]")).to_be_checked()
    with settled(page):
        page.keyboard.press("Enter")

    expect(page.locator("#messages")).to_contain_text("Saved WILLINGNESS (against, DPRK)")
    coding = Coding.objects.get(source=source)
    assert (coding.start, coding.quote, coding.stance) == (start, quote, "against")


def test_question_mark_opens_the_help_dialog(page, world):
    source = world.source(STATEMENT)
    log_in(page, "cora", PASSWORD)
    page.goto(coding_url(source))
    dialog = page.locator("#help-dialog")
    expect(dialog).to_be_hidden()

    page.keyboard.press("?")

    expect(dialog).to_be_visible()
    expect(dialog).to_have_attribute("open", "")
    assert page.evaluate("document.getElementById('help-dialog').matches(':modal')")
    expect(dialog).to_contain_text("Keyboard shortcuts")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    # Opened again, its Close button has the focus and Enter presses it (it does not save).
    page.keyboard.press("?")
    expect(dialog.get_by_role("button", name="Close")).to_be_focused()
    page.keyboard.press("Enter")
    expect(dialog).to_be_hidden()
    expect(page.locator("#selection-preview")).not_to_contain_text("Select a passage first")


def test_enter_on_a_focused_button_presses_it(page, world):
    source = world.source(STATEMENT)
    coding = world.coding(source, "reactor freeze")
    log_in(page, "cora", PASSWORD)
    page.goto(coding_url(source))

    page.locator(f"#coding-{coding.pk}").get_by_role("button", name="Delete").focus()
    with settled(page):
        page.keyboard.press("Enter")

    expect(page.get_by_role("button", name="Undo delete")).to_be_visible()
    assert not Coding.objects.filter(source=source).exists()


# 6. Delete and undo ------------------------------------------------------------------------------


def test_delete_then_undo_restores_the_coding(page, world):
    source = world.source(STATEMENT)
    coding = world.coding(
        source,
        "heavy fuel oil on schedule",
        stance="against",
        demonstrating_party=world.dprk,
        strength="hoop",
        memo="Fuel is late\nsecond line",
    )
    before = _fields(coding)
    log_in(page, "cora", PASSWORD)
    page.goto(coding_url(source))
    mark_page(page)

    with settled(page):
        page.locator(f"#coding-{coding.pk}").get_by_role("button", name="Delete").click()

    expect(page.locator(f"#coding-{coding.pk}")).to_have_count(0)
    wait_painted(page, 0)
    undo = page.get_by_role("button", name="Undo delete")
    expect(undo).to_be_visible()
    assert not Coding.objects.filter(source=source).exists()

    with settled(page):
        page.keyboard.press("u")

    expect(page.locator("#coding-list .coding-item")).to_have_count(1)
    expect(undo).to_have_count(0)
    assert_same_page(page)
    restored = Coding.objects.get(source=source)
    assert _fields(restored) == before
    assert highlighted_text(page) == "heavy fuel oil on schedule"
    expect(page.locator(f"#coding-{restored.pk} .memo")).to_have_text("Fuel is late\nsecond line")


def test_undo_by_clicking_the_button(page, world):
    source = world.source(STATEMENT)
    coding = world.coding(source, "reactor freeze", code=world.code("WILLINGNESS"))
    before = _fields(coding)
    log_in(page, "cora", PASSWORD)
    page.goto(coding_url(source))

    mark_page(page)
    with settled(page):
        page.locator(f"#coding-{coding.pk}").get_by_role("button", name="Delete").click()
    with settled(page):
        page.get_by_role("button", name="Undo delete").click()

    expect(page.locator("#coding-list .coding-item")).to_have_count(1)
    assert_same_page(page)
    assert _fields(Coding.objects.get(source=source)) == before


def test_editing_a_coding_keeps_its_span(page, world):
    source = world.source(STATEMENT)
    coding = world.coding(source, "deliver heavy fuel oil")
    log_in(page, "cora", PASSWORD)
    page.goto(coding_url(source))
    mark_page(page)

    item = page.locator(f"#coding-{coding.pk}")
    item.get_by_text("Edit", exact=True).click()
    item.locator("select[name=stance]").select_option("against")
    item.locator("select[name=demonstrating_party]").select_option(str(world.dprk.pk))
    item.locator("textarea[name=memo]").fill("Late again.")
    with settled(page):
        item.get_by_role("button", name="Save").click()

    expect(page.locator("#messages")).to_contain_text("Coding changed.")
    expect(page.locator(f"#coding-{coding.pk} .memo")).to_have_text("Late again.")
    wait_painted(page, 1, "-against")
    wait_painted(page, 1)
    assert_same_page(page)
    changed = Coding.objects.get(pk=coding.pk)
    assert (changed.start, changed.end, changed.quote) == (coding.start, coding.end, coding.quote)
    assert (changed.stance, changed.demonstrating_party, changed.memo) == (
        "against",
        world.dprk,
        "Late again.",
    )


def _fields(coding: Coding) -> tuple:
    return (
        coding.start,
        coding.end,
        coding.quote,
        coding.code_id,
        coding.stance,
        coding.demonstrating_party_id,
        coding.strength,
        coding.memo,
        coding.coder_id,
    )


# 7. Hostile text ---------------------------------------------------------------------------------


def test_markup_in_text_and_memo_is_shown_as_text(page, world):
    source = world.source(
        "The cable quoted <script>alert(1)</script> verbatim. "
        "It also held <img src=x onerror=alert(1)> in its footer. "
        "Nothing else happened."
    )
    world.coding(source, "Nothing else happened.", memo="<b>bold</b>")
    log_in(page, "cora", PASSWORD)
    page.goto(coding_url(source))

    text = page.locator("#text")
    expect(text).to_contain_text("<script>alert(1)</script>")
    expect(text).to_contain_text("<img src=x onerror=alert(1)>")
    assert page.locator("#text script, #text img, .coding-item .memo b").count() == 0
    expect(page.locator(".coding-item .memo")).to_have_text("<b>bold</b>")

    quote = "<script>alert(1)</script> verbatim. It also held <img src=x onerror=alert(1)>"
    start = source.text.index(quote)
    drag_select(page, start, start + len(quote))
    choose_code(page, "ZOPA")
    page.click("#save-coding")
    expect(page.locator("#messages")).to_contain_text("Saved ZOPA")

    coding = Coding.objects.get(source=source, code__name="ZOPA")
    assert (coding.start, coding.quote) == (start, quote)
    assert highlighted_text(page).startswith(quote)
    expect(page.locator(f"#coding-{coding.pk} blockquote")).to_have_text(quote)
    # Nothing ran: the page fixture fails the test on any dialog or console error.


# 8. Blind coding ---------------------------------------------------------------------------------


def test_blind_coding_hides_other_coders_until_submitted(page, world):
    source = world.source(STATEMENT, coders=(world.coder2,))
    theirs = world.coding(source, "reactor freeze stays in place", coder=world.coder)
    log_in(page, "cody", PASSWORD)
    page.goto(coding_url(source))

    expect(page.locator("#text")).to_contain_text("reactor freeze")
    wait_painted(page, 0)
    expect(page.locator("#coding-list .coding-item")).to_have_count(0)
    expect(page.locator("#layer")).to_have_count(0)
    assert not re.search(r"\bcora\b", page.content())
    # Asking for the other layers by address changes nothing.
    page.goto(coding_url(source, f"?layer={world.coder.pk}"))
    wait_painted(page, 0)
    page.goto(coding_url(source, "?layer=all"))
    wait_painted(page, 0)
    expect(page.locator("#coding-list .coding-item")).to_have_count(0)

    page.locator(".submit-box summary").click()
    page.get_by_label("I have finished coding this source.").check()
    page.locator(".submit-box").get_by_role("button", name="Submit").click()
    expect(page.locator("#messages")).to_contain_text("Submitted")

    page.goto(coding_url(source))
    layer = page.locator("#layer")
    expect(layer.locator("option")).to_have_text(
        ["My codings", "All coders overlaid", "cora (in progress)"]
    )
    mark_page(page)
    layer.select_option("all")
    expect(page.locator(f"#coding-{theirs.pk}")).to_be_visible()
    expect(page.locator(f"#coding-{theirs.pk}")).to_contain_text("cora")
    assert highlighted_text(page) == theirs.quote
    assert_same_page(page)
    assert "layer=all" in page.url


def test_supervisor_sees_every_coders_layer(page, world):
    source = world.source(STATEMENT, coders=(world.coder2,))
    hers = world.coding(source, "heavy fuel oil", coder=world.coder)
    his = world.coding(source, "Geneva next month", coder=world.coder2)
    log_in(page, "sam", PASSWORD)
    page.goto(coding_url(source))

    layer = page.locator("#layer")
    expect(layer.locator("option")).to_have_text(
        ["All coders overlaid", "cody (in progress)", "cora (in progress)"]
    )
    expect(page.locator("#coding-list .coding-item")).to_have_count(2)
    assert highlighted_text(page) == hers.quote + his.quote
    mark_page(page)
    # The chooser applies at once and loads only the layer's codings, not the page.
    layer.select_option(str(world.coder2.pk))
    expect(page.locator("#coding-list .coding-item")).to_have_count(1)
    expect(page.locator(f"#coding-{his.pk}")).to_be_visible()
    assert highlighted_text(page) == his.quote
    assert_same_page(page)
    assert page.url.endswith(f"?layer={world.coder2.pk}")
    # A supervisor reads; nothing on the page lets them code.
    expect(page.locator("#coding-form")).to_have_count(0)


# 9. A tampered (or stale) quote ------------------------------------------------------------------


def test_a_quote_that_does_not_match_is_refused_with_a_message(page, world):
    source = world.source(STATEMENT)
    log_in(page, "cora", PASSWORD)
    page.goto(coding_url(source))
    mark_page(page)

    page.keyboard.press("j")
    expect(page.locator("#selection-preview")).to_have_class(_has("ready"))
    choose_code(page, "CAPACITY")
    page.fill("#c-memo", "Check the date.")
    page.evaluate("document.getElementById('id_quote').value = 'Something the source never said.'")
    with settled(page):
        page.click("#save-coding")

    expect(page.locator("#messages")).to_contain_text(
        "The selected text does not match the source at these positions; "
        "reload the page and select the passage again."
    )
    assert_same_page(page)
    assert not Coding.objects.filter(source=source).exists()
    wait_painted(page, 0)
    # The refused selection is gone, the memo is kept for the next try.
    expect(page.locator("#id_quote")).to_have_value("")
    expect(page.locator("#c-memo")).to_have_value("Check the date.")
    # Chromium logs every 4xx response on the console; this one is the expected refusal.
    refused = "Failed to load resource: the server responded with a status of 422"
    assert [e for e in page.problems.console_errors if e.startswith(refused)] != []
    page.problems.console_errors[:] = [
        e for e in page.problems.console_errors if not e.startswith(refused)
    ]

    page.keyboard.press("j")
    with settled(page):
        page.keyboard.press("Enter")
    expect(page.locator("#messages")).to_contain_text("Saved CAPACITY")
    coding = Coding.objects.get(source=source)
    assert coding.quote == source.text[coding.start : coding.end]
    assert coding.memo == "Check the date."


# 10. Without JavaScript --------------------------------------------------------------------------


def test_without_javascript_whole_sentences_are_coded_from_a_list(
    chromium_browser, live_server, world
):
    source = world.source(STATEMENT)
    first, second = list(source.segments.order_by("index"))[:2]
    context = chromium_browser.new_context(base_url=live_server.url, java_script_enabled=False)
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        log_in(page, "cora", PASSWORD)
        page.goto(coding_url(source))
        page.get_by_role("link", name="Code whole sentences from a list").click()
        page.wait_for_url("**mode=sentences")

        page.locator(".sentence-list input[value='0']").check()
        page.locator(".sentence-list input[value='1']").check()
        page.locator(".sentence-form label.code-choice", has_text="WILLINGNESS").click()
        page.locator(".sentence-form input[name=stance][value=against]").check()
        page.select_option("#s-party", str(world.dprk.pk))
        page.get_by_role("button", name="Save codings").click()

        expect(page.locator("#messages")).to_contain_text("Saved 1 coding.")
    finally:
        context.close()
    coding = Coding.objects.get(source=source)
    assert (coding.start, coding.end) == (first.start, second.end)
    assert coding.quote == source.text[first.start : second.end]
    assert (coding.code.name, coding.stance, coding.demonstrating_party) == (
        "WILLINGNESS",
        "against",
        world.dprk,
    )


def test_a_saved_coding_takes_its_place_in_the_list(page, world):
    """After a save only the new item is sent; it lands in text order, and the count follows."""
    source = world.source(STATEMENT)
    log_in(page, "cora", PASSWORD)
    page.goto(coding_url(source))
    for presses in (["j", "j", "j"], ["k", "k"]):  # the third sentence first, then the first
        for key in presses:
            page.keyboard.press(key)
        page.keyboard.press("1")
        page.keyboard.press("Enter")
        expect(page.locator("#messages")).to_contain_text("Saved ZOPA")
        # Settled: the form is cleared for the next passage.
        expect(page.locator("#selection-preview")).not_to_have_class(re.compile("ready"))
    expect(page.locator("#codings-count")).to_have_text("(2)")
    # The item is moved into place once htmx has settled the swap.
    first_sentence = source.segments.order_by("index").first()
    items = page.locator("#codings li.coding-item")
    expect(items.first).to_have_attribute("data-start", str(first_sentence.start))
    expect(items).to_have_count(2)
    assert page.locator("#codings li.empty").count() == 0


# 12. The memo from the keyboard, feedback without moving the text -------------------------------


def test_memo_keys_and_feedback_that_does_not_move_the_text(page, world):
    source = world.source(STATEMENT)
    first = source.segments.order_by("index").first()
    log_in(page, "cora", PASSWORD)
    page.goto(coding_url(source))
    where = "document.getElementById('text').getBoundingClientRect().top + window.scrollY"
    top = page.evaluate(where)

    page.keyboard.press("j")
    page.keyboard.press("2")
    page.keyboard.press("m")
    page.keyboard.type("Fuel promised.")
    # Esc leaves the memo; the passage stays chosen.
    page.keyboard.press("Escape")
    expect(page.locator("#selection-preview")).to_have_class(_has("ready"))
    page.keyboard.press("m")
    with settled(page):
        page.keyboard.press("Control+Enter")

    expect(page.locator("#messages")).to_contain_text("Saved")
    coding = Coding.objects.get(source=source)
    assert (coding.start, coding.end, coding.memo) == (first.start, first.end, "Fuel promised.")
    wait_painted(page, 1)
    assert page.evaluate(where) == top
