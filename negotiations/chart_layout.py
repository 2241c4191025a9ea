"""Placing the words of an SVG chart: text widths, truncation and rows of labels that never overlap.

Plain computation shared by the charts of several features (``assessments/charts.py``,
``consensus/charts.py``, ``reliability/charts.py``); no Django.

Widths are estimated from the character classes of DejaVu Sans, the widest of the usual sans-serif
faces (Debian's default), so a label measured here fits wherever a narrower face is drawn.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

# The screen sizes each chart is drawn for: (name, viewBox width). The stylesheet shows one of them
# per window width (see .chart-wide/.chart-medium/.chart-narrow), so text is drawn near its size.
SIZES: tuple[tuple[str, int], ...] = (("wide", 1000), ("medium", 620), ("narrow", 340))

# Smallest side of anything a person clicks, in viewBox units; drawn at 0.92 or more of its
# size it stays >= 24 CSS pixels (WCAG 2.2 target size).
TARGET = 26

_NARROW = set("il.,:;'|!ijtf()[]rI ")
_WIDE = set("mwMW")


def text_width(text: str, size: float) -> float:
    """Generous estimate of the drawn width of ``text`` at font size ``size``."""
    em = 0.0
    for ch in text:
        if ch in _WIDE:
            em += 0.98
        elif ch in _NARROW:
            em += 0.36
        elif ch.isupper():
            em += 0.76
        elif ch.isdigit():
            em += 0.64
        elif ch.islower():
            em += 0.63
        else:
            em += 0.8
    return round(em * size, 1)


def fit(text: str, size: float, max_width: float) -> str:
    """``text``, cut with an ellipsis where it would be wider than ``max_width``."""
    if text_width(text, size) <= max_width:
        return text
    cut = text
    while cut and text_width(cut.rstrip() + "…", size) > max_width:
        cut = cut[:-1]
    return cut.rstrip() + "…" if cut else ""


@dataclass(frozen=True)
class Box:
    """A label's rectangle in viewBox units: left, top, width, height."""

    x: float
    y: float
    w: float
    h: float

    @property
    def right(self) -> float:
        return self.x + self.w

    @property
    def bottom(self) -> float:
        return self.y + self.h

    def overlaps(self, other: Box) -> bool:
        return (
            self.x < other.right
            and other.x < self.right
            and self.y < other.bottom
            and other.y < self.bottom
        )

    def inside(self, width: float, height: float) -> bool:
        return self.x >= 0 and self.y >= 0 and self.right <= width and self.bottom <= height


def text_box(x: float, baseline: float, text: str, size: float, anchor: str = "start") -> Box:
    """The box of a text element drawn at ``x``, ``baseline`` with the given ``text-anchor``."""
    w = text_width(text, size)
    left = {"start": x, "middle": x - w / 2, "end": x - w}[anchor]
    return Box(round(left, 1), round(baseline - 0.82 * size, 1), w, round(1.1 * size, 1))


def label(x: float, baseline: float, text: str, size: float, anchor: str = "start", **extra):
    """A text element of a chart with its box, for the template and for the tests."""
    box = text_box(x, baseline, text, size, anchor)
    return {
        "x": x,
        "y": baseline,
        "text": text,
        "size": size,
        "anchor": anchor,
        "box": box,
        **extra,
    }


def pack_rows(
    anchors: Sequence[float], widths: Sequence[float], *, low: float, high: float, gap: float = 8
) -> list[tuple[int, float]]:
    """Rows and left edges for labels that start at their anchors: (row, left) per label.

    A label starts at its anchor, or as far right as still fits before ``high``; it goes into the
    first row whose last label ends ``gap`` before it, a new row otherwise, so no two overlap.
    """
    order = sorted(range(len(anchors)), key=lambda i: anchors[i])
    ends: list[float] = []
    placed: dict[int, tuple[int, float]] = {}
    for i in order:
        left = max(low, min(anchors[i], high - widths[i]))
        row = next((r for r, end in enumerate(ends) if end + gap <= left), len(ends))
        if row == len(ends):
            ends.append(float("-inf"))
        ends[row] = left + widths[i]
        placed[i] = (row, round(left, 1))
    return [placed[i] for i in range(len(anchors))]


def spread(wanted: Sequence[float], *, gap: float, low: float, high: float) -> list[float]:
    """Positions as near the wanted ones as keeps each ``gap`` from the next, within low-high.

    For labels stacked along one axis (line ends of a line chart): sorted, pushed apart downwards,
    then pulled back up from ``high`` where the pushing ran past it.
    """
    order = sorted(range(len(wanted)), key=lambda i: wanted[i])
    placed = [0.0] * len(wanted)
    last = low - gap
    for i in order:
        last = max(wanted[i], last + gap, low)
        placed[i] = last
    limit = high + gap
    for i in reversed(order):
        limit = min(placed[i], limit - gap)
        placed[i] = round(limit, 1)
    return placed


def clusters(positions: Sequence[float], distance: float) -> list[list[int]]:
    """Indices grouped where consecutive positions lie closer than ``distance``."""
    order = sorted(range(len(positions)), key=lambda i: positions[i])
    groups: list[list[int]] = []
    for i in order:
        if groups and positions[i] - positions[groups[-1][0]] < distance:
            groups[-1].append(i)
        else:
            groups.append([i])
    return groups


def all_boxes(items: Iterable[dict]) -> list[Box]:
    return [item["box"] for item in items]
