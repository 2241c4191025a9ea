"""The passages (unitizing) unit on the reliability page, its downloads and the report command."""

from __future__ import annotations

import csv
import io
import json
import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from negotiations.coding import assignments as assignment_services
from negotiations.coding import services as coding_services
from negotiations.models import Assignment, Code, Coding, ReportCache
from negotiations.reliability import selectors as reliability_selectors
from negotiations.reliability import services as reliability_services
from negotiations.studies import services as study_services
from tests.factories import NegotiationFactory, PartyFactory, SourceFactory, UserFactory

pytestmark = pytest.mark.django_db

TEXTS = [
    "Talks resumed at noon. The envoy arrived late. Both sides spoke of a freeze.",
    "Fuel deliveries were delayed again. The delegation complained about the delay.",
    "A joint statement was issued. It promised further rounds of talks.",
]


def code(members, name):
    return Code.objects.get(study=members.study, name=name)


def mark(source, coder, code, phrase, stance="for", party=None, *, shift=0, grow=0):
    start = source.text.index(phrase) + shift
    end = start + len(phrase) + grow
    return coding_services.coding_create(
        source=source,
        coder=coder,
        code=code,
        start=start,
        end=end,
        quote=source.text[start:end],
        stance=stance,
        demonstrating_party=party,
    )


@pytest.fixture
def study(members):
    study = members.study
    us = PartyFactory(study=study, code="US")
    dprk = PartyFactory(study=study, code="DPRK")
    negotiation = NegotiationFactory(study=study)
    negotiation.parties.add(us, dprk)
    zopa, capacity = code(members, "ZOPA"), code(members, "CAPACITY")
    sources = [SourceFactory(study=study, negotiation=negotiation, text=t) for t in TEXTS]
    single = SourceFactory(study=study, negotiation=negotiation, text="Only one coder read this.")
    for source in sources:
        for coder in (members.coder, members.coder2):
            assignment_services.assignment_create(
                source=source, coder=coder, assigned_by=members.supervisor
            )
    assignment_services.assignment_create(
        source=single, coder=members.coder, assigned_by=members.supervisor
    )
    cora, cody = members.coder, members.coder2
    mark(sources[0], cora, zopa, "Both sides spoke of a freeze", party=us)
    mark(sources[0], cody, zopa, "sides spoke of a freeze", party=us)
    mark(sources[0], cody, zopa, "The envoy arrived late", "against", party=dprk)
    mark(sources[1], cora, capacity, "Fuel deliveries were delayed", "against", party=us)
    mark(sources[1], cody, capacity, "Fuel deliveries were delayed again", "against", party=us)
    mark(sources[1], cora, capacity, "Fuel deliveries", "against", party=us)  # nested: merged
    mark(sources[2], cora, zopa, "It promised further rounds", party=dprk)
    mark(sources[2], cody, zopa, "It promised further rounds of talks", party=dprk)
    mark(single, cora, zopa, "Only one coder", party=us)
    for assignment in Assignment.objects.filter(source__study=study):
        assignment_services.assignment_submit(assignment=assignment)
    return {"study": study, "sources": sources, "zopa": zopa, "capacity": capacity, "us": us}


def page_url(study):
    return reverse("negotiations:reliability", args=[study["study"].slug])


def passage_report(study, **filters):
    return reliability_services.passage_report(
        study=study["study"],
        filters=reliability_selectors.ReliabilityFilters(unit="passage", **filters),
    )


def download(client, study, element, **params):
    url = reverse("negotiations:reliability_passages", args=[study["study"].slug])
    response = client.get(url, {"unit": "passage", "element": element, **params})
    assert response.status_code == 200
    length = int(re.search(r"-L(\d+)\.csv", response["Content-Disposition"]).group(1))
    return b"".join(response.streaming_content).decode(), length


def command(tmp_path, body, length):
    path = tmp_path / "units.csv"
    path.write_text(body, encoding="utf-8")
    out = StringIO()
    call_command("unitizing_agreement", str(path), "--length", str(length), stdout=out)
    return json.loads(out.getvalue())


def test_continuum_is_the_double_coded_sources(study):
    report = passage_report(study)
    assert report["n_sources"] == 3  # the source only cora submitted is not part of it
    assert report["length"] == sum(len(t) for t in TEXTS)
    assert report["coders"] == ["cody", "cora"]
    zopa = report["rows"][0]
    assert zopa["element"] == "ZOPA" and zopa["n_coders"] == 2
    assert [c["category"] for c in zopa["categories"]] == ["against", "for"]
    assert zopa["n_units"] == 5
    capacity = report["rows"][1]
    assert capacity["merged"] == 1 and capacity["n_units"] == 2
    assert report["rows"][-1]["element"] == "All elements"
    willingness = next(r for r in report["rows"] if r["element"] == "WILLINGNESS")
    assert willingness["u_alpha"] is None and "no coder marked any unit" in willingness["undefined"]


@pytest.mark.parametrize("categories", ["stance", "stance_party"])
def test_download_reproduces_the_page_through_the_command(study, clients, tmp_path, categories):
    report = passage_report(study, categories=categories)
    for row in report["rows"]:
        element = row["code"] if row["code"] is not None else "all"
        body, length = download(clients["reader"], study, element, categories=categories)
        assert length == report["length"]
        result = command(tmp_path, body, length)
        if row["u_alpha"] is None:
            assert result["u_alpha"] is None
        else:
            assert result["u_alpha"] == pytest.approx(row["u_alpha"], abs=1e-12)
        for category in row["categories"]:
            value = result["per_category"][category["category"]]
            if category["u_alpha"] is None:
                assert value is None
            else:
                assert value == pytest.approx(category["u_alpha"], abs=1e-12)
        assert result["coders"] == row["n_coders"]
        assert sum(result["units_per_coder"].values()) == row["n_units"]


def test_download_rows_and_silent_coders(study, clients):
    body, _ = download(clients["reader"], study, study["capacity"].pk)
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0] == ["coder", "start", "end", "category"]
    offset = len(TEXTS[0])
    start = offset + TEXTS[1].index("Fuel deliveries")
    assert ["cora", str(start), str(start + len("Fuel deliveries")), "against"] in rows
    # WILLINGNESS: nobody marked anything; both coders are still listed.
    willingness = Code.objects.get(study=study["study"], name="WILLINGNESS")
    body, _ = download(clients["reader"], study, willingness.pk)
    assert body.splitlines() == ["coder,start,end,category", "cody,,,", "cora,,,"]
    body, _ = download(clients["reader"], study, study["zopa"].pk, categories="stance_party")
    assert "for:US" in body and "against:DPRK" in body


def test_units_of_a_coder_who_did_not_submit_a_source_do_not_count(study, members, clients):
    source = study["sources"][2]
    assignment = Assignment.objects.get(source=source, coder=members.coder2)
    assignment_services.assignment_reopen(assignment=assignment)
    report = passage_report(study)
    assert report["n_sources"] == 2
    assert report["length"] == len(TEXTS[0]) + len(TEXTS[1])


def test_a_coder_submitting_only_some_sources_leaves_them_out(study, members):
    third = UserFactory(username="cleo")
    study_services.membership_add(
        study=study["study"], identifier="cleo", role="coder", actor_role="owner"
    )
    source = study["sources"][0]
    assignment = assignment_services.assignment_create(
        source=source, coder=third, assigned_by=members.supervisor
    )
    assignment_services.assignment_submit(assignment=assignment)
    report = passage_report(study)
    assert report["coders"] == ["cleo", "cody", "cora"]
    assert report["n_sources"] == 1 and report["left_out"] == 2
    ticked = passage_report(study, coders=tuple(sorted([members.coder.pk, members.coder2.pk])))
    assert ticked["n_sources"] == 3 and ticked["left_out"] == 0


def test_page_full_and_partial(study, clients):
    url = page_url(study)
    page = clients["reader"].get(url, {"unit": "passage"}).content.decode()
    assert "Computing the report" in page and 'hx-trigger="load"' in page
    partial = (
        clients["reader"]
        .get(url, {"unit": "passage"}, headers={"HX-Request": "true"})
        .content.decode()
    )
    assert partial.lstrip().startswith('<div id="results">')
    assert "Agreement on passages" in partial and ".800" in partial and ".667" in partial
    report = passage_report(study)
    assert f"--length {report['length']}" in partial
    assert "undefined" in partial and "no coder marked any unit" in partial
    assert reverse("negotiations:reliability_passages", args=[study["study"].slug]) in partial
    full = clients["supervisor"].get(url, {"unit": "passage"}).content.decode()
    assert "From the cache" in full and "Agreement on passages" in full
    # The sentence report is unchanged beside it.
    sentence = clients["reader"].get(url, {"compute": "1"}).content.decode()
    assert "Agreement on passages" not in sentence and "Gwet" in sentence


def test_page_escapes_user_text(study, clients, members):
    members.coder2.username = "<b>cody</b>"
    members.coder2.save()
    ReportCache.objects.all().delete()
    html = clients["reader"].get(page_url(study), {"unit": "passage", "compute": "1"}).content
    assert b"<b>cody</b>" not in html and b"&lt;b&gt;cody&lt;/b&gt;" in html


def test_report_csv_download_numbers_as_numbers(study, clients):
    response = clients["reader"].get(
        page_url(study), {"unit": "passage", "compute": "1", "format": "csv"}
    )
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    zopa = next(r for r in rows if r["element"] == "ZOPA" and r["category"] == "(all)")
    report = passage_report(study)
    assert float(zopa["u_alpha"]) == report["rows"][0]["u_alpha"]
    assert int(zopa["length"]) == report["length"] and zopa["n_coders"] == "2"
    assert rows[-1]["element"] == "All elements"


def test_reliability_report_command_with_passages(study):
    out = StringIO()
    call_command(
        "reliability_report", "--study", study["study"].slug, "--unit", "passage", stdout=out
    )
    payload = json.loads(out.getvalue())
    report = passage_report(study)
    assert payload["unit"] == "passage" and payload["length"] == report["length"]
    zopa = payload["rows"][0]
    assert zopa["element"] == "ZOPA" and zopa["category"] == "(all)"
    assert zopa["u_alpha"] == report["rows"][0]["u_alpha"]
    assert isinstance(zopa["n_units"], int) and isinstance(zopa["ci95_low"], float)
    willingness = next(r for r in payload["rows"] if r["element"] == "WILLINGNESS")
    assert willingness["u_alpha"] is None and willingness["undefined"]
    out = StringIO()
    call_command(
        "reliability_report",
        "--study",
        study["study"].slug,
        "--unit",
        "passage",
        "--categories",
        "stance_party",
        "--format",
        "csv",
        stdout=out,
    )
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("element,category,unit,categories,n_coders")
    assert any(line.startswith("ZOPA,for:US,passage,stance_party,2,") for line in lines)


def test_cache_is_invalidated_by_a_reopening(study, members):
    first = passage_report(study)
    assert not first["cached"] and passage_report(study)["cached"]
    assignment = Assignment.objects.get(source=study["sources"][0], coder=members.coder2)
    assignment_services.assignment_reopen(assignment=assignment)
    after = passage_report(study)
    assert not after["cached"] and after["n_sources"] == 2


def test_permissions(study, clients):
    url = reverse("negotiations:reliability_passages", args=[study["study"].slug])
    assert clients["coder"].get(url).status_code == 403
    assert clients["outsider"].get(url).status_code == 404
    assert clients["anonymous"].get(url).status_code == 302
    assert clients["coder"].get(page_url(study), {"unit": "passage"}).status_code == 403


def test_queries_do_not_grow_with_the_codings(study, members, clients):
    def count():
        ReportCache.objects.all().delete()
        with CaptureQueriesContext(connection) as queries:
            response = clients["supervisor"].get(
                page_url(study), {"unit": "passage", "compute": "1"}
            )
            assert response.status_code == 200
        with CaptureQueriesContext(connection) as download_queries:
            body, _ = download(clients["supervisor"], study, study["zopa"].pk)
        return len(queries), len(download_queries), body.count("\n")

    small = count()
    source = study["sources"][0]
    rows = [
        Coding(
            source=source,
            coder=coder,
            code=study["zopa"],
            start=i,
            end=i + 3,
            quote=source.text[i : i + 3],
            stance="for",
            demonstrating_party=study["us"],
        )
        for coder in (members.coder, members.coder2)
        for i in range(0, 60)
    ]
    Coding.objects.bulk_create(rows)
    study_services.study_touch(study["study"].pk)
    large = count()
    assert large[2] > small[2] + 100  # the download did grow
    assert large[:2] == small[:2]
