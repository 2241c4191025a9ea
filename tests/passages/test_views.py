"""The Passages page: filters, context, counts with click-through, blind coding, downloads."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from negotiations.models import Code, ConsensusCoding, ConsensusStatus, ConsensusUnit
from tests.passages.conftest import submit

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def url(members, name="passage_list") -> str:
    return reverse(f"negotiations:{name}", args=[members.study.slug])


def test_supervisor_sees_every_passage_with_context_and_link(clients, members, passages):
    response = clients["supervisor"].get(url(members))
    assert response.status_code == 200
    html = response.content.decode()
    assert "3 passages" in html
    assert "<mark>deliver heavy fuel oil</mark>" in html
    # Context before and after, from the source text.
    assert "The United States will " in html and " on schedule. The reactor" in html
    coding_url = reverse(
        "negotiations:coding_page", args=[members.study.slug, passages.source_af.pk]
    )
    assert f"{coding_url}?layer={members.coder.pk}#coding-{passages.cora_fuel.pk}" in html


def test_partial_holds_only_the_results(clients, members, passages):
    response = clients["supervisor"].get(url(members) + "?stance=against", headers=HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert "<h1>" not in html and 'id="results"' in html
    assert "1 passage<" in html
    assert "reactor freeze stays in place" in html


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("stance=against", {"reactor freeze stays in place"}),
        ("speaker=kcna", {"meet again in Geneva"}),
        ("source_type=news_report", {"meet again in Geneva"}),
        ("text=HEAVY+oil", {"deliver heavy fuel oil"}),
        ("text=heavy+geneva", set()),
        ("date_from=2100-01-01", set()),
    ],
)
def test_filters(clients, members, passages, query, expected):
    html = clients["reader"].get(url(members) + "?" + query).content.decode()
    shown = {
        q
        for q in ("deliver heavy fuel oil", "reactor freeze stays in place", "meet again in Geneva")
        if f"<mark>{q}</mark>" in html
    }
    assert shown == expected


def test_filters_by_objects(clients, members, passages):
    base = url(members) + "?"
    willingness = Code.objects.get(study=members.study, name="WILLINGNESS")
    checks = {
        f"code={willingness.pk}": {"meet again in Geneva"},
        f"party={passages.us.pk}": {"deliver heavy fuel oil"},
        f"speaker_party={passages.dprk.pk}": {"meet again in Geneva"},
        f"negotiation={passages.source_af.negotiation_id}": {
            "deliver heavy fuel oil",
            "reactor freeze stays in place",
        },
        f"phase={passages.source_af.phase_id}": {
            "deliver heavy fuel oil",
            "reactor freeze stays in place",
        },
        f"layer={members.coder2.pk}": {"reactor freeze stays in place", "meet again in Geneva"},
    }
    for query, expected in checks.items():
        html = clients["supervisor"].get(base + query).content.decode()
        shown = {
            q
            for q in (
                "deliver heavy fuel oil",
                "reactor freeze stays in place",
                "meet again in Geneva",
            )
            if f"<mark>{q}</mark>" in html
        }
        assert shown == expected, query


def test_counts_by_code_and_negotiation_link_to_their_passages(clients, members, passages):
    response = clients["supervisor"].get(url(members))
    counts = response.context["counts"]
    by_row = {row.code.name: [n for _column, n in row.cells] for row in counts.rows}
    assert by_row["CAPACITY"] == [2, 0]
    assert by_row["WILLINGNESS"] == [0, 1]
    assert counts.total == 3
    capacity = Code.objects.get(study=members.study, name="CAPACITY")
    link = f"code={capacity.pk}&amp;negotiation={passages.source_af.negotiation_id}"
    assert link in response.content.decode()
    followed = clients["supervisor"].get(
        url(members) + f"?code={capacity.pk}&negotiation={passages.source_af.negotiation_id}"
    )
    assert followed.context["page"].paginator.count == 2


def test_counts_by_phase(clients, members, passages):
    response = clients["supervisor"].get(url(members) + "?counts=phase")
    counts = response.context["counts"]
    labels = [c.label for c in counts.columns]
    assert labels == ["Agreed Framework · Implementation", "Six-Party Talks · no phase"]
    capacity = next(r for r in counts.rows if r.code.name == "CAPACITY")
    assert [n for _c, n in capacity.cells] == [2, 0]
    assert f"phase={passages.source_af.phase_id}" in response.content.decode()


def test_blind_coding_holds_until_the_coder_submits(clients, members, passages):
    html = clients["coder"].get(url(members)).content.decode()
    assert "1 passage<" in html
    assert "deliver heavy fuel oil" in html
    assert "<mark>reactor freeze" not in html  # cody's, on a source cora has not submitted
    assert "Blind coding is on" in html
    # Asking for another coder's layer does not get around it.
    other = clients["coder"].get(url(members) + f"?layer={members.coder2.pk}")
    assert "<mark>reactor freeze" not in other.content.decode()
    # Nor does the download.
    csv_text = b"".join(
        clients["coder"].get(url(members, "passage_export_csv")).streaming_content
    ).decode()
    assert (
        ",reactor freeze stays in place," not in csv_text and "deliver heavy fuel oil" in csv_text
    )
    # Nor the counts.
    counts = clients["coder"].get(url(members)).context["counts"]
    assert counts.total == 1
    # After submitting the source, everyone's codings of it show.
    submit(passages, passages.source_af, members.coder)
    html = clients["coder"].get(url(members)).content.decode()
    assert "<mark>reactor freeze stays in place</mark>" in html
    assert "<mark>meet again in Geneva" not in html  # the other source is still not submitted


def test_coders_do_not_get_the_consensus_layer(clients, members, passages):
    html = clients["coder"].get(url(members)).content.decode()
    assert 'value="consensus"' not in html
    response = clients["coder"].get(url(members) + "?layer=consensus")
    assert response.context["page"].paginator.count == 1  # an invalid choice: the default


def test_consensus_layer(clients, members, passages):
    capacity = passages.cora_fuel.code
    segment = passages.source_af.segments.first()
    unit = ConsensusUnit.objects.create(
        study=members.study,
        source=passages.source_af,
        segment=segment,
        code=capacity,
        party=passages.us,
        status=ConsensusStatus.SETTLED,
    )
    ConsensusCoding.objects.create(
        unit=unit,
        source=passages.source_af,
        code=capacity,
        demonstrating_party=passages.us,
        start=passages.cora_fuel.start,
        end=passages.cora_fuel.end,
        quote=passages.cora_fuel.quote,
        stance="for",
    )
    html = clients["reader"].get(url(members) + "?layer=consensus").content.decode()
    assert "1 passage in the consensus layer" in html
    assert "<mark>deliver heavy fuel oil</mark>" in html
    assert ">consensus<" in html


def test_csv_download_matches_the_page(clients, members, passages):
    response = clients["reader"].get(url(members, "passage_export_csv") + "?stance=for")
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [r["quote"] for r in rows] == ["deliver heavy fuel oil", "meet again in Geneva"]
    first = rows[0]
    assert first["coder"] == "cora"
    assert first["context_before"] == "The United States will "
    assert first["context_after"].startswith(" on schedule.")
    assert first["negotiation"] == "Agreed Framework" and first["phase"] == "Implementation"
    text = passages.source_af.text
    assert text[int(first["start"]) : int(first["end"])] == first["quote"]


def test_xlsx_download_has_numbers_as_numbers(clients, members, passages):
    response = clients["supervisor"].get(url(members, "passage_export_xlsx"))
    assert response["Content-Disposition"].endswith('.xlsx"')
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    header = rows[0]
    assert header[0] == "passage_id" and len(rows) == 4
    start = rows[1][header.index("start")]
    assert isinstance(start, int)
    assert rows[1][header.index("quote")] == "deliver heavy fuel oil"


def test_text_cells_are_neutralised_in_downloads(clients, members, passages):
    from tests.passages.conftest import make_coding

    source = passages.source_spt
    make_coding(source, members.coder, "Pyongyang said", passages.cora_fuel.code, passages.us)
    source.__class__.objects.filter(pk=source.pk).update(speaker="=HYPERLINK(1)")
    rows = list(
        csv.DictReader(
            io.StringIO(
                b"".join(
                    clients["supervisor"].get(url(members, "passage_export_csv")).streaming_content
                ).decode()
            )
        )
    )
    assert {r["speaker"] for r in rows if r["source_id"] == str(source.pk)} == {"'=HYPERLINK(1)"}
    sheet = load_workbook(
        io.BytesIO(clients["supervisor"].get(url(members, "passage_export_xlsx")).content)
    ).active
    speakers = {row[8] for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert "'=HYPERLINK(1)" in speakers


def test_context_is_cut_with_an_ellipsis_only_where_text_goes_on(clients, members, passages):
    from negotiations.passages.selectors import CONTEXT_CHARS
    from tests.passages.conftest import make_coding

    source = passages.source_af
    long_text = "word " * 100 + "the middle passage " + "word " * 100
    source.__class__.objects.filter(pk=source.pk).update(text=long_text)
    source.refresh_from_db()
    coding = make_coding(
        source, members.coder, "middle passage", passages.cora_fuel.code, passages.us
    )
    response = clients["supervisor"].get(url(members) + "?text=middle")
    passage = response.context["page"].object_list[0]
    assert passage.pk == coding.pk
    assert passage.more_before and passage.more_after
    assert len(passage.before) == len(passage.after) == CONTEXT_CHARS
    assert long_text[coding.start - CONTEXT_CHARS : coding.start] == passage.before
    html = clients["supervisor"].get(url(members) + "?text=geneva").content.decode()
    assert "next month.</span>" in html
