"""Study membership checks used by every view before it reads anything of a study."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404, HttpRequest

from negotiations.models import (
    MANAGING_ROLES,
    Assignment,
    AssignmentStatus,
    Coding,
    JobKind,
    Membership,
    Role,
    Study,
)
from negotiations.prepared import PreparedRead, instance

_MEMBERSHIP_FIELDS = tuple(f.attname for f in Membership._meta.concrete_fields)
_STUDY_FIELDS = tuple(f.attname for f in Study._meta.concrete_fields)

# The membership with its study, read by every study page: compiled once (see prepared.py).
_MEMBERSHIP_READ = PreparedRead(
    lambda slug, user_id: Membership.objects.filter(study__slug=slug, user_id=user_id).values_list(
        *_MEMBERSHIP_FIELDS, *(f"study__{name}" for name in _STUDY_FIELDS)
    )[:1],
    slug=str,
    user_id=int,
)


def membership_for(*, user: User | AnonymousUser, slug: str) -> Membership:
    """The user's membership of the study, or 404: a non-member must not learn a study exists."""
    if not user.is_authenticated:
        raise Http404("No such study.")
    rows = _MEMBERSHIP_READ.rows(slug=slug, user_id=user.pk)
    if not rows:
        raise Http404("No such study.")
    row = rows[0]
    split = len(_MEMBERSHIP_FIELDS)
    membership = instance(Membership, _MEMBERSHIP_FIELDS, row[:split])
    membership.study = instance(Study, _STUDY_FIELDS, row[split:])
    return membership


def study_for_member(
    request: HttpRequest, slug: str, roles: Iterable[str] | None = None
) -> tuple[Study, Membership]:
    """The study and the request user's membership; 404 for non-members, 403 for other roles."""
    membership = membership_for(user=request.user, slug=slug)
    if roles is not None and membership.role not in set(roles):
        raise PermissionDenied("Your role in this study does not allow this.")
    return membership.study, membership


def coding_list_visible_to(*, study: Study, user: User, role: str) -> QuerySet[Coding]:
    """The study's codings that this member may see.

    Supervisors, owners and readers see all. With blind coding on, a coder sees their own codings
    and, on sources they have submitted, everybody's.
    """
    codings = Coding.objects.filter(source__study=study)
    if role in MANAGING_ROLES or role == Role.READER or not study.blind_coding:
        return codings
    submitted_here = Assignment.objects.filter(
        source=OuterRef("source"), coder=user, status=AssignmentStatus.SUBMITTED
    )
    return codings.filter(Q(coder=user) | Exists(submitted_here))


ANY_MEMBER = None
MANAGERS = (Role.OWNER, Role.SUPERVISOR)
CODERS = (Role.CODER,)
READERS_AND_MANAGERS = (Role.OWNER, Role.SUPERVISOR, Role.READER)

# Who may start each kind of background job, and so see its result and download its file: the
# roles of the page that starts it. Imports and REFI-QDA (which carries every coder's codings)
# are for managers; the reports and the replication package are the readers' pages too. Coders
# see that a job ran, never what it found, so blind coding holds for every file a job makes.
JOB_ROLES: dict[str, tuple[str, ...]] = {
    JobKind.IMPORT_CHECK: MANAGERS,
    JobKind.IMPORT_RUN: MANAGERS,
    JobKind.QDPX_CHECK: MANAGERS,
    JobKind.QDPX_IMPORT: MANAGERS,
    JobKind.QDPX_EXPORT: MANAGERS,
    JobKind.REPLICATION: READERS_AND_MANAGERS,
    JobKind.RELIABILITY: READERS_AND_MANAGERS,
    JobKind.PASSAGES: READERS_AND_MANAGERS,
}


def may_see_job_result(*, membership: Membership, kind: str) -> bool:
    return membership.role in JOB_ROLES.get(kind, MANAGERS)
