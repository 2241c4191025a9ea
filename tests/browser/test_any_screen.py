"""Every kind of page, for each role, with the demo data: axe-core finds no serious or critical
violation, ids are unique, and no page scrolls sideways at 1400, 800 or 390 px.

axe-core is vendored next to this file (from the npm registry, its version in the file name)
and evaluated in the page, so nothing is downloaded at run time and the CSP stays strict."""

from __future__ import annotations

from pathlib import Path

import pytest

from negotiations.demo import demo_password, load_demo
from negotiations.models import Assignment, ConsensusUnit, Negotiation, Source, Study
from tests.browser.conftest import log_in

pytestmark = pytest.mark.browser

AXE = (Path(__file__).parent / "vendor" / "axe-core-4.14.1.min.js").read_text("utf-8")
WIDTHS = (1400, 800, 390)

_CHECK_JS = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  const violations = result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => {
      const where = v.nodes.slice(0, 3).map((n) => n.target.join(" "));
      return `${v.id} (${v.impact}): ${where.join(" | ")}`;
    });
  const ids = {};
  for (const el of document.querySelectorAll("[id]")) ids[el.id] = (ids[el.id] || 0) + 1;
  const duplicates = Object.keys(ids).filter((id) => ids[id] > 1);
  return {violations, duplicates};
}"""

_WIDTH_JS = """() => {
  const doc = document.documentElement;
  const wide = [];
  if (doc.scrollWidth > doc.clientWidth + 1) {
    for (const el of document.querySelectorAll("body *")) {
      const r = el.getBoundingClientRect();
      if (r.right > doc.clientWidth + 1 && !el.closest(".table-scroll, .scroll-x")) {
        const classes = typeof el.className === "string" && el.className
          ? "." + el.className.split(" ").join(".") : "";
        wide.push(el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + classes);
        if (wide.length > 4) break;
      }
    }
  }
  return {scroll: doc.scrollWidth, client: doc.clientWidth, wide};
}"""


def pages_for(role: str) -> list[str]:
    study = Study.objects.get(slug="demo")
    s = f"/studies/{study.slug}/"
    negotiation = Negotiation.objects.filter(study=study).first()
    source = Source.objects.filter(study=study).first()
    urls = [
        "/",
        s,
        s + "members/",
        s + "parties/",
        s + "negotiations/",
        s + "codebook/",
        s + "codebook/versions/",
        s + "sources/",
        s + f"sources/{source.pk}/",
        s + "passages/",
        s + "exports/",
    ]
    if role == "coder1":
        assignment = Assignment.objects.filter(source__study=study, coder__username="coder1")
        urls += [s + "my-work/", s + f"sources/{assignment.first().source_id}/code/"]
        urls.append(s + f"sources/{assignment.first().source_id}/code/?mode=sentences")
    else:
        urls += [
            s + f"sources/{source.pk}/code/",
            s + "reliability/",
            s + "assessments/",
            s + f"assessments/{negotiation.pk}/",
            s + f"assessments/{negotiation.pk}/timeline/",
            s + f"assessments/{negotiation.pk}/robustness/",
        ]
    if role in ("owner", "supervisor"):
        unit = ConsensusUnit.objects.filter(study=study).first()
        urls += [
            s + "settings/",
            s + "negotiations/new/",
            s + f"negotiations/{negotiation.pk}/",
            s + "sources/new/",
            s + "sources/import/",
            s + f"sources/{source.pk}/edit/",
            s + "codebook/codes/new/",
            s + "review/coders/",
            s + "assignments/",
            s + "review/",
            s + "review/history/",
            s + "assessments/rule/",
        ]
        if unit:
            urls.append(s + f"review/{unit.pk}/")
        open_work = Assignment.objects.filter(source__study=study).exclude(status="submitted")
        urls.append(s + f"assignments/{open_work.first().pk}/unassign/")
    return urls


@pytest.fixture
def demo(transactional_db):
    load_demo()


@pytest.mark.parametrize("role", ["owner", "supervisor", "coder1", "reader"])
def test_every_page_for_every_role(page, demo, role):
    log_in(page, role, demo_password(role))
    problems: list[str] = []
    for url in pages_for(role):
        page.set_viewport_size({"width": WIDTHS[0], "height": 900})
        response = page.goto(url)
        assert response.status == 200, url
        page.evaluate(AXE)
        found = page.evaluate(_CHECK_JS)
        problems += [f"{url}: {v}" for v in found["violations"]]
        if found["duplicates"]:
            problems.append(f"{url}: duplicate ids {found['duplicates'][:5]}")
        for width in WIDTHS:  # the media queries apply as the window narrows
            page.set_viewport_size({"width": width, "height": 900})
            measured = page.evaluate(_WIDTH_JS)
            if measured["scroll"] > measured["client"] + 1:
                problems.append(
                    f"{url} at {width}px: {measured['scroll']} > {measured['client']} "
                    f"{measured['wide']}"
                )
    assert problems == [], "\n".join(problems)
