"""Middleware that every request passes: the request-size limit."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string


def _megabytes(limit: int) -> str:
    return f"{limit / (1024 * 1024):g} MB"


class RequestSizeLimitMiddleware:
    """Refuse a request whose declared Content-Length exceeds TRUSTCODER_MAX_REQUEST_BYTES with
    413, from its headers alone: a 60 MB upload is turned away before its body is received, not
    after. (WSGI servers never hand the app more than the declared length.)"""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        limit = settings.TRUSTCODER_MAX_REQUEST_BYTES
        if length > limit:
            html = render_to_string(
                "413.html",
                {"limit": _megabytes(settings.TRUSTCODER_MAX_UPLOAD_BYTES)},
            )
            response = HttpResponse(html, status=413)
            # The unread body cannot be skipped reliably on a kept-alive connection.
            response["Connection"] = "close"
            return response
        return self.get_response(request)
