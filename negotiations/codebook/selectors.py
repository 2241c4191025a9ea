"""Reads of the codebook: code sets, the active codes and the version history."""

from __future__ import annotations

from django.db.models import (
    BooleanField,
    Count,
    ExpressionWrapper,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.functions import Coalesce

from negotiations.models import (
    Code,
    CodebookVersion,
    CodeSet,
    Coding,
    Study,
)
from negotiations.prepared import Bound, PreparedRead, instance


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


# A code a coder may use now: not archived, in an enabled code set. The one statement of the rule.
ACTIVE_CODE = Q(archived=False, code_set__enabled=True)


def active_code_list(*, study: Study) -> QuerySet[Code]:
    """Codes a coder may use now (`ACTIVE_CODE`), in the codebook's order."""
    return code_list_marking_active(study=study).filter(ACTIVE_CODE)


def code_list_marking_active(*, study: Study | int) -> QuerySet[Code]:
    """Every code of the study, each with `active` (`ACTIVE_CODE`), in the codebook's order: for a
    page that needs all of them (a coding may use an archived code) and the active ones."""
    return (
        Code.objects.filter(study=study)
        .annotate(active=ExpressionWrapper(ACTIVE_CODE, output_field=BooleanField()))
        .select_related("code_set")
        .order_by("code_set__order", "order", "pk")
    )


_CODE_FIELDS = tuple(f.attname for f in Code._meta.concrete_fields)
_CODE_SET_FIELDS = tuple(f.attname for f in CodeSet._meta.concrete_fields)
_CODES_READ = PreparedRead(
    lambda study_id: code_list_marking_active(study=study_id).values_list(
        *_CODE_FIELDS, *(f"code_set__{name}" for name in _CODE_SET_FIELDS), "active"
    ),
    study_id=int,
)


def codes_marking_active_read(*, study: Study) -> Bound:
    """`code_list_marking_active` as a prepared read to `run` with others (see
    `negotiations/prepared.py`): a list, each code with its code set, the coding page's codes."""
    return _CODES_READ.bind(study_id=study.pk).then(_codes_of_rows)


class CodeList(list):
    """Codes, with `rows`: every value they were made from (a key of what they show)."""

    rows: tuple = ()


def _codes_of_rows(rows: list[tuple]) -> CodeList:
    split = len(_CODE_FIELDS)
    codes = CodeList()
    codes.rows = tuple(rows)
    code_sets: dict[int, CodeSet] = {}
    for row in rows:
        code = instance(Code, _CODE_FIELDS, row[:split])
        code_set_id = row[split]
        if code_set_id not in code_sets:
            code_sets[code_set_id] = instance(CodeSet, _CODE_SET_FIELDS, row[split:-1])
        code.code_set = code_sets[code_set_id]
        code.active = row[-1]
        codes.append(code)
    return codes


def codebook_version_list(*, study: Study) -> QuerySet[CodebookVersion]:
    return (
        CodebookVersion.objects.filter(study=study)
        .select_related("created_by")
        .defer("snapshot")
        .order_by("-number")
    )
