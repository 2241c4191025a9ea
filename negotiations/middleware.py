"""Login for htmx requests: a partial must never be swapped for the login page."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.middleware import LoginRequiredMiddleware
from django.http import HttpResponse
from django.shortcuts import resolve_url
from django.utils.http import url_has_allowed_host_and_scheme, urlencode


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
