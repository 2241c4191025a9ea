"""The text renderer: runs, overlaps, offsets in code points and escaping."""

from __future__ import annotations

import re
from html import unescape

from hypothesis import given
from hypothesis import strategies as st

from negotiations.coding.highlight import Span, coded_runs, render_text_html
from negotiations.sources.text import split_sentences

RUN = re.compile(r'<span data-o="(\d+)"[^>]*>(.*?)</span>', re.S)


def runs_of(html: str) -> list[tuple[int, str]]:
    return [(int(o), unescape(t)) for o, t in RUN.findall(html)]


def test_runs_cover_the_text_in_order_with_code_point_offsets():
    text = "🇺🇸 김정은 said: yes. <b>No</b> & more."
    html = render_text_html(text, split_sentences(text), [Span(1, 3, 6, 7, "for")])
    runs = runs_of(html)
    assert "".join(t for _, t in runs) == text
    for offset, chunk in runs:
        assert text[offset : offset + len(chunk)] == chunk
    assert "<b>" not in html and "&lt;b&gt;" in html


def test_overlaps_mark_multi_innermost_and_openers():
    text = "The North has frozen its reactors and reprocessing plant."
    outer = Span(1, 0, 57, 10, "for")
    inner = Span(2, 4, 9, 11, "against")
    partial = Span(3, 30, 45, 12, "for")
    runs = coded_runs(text, [(0, 57)], [outer, inner, partial])
    by_start = {r.start: r for r in runs}
    assert {s.id for s in by_start[4].spans} == {1, 2}
    assert [s.id for s in by_start[4].opens] == [2]
    assert {s.id for s in by_start[30].spans} == {1, 3}
    html = render_text_html(text, [(0, 57)], [outer, inner, partial])
    classes = "hl code-11 stance-against multi open open-against"
    assert f'data-o="4" data-s="0" class="{classes}" data-c="1 2"' in html
    assert 'data-o="0" data-s="0" class="hl code-10 stance-for open open-for" data-c="1"' in html


def test_whitespace_between_sentences_has_no_segment():
    text = "One.\n\nTwo."
    runs = coded_runs(text, split_sentences(text), [])
    assert [(r.start, r.end, r.segment) for r in runs] == [(0, 4, 0), (4, 6, -1), (6, 10, 1)]


@given(
    st.text(min_size=1, max_size=80),
    st.lists(st.tuples(st.integers(0, 80), st.integers(1, 40)), max_size=8),
)
def test_any_text_and_spans_round_trip(text, raw_spans):
    spans = []
    for i, (start, length) in enumerate(raw_spans):
        start = min(start, len(text) - 1)
        end = min(len(text), start + length)
        if end > start:
            spans.append(Span(i, start, end, i % 3, "for" if i % 2 else "against"))
    html = render_text_html(text, split_sentences(text), spans)
    runs = runs_of(html)
    assert "".join(t for _, t in runs) == text
    covered = coded_runs(text, split_sentences(text), spans)
    for run in covered:
        expected = {s.id for s in spans if s.start <= run.start and run.end <= s.end}
        assert {s.id for s in run.spans} == expected
