"""The exports page: every download of the study in one list."""

from __future__ import annotations

from django.http import (
    HttpResponse,
)
from django.shortcuts import render
from django.views.decorators.http import require_GET

from negotiations.access import study_for_member
from negotiations.http import HtmxHttpRequest


@require_GET
def exports_page(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    study, membership = study_for_member(request, slug)
    context = {"study": study, "membership": membership}
    return render(request, "negotiations/exports/exports.html", context)
