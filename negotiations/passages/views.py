"""The Passages page: every passage on a question, its counts, and its CSV and XLSX downloads."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from negotiations.access import study_for_member
from negotiations.http import HtmxHttpRequest, csv_response
from negotiations.passages import selectors
from negotiations.passages.forms import PassageFilterForm
from negotiations.tabular import csv_lines, xlsx_bytes

PASSAGES_PER_PAGE = 50


def _filters(request: HtmxHttpRequest, study, membership) -> tuple[PassageFilterForm, object]:
    form = PassageFilterForm(
        request.GET or None, study=study, user=request.user, role=membership.role
    )
    return form, form.filters()


@require_GET
def passage_list(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    study, membership = study_for_member(request, slug)
    form, filters = _filters(request, study, membership)
    passages = selectors.passage_list(
        study=study, user=request.user, role=membership.role, filters=filters
    )
    page = Paginator(passages, PASSAGES_PER_PAGE).get_page(request.GET.get("page"))
    by_phase = request.GET.get("counts") == "phase"
    counts = selectors.passage_counts(
        study=study, user=request.user, role=membership.role, filters=filters, by_phase=by_phase
    )
    query = request.GET.copy()
    query.pop("page", None)
    # The counts' links replace the code, negotiation and phase of the current filter.
    scope_query = query.copy()
    for name in ("code", "negotiation", "phase", "counts"):
        scope_query.pop(name, None)
    context = {
        "study": study,
        "membership": membership,
        "filter_form": form,
        "filters": filters,
        "page": page,
        "counts": counts,
        "query": query.urlencode(),
        "scope_query": scope_query.urlencode(),
        "consensus": filters.layer == selectors.CONSENSUS,
        "blind": membership.role == "coder" and study.blind_coding,
    }
    template = "negotiations/passages/passage_list.html"
    if request.htmx:
        template += "#results"
    return render(request, template, context)


def _download_name(study, extension: str) -> str:
    return f"{study.slug}-passages-{timezone.now():%Y%m%d}.{extension}"


@require_GET
def passage_export_csv(request: HtmxHttpRequest, slug: str) -> StreamingHttpResponse:
    study, membership = study_for_member(request, slug)
    _form, filters = _filters(request, study, membership)
    rows = selectors.passage_rows(
        study=study, user=request.user, role=membership.role, filters=filters
    )
    return csv_response(_download_name(study, "csv"), csv_lines(selectors.PASSAGE_COLUMNS, rows))


@require_GET
def passage_export_xlsx(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    study, membership = study_for_member(request, slug)
    _form, filters = _filters(request, study, membership)
    rows = selectors.passage_rows(
        study=study, user=request.user, role=membership.role, filters=filters
    )
    response = HttpResponse(
        xlsx_bytes(selectors.PASSAGE_COLUMNS, rows, title="Passages"),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = f'attachment; filename="{_download_name(study, "xlsx")}"'
    return response
