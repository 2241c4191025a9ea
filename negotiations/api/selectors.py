"""Reads of the read API's own data: a user's tokens and the token a request presents."""

from __future__ import annotations

import hashlib

from django.contrib.auth.models import User
from django.db.models import Q, QuerySet
from django.utils import timezone

from negotiations.models import ApiToken


def token_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def api_token_list_for_user(*, user: User) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user).order_by("-created_at", "-pk")


def api_token_for_secret(*, secret: str) -> ApiToken | None:
    """The live token with this secret (not revoked, not expired, active user), or None."""
    return (
        ApiToken.objects.select_related("user")
        .filter(
            digest=token_digest(secret),
            revoked_at__isnull=True,
            user__is_active=True,
        )
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now()))
        .first()
    )
