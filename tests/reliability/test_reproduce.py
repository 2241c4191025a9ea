"""Every figure of the reliability page is recomputed, to 1e-12, from that row's matrix download
by the command the page shows (item: page = download)."""

from __future__ import annotations

import csv
import io
import json
import shlex
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from negotiations.models import Study
from negotiations.reliability import selectors, services

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(db):
    call_command("load_demo", stdout=StringIO())
    return Study.objects.get(slug="demo")


def _download(client, url, params) -> str:
    response = client.get(url, params)
    assert response.status_code == 200
    return b"".join(response.streaming_content).decode()


def _run(command: str, path) -> dict:
    args = shlex.split(command)
    assert args[:3] == ["python", "manage.py", "agreement_stats"]
    args = [str(path) if a == "MATRIX.csv" else a for a in args[3:]]
    out = StringIO()
    call_command("agreement_stats", *args, stdout=out)
    return json.loads(out.getvalue())


def close(ours, theirs):
    if ours is None or theirs is None:
        return ours is None and theirs is None
    return abs(ours - theirs) <= 1e-12


@pytest.mark.parametrize("unit", ["segment", "source"])
@pytest.mark.parametrize("level", ["nominal", "ordinal", "interval"])
def test_every_figure_is_reproduced_from_its_download(demo, tmp_path, unit, level):
    client = Client()
    client.force_login(demo.memberships.filter(role="supervisor").first().user)
    params = {"unit": unit, "level": level}
    filters = selectors.ReliabilityFilters(unit=unit, level=level)
    report = services.reliability_report(study=demo, filters=filters, use_cache=False)
    page = client.get(
        reverse("negotiations:reliability", args=[demo.slug]), {**params, "compute": "1"}
    )
    assert report["command"] in page.content.decode().replace("&#x27;", "'")
    downloaded = list(
        csv.DictReader(
            io.StringIO(
                _download(
                    client,
                    reverse("negotiations:reliability", args=[demo.slug]),
                    {**params, "compute": "1", "format": "csv"},
                )
            )
        )
    )
    assert len(downloaded) == len(report["rows"]) + 1
    checked = 0
    for row, csv_row in zip([*report["rows"], report["overall"]], downloaded, strict=True):
        element = {"element": row["code"]} if "code" in row else {}
        matrix = _download(
            client,
            reverse("negotiations:reliability_matrix", args=[demo.slug]),
            {**params, **element},
        )
        path = tmp_path / "matrix.csv"
        path.write_text(matrix, encoding="utf-8")
        if row["n_units"] == 0:
            continue
        stats = _run(report["command"], path)
        assert stats["n_units"] == row["n_units"]
        assert stats["n_pairable_units"] == row["n_pairable_units"]
        assert close(row["alpha"], stats["krippendorff_alpha"])
        assert close(row["ac1"]["value"], stats["gwet_ac1"])
        assert close(row["fleiss"]["value"], stats["fleiss_kappa"])
        assert close(row["percent_agreement"]["value"], stats["percent_agreement"])
        if row["alpha_ci95"]:
            assert close(row["alpha_ci95"][0], stats["alpha_ci95"][0])
            assert close(row["alpha_ci95"][1], stats["alpha_ci95"][1])
        # The report CSV holds the same numbers, as numbers.
        for column, value in (
            ("krippendorff_alpha", row["alpha"]),
            ("gwet_ac1", row["ac1"]["value"]),
            ("fleiss_kappa", row["fleiss"]["value"]),
            ("percent_agreement", row["percent_agreement"]["value"]),
        ):
            assert close(value, float(csv_row[column]) if csv_row[column] else None)
        checked += 1
    assert checked >= 2


def test_ac1_needs_the_values_nobody_used(tmp_path):
    """Why the page and the matrix differed: with "mixed" unused, a reader of the matrix alone
    sees three categories where the page's AC1 has four. The command with the page's --order
    gives the page's figure; without it, AC1 differs."""
    from negotiations.reliability.agreement import all_statistics, read_reliability_csv
    from negotiations.reliability.report import (
        CodingInput,
        ReportInput,
        SourceInput,
        agreement_command,
        build_report,
        build_unit_table,
        matrix_csv_rows,
    )

    sources = [SourceInput(1, [(0, 10), (10, 20), (20, 30), (30, 40)], [7, 8], [5])]
    codings = [
        CodingInput(1, 7, 3, 5, 0, 5, "for"),
        CodingInput(1, 8, 3, 5, 0, 5, "for"),
        CodingInput(1, 7, 3, 5, 12, 15, "against"),
        CodingInput(1, 8, 3, 5, 22, 25, "for"),
    ]
    table = build_unit_table(sources, codings, code_ids=[3], coder_ids=[7, 8])
    names = {7: "ann", 8: "bo"}
    report = build_report(ReportInput(table, [(3, "ZOPA")], {5: "US"}, names))
    lines = "\n".join(",".join(map(str, row)) for row in matrix_csv_rows(table, names, "nominal"))
    page_ac1 = report["overall"]["ac1"]["value"]
    bare = all_statistics(read_reliability_csv(lines))["gwet_ac1"].value
    assert abs(bare - page_ac1) > 1e-3
    path = tmp_path / "m.csv"
    path.write_text(lines, encoding="utf-8")
    assert abs(_run(agreement_command("nominal"), path)["gwet_ac1"] - page_ac1) <= 1e-12
