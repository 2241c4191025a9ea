"""Source text as HTML runs with highlights: plain data in, an HTML string out, no Django models.

The text is cut at every segment and coding boundary into runs. Every run is a
`<span data-o="OFFSET">` whose OFFSET is the code-point offset of its first character, so the
browser can turn a selection back into code-point offsets (`static/js/coding.js`). A run covered by
codings gets the classes of the innermost coding's code and stance, and lists every coding on it
in `data-c`. The first run of each coding carries a stance marker drawn by CSS, so stance never
relies on colour alone. Overlaps of any depth are handled by one sweep over sorted boundaries.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html import escape


@dataclass(frozen=True)
class Span:
    """A coding as the renderer needs it."""

    id: int
    start: int
    end: int
    code_id: int
    stance: str


@dataclass(frozen=True)
class Run:
    start: int
    end: int
    segment: int
    spans: tuple[Span, ...]
    opens: tuple[Span, ...]


def coded_runs(text: str, segments: Sequence[tuple[int, int]], spans: Iterable[Span]) -> list[Run]:
    """Cut the text into runs at every segment and span boundary, with the spans over each run."""
    spans = sorted(spans, key=lambda s: (s.start, -s.end, s.id))
    cuts = {0, len(text)}
    for start, end in segments:
        cuts.add(start)
        cuts.add(end)
    for span in spans:
        cuts.add(span.start)
        cuts.add(span.end)
    bounds = sorted(c for c in cuts if 0 <= c <= len(text))
    seg_starts = [s for s, _ in segments]
    runs: list[Run] = []
    active: list[Span] = []
    next_span = 0
    seg_index = -1
    for a, b in itertools.pairwise(bounds):
        if a == b:
            continue
        # Segment index of this run: the last segment starting at or before it (-1 = between).
        while seg_index + 1 < len(seg_starts) and seg_starts[seg_index + 1] <= a:
            seg_index += 1
        in_segment = seg_index >= 0 and a < segments[seg_index][1]
        active = [s for s in active if s.end > a]
        opens = []
        while next_span < len(spans) and spans[next_span].start <= a:
            span = spans[next_span]
            next_span += 1
            if span.end > a:
                active.append(span)
                opens.append(span)
        runs.append(
            Run(
                start=a,
                end=b,
                segment=seg_index if in_segment else -1,
                spans=tuple(active),
                opens=tuple(opens),
            )
        )
    return runs


def _innermost(spans: Sequence[Span]) -> Span:
    return min(spans, key=lambda s: (s.end - s.start, -s.start, s.id))


def render_text_html(
    text: str,
    segments: Sequence[tuple[int, int]],
    spans: Iterable[Span],
    marked_segment: int | None = None,
) -> str:
    """The text as escaped HTML runs, highlighted by the spans (see the module docstring).

    Runs of `marked_segment` (a sentence under review) also get the class `disputed`.
    """
    parts: list[str] = []
    for run in coded_runs(text, segments, spans):
        chunk = escape(text[run.start : run.end], quote=False)
        seg = f' data-s="{run.segment}"' if run.segment >= 0 else ""
        marked = marked_segment is not None and run.segment == marked_segment
        if not run.spans:
            css = ' class="disputed"' if marked else ""
            parts.append(f'<span data-o="{run.start}"{seg}{css}>{chunk}</span>')
            continue
        top = _innermost(run.spans)
        classes = [f"hl code-{top.code_id} stance-{top.stance}"]
        if len(run.spans) > 1:
            classes.append("multi")
        if run.opens:
            opener = _innermost(run.opens)
            classes.append(f"open open-{opener.stance}")
        if marked:
            classes.append("disputed")
        ids = " ".join(str(s.id) for s in run.spans)
        parts.append(
            f'<span data-o="{run.start}"{seg} class="{" ".join(classes)}" data-c="{ids}">'
            f"{chunk}</span>"
        )
    return "".join(parts)


STRENGTH_LABELS = {
    "straw_in_the_wind": "Straw in the wind",
    "hoop": "Hoop",
    "smoking_gun": "Smoking gun",
    "doubly_decisive": "Doubly decisive",
}


@dataclass(frozen=True)
class ListedCoding:
    """A coding as the list beside the text shows it."""

    id: int
    code_id: int
    code_name: str
    stance: str
    party: str
    strength: str
    coder: str
    quote: str
    memo: str
    start: int
    editable: bool


def _short(text: str, limit: int = 240) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def render_coding_items(
    codings: Iterable[ListedCoding],
    *,
    show_coder: bool,
    edit_url: str,
    delete_url: str,
    csrf_token: str,
) -> str:
    """The `<li>` items of the codings list, every value escaped.

    Built here rather than in a template loop because a source can carry thousands of codings
    and this list is re-rendered after every save; it is about ten times faster. `edit_url` and
    `delete_url` contain `{id}` for the coding's id.
    """
    parts: list[str] = []
    token = escape(csrf_token)
    for c in codings:
        strength = STRENGTH_LABELS.get(c.strength, "")
        summary = " · ".join(v for v in (c.code_name, c.stance, c.party, strength, c.coder) if v)
        mark = "+" if c.stance == "for" else "\u2212"  # a minus sign, not a hyphen
        line = (
            '<span class="swatch" aria-hidden="true"></span>'
            f" <strong>{escape(c.code_name)}</strong>"
            f' <span class="stance-mark stance-{escape(c.stance)}">{mark} {escape(c.stance)}</span>'
            f' <span class="party">{escape(c.party)}</span>'
        )
        if strength:
            line += f' <span class="badge">{escape(strength)}</span>'
        if show_coder:
            line += f' <span class="muted">{escape(c.coder)}</span>'
        item = [
            f'<li id="coding-{c.id}" class="coding-item code-{c.code_id}" '
            f'data-summary="{escape(summary)}" data-start="{c.start}">',
            f'<div class="coding-line">{line}</div>',
            f"<blockquote>{escape(_short(c.quote))}</blockquote>",
        ]
        if c.memo:
            item.append(f'<p class="memo">{escape(c.memo)}</p>')
        if c.editable:
            edit = escape(edit_url.format(id=c.id))
            delete = escape(delete_url.format(id=c.id))
            # No hx- attributes here: coding.js handles these links and forms by delegation,
            # so that htmx need not process two elements per coding after every save.
            item.append(
                f'<a class="edit-link" href="{edit}">Edit</a>'
                '<div class="edit-slot"></div>'
                f'<form method="post" action="{delete}" class="inline delete-form">'
                f'<input type="hidden" name="csrfmiddlewaretoken" value="{token}">'
                '<button type="submit" class="link danger">Delete</button></form>'
            )
        item.append("</li>")
        parts.append("".join(item))
    return "".join(parts)


# What the browser receives per coding (static/js/coding.js reads them by position).
COMPACT_FIELDS = ("id", "start", "end", "code", "stance", "party", "strength", "coder", "memo")


def compact_coding(row: Sequence) -> list:
    """One coding as the page's compact row, from a tuple in the order of
    `coding.selectors.CODING_PAGE_FIELDS` (names of code and coder travel separately)."""
    pk, start, end, code_id, _code, stance, party, strength, coder_id, _coder, memo = row
    return [pk, start, end, code_id, stance, party, strength, coder_id, memo]


def codings_payload(rows: Iterable[Sequence], *, me: int, can_code: bool, show_coder: bool) -> dict:
    """The codings of the page as compact JSON data: rows of `COMPACT_FIELDS`, and the names of
    their codes and coders once each. Quotes are not sent: the browser has the text."""
    codes: dict[int, str] = {}
    coders: dict[int, str] = {}
    codings = []
    for row in rows:
        codes[row[3]] = row[4]
        coders[row[8]] = row[9]
        codings.append(compact_coding(row))
    return {
        "fields": COMPACT_FIELDS,
        "codings": codings,
        "codes": codes,
        "coders": coders,
        "me": me,
        "canCode": can_code,
        "showCoder": show_coder,
    }
