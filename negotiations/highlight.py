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


def render_text_html(text: str, segments: Sequence[tuple[int, int]], spans: Iterable[Span]) -> str:
    """The text as escaped HTML runs, highlighted by the spans (see the module docstring)."""
    parts: list[str] = []
    for run in coded_runs(text, segments, spans):
        chunk = escape(text[run.start : run.end], quote=False)
        seg = f' data-s="{run.segment}"' if run.segment >= 0 else ""
        if not run.spans:
            parts.append(f'<span data-o="{run.start}"{seg}>{chunk}</span>')
            continue
        top = _innermost(run.spans)
        classes = [f"hl code-{top.code_id} stance-{top.stance}"]
        if len(run.spans) > 1:
            classes.append("multi")
        if run.opens:
            opener = _innermost(run.opens)
            classes.append(f"open open-{opener.stance}")
        ids = " ".join(str(s.id) for s in run.spans)
        parts.append(
            f'<span data-o="{run.start}"{seg} class="{" ".join(classes)}" data-c="{ids}">'
            f"{chunk}</span>"
        )
    return "".join(parts)
