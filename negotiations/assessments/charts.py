"""Geometry of the assessment timeline: plain data in, SVG coordinates out (no Django).

Phases need ``name``, ``kind``, ``start_date`` and ``end_date``; events ``date`` and ``title``;
codes ``pk`` and ``name``: model instances or any objects with those attributes.

Every word on the chart is placed here with its box (``chart_layout``): phase names and key
events in rows above the plot, so that none overlaps another or runs past the picture; the
tests check the boxes, the browser test checks them again as drawn.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from negotiations.chart_layout import TARGET, clusters, fit, label, pack_rows, text_width
from negotiations.wording import counted

PAD = 8  # between the picture's edge and any word
ROW = 15  # height of a row of 11-unit labels
MAX_LEVELS = 3  # marks on the same day stack this deep above (and below) their line


def _date_ticks(first: date, last: date, x, low: float, high: float) -> list[dict]:
    """Year ticks spaced for their labels; months where the case spans less than two years."""
    px_per_day = (x(last) - x(first)) / max(1, (last - first).days)
    ticks: list[tuple[date, str]] = []
    for step in (1, 2, 5, 10, 20, 50):
        if step * 365 * px_per_day >= 44:
            start = first.year + (-first.year) % step
            ticks = [
                (date(y, 1, 1), str(y))
                for y in range(start, last.year + 1, step)
                if first <= date(y, 1, 1) <= last
            ]
            break
    if len(ticks) < 2:
        for step in (1, 2, 3, 6, 12):
            if step * 30.4 * px_per_day >= 64:
                break
        ticks = []
        month = date(first.year, first.month, 1)
        while month <= last:
            if month >= first and (month.month - 1) % step == 0:
                ticks.append((month, f"{month:%b %Y}"))
            month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
        if not ticks:
            ticks = [(first, f"{first:%d %b %Y}")]
    result = []
    for day, text in ticks:
        half = text_width(text, 11) / 2
        result.append(
            {"x": x(day), "text": text, "label_x": max(low + half, min(x(day), high - half))}
        )
    return result


def _stack(xs: Sequence[float]) -> list[int]:
    """A level per mark so that marks of one row stand a click target apart where they can."""
    ends: list[float] = []
    levels = [0] * len(xs)
    for i in sorted(range(len(xs)), key=lambda i: xs[i]):
        level = next((k for k, end in enumerate(ends) if end + TARGET <= xs[i]), None)
        if level is None and len(ends) < MAX_LEVELS:
            level = len(ends)
            ends.append(float("-inf"))
        elif level is None:  # beyond MAX_LEVELS, marks share the least crowded level
            level = min(range(len(ends)), key=lambda k: ends[k])
        ends[level] = xs[i]
        levels[i] = level
    return levels


def timeline_chart(
    *,
    phases: Sequence[Any],
    events: Sequence[Any],
    case_dates: Sequence[date | None],
    codes: Sequence[Any],
    marks: Sequence[dict[str, Any]],
    cell_url: str,
    width: int = 1000,
) -> dict:
    """Geometry of the timeline SVG, ``width`` units wide: one lane per element, "for" above
    its line, "against" below.

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
    narrow = width < 500
    # Element names stand left of their lanes, or above them where the picture is narrow.
    if narrow:
        left = PAD + 4
    else:
        longest = max((text_width(c.name, 12) for c in codes), default=40)
        left = round(min(longest + 16, width * 0.25), 1)
    right = width - 16
    span_days = (last - first).days or 1

    def x(day) -> float:
        return round(left + (day - first).days / span_days * (right - left), 1)

    labels: list[dict] = []

    # Phase names in rows at the top, each starting at its band where there is room.
    dated_phases = [p for p in phases if p.start_date and p.end_date]
    phase_texts = [fit(p.name, 11, min(right - left, 260)) for p in dated_phases]
    phase_rows = pack_rows(
        [x(p.start_date) + 2 for p in dated_phases],
        [text_width(t, 11) for t in phase_texts],
        low=PAD,
        high=width - PAD,
    )
    shades = []
    for p, text, (row, lx) in zip(dated_phases, phase_texts, phase_rows, strict=True):
        item = label(lx, PAD + 10 + row * ROW, text, 11, full=p.name, kind="phase")
        labels.append(item)
        shades.append(
            {
                "x": x(p.start_date),
                "w": max(1.0, round(x(p.end_date) - x(p.start_date), 1)),
                "name": p.name,
                "kind": p.kind,
                "label": item,
            }
        )
    phase_bottom = PAD + len({r for r, _ in phase_rows}) * ROW

    # Key events: one label per cluster of events closer than a click target, in rows below.
    event_x = [x(e.date) for e in events]
    groups = clusters(event_x, TARGET)
    event_marks, group_texts = [], []
    for group in groups:
        group_events = [events[i] for i in group]
        more = f" +{len(group) - 1}" if len(group) > 1 else ""
        room = min(320, max(150, (right - left) * 0.3)) - text_width(more, 11)
        group_texts.append(fit(group_events[0].title, 11, room) + more)
    event_rows = pack_rows(
        [event_x[g[0]] + 3 for g in groups],
        [text_width(t, 11) for t in group_texts],
        low=PAD,
        high=width - PAD,
    )
    events_top = phase_bottom + 6
    for group, text, (row, lx) in zip(groups, group_texts, event_rows, strict=True):
        group_events = [events[i] for i in group]
        item = label(
            lx,
            events_top + 10 + row * ROW,
            text,
            11,
            full="; ".join(f"{e.date:%Y-%m-%d}: {e.title}" for e in group_events),
            kind="event",
        )
        labels.append(item)
        event_marks.append(
            {
                "x": event_x[group[0]],
                "xs": sorted({event_x[i] for i in group}),
                "title": item["full"],
                "label": item,
                "y1": round(item["box"].bottom + 1, 1),
            }
        )
    top = events_top + len({r for r, _ in event_rows}) * ROW + 8

    # One mark per source while they are few; per month beyond that, so that a case with
    # thousands of sources stays a picture rather than a smear.
    by_month = len(marks) > 300
    groups_by_key: dict[tuple, dict] = {}
    for m in marks:
        if not m["date"]:
            continue
        when = m["date"].replace(day=1) if by_month else m["date"]
        key = (when, m["code_ref"], m["party"], None if by_month else m["source_ref"])
        group = groups_by_key.setdefault(
            key, {"n_for": 0, "n_against": 0, "w_for": 0.0, "w_against": 0.0}
        )
        for field in ("n_for", "n_against", "w_for", "w_against"):
            group[field] += m[field] or 0
    lanes = []
    lane_top = top
    for code in codes:
        raw = []
        for (when, code_id, party_id, source_id), g in groups_by_key.items():
            if code_id != code.pk:
                continue
            for stance, n, weight in (
                ("for", g["n_for"], g["w_for"]),
                ("against", g["n_against"], g["w_against"]),
            ):
                if n:
                    raw.append((stance, x(when), when, n, weight, party_id, source_id))
        levels: dict[int, int] = {}
        for stance in ("for", "against"):
            idx = [i for i, r in enumerate(raw) if r[0] == stance]
            for i, level in zip(idx, _stack([raw[i][1] for i in idx]), strict=True):
                levels[i] = level
        depth = 1 + max(levels.values(), default=0)
        head = 18 if narrow else 0  # room for the element's name above the lane
        half = 15 + (depth - 1) * TARGET + TARGET / 2 + 4
        mid = lane_top + head + half
        lane_marks = []
        for i, (stance, cx, when, n, weight, party_id, source_id) in enumerate(raw):
            size = min(18, 8 + 2 * (weight or n) ** 0.5)
            offset = 15 + levels[i] * TARGET
            cy = mid - offset if stance == "for" else mid + offset
            h = round(size / 2, 1)
            shape = (
                f"M {cx} {cy - h} L {cx + h} {cy + h} L {cx - h} {cy + h} Z"
                if stance == "for"
                else f"M {cx} {cy + h} L {cx + h} {cy - h} L {cx - h} {cy - h} Z"
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
                    "hit": {
                        "x": round(cx - TARGET / 2, 1),
                        "y": round(cy - TARGET / 2, 1),
                        "size": TARGET,
                    },
                    "href": cell_url + query,
                    "title": f"{code.name} {stance}: {counted(n, 'passage')} "
                    f"{period} (weight {weight or n:g})",
                }
            )
        if narrow:
            name = label(left, lane_top + 13, fit(code.name, 12, right - left), 12)
        else:
            name = label(left - 8, mid + 4, fit(code.name, 12, left - 16), 12, anchor="end")
        name["full"] = code.name
        labels.append(name)
        lanes.append({"code": code, "y": mid, "top": lane_top, "marks": lane_marks, "label": name})
        lane_top = mid + half
    bottom = lane_top + 4
    ticks = _date_ticks(first, last, x, PAD, width - PAD)
    for tick in ticks:
        tick["label"] = label(tick["label_x"], bottom + 16, tick["text"], 11, anchor="middle")
        labels.append(tick["label"])
    height = bottom + 16 + 8
    return {
        "width": width,
        "height": round(height, 1),
        "left": left,
        "right": right,
        "top": top,
        "bottom": round(bottom, 1),
        "tick_end": round(bottom + 4, 1),
        "plot_height": round(bottom - top, 1),
        "shades": shades,
        "lanes": lanes,
        "events": event_marks,
        "ticks": ticks,
        "labels": labels,
        "empty": False,
        "n_marks": sum(len(lane["marks"]) for lane in lanes),
    }
