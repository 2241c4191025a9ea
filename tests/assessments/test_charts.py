"""The assessment timeline from plain data, without Django."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

from negotiations.assessments.charts import timeline_chart

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


def chart(marks, phases=(), events=(), case_dates=(None, None), codes=(ZOPA, CAPACITY)):
    return timeline_chart(
        phases=list(phases),
        events=list(events),
        case_dates=case_dates,
        codes=list(codes),
        marks=marks,
        cell_url="/cell/",
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
    assert result["ticks"][0]["label"] == "1994"
    assert result["left"] == 140 and result["n_marks"] == 2
    assert result["events"][0]["label"] == "KEDO founded"
    assert result["shades"][0]["w"] > 0


def test_many_sources_are_grouped_by_month():
    marks = [mark(date(2005, 9, 1 + i % 28), source=i, n_for=1, w_for=1.0) for i in range(301)]
    result = chart(marks, codes=[ZOPA])
    (lane,) = result["lanes"]
    assert len(lane["marks"]) == 1
    assert lane["marks"][0]["href"] == "/cell/?phase=0&code=1&party=5&month=2005-09"
    assert lane["marks"][0]["title"] == "ZOPA for: 301 passages in 2005-09 (weight 301)"
