"""Geometry of the drift chart on "Coders and consensus": plain data in, SVG coordinates out."""

from __future__ import annotations

import math

from negotiations.chart_layout import TARGET, fit, label, spread, text_width

PALETTE = ["#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#000000"]
DASHES = ["", "6 3", "2 3", "8 3 2 3", "1 2", "10 4", "4 4"]


def drift_chart(figures: dict, width: int = 1000) -> dict:
    """Geometry of an SVG line chart ``width`` units wide: each coder's kappa with the
    consensus by month, each line named at its end (names pushed apart where lines end close)."""
    months = figures["months"]
    height, top, bottom = 260, 20, 40
    if not months:
        return {"lines": [], "months": [], "width": width, "height": height, "labels": []}
    left = round(text_width("0.00", 11) + 14, 1)
    longest = max((text_width(c["coder"], 12) for c in figures["drift"]), default=0)
    right = round(width - min(longest + 16, width * 0.3), 1)
    name_room = width - right - 10
    step = (right - left) / max(1, len(months) - 1)
    axis_y = height - bottom

    def y(value: float) -> float:
        # Kappa below zero is drawn on the axis; the table gives the exact figure.
        return round(top + (1 - min(max(value, 0.0), 1.0)) * (axis_y - top), 1)

    labels: list[dict] = []
    lines = []
    for i, coder in enumerate(figures["drift"]):
        points = [
            (round(left + months.index(m) * step, 1), y(v), m, v)
            for m, v in coder["points"]
            if v is not None
        ]
        lines.append(
            {
                "coder": coder["coder"],
                "colour": PALETTE[i % len(PALETTE)],
                "dash": DASHES[i % len(DASHES)],
                "path": " ".join(
                    f"{'M' if k == 0 else 'L'} {x} {yy}" for k, (x, yy, _, _) in enumerate(points)
                ),
                "points": [
                    {"x": x, "y": yy, "label": f"{m}: kappa {v:.2f}"} for x, yy, m, v in points
                ],
                "end": (points[-1][0], points[-1][1]) if points else None,
            }
        )
    # Names at the right of the plot, level with their line's last point, kept a line apart.
    named = [line for line in lines if line["end"]]
    wanted = [line["end"][1] + 4 for line in named]
    for line, baseline in zip(named, spread(wanted, gap=15, low=top, high=axis_y), strict=True):
        text = fit(line["coder"], 12, name_room)
        line["name"] = label(right + 8, baseline, text, 12, full=line["coder"])
        labels.append(line["name"])
    # Month names, thinned to every k-th month where they would touch.
    month_w = max(text_width(m, 11) for m in months) + 10
    every = max(1, math.ceil(month_w / step)) if len(months) > 1 else 1
    month_marks = []
    for i, m in enumerate(months):
        x = round(left + i * step, 1)
        item = {"x": x}
        if i % every == 0:
            half = text_width(m, 11) / 2
            lx = max(4 + half, min(x, width - 4 - half))
            item["label"] = label(round(lx, 1), axis_y + 20, m, 11, anchor="middle")
            labels.append(item["label"])
        month_marks.append(item)
    grid = []
    for v in (0, 0.25, 0.5, 0.75, 1.0):
        gy = y(v)
        item = {"y": gy, "label": label(left - 6, gy + 4, f"{v:.2f}", 11, anchor="end")}
        labels.append(item["label"])
        grid.append(item)
    return {
        "width": width,
        "height": height,
        "lines": lines,
        "months": month_marks,
        "grid": grid,
        "axis_y": axis_y,
        "left": left,
        "right": right,
        "hit_r": TARGET / 2,
        "labels": labels,
    }
