"""What every view shares: the typed htmx request, service errors onto forms, table responses."""

from __future__ import annotations

import base64
import functools
import hashlib
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import (
    HttpRequest,
    HttpResponse,
    StreamingHttpResponse,
)
from django.urls import get_script_prefix, get_urlconf, reverse
from django_htmx.middleware import HtmxDetails

from negotiations.tabular import csv_lines, xlsx_bytes


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


def form_errors(form, exc: ValidationError) -> None:
    """Put a service's ValidationError onto the form, field by field where it names fields."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc)


CHUNK_BYTES = 64 * 1024


def chunked(pieces: Iterable[str | bytes | memoryview], size: int | None = None) -> Iterator[bytes]:
    """Lines joined into chunks of about `size` bytes (`CHUNK_BYTES`): a server writes each chunk
    a streaming response yields, and one write per CSV line made the export's cost the number
    of writes. The body is still never held whole."""
    size = size or CHUNK_BYTES
    buffer: list[bytes] = []
    length = 0
    for piece in pieces:
        data = piece.encode() if isinstance(piece, str) else piece
        buffer.append(data)
        length += len(data)
        if length >= size:
            yield b"".join(buffer)
            buffer, length = [], 0
    if buffer:
        yield b"".join(buffer)


def csv_response(filename: str, lines) -> StreamingHttpResponse:
    response = StreamingHttpResponse(chunked(lines), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def table_response(
    request: HttpRequest, filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]]
) -> HttpResponse:
    """A table as CSV (streamed), or as XLSX with `?as=xlsx`; `filename` has no extension."""
    if request.GET.get("as") == "xlsx":
        response = HttpResponse(xlsx_bytes(header, rows), content_type=XLSX_TYPE)
        response["Content-Disposition"] = f'attachment; filename="{filename}.xlsx"'
        return response
    return csv_response(f"{filename}.csv", csv_lines(header, rows))


def error_text(exc: ValidationError) -> str:
    return " ".join(exc.messages)


def current_urlconf() -> str:
    """The URL configuration `reverse` uses now: the request's, or the setting (a test may
    change it), so a URL kept by it is never another configuration's."""
    return get_urlconf() or settings.ROOT_URLCONF


def url_template(name: str, *args: object, placeholder: str = "{id}") -> str:
    """The URL of `name` with `placeholder` where its last (integer) argument goes.

    Both versions come from `reverse` (with ids 0 and 1), and the placeholder is put where they
    differ, so a slug that happens to read "0" is never mistaken for the id. Worked out once per
    process for each URL configuration and script prefix (every coding page asks for two)."""
    return _url_template(name, args, placeholder, current_urlconf(), get_script_prefix())


@functools.lru_cache(maxsize=1024)
def _url_template(name: str, args: tuple, placeholder: str, urlconf: str, prefix: str) -> str:
    zero = reverse(name, args=[*args, 0], urlconf=urlconf)
    one = reverse(name, args=[*args, 1], urlconf=urlconf)
    # The two differ in exactly one character: the id.
    at = next(i for i, (a, b) in enumerate(zip(zero, one, strict=True)) if a != b)
    return zero[:at] + placeholder + zero[at + 1 :]


def csp_with_style(css: str) -> dict:
    """The site's Content-Security-Policy, allowing also this one inline stylesheet by its hash
    (set it as a response's `_csp_config`, which Django's CSP middleware reads)."""
    policy = dict(settings.SECURE_CSP)
    digest = base64.b64encode(hashlib.sha256(css.encode()).digest()).decode()
    policy["style-src"] = [*policy.get("style-src", []), f"'sha256-{digest}'"]
    return policy
