"""Placing the words of a chart, without Django."""

from __future__ import annotations

from itertools import pairwise

from negotiations.chart_layout import Box, clusters, fit, pack_rows, spread, text_box, text_width


def test_wide_letters_measure_wider_and_size_scales():
    assert text_width("WWW", 10) > text_width("iii", 10)
    assert abs(text_width("Collapse", 22) - 2 * text_width("Collapse", 11)) <= 0.2
    assert text_width("", 11) == 0


def test_fit_cuts_with_an_ellipsis_only_when_needed():
    assert fit("Collapse", 11, 200) == "Collapse"
    cut = fit("Negotiation (Panmunjom to Stockholm)", 11, 80)
    assert cut.endswith("…") and text_width(cut, 11) <= 80
    assert "Negotiation".startswith(cut[:-1].rstrip())
    assert fit("Anything", 11, 1) == ""


def test_text_box_follows_the_anchor():
    start = text_box(100, 50, "ZOPA", 12)
    middle = text_box(100, 50, "ZOPA", 12, "middle")
    end = text_box(100, 50, "ZOPA", 12, "end")
    assert start.x == 100 and end.right == 100
    assert middle.x == round(100 - start.w / 2, 1)
    assert start.y < 50 < start.bottom


def test_pack_rows_never_overlaps_and_stays_inside():
    anchors = [10, 12, 14, 300, 305, 590]
    widths = [100, 100, 40, 80, 80, 90]
    placed = pack_rows(anchors, widths, low=0, high=600, gap=8)
    boxes = [Box(left, row * 15, w, 14) for (row, left), w in zip(placed, widths, strict=True)]
    for i, a in enumerate(boxes):
        assert a.inside(600, 200)
        for b in boxes[i + 1 :]:
            assert not a.overlaps(b)
    # Labels start at their anchors where they fit; the last one is pulled back inside.
    assert [left for _, left in placed[:5]] == [10, 12, 14, 300, 305]
    assert placed[5] == (0, 510)
    # The first row is reused as soon as there is room in it.
    assert placed[3][0] == 0 and placed[1][0] == 1 and placed[2][0] == 2


def test_spread_keeps_a_gap_and_stays_within_bounds():
    placed = spread([100, 100, 101, 10, 205], gap=15, low=20, high=210)
    ordered = sorted(placed)
    assert all(b - a >= 15 for a, b in pairwise(ordered))
    assert min(placed) >= 20 and max(placed) <= 210
    assert placed[3] == 20  # pulled up to the top
    assert spread([50], gap=15, low=0, high=100) == [50]


def test_clusters_group_what_lies_closer_than_the_distance():
    assert clusters([0, 10, 30, 31, 100], 26) == [[0, 1], [2, 3], [4]]
    assert clusters([5, 0], 26) == [[1, 0]]
    assert clusters([], 26) == []
