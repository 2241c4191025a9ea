"""Writes of the read API: personal tokens created and revoked by their user, and the per-token
request count that throttles them."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from negotiations.api.selectors import token_digest
from negotiations.models import ApiToken

# A public marker, so that a leaked token is recognisable (e.g. by secret scanners).
TOKEN_PREFIX = "tc_"  # noqa: S105
PREFIX_LENGTH = 10
MAX_TOKENS_PER_USER = 20


@dataclass(frozen=True)
class CreatedToken:
    token: ApiToken
    secret: str


def api_token_create(*, user: User, name: str, expires_at: datetime | None = None) -> CreatedToken:
    """A new token for the user. The secret is returned once and only its digest is stored."""
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError({"expires_at": "The expiry must lie in the future."})
    with transaction.atomic():
        live = ApiToken.objects.select_for_update().filter(user=user, revoked_at__isnull=True)
        if live.count() >= MAX_TOKENS_PER_USER:
            raise ValidationError(
                f"You have {MAX_TOKENS_PER_USER} tokens; revoke one before creating another."
            )
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        token = ApiToken(
            user=user,
            name=name.strip(),
            prefix=secret[:PREFIX_LENGTH],
            digest=token_digest(secret),
            expires_at=expires_at,
        )
        token.full_clean()
        token.save()
    return CreatedToken(token=token, secret=secret)


def api_token_revoke(*, user: User, token_id: int) -> ApiToken:
    """Revoke one of the user's own tokens; from now on it authenticates nobody."""
    with transaction.atomic():
        token = ApiToken.objects.select_for_update().filter(user=user, pk=token_id).first()
        if token is None:
            raise ApiToken.DoesNotExist("No such token.")
        if token.revoked_at is None:
            token.revoked_at = timezone.now()
            token.full_clean()
            token.save(update_fields=["revoked_at"])
    return token


def api_token_hit(*, token: ApiToken, window: timedelta = timedelta(minutes=1)) -> int | None:
    """Count a request against the token's limit; None when allowed, else the seconds to wait.

    The count is updated in one UPDATE on the token's row, so every server process shares it.
    """
    now = timezone.now()
    cutoff = now - window
    fresh = Q(window_started_at__isnull=True) | Q(window_started_at__lte=cutoff)
    with transaction.atomic():
        ApiToken.objects.filter(pk=token.pk).update(
            window_count=Case(When(fresh, then=Value(1)), default=F("window_count") + 1),
            window_started_at=Case(When(fresh, then=Value(now)), default=F("window_started_at")),
            last_used_at=now,
        )
        count, started = (
            ApiToken.objects.filter(pk=token.pk)
            .values_list("window_count", "window_started_at")
            .get()
        )
    if count <= token.rate_per_minute:
        return None
    return max(1, int((started + window - now).total_seconds()) + 1)
