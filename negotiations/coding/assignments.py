"""Who codes which source: assignments created one at a time or in bulk, submitted, reopened and
removed (with the coder's codings on it).

Services take keyword-only arguments and run in one transaction, so a failure leaves nothing
half-saved; each write locks the assignment row that the coding writes lock too."""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from negotiations.models import (
    Assignment,
    AssignmentStatus,
    Coding,
    Membership,
    Role,
    Source,
    Study,
)
from negotiations.studies import services as study_services
from negotiations.wording import counted


@transaction.atomic
def assignment_create(*, source: Source, coder: User, assigned_by: User | None) -> Assignment:
    membership = Membership.objects.filter(study=source.study_id, user=coder).first()
    if membership is None or membership.role != Role.CODER:
        raise ValidationError(f"{coder.username} is not a coder in this study.")
    assignment, _ = Assignment.objects.get_or_create(
        source=source, coder=coder, defaults={"assigned_by": assigned_by}
    )
    return assignment


@transaction.atomic
def assignment_submit(*, assignment: Assignment) -> Assignment:
    """Mark a coder's work on a source as done; from now on it counts in agreement."""
    assignment = Assignment.objects.select_for_update().get(pk=assignment.pk)
    if assignment.status != AssignmentStatus.SUBMITTED:
        assignment.status = AssignmentStatus.SUBMITTED
        assignment.submitted_at = timezone.now()
        assignment.save(update_fields=["status", "submitted_at"])
        study_services.study_touch(assignment.source.study_id)
    return assignment


@transaction.atomic
def assignment_reopen(*, assignment: Assignment) -> Assignment:
    assignment = Assignment.objects.select_for_update().get(pk=assignment.pk)
    if assignment.status == AssignmentStatus.SUBMITTED:
        assignment.status = AssignmentStatus.IN_PROGRESS
        assignment.submitted_at = None
        assignment.save(update_fields=["status", "submitted_at"])
        study_services.study_touch(assignment.source.study_id)
    return assignment


UNASSIGN_SUBMITTED_MESSAGE = (
    "{coder} has submitted this source: submitted work counts in agreement and may be behind "
    "consensus decisions, so it is not discarded by unassigning. Reopen it first if it must go."
)


@transaction.atomic
def assignment_delete(*, assignment: Assignment, n_codings_shown: int) -> int:
    """Unassign a coder from a source, deleting that coder's codings on it; returns how many.

    Refused when the coder has submitted the source, and when the coder's number of codings
    differs from the one the confirmation showed (they coded in between): the person confirming
    must have seen everything that goes. The assignment row is locked, as every coding write
    locks it, so no coding can be added between the check and the delete; all or nothing.
    """
    locked = (
        Assignment.objects.select_for_update(of=("self",))
        .select_related("coder")
        .filter(pk=assignment.pk)
        .first()
    )
    if locked is None:
        raise ValidationError("This assignment no longer exists.")
    if locked.status == AssignmentStatus.SUBMITTED:
        raise ValidationError(UNASSIGN_SUBMITTED_MESSAGE.format(coder=locked.coder.username))
    codings = Coding.objects.filter(source_id=locked.source_id, coder_id=locked.coder_id)
    n_codings = codings.count()
    if n_codings != n_codings_shown:
        raise ValidationError(
            f"{locked.coder.username} now has {counted(n_codings, 'coding')} "
            f"on this source, not {n_codings_shown}: look at the list again before unassigning."
        )
    codings.delete()
    locked.delete()
    study_services.study_touch(assignment.source.study_id)
    return n_codings


@dataclass(frozen=True)
class AssignmentPlan:
    """What a bulk assignment created: new assignments per coder and the double-coded sources."""

    created: dict[str, int]
    n_sources: int
    n_double_coded: int


def plan_assignments(
    *,
    source_ids: list[int],
    coder_ids: list[int],
    mode: str,
    share: float = 0.2,
    seed: int = 0,
) -> list[tuple[int, int]]:
    """(source, coder) pairs: every source to every coder (mode "all"), or each source to one
    coder with `share` of them double-coded by a second (mode "share").

    Loads are balanced (they differ by at most one assignment) and the plan depends only on the
    ids and the seed, so the same request gives the same plan.
    """
    sources = sorted(source_ids)
    coders = sorted(coder_ids)
    if not sources or not coders:
        return []
    if mode == "all":
        return [(s, c) for s in sources for c in coders]
    if not 0 <= share <= 1:
        raise ValidationError({"share": "The share of double-coded sources is between 0 and 1."})
    rng = random.Random(seed)
    order = sources[:]
    rng.shuffle(order)
    coder_order = coders[:]
    rng.shuffle(coder_order)
    doubles: set[int] = set()
    if len(coders) > 1:
        picks = order[:]
        rng.shuffle(picks)
        doubles = set(picks[: round(share * len(order))])
    # Dealing slots round the coders keeps loads within one of each other, and a double-coded
    # source's two adjacent slots always go to two different coders.
    slots = [s for source in order for s in ([source, source] if source in doubles else [source])]
    pairs = [(source, coder_order[i % len(coder_order)]) for i, source in enumerate(slots)]
    return pairs


@transaction.atomic
def assignments_bulk_create(
    *,
    study: Study,
    source_ids: Iterable[int],
    coders: Iterable[User],
    mode: str,
    share: float,
    seed: int,
    assigned_by: User,
) -> AssignmentPlan:
    """Assign sources to coders in bulk; existing assignments are kept, never duplicated."""
    coders = list(coders)
    coder_ids = set(
        Membership.objects.filter(
            study=study, role=Role.CODER, user__in=[c.pk for c in coders]
        ).values_list("user_id", flat=True)
    )
    if len(coder_ids) != len({c.pk for c in coders}):
        raise ValidationError({"coders": "Every chosen person must be a coder in this study."})
    source_ids = list(
        Source.objects.filter(study=study, pk__in=list(source_ids)).values_list("pk", flat=True)
    )
    pairs = plan_assignments(
        source_ids=source_ids, coder_ids=sorted(coder_ids), mode=mode, share=share, seed=seed
    )
    existing = set(
        Assignment.objects.filter(source_id__in=source_ids).values_list("source_id", "coder_id")
    )
    new = [pair for pair in pairs if pair not in existing]
    Assignment.objects.bulk_create(
        [Assignment(source_id=s, coder_id=c, assigned_by=assigned_by) for s, c in new],
        batch_size=1000,
    )
    names = dict(get_user_model().objects.filter(pk__in=coder_ids).values_list("pk", "username"))
    created: dict[str, int] = dict.fromkeys(sorted(names.values()), 0)
    for _, coder in new:
        created[names[coder]] += 1
    per_source: dict[int, int] = {}
    for source, _ in pairs:
        per_source[source] = per_source.get(source, 0) + 1
    return AssignmentPlan(
        created=created,
        n_sources=len(source_ids),
        n_double_coded=sum(1 for n in per_source.values() if n > 1),
    )
