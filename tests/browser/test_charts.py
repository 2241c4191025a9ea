"""The demo study's charts as a person sees them at 1400 and 390 px: each plot fills its box,
no two labels overlap and none is cut at the edge of its picture.

With TRUSTCODER_SHOTS set to a folder, each chart is also saved there as a PNG to look at."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from negotiations.demo import demo_password, load_demo
from negotiations.models import Negotiation, Study
from tests.browser.conftest import log_in

pytestmark = pytest.mark.browser

# Boxes in screen pixels of every visible <svg> in a figure.chart and of its labels.
_MEASURE_JS = """() => Array.from(document.querySelectorAll("figure.chart")).flatMap((figure) =>
  Array.from(figure.querySelectorAll("svg")).filter((svg) => svg.getClientRects().length)
    .map((svg) => {
      const style = getComputedStyle(figure);
      const inner = figure.clientWidth - parseFloat(style.paddingLeft)
        - parseFloat(style.paddingRight);
      const box = svg.getBoundingClientRect();
      const labels = Array.from(svg.querySelectorAll("text")).map((t) => {
        const r = t.getBoundingClientRect();
        return {text: t.textContent, left: r.left, right: r.right, top: r.top, bottom: r.bottom};
      });
      const targets = Array.from(svg.querySelectorAll("a")).map((a) => {
        const r = a.getBoundingClientRect();
        return {width: r.width, height: r.height};
      });
      return {
        figure: inner, svg: {left: box.left, right: box.right, top: box.top,
          bottom: box.bottom, width: box.width}, labels, targets,
        scale: box.width / svg.viewBox.baseVal.width,
      };
    }))"""


def overlapping(labels: list[dict]) -> list[tuple[str, str]]:
    pairs = []
    for i, a in enumerate(labels):
        for b in labels[i + 1 :]:
            if (
                a["left"] < b["right"] - 0.5
                and b["left"] < a["right"] - 0.5
                and a["top"] < b["bottom"] - 0.5
                and b["top"] < a["bottom"] - 0.5
            ):
                pairs.append((a["text"], b["text"]))
    return pairs


@pytest.fixture
def demo(transactional_db):
    load_demo()


@pytest.mark.parametrize("width", [1400, 390])
def test_demo_charts_fill_their_box_with_every_label_readable(page, demo, width):
    study = Study.objects.get(slug="demo")
    s = f"/studies/{study.slug}/"
    urls = {"reliability": s + "reliability/?compute=1", "consensus": s + "review/coders/"}
    for negotiation in Negotiation.objects.filter(study=study).order_by("pk"):
        urls[f"timeline-{negotiation.slug}"] = s + f"assessments/{negotiation.pk}/timeline/"
    log_in(page, "owner", demo_password("owner"))
    page.set_viewport_size({"width": width, "height": 900})
    shots = os.environ.get("TRUSTCODER_SHOTS")
    problems: list[str] = []
    measured_charts = 0
    for name, url in urls.items():
        assert page.goto(url).status == 200, url
        if shots:
            for i, figure in enumerate(page.locator("figure.chart").all()):
                figure.screenshot(path=str(Path(shots) / f"{name}-{i}-{width}.png"))
        for chart in page.evaluate(_MEASURE_JS):
            measured_charts += 1
            svg = chart["svg"]
            if svg["width"] < chart["figure"] - 2:
                problems.append(f"{name}: plot {svg['width']:.0f} px in a {chart['figure']} px box")
            for label in chart["labels"]:
                if (
                    label["left"] < svg["left"] - 0.5
                    or label["right"] > svg["right"] + 0.5
                    or label["top"] < svg["top"] - 0.5
                    or label["bottom"] > svg["bottom"] + 0.5
                ):
                    problems.append(f"{name}: label {label['text']!r} is cut at the edge")
            problems += [f"{name}: {a!r} overlaps {b!r}" for a, b in overlapping(chart["labels"])]
            # Text drawn near its own size: no smaller than 9 px, no larger than 15 px.
            if not 0.8 <= chart["scale"] <= 1.35:
                problems.append(f"{name}: drawn at {chart['scale']:.2f} of its size")
            small = [t for t in chart["targets"] if min(t["width"], t["height"]) < 24]
            if small:
                problems.append(f"{name}: {len(small)} links smaller than 24 px, e.g. {small[0]}")
    assert measured_charts >= 3
    assert problems == [], "\n".join(problems)
