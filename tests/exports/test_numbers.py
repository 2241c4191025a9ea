"""Every export of the demo study, as CSV, XLSX and JSON: numbers are numbers (a negative figure is
never text), the XLSX holds the CSV's table, and the codings export says whether the coder had
submitted."""

from __future__ import annotations

import csv
import io
import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from negotiations.models import Assignment, AssignmentStatus, Coding, Study

pytestmark = pytest.mark.django_db

# Numeric columns of each download (empty = undefined or not applicable).
NUMERIC = {
    "export_sources": ("source_id",),
    "export_codings": ("coding_id", "source_id", "start", "end"),
    "export_consensus": ("source_id", "start", "end"),
    "reliability": (
        "n_units",
        "n_pairable_units",
        "n_coders",
        "krippendorff_alpha",
        "alpha_ci95_low",
        "alpha_ci95_high",
        "gwet_ac1",
        "fleiss_kappa",
        "percent_agreement",
        "bootstrap_resamples",
        "bootstrap_seed",
    ),
    "reliability_matrix": (),
    "assessments": (
        "n_for",
        "n_against",
        "n_sources",
        "weight_for",
        "weight_against",
        "n_unsettled",
        "n_from_consensus",
        "n_from_majority",
    ),
}
PARAMS = {
    "reliability": {"format": "csv", "compute": "1"},
    "reliability_matrix": {"level": "interval"},
    "assessments": {"format": "csv"},
}


@pytest.fixture
def demo(db):
    call_command("load_demo", stdout=StringIO())
    study = Study.objects.get(slug="demo")
    client = Client()
    client.force_login(study.memberships.filter(role="supervisor").first().user)
    return study, client


def _csv(client, name, study, extra=None):
    response = client.get(
        reverse(f"negotiations:{name}", args=[study.slug]),
        {**PARAMS.get(name, {}), **(extra or {})},
    )
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(text)))


def _xlsx(client, name, study, extra=None):
    response = client.get(
        reverse(f"negotiations:{name}", args=[study.slug]),
        {**PARAMS.get(name, {}), **(extra or {}), "as": "xlsx"},
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(response.content), read_only=True).active
    return [list(row) for row in sheet.iter_rows(values_only=True)]


@pytest.mark.parametrize("name", list(NUMERIC))
def test_every_numeric_column_reads_as_a_number(demo, name):
    study, client = demo
    header, *rows = _csv(client, name, study)
    assert rows
    numeric = NUMERIC[name] or header[1:]  # the interval matrix: every coder column
    parsed = 0
    for row in rows:
        cells = dict(zip(header, row, strict=True))
        for column in numeric:
            if cells[column] != "":
                float(cells[column])  # "'-0.1" would raise
                parsed += 1
    assert parsed
    if name == "reliability_matrix":
        assert any(cell.startswith("-") for row in rows for cell in row[1:])


@pytest.mark.parametrize("name", list(NUMERIC))
def test_xlsx_holds_the_csv_table_with_numbers_as_numbers(demo, name):
    study, client = demo
    header, *rows = _csv(client, name, study)
    sheet_header, *sheet_rows = _xlsx(client, name, study)
    assert sheet_header == header
    assert len(sheet_rows) == len(rows)
    numeric = set(NUMERIC[name] or header[1:])
    for row, sheet_row in zip(rows, sheet_rows, strict=True):
        for column, text, value in zip(header, row, sheet_row, strict=True):
            if column in numeric and text != "":
                # XLSX stores 17 significant digits at most; the CSV is the exact one.
                assert isinstance(value, int | float) and abs(value - float(text)) <= 1e-12
            elif text != "" and not column.endswith(("_at", "date")):
                assert str(value) == text


def test_json_outputs_hold_numbers(demo):
    study, _ = demo
    out = StringIO()
    call_command("reliability_report", "--study", study.slug, "--format", "json", stdout=out)
    for row in json.loads(out.getvalue())["rows"]:
        for column in ("krippendorff_alpha", "gwet_ac1", "fleiss_kappa", "alpha_ci95_low"):
            assert row[column] is None or isinstance(row[column], float)
    out = StringIO()
    call_command("assessment_table", "--study", study.slug, "--format", "json", stdout=out)
    rows = json.loads(out.getvalue())["rows"]
    assert all(isinstance(r["n_for"], int) and isinstance(r["weight_for"], float) for r in rows)


def test_codings_export_has_assignment_status_and_a_submitted_only_choice(demo):
    study, client = demo
    header, *rows = _csv(client, "export_codings", study)
    statuses = {r[header.index("assignment_status")] for r in rows}
    assert AssignmentStatus.SUBMITTED in statuses
    header, *submitted = _csv(client, "export_codings", study, {"submitted": "1"})
    column = header.index("assignment_status")
    assert {r[column] for r in submitted} == {AssignmentStatus.SUBMITTED}
    expected = sum(
        Assignment.objects.filter(
            source_id=c.source_id, coder_id=c.coder_id, status=AssignmentStatus.SUBMITTED
        ).exists()
        for c in Coding.objects.filter(source__study=study)
    )
    assert len(submitted) == expected
    out = StringIO()
    call_command("export_codings", "--study", study.slug, "--submitted-only", stdout=out)
    assert list(csv.reader(io.StringIO(out.getvalue())))[1:] == submitted
    if len(statuses) == 1:
        pytest.fail("the demo should mix submitted and unsubmitted work")


def test_exports_page_lists_every_download_with_its_command(demo):
    study, client = demo
    html = client.get(reverse("negotiations:exports", args=[study.slug])).content.decode()
    for command in (
        "export_sources",
        "export_codings",
        "--submitted-only",
        "export_consensus",
        "reliability_report",
        "agreement_stats",
        "assessment_table",
    ):
        assert command in html
    for name in ("export_sources", "export_codings", "export_consensus", "reliability_matrix"):
        assert reverse(f"negotiations:{name}", args=[study.slug]) + "?as=xlsx" in html


def test_pages_with_numbers_link_to_how_they_are_computed(demo):
    study, client = demo
    numbers = reverse("negotiations:numbers", args=[study.slug])
    negotiation = study.negotiations.first()
    for url, params in (
        (reverse("negotiations:reliability", args=[study.slug]), {"compute": "1"}),
        (reverse("negotiations:consensus_coders", args=[study.slug]), {}),
        (reverse("negotiations:assessments", args=[study.slug]), {}),
        (reverse("negotiations:assessment_negotiation", args=[study.slug, negotiation.pk]), {}),
        (reverse("negotiations:assessment_robustness", args=[study.slug, negotiation.pk]), {}),
        (reverse("negotiations:exports", args=[study.slug]), {}),
    ):
        assert numbers in client.get(url, params).content.decode(), url
    page = client.get(numbers).content.decode()
    assert "How every number is computed" in page and "the evidence rule" in page
    assert "<script" not in page.split("<main")[-1].split("</main>")[0]
