"""Middleware every request passes: the request-size limit, and login for htmx requests (a
partial must never be swapped for the login page)."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.middleware import LoginRequiredMiddleware
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import resolve_url
from django.template.loader import render_to_string
from django.utils.http import url_has_allowed_host_and_scheme, urlencode


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


class HtmxLoginRequiredMiddleware(LoginRequiredMiddleware):
    """Django's LoginRequiredMiddleware, except that an htmx request of someone whose session
    has ended gets 401 and, in `X-Login-URL`, the login address that leads back to the page
    they are on (`HX-Current-URL`); `static/js/errors.js` tells them so and keeps the page, with
    whatever they typed, as it is."""

    def handle_no_permission(self, request, view_func):
        if request.headers.get("HX-Request") != "true":
            return super().handle_no_permission(request, view_func)
        current = request.headers.get("HX-Current-URL", "")
        parts = urlsplit(current)
        back = parts.path + (f"?{parts.query}" if parts.query else "")
        if not back or not url_has_allowed_host_and_scheme(
            current, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            back = "/"
        login_url = resolve_url(self.get_login_url(view_func))
        response = HttpResponse(
            "Your session has ended: log in again.", status=401, content_type="text/plain"
        )
        response["X-Login-URL"] = f"{login_url}?{urlencode({REDIRECT_FIELD_NAME: back})}"
        return response


class NullCharacterQueryMiddleware:
    """Refuse a query string holding a NUL character with 400: PostgreSQL cannot store or compare
    text with NUL, so a filter value like `%00` would otherwise end in a server error. (Form
    fields already refuse NUL; filters read from the query string go here first.)"""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        for key, values in request.GET.lists():
            if "\x00" in key or any("\x00" in value for value in values):
                message = "The address holds a NUL character, which no filter accepts."
                if request.path.startswith("/api/"):
                    # The API's own error shape, as its schema documents it.
                    return JsonResponse({"detail": message}, status=400)
                return HttpResponse(message, status=400, content_type="text/plain; charset=utf-8")
        return self.get_response(request)
