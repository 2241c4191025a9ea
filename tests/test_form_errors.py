"""Forms that fail say so at the top of the page as well as at the field (the shared include
includes/form_errors.html), and the import preview marks the failing cells."""

from __future__ import annotations

import pytest
from django.urls import reverse

from negotiations.models import AssessmentJudgement, Source, SourceImport
from tests.assessments.test_assessments import case as assessment_case  # noqa: F401
from tests.assessments.test_assessments import cell_url
from tests.factories import NegotiationFactory
from tests.sources.test_import import HEADER, statement, upload, write
from tests.sources.test_import import case as import_case  # noqa: F401

pytestmark = pytest.mark.django_db


def summary_of(html: str) -> str:
    assert html.count('class="errors error-summary"') == 1
    return html.split('class="errors error-summary"')[1].split("</div>")[0]


def test_upload_form_lists_its_problems_above_the_form(clients, members):
    negotiation = NegotiationFactory(study=members.study)
    response = clients["supervisor"].post(
        reverse("negotiations:source_create", args=[members.study.slug]),
        {"negotiation": negotiation.pk, "source_type": "nonsense", "language": "en"},
    )
    assert response.status_code == 422
    html = response.content.decode()
    summary = summary_of(html)
    assert "problems</strong>:" in summary
    assert '<a href="#id_title">Title</a>: This field is required.' in summary
    assert '<a href="#id_source_type">' in summary
    # Above the first field of the form, and still at each field.
    assert html.index("error-summary") < html.index('id="id_negotiation"')
    assert html.count('<p class="error" role="alert">') >= 2
    assert not Source.objects.exists()


def test_form_wide_error_appears_once_in_the_summary(clients, members):
    negotiation = NegotiationFactory(study=members.study)
    response = clients["supervisor"].post(
        reverse("negotiations:source_create", args=[members.study.slug]),
        {"negotiation": negotiation.pk, "title": "T", "source_type": "other", "language": "en"},
    )
    html = response.content.decode()
    summary = summary_of(html)
    assert "<strong>1 problem</strong>:" in summary and "1 problems" not in html
    assert html.count("Paste the text or choose a file") == 1


def test_override_form_errors_show_at_the_top_of_the_page(assessment_case, clients):  # noqa: F811
    case = assessment_case
    url = cell_url(case, case["zopa"], case["dprk"])
    post = {"phase": 0, "code": case["zopa"].pk, "party": case["dprk"].pk}
    response = clients["supervisor"].post(url, {**post, "override_verdict": "present"})
    assert response.status_code == 422
    html = response.content.decode()
    summary = summary_of(html)
    assert "needs a rationale" in summary
    # At the top: before the units table that pushes the form below the fold.
    assert html.index("error-summary") < html.index("<h2>Units")
    assert html.index("error-summary") < html.index('id="judgement"')
    # The value chosen is kept in the form.
    assert '<option value="present" selected>' in html
    assert not AssessmentJudgement.objects.exists()
    # Readers see the page without any form or summary.
    assert "error-summary" not in clients["reader"].get(url).content.decode()


def test_import_preview_marks_the_failing_cells_and_clips_long_text(
    import_case,  # noqa: F811
    clients,
    tmp_path,
):
    long_text = "A long statement about fuel deliveries. " * 4
    rows = [
        HEADER,
        statement(1, text=long_text),
        [""] * len(HEADER),  # a blank line: row numbers still count it
        statement(2, date="1994-13-45"),
        statement(3, speaker_party="KEDO"),
    ]
    upload(clients["supervisor"], write(tmp_path, rows))
    staged = SourceImport.objects.get()
    assert staged.n_errors == 2
    preview_url = reverse("negotiations:source_import_preview", args=["test-study", staged.pk])
    html = clients["supervisor"].get(preview_url).content.decode()
    table = html.split('<table class="table preview">')[1].split("</table>")[0]
    rows_html = table.split("<tbody>")[1].split("<tr")[1:]
    assert [r.split('id="row-')[1].split('"')[0] for r in rows_html] == ["2", "4", "5"]
    row2, row4, row5 = rows_html
    assert "cell-problem" not in row2
    assert '<td class="cell-long"><div class="cell-clip">A long statement' in row2
    assert (
        '<td class=" cell-problem">1994-13-45<small class="cell-problem-text">'
        "&#x27;1994-13-45&#x27; is not a date; write dates as YYYY-MM-DD.</small></td>"
    ) in row4
    assert row4.count('cell-problem"') == 1
    assert '<td class=" cell-problem">KEDO<small class="cell-problem-text">Unknown party' in row5
    # The problems table links to the marked rows; the summary to the preview.
    assert '<a href="#row-4">4</a>' in html and '<a href="#row-5">5</a>' in html
    assert '<a href="#first-rows">first rows</a>' in html
    assert "style=" not in table


def test_import_preview_stored_before_row_numbers_still_renders(
    import_case,  # noqa: F811
    clients,
    tmp_path,
):
    upload(clients["supervisor"], write(tmp_path, [HEADER, statement(1)]))
    staged = SourceImport.objects.get()
    staged.preview = [staged.preview[0], staged.preview[1][1:]]  # the older format: no row
    staged.save(update_fields=["preview"])
    preview_url = reverse("negotiations:source_import_preview", args=["test-study", staged.pk])
    html = clients["supervisor"].get(preview_url).content.decode()
    assert '<th scope="row">—</th>' in html and "Statement 1" in html
