"""The assignments page: who has what per source, unassigning, and the filter's count."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from negotiations.coding import assignments as assignment_services
from negotiations.coding import services as coding_services
from negotiations.models import Assignment, AssignmentStatus, Code, Coding, Membership
from tests.factories import NegotiationFactory, PartyFactory, SourceFactory

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


@pytest.fixture
def work(members):
    """Three sources: cora has two codings on the first, cody none; cody submitted the second."""
    study = members.study
    negotiation = NegotiationFactory(study=study, name="Agreed Framework")
    other = NegotiationFactory(study=study, name="Six-Party Talks")
    party = PartyFactory(study=study, code="US")
    negotiation.parties.add(party)
    other.parties.add(party)
    first = SourceFactory(study=study, negotiation=negotiation, title="Geneva <b>statement</b>")
    second = SourceFactory(study=study, negotiation=other, title="Beijing briefing")
    SourceFactory(study=study, negotiation=other, title="Nobody's yet")
    cora_first = assignment_services.assignment_create(
        source=first, coder=members.coder, assigned_by=members.supervisor
    )
    cody_first = assignment_services.assignment_create(
        source=first, coder=members.coder2, assigned_by=members.supervisor
    )
    cody_second = assignment_services.assignment_create(
        source=second, coder=members.coder2, assigned_by=members.supervisor
    )
    zopa = Code.objects.get(study=study, name="ZOPA")
    for start, end in ((0, 9), (10, 16)):
        coding_services.coding_create(
            source=first,
            coder=members.coder,
            code=zopa,
            start=start,
            end=end,
            quote=first.text[start:end],
            stance="for",
            demonstrating_party=party,
        )
    coding_services.coding_create(
        source=second,
        coder=members.coder2,
        code=zopa,
        start=0,
        end=9,
        quote=second.text[0:9],
        stance="against",
        demonstrating_party=party,
    )
    assignment_services.assignment_submit(assignment=cody_second)
    return {
        "study": study,
        "first": first,
        "second": second,
        "negotiation": negotiation,
        "cora_first": cora_first,
        "cody_first": cody_first,
        "cody_second": cody_second,
    }


def page_url(study) -> str:
    return reverse("negotiations:assignments", args=[study.slug])


def unassign_url(study, assignment) -> str:
    return reverse("negotiations:assignment_unassign", args=[study.slug, assignment.pk])


def row_of(html: str, title: str) -> str:
    """The per-source table row of the source with this (escaped) title."""
    table = html.split('class="table assignments-by-source"')[1].split("</table>")[0]
    return next(row for row in table.split("<tr>") if title in row)


def test_per_source_view_lists_each_coder_with_status_and_codings(clients, work):
    html = clients["supervisor"].get(page_url(work["study"])).content.decode()
    first = row_of(html, "Geneva &lt;b&gt;statement&lt;/b&gt;")
    assert 'cora</a> · <span class="status status-in_progress">In progress</span> · 2 codings' in (
        first
    )
    assert 'cody</a> · <span class="status status-assigned">Assigned</span> · 0 codings' in first
    second = row_of(html, "Beijing briefing")
    assert "Submitted</span> · 1 coding\n" in second
    # Submitted work offers no unassign link; open work does.
    assert "Unassign" not in second
    assert unassign_url(work["study"], work["cora_first"]) in first
    assert "Nobody is assigned." in row_of(html, "Nobody&#x27;s yet")
    assert "<b>statement" not in html


def test_per_source_view_query_count_is_constant(clients, work, members):
    client = clients["supervisor"]
    client.get(page_url(work["study"]))  # warm the session and the caches
    with CaptureQueriesContext(connection) as few:
        client.get(page_url(work["study"]))
    for n in range(6):
        source = SourceFactory(study=work["study"], negotiation=work["negotiation"])
        for coder in (members.coder, members.coder2):
            assignment_services.assignment_create(source=source, coder=coder, assigned_by=None)
        Coding.objects.create(
            source=source,
            coder=members.coder,
            code=Code.objects.filter(study=work["study"]).first(),
            start=0,
            end=9,
            quote=source.text[:9],
            stance="for",
            demonstrating_party=PartyFactory(study=work["study"], code=f"P{n}"),
        )
    with CaptureQueriesContext(connection) as many:
        html = client.get(page_url(work["study"])).content.decode()
    assert html.count("1 coding\n") >= 6
    assert len(many) == len(few)


def test_unassign_shows_what_it_would_delete_then_deletes_all_of_it(clients, work):
    study, assignment = work["study"], work["cora_first"]
    page = clients["supervisor"].get(unassign_url(study, assignment))
    html = page.content.decode()
    assert page.status_code == 200
    assert "deletes cora\N{RIGHT SINGLE QUOTATION MARK}s <strong>2 codings</strong>" in html
    assert html.count("<q>") == 2
    assert 'name="n_codings" value="2"' in html
    # Nothing is deleted by looking, nor by a POST without the confirmation.
    refused = clients["supervisor"].post(unassign_url(study, assignment), {"n_codings": 2})
    assert refused.status_code == 422 and "Tick the confirmation" in refused.content.decode()
    assert Coding.objects.filter(coder=assignment.coder, source=work["first"]).count() == 2
    done = clients["supervisor"].post(
        unassign_url(study, assignment), {"n_codings": 2, "confirm": "yes"}
    )
    assert done.status_code == 302 and done["Location"] == page_url(study)
    assert not Assignment.objects.filter(pk=assignment.pk).exists()
    assert not Coding.objects.filter(coder=assignment.coder, source=work["first"]).exists()
    # The other coder of the source keeps their assignment, the other source its codings.
    assert Assignment.objects.filter(pk=work["cody_first"].pk).exists()
    assert Coding.objects.filter(source=work["second"]).count() == 1
    followed = clients["supervisor"].get(page_url(study)).content.decode()
    assert "Unassigned cora from" in followed and "2 codings deleted" in followed
    # The coder no longer reaches the source.
    coding_page = reverse("negotiations:coding_page", args=[study.slug, work["first"].pk])
    assert clients["coder"].get(coding_page).status_code == 403


def test_unassign_refused_when_the_coder_has_submitted(clients, work):
    study, assignment = work["study"], work["cody_second"]
    html = clients["supervisor"].get(unassign_url(study, assignment)).content.decode()
    assert "has submitted this source" in html and "Reopen for cody" in html
    assert 'name="confirm"' not in html
    response = clients["supervisor"].post(
        unassign_url(study, assignment), {"n_codings": 1, "confirm": "yes"}
    )
    assert response.status_code == 422
    assert "not discarded by unassigning" in response.content.decode()
    assert Assignment.objects.filter(pk=assignment.pk, status=AssignmentStatus.SUBMITTED).exists()
    assert Coding.objects.filter(source=work["second"]).count() == 1


def test_unassign_refused_when_codings_changed_since_the_confirmation(clients, work):
    """The confirmation showed 2 codings; the coder saved a third: nothing is deleted."""
    study, assignment = work["study"], work["cora_first"]
    response = clients["supervisor"].post(
        unassign_url(study, assignment), {"n_codings": 1, "confirm": "yes"}
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert "now has 2 codings on this source, not 1" in html
    assert html.count("<q>") == 2  # the page lists them afresh
    assert Coding.objects.filter(coder=assignment.coder, source=work["first"]).count() == 2
    assert Assignment.objects.filter(pk=assignment.pk).exists()


def test_assignment_delete_is_all_or_nothing(work, monkeypatch):
    """If deleting the assignment fails after its codings went, the codings come back."""
    assignment = work["cora_first"]

    def fail(self, *args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(Assignment, "delete", fail)
    with pytest.raises(RuntimeError):
        assignment_services.assignment_delete(assignment=assignment, n_codings_shown=2)
    assert Coding.objects.filter(coder=assignment.coder, source=work["first"]).count() == 2


def test_assignment_delete_service_refuses_submitted(work):
    with pytest.raises(ValidationError, match="has submitted"):
        assignment_services.assignment_delete(assignment=work["cody_second"], n_codings_shown=1)


@pytest.mark.parametrize("role", ["anonymous", "outsider", "reader", "coder"])
def test_unassign_is_for_owners_and_supervisors_only(clients, work, role):
    study, assignment = work["study"], work["cora_first"]
    expected = {"anonymous": 302, "outsider": 404}.get(role, 403)
    assert clients[role].get(unassign_url(study, assignment)).status_code == expected
    response = clients[role].post(
        unassign_url(study, assignment), {"n_codings": 2, "confirm": "yes"}
    )
    assert response.status_code == expected
    assert Coding.objects.filter(coder=assignment.coder, source=work["first"]).count() == 2
    assert Assignment.objects.filter(pk=assignment.pk).exists()


def test_owner_may_unassign_and_another_studys_assignment_is_404(clients, work):
    other = SourceFactory()
    stranger = Assignment.objects.create(source=other, coder=work["cora_first"].coder)
    response = clients["owner"].get(unassign_url(work["study"], stranger))
    assert response.status_code == 404
    assert clients["owner"].get(unassign_url(work["study"], work["cody_first"])).status_code == 200


def test_filter_count_before_assigning_htmx_and_without_js(clients, work):
    url = page_url(work["study"])
    html = clients["supervisor"].get(url).content.decode()
    assert "This filter matches <strong>3 sources</strong>" in html
    # htmx, as the filter changes: only the count comes back.
    partial = clients["supervisor"].get(
        url,
        {"negotiation": work["negotiation"].pk},
        headers={**HTMX, "HX-Target": "match-count"},
    )
    text = partial.content.decode()
    assert text.strip().startswith('<p id="match-count"')
    assert "<strong>1 source</strong>" in text and "<h1>" not in text
    # Without JavaScript: the "Count the sources" button (a GET of the form)...
    counted = clients["supervisor"].get(url, {"negotiation": work["negotiation"].pk, "seed": 4})
    page = counted.content.decode()
    assert "<strong>1 source</strong>" in page and 'value="4"' in page
    assert "This field is required" not in page
    # ...and the response of a refused POST (no coder chosen) say it too.
    refused = clients["supervisor"].post(
        url, {"negotiation": work["negotiation"].pk, "mode": "all", "share": 20, "seed": 1}
    )
    body = refused.content.decode()
    assert "<strong>1 source</strong>" in body
    assert Assignment.objects.count() == 3
    # A malformed filter shows no number rather than the whole study's.
    bad = clients["supervisor"].get(
        url, {"date_from": "not a date"}, headers=HTMX | {"HX-Target": "match-count"}
    )
    assert "Correct the filter" in bad.content.decode()


def test_bulk_form_errors_are_summarised_at_the_top(clients, work):
    url = page_url(work["study"])
    body = clients["supervisor"].post(url, {"mode": "all", "share": 500, "seed": 1}).content
    html = body.decode()
    summary = html.split('class="errors error-summary"')[1].split("</div>")[0]
    assert "2 problems" in summary
    assert '<a href="#id_coders">Coders</a>' in summary and 'id="id_coders"' in html
    assert '<a href="#id_share">Double-coded share (%)</a>' in summary
    # The summary comes before the progress table, the field's own error stays at the field.
    assert html.index("error-summary") < html.index("Progress per coder")
    assert html.count('class="error" role="alert"') == 2


def test_assign_message_and_counts_use_singular_for_one(clients, work, members):
    url = page_url(work["study"])
    coder = Membership.objects.get(study=work["study"], user=members.coder)
    response = clients["supervisor"].post(
        url,
        {
            "q": "Nobody",
            "coders": [coder.pk],
            "mode": "all",
            "share": 20,
            "seed": 1,
        },
        follow=True,
    )
    html = response.content.decode()
    assert "1 source assigned" in html and "1 sources" not in html


def test_unassign_and_a_new_coding_at_once_on_postgresql(
    work, members, postgres_only, transactional_db
):
    """A coder saves a coding while a supervisor unassigns them: either the coding comes first
    and the unassign is refused (it showed two codings), or the unassign comes first and the
    coding is refused; never an unassigned coder with a coding left behind."""
    import threading

    from django.core.exceptions import PermissionDenied
    from django.db import connections

    assignment, source = work["cora_first"], work["first"]
    code = Code.objects.get(study=work["study"], name="ZOPA")
    party = Coding.objects.filter(source=source).first().demonstrating_party
    barrier = threading.Barrier(2)
    results: dict[str, str] = {}

    def unassign():
        try:
            barrier.wait(timeout=10)
            assignment_services.assignment_delete(assignment=assignment, n_codings_shown=2)
            results["unassign"] = "done"
        except ValidationError:
            results["unassign"] = "refused"
        finally:
            connections.close_all()

    def code_more():
        try:
            barrier.wait(timeout=10)
            coding_services.coding_create(
                source=source,
                coder=members.coder,
                code=code,
                start=17,
                end=22,
                quote=source.text[17:22],
                stance="against",
                demonstrating_party=party,
            )
            results["coding"] = "saved"
        except (PermissionDenied, ValidationError):
            results["coding"] = "refused"
        finally:
            connections.close_all()

    threads = [threading.Thread(target=unassign), threading.Thread(target=code_more)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    left = Coding.objects.filter(source=source, coder=members.coder).count()
    assigned = Assignment.objects.filter(pk=assignment.pk).exists()
    assert results in (
        {"unassign": "refused", "coding": "saved"},
        {"unassign": "done", "coding": "refused"},
    )
    assert (assigned, left) == ((True, 3) if results["coding"] == "saved" else (False, 0))
