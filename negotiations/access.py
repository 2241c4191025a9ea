"""Study membership checks used by every view before it reads anything of a study."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest

from negotiations.models import Membership, Role, Study


def membership_for(*, user: User | AnonymousUser, slug: str) -> Membership:
    """The user's membership of the study, or 404: a non-member must not learn a study exists."""
    if not user.is_authenticated:
        raise Http404("No such study.")
    membership = (
        Membership.objects.select_related("study").filter(study__slug=slug, user=user).first()
    )
    if membership is None:
        raise Http404("No such study.")
    return membership


def study_for_member(
    request: HttpRequest, slug: str, roles: Iterable[str] | None = None
) -> tuple[Study, Membership]:
    """The study and the request user's membership; 404 for non-members, 403 for other roles."""
    membership = membership_for(user=request.user, slug=slug)
    if roles is not None and membership.role not in set(roles):
        raise PermissionDenied("Your role in this study does not allow this.")
    return membership.study, membership


ANY_MEMBER = None
MANAGERS = (Role.OWNER, Role.SUPERVISOR)
CODERS = (Role.CODER,)
READERS_AND_MANAGERS = (Role.OWNER, Role.SUPERVISOR, Role.READER)
