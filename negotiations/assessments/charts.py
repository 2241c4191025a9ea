"""Geometry of the assessment timeline: plain data in, SVG coordinates out (no Django).

Phases need ``name``, ``kind``, ``start_date`` and ``end_date``; events ``date`` and ``title``;
codes ``pk`` and ``name``: model instances or any objects with those attributes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any


def timeline_chart(
    *,
    phases: Sequence[Any],
    events: Sequence[Any],
    case_dates: Sequence[date | None],
    codes: Sequence[Any],
    marks: Sequence[dict[str, Any]],
    cell_url: str,
) -> dict:
    """Geometry of the timeline SVG: one lane per element, "for" above its line, "against" below.

    ``marks`` are evidence rows (date, code_ref, party, source_ref, n/w for and against);
    ``case_dates`` the negotiation's start and end; ``cell_url`` the passages page each mark
    links to, to which the mark's filters are appended.
    """
    dates = [m["date"] for m in marks if m["date"]]
    dates += [d for p in phases for d in (p.start_date, p.end_date) if d]
    dates += [e.date for e in events]
    dates += [d for d in case_dates if d]
    if not dates:
        return {"lanes": [], "empty": True}
    first, last = min(dates), max(dates)
    if first == last:
        first, last = first - timedelta(days=30), last + timedelta(days=30)
    width, left, right, top, lane_h = 900, 140, 20, 70, 90
    span_days = (last - first).days or 1

    def x(day) -> float:
        return round(left + (day - first).days / span_days * (width - left - right), 1)

    height = top + lane_h * len(codes) + 40
    shades = []
    for i, p in enumerate(phases):
        if p.start_date and p.end_date:
            shades.append(
                {
                    "x": x(p.start_date),
                    "w": max(1.0, round(x(p.end_date) - x(p.start_date), 1)),
                    "label": p.name,
                    "kind": p.kind,
                    "label_x": x(p.start_date) + 3,
                    "label_y": 14 + (i % 2) * 13,
                }
            )
    # One mark per source while they are few; per month beyond that, so that a case with
    # thousands of sources stays a picture rather than a smear.
    by_month = len(marks) > 300
    groups: dict[tuple, dict] = {}
    for m in marks:
        if not m["date"]:
            continue
        when = m["date"].replace(day=1) if by_month else m["date"]
        key = (when, m["code_ref"], m["party"], None if by_month else m["source_ref"])
        group = groups.setdefault(key, {"n_for": 0, "n_against": 0, "w_for": 0.0, "w_against": 0.0})
        for field in ("n_for", "n_against", "w_for", "w_against"):
            group[field] += m[field] or 0
    lanes = []
    for k, code in enumerate(codes):
        mid = top + k * lane_h + lane_h / 2
        lane_marks = []
        for (when, code_id, party_id, source_id), g in groups.items():
            if code_id != code.pk:
                continue
            for stance, n, weight in (
                ("for", g["n_for"], g["w_for"]),
                ("against", g["n_against"], g["w_against"]),
            ):
                if not n:
                    continue
                size = min(14, 5 + 2 * (weight or n) ** 0.5)
                cx = x(when)
                cy = mid - 16 if stance == "for" else mid + 16
                half = round(size / 2, 1)
                shape = (
                    f"M {cx} {cy - half} L {cx + half} {cy + half} L {cx - half} {cy + half} Z"
                    if stance == "for"
                    else f"M {cx} {cy + half} L {cx + half} {cy - half} L {cx - half} {cy - half} Z"
                )
                query = f"?phase=0&code={code.pk}&party={party_id}"
                if source_id:
                    query += f"&source={source_id}"
                    period = f"on {when:%Y-%m-%d}"
                else:
                    query += f"&month={when:%Y-%m}"
                    period = f"in {when:%Y-%m}"
                lane_marks.append(
                    {
                        "path": shape,
                        "stance": stance,
                        "href": cell_url + query,
                        "title": f"{code.name} {stance}: {n} passage{'s' if n != 1 else ''} "
                        f"{period} (weight {weight or n:g})",
                    }
                )
        lanes.append(
            {
                "code": code,
                "y": mid,
                "top": top + k * lane_h,
                "marks": lane_marks,
                "label_y": mid + 4,
            }
        )
    event_marks = [
        {"x": x(e.date), "title": f"{e.date:%Y-%m-%d}: {e.title}", "label": e.title[:28]}
        for e in events
    ]
    years = sorted({d.year for d in dates})
    ticks = [
        {"x": x(date(year, 1, 1)), "label": str(year)}
        for year in range(years[0], years[-1] + 1)
        if first <= date(year, 1, 1) <= last
    ]
    return {
        "width": width,
        "height": height,
        "left": left,
        "right": width - right,
        "top": top,
        "bottom": height - 40,
        "shades": shades,
        "lanes": lanes,
        "events": event_marks,
        "ticks": ticks,
        "tick_y": height - 22,
        "empty": False,
        "n_marks": sum(len(lane["marks"]) for lane in lanes),
    }
