"""The reliability pictures from plain report data, without Django."""

from __future__ import annotations

import pytest

from negotiations.chart_layout import SIZES, text_width
from negotiations.reliability.charts import alpha_chart, heat_class, heat_matrix


def report(rows, overall):
    return {"rows": rows, "overall": overall}


def row(element, alpha, ci=None, verdict="reliable"):
    return {"element": element, "alpha": alpha, "alpha_ci95": ci, "verdict": verdict}


@pytest.mark.parametrize(
    ("value", "css"),
    [(None, "heat-none"), (-0.4, "heat-0"), (0.0, "heat-0"), (0.46, "heat-5"), (1.0, "heat-10")],
)
def test_heat_class_bins_and_clamps(value, css):
    assert heat_class(value) == css


def test_alpha_chart_places_alpha_and_interval_on_the_axis():
    chart = alpha_chart(report([row("ZOPA", 0.8, (0.6, 1.0))], row("All elements", -0.2)))
    zopa, overall = chart["items"]
    # The axis runs from -0.2 (right of the longest name) to 1.0 (20 units from the edge).
    x1, x2 = chart["axis_x1"], chart["axis_x2"]
    assert x1 == round(text_width("All elements", 12) + 20, 1) and x2 == 620

    def at(value):
        return round(x1 + (value + 0.2) / 1.2 * (x2 - x1), 1)

    assert zopa["x"] == at(0.8) and zopa["value"] == "0.800"
    assert (zopa["x1"], zopa["x2"]) == (at(0.6), at(1.0))
    assert overall["x"] == x1
    assert chart["reliable_x"] == at(0.8)
    assert chart["tentative_x"] == at(0.667)
    assert overall["y"] - zopa["y"] == 26


def test_alpha_chart_leaves_undefined_alpha_unplotted_and_clamps_outliers():
    chart = alpha_chart(report([row("ZOPA", None, verdict="undefined")], row("All", -0.9)))
    undefined, overall = chart["items"]
    assert "x" not in undefined and undefined["verdict"] == "undefined"
    assert undefined["undefined"]["text"] == "undefined"
    assert overall["x"] == chart["axis_x1"]


@pytest.mark.parametrize(("size", "width"), SIZES)
def test_alpha_chart_words_fit_and_never_overlap(size, width):
    rows = [row("A very long element name for the assumptions codebook", 0.7, (0.66, 0.81))]
    rows += [row(name, None, verdict="undefined") for name in ("ZOPA", "CHINA_ROLE")]
    chart = alpha_chart(report(rows, row("All elements", 0.5)), width=width)
    boxes = [item["box"] for item in chart["labels"]]
    for box in boxes:
        assert box.inside(chart["width"], chart["height"]), box
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert not a.overlaps(b), (a, b)
    first = chart["items"][0]["label"]
    assert first["text"].endswith("…") and first["full"] == rows[0]["element"]


def test_heat_matrix_is_symmetric_in_layout_with_undefined_cells_named():
    pairwise = {
        "coders": ["ann", "bo"],
        "cells": {
            "ann|bo": {"kappa": 0.5, "n_units": 12},
            "bo|ann": {"kappa": None, "undefined": "no variation"},
        },
    }
    matrix = heat_matrix({"pairwise": pairwise})
    first, second = matrix["rows"]
    assert first["cells"][0]["css"] == "heat-self"
    assert first["cells"][1] == {
        "text": "0.50",
        "css": "heat-5",
        "title": "ann and bo: kappa 0.500 on 12 units",
    }
    assert second["cells"][0]["text"] == "n/a"
    assert second["cells"][0]["title"] == "bo and ann: no variation"
