"""The coding page's keyboard shortcuts: one list for the page (coding.js reads it from the
template) and for the codebook form, which refuses a code key that one of them already takes."""

from __future__ import annotations

import functools

from django.utils.html import format_html_join, json_script

# action -> key, as KeyboardEvent.key spells it. Codes are picked by their own key, so none of
# these may be a code's key (codebook/forms.py: CodeForm.clean_key).
SHORTCUTS: dict[str, str] = {
    "next_sentence": "j",
    "previous_sentence": "k",
    "extend_next_sentence": "J",
    "extend_previous_sentence": "K",
    "stance_for": "f",
    "stance_against": "a",
    "next_party": "p",
    "next_strength": "s",
    "memo": "m",
    "undo": "u",
    "help": "?",
}

SHORTCUT_LABELS: dict[str, str] = {
    "next_sentence": "select the next sentence",
    "previous_sentence": "select the previous sentence",
    "extend_next_sentence": "extend the selection by the next sentence",
    "extend_previous_sentence": "extend the selection by the previous sentence",
    "stance_for": "stance for",
    "stance_against": "stance against",
    "next_party": "next demonstrating party",
    "next_strength": "next evidence strength",
    "memo": "write a memo",
    "undo": "undo the last delete",
    "help": "show the shortcut help",
}


def shortcut_taking(key: str) -> str | None:
    """What the page does with `key` (case as typed), or None when no shortcut takes it."""
    for action, shortcut in SHORTCUTS.items():
        if shortcut == key:
            return SHORTCUT_LABELS[action]
    return None


def page_shortcuts() -> dict:
    """What the coding page's template needs: the keys for coding.js and the rows of its help,
    as HTML made once for each content of the two lists (they are constants of the code)."""
    rows = tuple((SHORTCUTS[action], label) for action, label in SHORTCUT_LABELS.items())
    return _page_html(rows, tuple(SHORTCUTS.items()))


@functools.lru_cache(maxsize=4)
def _page_html(rows: tuple[tuple[str, str], ...], keys: tuple[tuple[str, str], ...]) -> dict:
    return {
        "help_rows": format_html_join("\n", "<tr><td><kbd>{}</kbd></td><td>{}</td></tr>", rows),
        "keys_script": json_script(dict(keys), "shortcuts-data"),
    }
