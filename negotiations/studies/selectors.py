"""Reads of a study's structure: memberships, parties, negotiations and phases."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db.models import Count, Prefetch, QuerySet

from negotiations.models import (
    ChangeRecord,
    Membership,
    Negotiation,
    NegotiationParty,
    Party,
    Phase,
    Study,
)


def membership_list_for_user(*, user: User) -> QuerySet[Membership]:
    """The studies a user belongs to, with their role and a few counts."""
    return (
        Membership.objects.filter(user=user)
        .select_related("study")
        .annotate(
            n_sources=Count("study__sources", distinct=True),
            n_members=Count("study__memberships", distinct=True),
        )
        .order_by("study__name")
    )


def membership_list(*, study: Study) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(study=study)
        .select_related("user")
        .order_by("role", "user__username")
    )


def party_list(*, study: Study) -> QuerySet[Party]:
    return Party.objects.filter(study=study).order_by("code")


def change_record_list(*, study: Study, limit: int = 50) -> QuerySet[ChangeRecord]:
    """The latest changes that touched coded data, newest first."""
    return ChangeRecord.objects.filter(study=study).select_related("actor")[:limit]


def negotiation_list(*, study: Study) -> QuerySet[Negotiation]:
    return (
        Negotiation.objects.filter(study=study)
        .annotate(n_sources=Count("sources", distinct=True))
        .prefetch_related(
            Prefetch("phases", queryset=Phase.objects.order_by("order", "start_date")),
            Prefetch(
                "negotiationparty_set",
                queryset=NegotiationParty.objects.select_related("party"),
            ),
            "events",
        )
    )


def phase_list(*, study: Study) -> QuerySet[Phase]:
    return (
        Phase.objects.filter(negotiation__study=study)
        .select_related("negotiation")
        .order_by("negotiation__order", "negotiation__name", "order")
    )
