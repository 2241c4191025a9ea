"""Reads of the codebook: code sets, the active codes and the version history."""

from __future__ import annotations

from django.db.models import Count, OuterRef, Prefetch, QuerySet, Subquery
from django.db.models.functions import Coalesce

from negotiations.models import (
    Code,
    CodebookVersion,
    CodeSet,
    Coding,
    Study,
)


def code_set_list(*, study: Study, counted: QuerySet[Coding] | None = None) -> QuerySet[CodeSet]:
    """Code sets with their codes, each code with `n_codings`: the codings of `counted` (the ones
    the member may see: blind coding applies to counts too), or all of them."""
    if counted is None:
        codes = Code.objects.annotate(n_codings=Count("codings"))
    else:
        per_code = (
            counted.filter(code=OuterRef("pk"))
            .order_by()
            .values("code")
            .annotate(n=Count("pk"))
            .values("n")
        )
        codes = Code.objects.annotate(n_codings=Coalesce(Subquery(per_code), 0))
    return CodeSet.objects.filter(study=study).prefetch_related(
        Prefetch("codes", queryset=codes.order_by("order", "pk"))
    )


def active_code_list(*, study: Study) -> QuerySet[Code]:
    """Codes a coder may use now: not archived, in an enabled code set."""
    return (
        Code.objects.filter(study=study, archived=False, code_set__enabled=True)
        .select_related("code_set")
        .order_by("code_set__order", "order", "pk")
    )


def active_codes_among(codes: list[Code]) -> list[Code]:
    """The codes of `active_code_list` among already loaded ones (with their code set), in its
    order: for a page that needs every code of the study and the active ones from one query."""
    return sorted(
        (code for code in codes if not code.archived and code.code_set.enabled),
        key=lambda code: (code.code_set.order, code.order, code.pk),
    )


def codebook_version_list(*, study: Study) -> QuerySet[CodebookVersion]:
    return (
        CodebookVersion.objects.filter(study=study)
        .select_related("created_by")
        .defer("snapshot")
        .order_by("-number")
    )
