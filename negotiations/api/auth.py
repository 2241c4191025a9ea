"""Who is calling the read API: a personal token (``Authorization: Bearer tc_...``) or the
browser session. Either way the request's user is the token's user, so every membership, role
and blind-coding check of the pages applies unchanged."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from ninja.errors import Throttled
from ninja.security import APIKeyCookie, HttpBearer

from negotiations.api import selectors, services


class TokenAuth(HttpBearer):
    openapi_description = "A personal API token from your account page: `Bearer tc_...`."

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        api_token = selectors.api_token_for_secret(secret=token)
        if api_token is None:
            return None
        wait = services.api_token_hit(token=api_token)
        if wait is not None:
            raise Throttled(wait)
        request.user = api_token.user
        request.api_token = api_token  # type: ignore[attr-defined]
        return api_token.user


class SessionAuth(APIKeyCookie):
    """The logged-in browser session; CSRF is checked (APIKeyCookie's default)."""

    param_name = settings.SESSION_COOKIE_NAME
    openapi_description = "The session of a logged-in browser."

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        if request.user.is_authenticated:
            return request.user
        return None
