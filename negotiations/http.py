"""What every view shares: the typed htmx request, service errors onto forms, CSV responses."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import (
    HttpRequest,
    StreamingHttpResponse,
)
from django.urls import reverse
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


def url_template(name: str, *args: object, placeholder: str = "{id}") -> str:
    """The URL of `name` with `placeholder` where its last (integer) argument goes.

    Both versions come from `reverse` (with ids 0 and 1), and the placeholder is put where they
    differ, so a slug that happens to read "0" is never mistaken for the id."""
    zero, one = reverse(name, args=[*args, 0]), reverse(name, args=[*args, 1])
    # The two differ in exactly one character: the id.
    at = next(i for i, (a, b) in enumerate(zip(zero, one, strict=True)) if a != b)
    return zero[:at] + placeholder + zero[at + 1 :]
