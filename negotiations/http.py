"""What every view shares: the typed htmx request, service errors onto forms, CSV responses."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import (
    HttpRequest,
    StreamingHttpResponse,
)
from django_htmx.middleware import HtmxDetails


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


def form_errors(form, exc: ValidationError) -> None:
    """Put a service's ValidationError onto the form, field by field where it names fields."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc)


def csv_response(filename: str, lines) -> StreamingHttpResponse:
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def error_text(exc: ValidationError) -> str:
    return " ".join(exc.messages)
