"""The exports page: every download of the study in one list."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.http import (
    HttpResponse,
)
from django.shortcuts import render
from django.views.decorators.http import require_GET

from negotiations.access import READERS_AND_MANAGERS, study_for_member
from negotiations.http import HtmxHttpRequest
from negotiations.interchange import selectors as interchange_selectors


@require_GET
def exports_page(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    study, membership = study_for_member(request, slug)
    context = {
        "study": study,
        "membership": membership,
        "replication_in_background": membership.role in READERS_AND_MANAGERS
        and interchange_selectors.study_export_chars(study=study)
        > settings.TRUSTCODER_BACKGROUND_EXPORT_CHARS,
    }
    return render(request, "negotiations/exports/exports.html", context)


NUMBERS_DOC = Path(settings.BASE_DIR) / "docs" / "numbers.md"


@require_GET
def numbers_page(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """How every number is computed: docs/numbers.md, shown as written (one text for the
    repository and the app)."""
    study, membership = study_for_member(request, slug)
    context = {
        "study": study,
        "membership": membership,
        "text": NUMBERS_DOC.read_text(encoding="utf-8"),
    }
    return render(request, "negotiations/exports/numbers.html", context)
