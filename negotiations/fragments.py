"""Parts of a page rendered once per process for each content they show.

A part that depends only on a few rows (the codebook reference beside the text, the coding
form's list of codes) is rendered from a template partial with a context that holds only those
rows' objects, and kept under a key made of the rows themselves: the same rows give the same
HTML, so a kept part can never be stale, only unused. Rendered without the request, the partial
cannot read anything its key does not hold (no user, no CSRF token, no context processor).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable

from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe

_KEPT: OrderedDict[tuple[str, Hashable], str] = OrderedDict()
KEPT_MAX = 256


def kept_fragment(template: str, key: Hashable, context: dict) -> SafeString:
    """`template` ("file.html#partial") rendered with `context` alone, kept by `key`: the key must
    determine the context (the rows it is made from, with anything else it depends on)."""
    entry = (template, key)
    # Taken out and put back at the newest end: no step fails if another thread of a threaded
    # server dropped the entry in between.
    html = _KEPT.pop(entry, None)
    if html is None:
        html = render_to_string(template, context)
    _KEPT[entry] = html
    while len(_KEPT) > KEPT_MAX:
        _KEPT.popitem(last=False)
    return mark_safe(html)
