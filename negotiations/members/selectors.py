"""Reads for the members page (members and invitations) and the invitation behind a link."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from negotiations.members.tokens import token_hash
from negotiations.models import Invitation, Membership, Study
from negotiations.studies import selectors as study_selectors


def invitation_list(*, study: Study) -> QuerySet[Invitation]:
    return (
        Invitation.objects.filter(study=study)
        .select_related("created_by", "accepted_by")
        .order_by("-created_at", "-pk")
    )


def invitation_for_token(*, token: str) -> Invitation | None:
    return (
        Invitation.objects.select_related("study", "created_by")
        .filter(token_sha256=token_hash(token))
        .first()
    )


@dataclass
class MembersPage:
    members: list[Membership]
    invitations: list[Invitation]


def members_page(*, study: Study) -> MembersPage:
    return MembersPage(
        members=list(study_selectors.membership_list(study=study)),
        invitations=list(invitation_list(study=study)[:50]),
    )
