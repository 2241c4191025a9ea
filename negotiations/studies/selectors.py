"""Reads of a study's structure: memberships, parties, negotiations and phases."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db.models import Count, Prefetch, QuerySet

from negotiations.models import (
    Assignment,
    ChangeRecord,
    Code,
    Membership,
    Negotiation,
    NegotiationParty,
    Party,
    Phase,
    Source,
    Study,
)
from negotiations.prepared import Bound, PreparedRead, instance


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


def party_list(*, study: Study | int) -> QuerySet[Party]:
    return Party.objects.filter(study=study).order_by("code")


_PARTY_FIELDS = ("id", "study_id", "code", "name")
# The coding form's parties, compiled once per connection (see `negotiations/prepared.py`).
_PARTIES_READ = PreparedRead(
    lambda study_id: party_list(study=study_id).values_list(*_PARTY_FIELDS), study_id=int
)


def party_list_read(*, study: Study) -> Bound:
    """`party_list` as a read to `run` with others: parties with their code and name only."""
    return _PARTIES_READ.bind(study_id=study.pk).then(
        lambda rows: [instance(Party, _PARTY_FIELDS, row) for row in rows]
    )


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


@dataclass
class ChecklistStep:
    key: str
    label: str
    hint: str
    url_name: str
    done: bool


def study_setup_checklist(*, study: Study) -> list[ChecklistStep]:
    """What a new study needs before coding starts, each with whether it is done.

    Each step is one small query, cheap however large the study has grown."""
    counts = {
        "codes": Code.objects.filter(study=study, archived=False).exists(),
        "parties": Party.objects.filter(study=study).exists(),
        "negotiations": Negotiation.objects.filter(study=study).exists(),
        "sources": Source.objects.filter(study=study).exists(),
        "members": Membership.objects.filter(study=study).count() > 1,
        "assignments": Assignment.objects.filter(source__study=study).exists(),
    }
    return [
        ChecklistStep(
            "codebook",
            "Codebook",
            "Check the codes and their definitions.",
            "codebook",
            counts["codes"],
        ),
        ChecklistStep(
            "parties",
            "Parties",
            "Add the parties, e.g. US and DPRK.",
            "party_list",
            counts["parties"],
        ),
        ChecklistStep(
            "negotiations",
            "Negotiations",
            "Add a case with its phases and parties.",
            "negotiation_list",
            counts["negotiations"],
        ),
        ChecklistStep(
            "sources",
            "Sources",
            "Paste, upload or import the statements.",
            "source_list",
            counts["sources"],
        ),
        ChecklistStep(
            "members",
            "Members",
            "Invite the coders and anyone else who works on it.",
            "member_list",
            counts["members"],
        ),
        ChecklistStep(
            "assignments",
            "Assignments",
            "Give the coders their sources.",
            "assignments",
            counts["assignments"],
        ),
    ]
