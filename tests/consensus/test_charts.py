"""The drift chart from plain figures, without Django."""

from __future__ import annotations

import pytest

from negotiations.chart_layout import SIZES, TARGET, text_width
from negotiations.consensus.charts import drift_chart


def assert_readable(chart):
    boxes = [item["box"] for item in chart["labels"]]
    for box in boxes:
        assert box.inside(chart["width"], chart["height"]), box
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert not a.overlaps(b), (a, b)


def test_no_months_is_an_empty_chart():
    assert drift_chart({"months": [], "drift": []})["lines"] == []


def test_lines_follow_the_months_and_skip_undefined_points():
    figures = {
        "months": ["2026-01", "2026-02", "2026-03"],
        "drift": [
            {"coder": "ann", "points": [("2026-01", 1.0), ("2026-02", None), ("2026-03", 0.5)]},
            {"coder": "bo", "points": [("2026-02", -0.3)]},
        ],
    }
    chart = drift_chart(figures, width=640)
    ann, bo = chart["lines"]
    # The plot runs from the kappa labels to the longest coder name: the whole width is used.
    left, right = chart["left"], chart["right"]
    assert left == round(text_width("0.00", 11) + 14, 1)
    assert right == round(640 - text_width("ann", 12) - 16, 1)
    middle = round(left + (right - left) / 2, 1)
    assert [m["x"] for m in chart["months"]] == [left, middle, right]
    # y from 20 (kappa 1) to 220 (kappa 0).
    assert ann["path"] == f"M {left} 20.0 L {right} 120.0"
    assert [p["label"] for p in ann["points"]] == ["2026-01: kappa 1.00", "2026-03: kappa 0.50"]
    # Negative kappa is drawn on the axis; the label keeps the figure.
    assert bo["points"] == [{"x": middle, "y": 220.0, "label": "2026-02: kappa -0.30"}]
    assert ann["colour"] != bo["colour"] and ann["dash"] != bo["dash"]
    assert (ann["name"]["x"], ann["name"]["y"]) == (right + 8, 124.0)
    assert chart["hit_r"] * 2 >= TARGET
    assert_readable(chart)


@pytest.mark.parametrize(("size", "width"), SIZES)
def test_lines_ending_together_keep_their_names_apart_and_months_thin_out(size, width):
    months = [f"{2020 + i // 12}-{i % 12 + 1:02d}" for i in range(40)]
    coders = ["a-coder-with-a-very-long-username-indeed", "bo", "cy", "di", "ed"]
    figures = {
        "months": months,
        "drift": [{"coder": c, "points": [(months[-1], 0.9)]} for c in coders],
    }
    chart = drift_chart(figures, width=width)
    assert_readable(chart)
    names = [line["name"] for line in chart["lines"]]
    assert len({n["y"] for n in names}) == len(coders)
    assert names[0]["full"] == coders[0] and names[0]["text"].endswith("…")
    shown = [m for m in chart["months"] if "label" in m]
    assert 2 <= len(shown) < len(months)
    assert len(chart["months"]) == len(months)


def test_a_single_month():
    chart = drift_chart(
        {"months": ["2026-05"], "drift": [{"coder": "ann", "points": [("2026-05", 0.7)]}]}
    )
    assert_readable(chart)
    assert chart["months"][0]["label"]["text"] == "2026-05"
