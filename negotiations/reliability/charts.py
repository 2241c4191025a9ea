"""Geometry of the reliability page's pictures: the alpha dot plot and the kappa heat map."""

from __future__ import annotations

from negotiations.chart_layout import fit, label, text_width


def heat_class(value: float | None) -> str:
    if value is None:
        return "heat-none"
    return f"heat-{max(0, min(10, round(value * 10)))}"


def heat_matrix(report: dict) -> dict:
    pairwise = report["pairwise"]
    names = pairwise["coders"]
    rows = []
    for a in names:
        cells = []
        for b in names:
            if a == b:
                cells.append({"text": "—", "css": "heat-self", "title": a})
                continue
            entry = pairwise["cells"].get(f"{a}|{b}", {})
            value = entry.get("kappa")
            cells.append(
                {
                    "text": f"{value:.2f}" if value is not None else "n/a",
                    "css": heat_class(value),
                    "title": (
                        f"{a} and {b}: kappa {value:.3f} on {entry.get('n_units', 0)} units"
                        if value is not None
                        else f"{a} and {b}: {entry.get('undefined') or 'undefined'}"
                    ),
                }
            )
        rows.append({"coder": a, "cells": cells})
    return {"names": names, "rows": rows}


def alpha_chart(report: dict, width: int = 640) -> dict:
    """Geometry of an SVG dot plot of alpha with its interval per element (no JavaScript),
    ``width`` units wide; element names right-aligned before the axis, cut where too long."""
    rows = [*report["rows"], report["overall"]]
    longest = max(text_width(row["element"], 12) for row in rows)
    left = round(min(longest + 20, width * (0.3 if width >= 500 else 0.42)), 1)
    right, row_h, top = 20, 26, 30
    span = width - left - right

    def x(value: float) -> float:
        # The axis runs from -0.2 to 1, where almost all alphas of real codings fall.
        return left + (min(max(value, -0.2), 1.0) + 0.2) / 1.2 * span

    labels = []
    items = []
    for i, row in enumerate(rows):
        y = top + i * row_h + row_h / 2
        name = label(
            left - 10,
            y + 4,
            fit(row["element"], 12, left - 14),
            12,
            anchor="end",
            full=row["element"],
        )
        labels.append(name)
        item = {"label": name, "y": y, "verdict": row["verdict"]}
        if row["alpha"] is not None:
            cx = round(x(row["alpha"]), 1)
            item["x"] = cx
            item["value"] = f"{row['alpha']:.3f}"
            item["square"] = (cx - 5, y - 5)
            item["triangle"] = f"M {cx} {y - 6} l 6 11 h -12 z"
            if row["alpha_ci95"]:
                item["x1"] = round(x(row["alpha_ci95"][0]), 1)
                item["x2"] = round(x(row["alpha_ci95"][1]), 1)
        else:
            item["undefined"] = label(left + 5, y + 4, "undefined", 11)
            labels.append(item["undefined"])
        items.append(item)
    height = top + len(rows) * row_h + 30
    axis_y = height - 22
    ticks = []
    for t in (-0.2, 0, 0.2, 0.4, 0.6, 0.8, 1.0):
        tx = round(x(t), 1)
        text = f"{t:.1f}"
        half = text_width(text, 11) / 2
        tick = {"x": tx, "label": label(min(tx, width - 2 - half), axis_y + 16, text, 11, "middle")}
        ticks.append(tick)
        labels.append(tick["label"])
    tentative_x, reliable_x = round(x(0.667), 1), round(x(0.8), 1)
    # The two thresholds are close: their figures stand away from each other.
    thresholds = [
        label(tentative_x - 2, top - 12, ".667", 11, "end"),
        label(reliable_x + 2, top - 12, ".800", 11),
    ]
    labels += thresholds
    return {
        "tick_top": axis_y + 4,
        "axis_x1": ticks[0]["x"],
        "axis_x2": ticks[-1]["x"],
        "width": width,
        "height": height,
        "items": items,
        "ticks": ticks,
        "axis_y": axis_y,
        "top": top - 10,
        "tentative_x": tentative_x,
        "reliable_x": reliable_x,
        "thresholds": thresholds,
        "labels": labels,
    }
