"""Parts of a page rendered once per process for each content they show.

A part that depends only on a few rows (the codebook reference beside the text, the coding
form's list of codes) is rendered from a template partial with a context that holds only those
rows' objects, and kept under a key made of the rows themselves: the same rows give the same
HTML, so a kept part can never be stale, only unused. Rendered without the request, the partial
cannot read anything its key does not hold (no user, no CSRF token, no context processor).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe


class Kept(OrderedDict):
    """The newest values made in this process, by a key that names each for good (so a kept
    value is never stale, only unused): the last `most` used are kept."""

    def get_or_make(self, key: Hashable, make: Callable[[], Any], most: int) -> Any:
        # Taken out and put back at the newest end: no step fails if another thread of a
        # threaded server dropped the entry in between.
        value = self.pop(key, None)
        if value is None:
            value = make()
        self[key] = value
        while len(self) > most:
            self.popitem(last=False)
        return value


_KEPT = Kept()
KEPT_MAX = 256


def kept_fragment(template: str, key: Hashable, context: dict) -> SafeString:
    """`template` ("file.html#partial") rendered with `context` alone, kept by `key`: the key must
    determine the context (the rows it is made from, with anything else it depends on)."""
    html = _KEPT.get_or_make((template, key), lambda: render_to_string(template, context), KEPT_MAX)
    return mark_safe(html)
