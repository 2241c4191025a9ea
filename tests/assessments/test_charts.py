"""The assessment timeline from plain data, without Django."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

import pytest

from negotiations.assessments.charts import timeline_chart
from negotiations.chart_layout import SIZES, TARGET, Box, text_width

ZOPA = SimpleNamespace(pk=1, name="ZOPA")
CAPACITY = SimpleNamespace(pk=2, name="CAPACITY")


def mark(day, code=1, party=5, source=9, n_for=0, n_against=0, w_for=0.0, w_against=0.0):
    return {
        "date": day,
        "code_ref": code,
        "party": party,
        "source_ref": source,
        "n_for": n_for,
        "n_against": n_against,
        "w_for": w_for,
        "w_against": w_against,
    }


def chart(marks, phases=(), events=(), case_dates=(None, None), codes=(ZOPA, CAPACITY), width=1000):
    return timeline_chart(
        phases=list(phases),
        events=list(events),
        case_dates=case_dates,
        codes=list(codes),
        marks=marks,
        cell_url="/cell/",
        width=width,
    )


def test_nothing_dated_is_an_empty_chart():
    assert chart([mark(None, n_for=1)]) == {"lanes": [], "empty": True}


def test_for_above_against_below_each_linking_to_its_passages():
    result = chart(
        [
            mark(date(1994, 10, 21), n_for=2, w_for=2.0),
            mark(date(2002, 10, 16), code=2, source=11, n_against=1, w_against=1.0),
        ],
        phases=[
            SimpleNamespace(
                name="Agreement",
                kind="agreement",
                start_date=date(1994, 10, 21),
                end_date=date(1995, 3, 8),
            )
        ],
        events=[SimpleNamespace(date=date(1995, 3, 9), title="KEDO founded")],
        case_dates=(date(1993, 3, 12), date(2003, 1, 10)),
    )
    zopa, capacity = result["lanes"]
    assert [m["stance"] for m in zopa["marks"]] == ["for"]
    assert [m["stance"] for m in capacity["marks"]] == ["against"]
    assert zopa["marks"][0]["href"] == "/cell/?phase=0&code=1&party=5&source=9"
    assert zopa["marks"][0]["title"] == "ZOPA for: 2 passages on 1994-10-21 (weight 2)"
    assert capacity["marks"][0]["title"] == "CAPACITY against: 1 passage on 2002-10-16 (weight 1)"
    # The first year tick is the first 1 January inside the case, the left edge its first day.
    assert result["ticks"][0]["text"] == "1994"
    # The lanes start right of the longest element name.
    assert result["left"] == round(text_width("CAPACITY", 12) + 16, 1) and result["n_marks"] == 2
    assert result["events"][0]["label"]["text"] == "KEDO founded"
    assert result["events"][0]["title"] == "1995-03-09: KEDO founded"
    assert result["shades"][0]["w"] > 0


def test_many_sources_are_grouped_by_month():
    marks = [mark(date(2005, 9, 1 + i % 28), source=i, n_for=1, w_for=1.0) for i in range(301)]
    result = chart(marks, codes=[ZOPA])
    (lane,) = result["lanes"]
    assert len(lane["marks"]) == 1
    assert lane["marks"][0]["href"] == "/cell/?phase=0&code=1&party=5&month=2005-09"
    assert lane["marks"][0]["title"] == "ZOPA for: 301 passages in 2005-09 (weight 301)"


def phase(name, start, end, kind="negotiation"):
    return SimpleNamespace(name=name, kind=kind, start_date=start, end_date=end)


def event(day, title):
    return SimpleNamespace(date=day, title=title)


def assert_readable(result):
    """No two words of the chart overlap, none runs past the picture, every link is clickable."""
    boxes = [item["box"] for item in result["labels"]]
    assert boxes, "a chart with no words"
    for box in boxes:
        assert box.inside(result["width"], result["height"]), box
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert not a.overlaps(b), (a, b)
    for lane in result["lanes"]:
        for m in lane["marks"]:
            assert m["hit"]["size"] >= TARGET
            assert Box(m["hit"]["x"], m["hit"]["y"], TARGET, TARGET).inside(
                result["width"], result["height"]
            )


LONG = "Negotiation of the Agreed Framework's implementation schedule and its light-water reactors"
LONG_CODE = SimpleNamespace(pk=3, name="WILLINGNESS (engagement and binding commitment)")


@pytest.mark.parametrize(("size", "width"), SIZES)
def test_long_phase_names_in_rows_none_cut_none_overlapping(size, width):
    phases = [
        phase(LONG, date(1994, 1, 1), date(1994, 1, 20)),
        phase("Agreement (Geneva) " * 4, date(1994, 1, 21), date(1994, 2, 1)),
        phase(LONG + " again", date(1994, 2, 2), date(1994, 2, 3)),
        phase("Collapse", date(2003, 1, 10), date(2003, 1, 10)),
        phase("Col", date(2003, 1, 11), date(2003, 1, 11)),
    ]
    result = chart([mark(date(1995, 1, 1), n_for=1)], phases=phases, width=width)
    assert_readable(result)
    texts = [s["label"] for s in result["shades"]]
    # A name too long for the picture is cut with an ellipsis and keeps its full text.
    assert all(t["full"] == p.name for t, p in zip(texts, phases, strict=True))
    assert texts[0]["text"].endswith("…") and len(texts[0]["text"]) < len(LONG)
    # Short names stay whole, and the phases that start together sit in different rows.
    assert texts[3]["text"] == "Collapse" and texts[4]["text"] == "Col"
    assert len({t["y"] for t in texts}) >= 3


@pytest.mark.parametrize(("size", "width"), SIZES)
def test_crowded_events_share_labels_in_rows(size, width):
    # Twelve events on one day, six on adjacent days, and events over the years.
    events = [event(date(2005, 9, 19), f"Joint Statement, point {i}") for i in range(12)]
    events += [event(date(2005, 9, 20 + i), f"Round {i} of the fourth session") for i in range(6)]
    events += [event(date(2003 + i, 3, 1), LONG) for i in range(6)]
    marks = [mark(date(2005, 9, 19), source=s, n_for=1, n_against=1) for s in range(8)]
    result = chart(
        marks, events=events, case_dates=(date(2003, 1, 1), date(2009, 4, 14)), width=width
    )
    assert_readable(result)
    labels = [e["label"] for e in result["events"]]
    # Every event is on the chart: in its own label or counted in a neighbour's "+N".
    counted = sum(1 + int(t["text"].rsplit("+", 1)[1]) if " +" in t["text"] else 1 for t in labels)
    assert counted == len(events)
    assert all(e["title"] for e in result["events"])
    # Same-day marks of one lane stack three deep before they share a place.
    (zopa, _) = result["lanes"]
    tops = sorted({m["hit"]["y"] for m in zopa["marks"] if m["stance"] == "for"})
    assert len(tops) == 3 and tops[1] - tops[0] >= TARGET


@pytest.mark.parametrize(("size", "width"), SIZES)
def test_a_single_date_and_one_phase(size, width):
    day = date(1994, 10, 21)
    result = chart(
        [mark(day, code=3, n_for=1), mark(day, code=3, source=10, n_against=4, w_against=4.0)],
        phases=[phase("Agreement", day, day, kind="agreement")],
        events=[event(day, "Agreed Framework signed in Geneva")],
        codes=[LONG_CODE],
        width=width,
    )
    assert_readable(result)
    # The day sits in the middle of two months around it, labelled by at least one tick.
    assert result["events"][0]["x"] == round((result["left"] + result["right"]) / 2, 1)
    assert result["ticks"]
    (shade,) = result["shades"]
    assert shade["label"]["text"] == "Agreement" and shade["w"] >= 1
    (lane,) = result["lanes"]
    assert lane["label"]["full"] == LONG_CODE.name
    # Two marks of the same day on either side of the line do not share a click target.
    up, down = (Box(m["hit"]["x"], m["hit"]["y"], TARGET, TARGET) for m in lane["marks"])
    assert not up.overlaps(down)


def test_the_plot_fills_the_width_it_is_drawn_for():
    for _, width in SIZES:
        result = chart(
            [mark(date(1994, 1, 1), n_for=1), mark(date(2003, 1, 1), n_for=1)], width=width
        )
        assert result["width"] == width
        assert result["right"] == width - 16
        assert result["left"] < width * 0.26
