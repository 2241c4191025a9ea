"""Geometry of the drift chart on "Coders and consensus": plain data in, SVG coordinates out."""

from __future__ import annotations


def drift_chart(figures: dict) -> dict:
    """Geometry of an SVG line chart: each coder's kappa with the consensus by month."""
    months = figures["months"]
    width, left, right, top, bottom = 640, 50, 120, 20, 40
    height = 240
    if not months:
        return {"lines": [], "months": [], "width": width, "height": height}
    step = (width - left - right) / max(1, len(months) - 1)
    palette = ["#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#000000"]
    dashes = ["", "6 3", "2 3", "8 3 2 3", "1 2", "10 4", "4 4"]

    def y(value: float) -> float:
        # Kappa below zero is drawn on the axis; the table gives the exact figure.
        return round(top + (1 - min(max(value, 0.0), 1.0)) * (height - top - bottom), 1)

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
                "colour": palette[i % len(palette)],
                "dash": dashes[i % len(dashes)],
                "path": " ".join(
                    f"{'M' if k == 0 else 'L'} {x} {yy}" for k, (x, yy, _, _) in enumerate(points)
                ),
                "points": [
                    {"x": x, "y": yy, "label": f"{m}: kappa {v:.2f}"} for x, yy, m, v in points
                ],
                "label_y": points[-1][1] if points else top,
                "label_x": (points[-1][0] + 6) if points else left,
            }
        )
    return {
        "width": width,
        "height": height,
        "lines": lines,
        "months": [{"x": round(left + i * step, 1), "label": m} for i, m in enumerate(months)],
        "grid": [{"y": y(v), "label": f"{v:.2f}"} for v in (0, 0.25, 0.5, 0.75, 1.0)],
        "axis_y": height - bottom,
        "label_y": height - bottom + 16,
        "left": left,
        "right": width - right,
    }
