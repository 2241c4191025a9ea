"""Agreement units built from codings, the reliability report, its page, downloads and command."""

from __future__ import annotations

import csv
import io
import json
from io import StringIO

import numpy as np
import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from negotiations.coding import assignments as assignment_services
from negotiations.coding import services as coding_services
from negotiations.models import Assignment, AssignmentStatus, Code, ReportCache
from negotiations.reliability import selectors as reliability_selectors
from negotiations.reliability import services as reliability_services
from negotiations.reliability.agreement import MISSING, krippendorff_alpha, read_reliability_csv
from negotiations.reliability.report import (
    AGAINST,
    FOR,
    MIXED,
    NONE,
    CodingInput,
    SourceInput,
    build_unit_table,
    reliability_data,
)
from negotiations.studies import services as study_services
from tests.factories import NegotiationFactory, PartyFactory, SourceFactory

pytestmark = pytest.mark.django_db

SEGMENTS = [(0, 10), (11, 20), (21, 30)]


def coding(coder, start, end, stance="for", code=1, party=7, source=1):
    return CodingInput(source, coder, code, party, start, end, stance)


def table_for(codings, submitted=(100, 200), level="segment", parties=(7,)):
    return build_unit_table(
        [SourceInput(1, SEGMENTS, list(submitted), list(parties))],
        codings,
        code_ids=[1],
        coder_ids=[100, 200, 300],
        level=level,
    )


def test_units_none_missing_for_against_mixed_and_overlap():
    table = table_for(
        [
            coding(100, 2, 15),  # spans sentences 0 and 1
            coding(200, 12, 14, "against"),
            coding(200, 13, 18, "for"),  # with the line above: mixed on sentence 1
            coding(300, 0, 5),  # coder 300 did not submit: ignored, and missing
        ]
    )
    assert table.values.tolist() == [
        [FOR, NONE, MISSING],
        [FOR, MIXED, MISSING],
        [NONE, NONE, MISSING],
    ]
    assert table.segment.tolist() == [0, 1, 2]


def test_coding_touching_a_boundary_does_not_leak_into_the_next_sentence():
    table = table_for([coding(100, 0, 10), coding(200, 10, 11)])  # 10..11 is the space
    assert table.values[:, :2].tolist() == [[FOR, NONE], [NONE, NONE], [NONE, NONE]]


def test_source_level_units_and_parties():
    table = table_for(
        [coding(100, 0, 3, party=7), coding(200, 25, 28, "against", party=8)],
        level="source",
        parties=(7, 8),
    )
    assert table.party.tolist() == [7, 8]
    assert table.values[:, :2].tolist() == [[FOR, NONE], [NONE, AGAINST]]


def test_no_submitted_coder_means_no_units():
    assert len(table_for([coding(100, 0, 3)], submitted=())) == 0


@pytest.fixture
def study(members):
    study = members.study
    us = PartyFactory(study=study, code="US")
    negotiation = NegotiationFactory(study=study)
    negotiation.parties.add(us)
    zopa = Code.objects.get(study=study, name="ZOPA")
    sources = []
    for i in range(4):
        source = SourceFactory(
            study=study,
            negotiation=negotiation,
            text=f"Talks resumed {i}. The envoy arrived. Both sides spoke.",
        )
        sources.append(source)
        for coder in (members.coder, members.coder2):
            assignment_services.assignment_create(
                source=source, coder=coder, assigned_by=members.supervisor
            )
    # The two coders agree on the first sentence of sources 0-2 and differ on source 3.
    for i, source in enumerate(sources):
        end = source.text.index(".") + 1
        coding_services.coding_create(
            source=source,
            coder=members.coder,
            code=zopa,
            start=0,
            end=end,
            quote=source.text[:end],
            stance="for",
            demonstrating_party=us,
        )
        coding_services.coding_create(
            source=source,
            coder=members.coder2,
            code=zopa,
            start=0,
            end=end,
            quote=source.text[:end],
            stance="for" if i < 3 else "against",
            demonstrating_party=us,
        )
    for assignment in Assignment.objects.filter(source__in=sources):
        assignment_services.assignment_submit(assignment=assignment)
    return {"study": study, "sources": sources, "zopa": zopa, "us": us}


def test_report_matches_an_independent_alpha(study):
    report = reliability_services.reliability_report(
        study=study["study"], filters=reliability_selectors.ReliabilityFilters()
    )
    zopa = next(r for r in report["rows"] if r["element"] == "ZOPA")
    # 4 sources x 3 sentences = 12 units for ZOPA x US; one disagreement (for vs against).
    assert zopa["n_units"] == 12 and zopa["n_pairable_units"] == 12 and zopa["n_coders"] == 2
    import krippendorff

    coder1 = [0, 3, 3] * 3 + [0, 3, 3]
    coder2 = [0, 3, 3] * 3 + [1, 3, 3]
    expected = krippendorff.alpha(reliability_data=[coder1, coder2], level_of_measurement="nominal")
    assert zopa["alpha"] == pytest.approx(expected, abs=1e-12)
    low, high = zopa["alpha_ci95"]
    assert low <= zopa["alpha"] <= high
    assert zopa["verdict"] == (
        "reliable" if expected >= 0.8 else "tentative" if expected >= 0.667 else "revise"
    )
    capacity = next(r for r in report["rows"] if r["element"] == "CAPACITY")
    assert capacity["alpha"] is None and capacity["alpha_undefined"]


def test_matrix_download_gives_the_same_alpha_through_the_command(study, clients, tmp_path):
    url = reverse("negotiations:reliability_matrix", args=[study["study"].slug])
    response = clients["supervisor"].get(url, {"code": study["zopa"].pk})
    body = b"".join(response.streaming_content).decode()
    path = tmp_path / "units.csv"
    path.write_text(body)
    out = StringIO()
    call_command("agreement_stats", str(path), stdout=out)
    result = json.loads(out.getvalue())
    report = reliability_services.reliability_report(
        study=study["study"],
        filters=reliability_selectors.ReliabilityFilters(code=study["zopa"].pk),
    )
    assert result["krippendorff_alpha"] == pytest.approx(report["rows"][0]["alpha"], abs=1e-12)
    assert result["n_units"] == report["rows"][0]["n_units"]
    data = read_reliability_csv(body)
    assert krippendorff_alpha(data).value == pytest.approx(result["krippendorff_alpha"])


def test_unsubmitted_work_does_not_count_and_cache_is_invalidated(study, members):
    filters = reliability_selectors.ReliabilityFilters()
    first = reliability_services.reliability_report(study=study["study"], filters=filters)
    again = reliability_services.reliability_report(study=study["study"], filters=filters)
    assert again["cached"] and not first["cached"]
    assignment = Assignment.objects.get(source=study["sources"][3], coder=members.coder2)
    assignment_services.assignment_reopen(assignment=assignment)
    after = reliability_services.reliability_report(study=study["study"], filters=filters)
    assert not after["cached"]
    zopa = next(r for r in after["rows"] if r["element"] == "ZOPA")
    assert zopa["n_pairable_units"] == 9  # source 3 now has one submitted coder only
    assert zopa["alpha"] == 1.0  # the remaining pairable units all agree


def test_page_permissions_partial_and_lowest(study, clients):
    url = reverse("negotiations:reliability", args=[study["study"].slug])
    assert clients["coder"].get(url).status_code == 403
    assert clients["outsider"].get(url).status_code == 404
    page = clients["reader"].get(url).content.decode()
    assert "Computing the report" in page and 'hx-trigger="load"' in page
    partial = clients["reader"].get(url, headers={"HX-Request": "true"}).content.decode()
    assert partial.lstrip().startswith('<div id="results">')
    assert "Krippendorff" in partial and "Least agreement" not in partial  # readers: no review
    supervisor = clients["supervisor"].get(url, {"compute": "1"}).content.decode()
    assert "Least agreement" in supervisor
    assert "cora: for" in supervisor and "cody: against" in supervisor
    assert "<svg" in supervisor and "<title" in supervisor
    for size in ("wide", "medium", "narrow"):
        assert supervisor.count(f'id="alpha-chart-title-{size}"') == 1
    assert partial.count('<svg class="chart-') == 3
    # The cached result is now served on the full page at once.
    assert "From the cache" in clients["supervisor"].get(url).content.decode()


def test_report_csv_download(study, clients):
    url = reverse("negotiations:reliability", args=[study["study"].slug])
    response = clients["reader"].get(url, {"compute": "1", "format": "csv"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:4] == ["element", "unit", "level", "n_units"]
    assert rows[-1][0] == "All elements"


def test_compare_page_shows_coders_side_by_side(study, clients):
    source = study["sources"][3]
    url = reverse("negotiations:source_compare", args=[study["study"].slug, source.pk])
    html = clients["supervisor"].get(url, {"segment": 0}).content.decode()
    assert "cora" in html and "cody" in html and "+ for" in html and "\u2212 against" in html
    assert clients["reader"].get(url).status_code == 403


def test_reliability_page_queries_are_fixed(study, clients, members):
    url = reverse("negotiations:reliability", args=[study["study"].slug])
    with CaptureQueriesContext(connection) as small:
        clients["supervisor"].get(url, {"compute": "1"})
    negotiation = study["sources"][0].negotiation
    for i in range(30):
        source = SourceFactory(
            study=study["study"], negotiation=negotiation, text=f"More talks {i}. Yes."
        )
        for coder in (members.coder, members.coder2):
            Assignment.objects.create(source=source, coder=coder, status=AssignmentStatus.SUBMITTED)
    study_services.study_touch(study["study"].pk)
    ReportCache.objects.all().delete()
    with CaptureQueriesContext(connection) as large:
        clients["supervisor"].get(url, {"compute": "1"})
    assert len(large) == len(small)


def test_reliability_report_command(study):
    out = StringIO()
    call_command(
        "reliability_report", "--study", study["study"].slug, "--format", "csv", stdout=out
    )
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("element,unit,level")
    assert any(line.startswith("ZOPA,segment,nominal,12,12,2,") for line in lines)
    out = StringIO()
    call_command(
        "reliability_report", "--study", study["study"].slug, "--unit", "source", stdout=out
    )
    payload = json.loads(out.getvalue())
    assert payload["rows"][0]["unit"] == "source"


def test_ordinal_level_merges_none_and_mixed():

    table = table_for(
        [coding(100, 0, 5, "for"), coding(100, 1, 4, "against"), coding(200, 0, 5, "for")]
    )
    data = reliability_data(table, level="ordinal", coder_names={})
    assert data.categories == (-1, 0, 1)
    assert np.asarray(data.values)[0, :2].tolist() == [1, 2]  # mixed -> 0 (index 1), for -> +1


def test_matrix_header_neutralises_usernames(study, clients, members):
    members.coder2.username = "-1+1"
    members.coder2.save()
    url = reverse("negotiations:reliability_matrix", args=[study["study"].slug])
    response = clients["supervisor"].get(url, {"code": study["zopa"].pk})
    header = b"".join(response.streaming_content).decode().splitlines()[0].split(",")
    assert "'-1+1" in header
    assert "-1+1" not in header
