"""The drift chart from plain figures, without Django."""

from __future__ import annotations

from negotiations.consensus.charts import drift_chart


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
    chart = drift_chart(figures)
    ann, bo = chart["lines"]
    # x runs from 50 to 520 over three months; y from 20 (kappa 1) to 200 (kappa 0).
    assert [m["x"] for m in chart["months"]] == [50.0, 285.0, 520.0]
    assert ann["path"] == "M 50.0 20.0 L 520.0 110.0"
    assert [p["label"] for p in ann["points"]] == ["2026-01: kappa 1.00", "2026-03: kappa 0.50"]
    # Negative kappa is drawn on the axis; the label keeps the figure.
    assert bo["points"] == [{"x": 285.0, "y": 200.0, "label": "2026-02: kappa -0.30"}]
    assert ann["colour"] != bo["colour"] and ann["dash"] != bo["dash"]
    assert (ann["label_x"], ann["label_y"]) == (526.0, 110.0)
