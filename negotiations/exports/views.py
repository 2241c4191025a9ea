"""exports.views (from views)."""

from __future__ import annotations

from django.http import (
    HttpResponse,
    StreamingHttpResponse,
)
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from negotiations.access import study_for_member
from negotiations.coding import selectors as coding_selectors
from negotiations.exports import selectors
from negotiations.exports.tabular import csv_lines
from negotiations.http import HtmxHttpRequest, csv_response


@require_GET
def export_sources(request: HtmxHttpRequest, slug: str) -> StreamingHttpResponse:
    study, _ = study_for_member(request, slug)
    stamp = timezone.now().strftime("%Y%m%d")
    return csv_response(
        f"{study.slug}-sources-{stamp}.csv",
        csv_lines(selectors.SOURCE_COLUMNS, selectors.source_rows(study=study)),
    )


@require_GET
def export_codings(request: HtmxHttpRequest, slug: str) -> StreamingHttpResponse:
    study, membership = study_for_member(request, slug)
    codings = coding_selectors.coding_list_visible_to(
        study=study, user=request.user, role=membership.role
    )
    stamp = timezone.now().strftime("%Y%m%d")
    return csv_response(
        f"{study.slug}-codings-{stamp}.csv",
        csv_lines(selectors.CODING_COLUMNS, selectors.coding_rows(codings=codings, study=study)),
    )


@require_GET
def exports_page(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    study, membership = study_for_member(request, slug)
    context = {"study": study, "membership": membership}
    return render(request, "negotiations/exports/exports.html", context)
