"""Writes to the codebook: codes, code sets and the versions that record every change.

Services take keyword-only arguments, validate with `full_clean()` and run in one transaction."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max

from negotiations.models import (
    Code,
    CodebookVersion,
    CodeSet,
    Study,
)

DEFAULT_CODEBOOK = Path(settings.BASE_DIR) / "fixtures" / "codebook.json"


def codebook_snapshot(*, study: Study) -> dict[str, Any]:
    """The codebook as plain data, as stored in each version."""
    code_sets = []
    for code_set in CodeSet.objects.filter(study=study).prefetch_related("codes"):
        code_sets.append(
            {
                "slug": code_set.slug,
                "name": code_set.name,
                "for_label": code_set.for_label,
                "against_label": code_set.against_label,
                "enabled": code_set.enabled,
                "codes": [
                    {
                        "name": code.name,
                        "label": code.label,
                        "definition": code.definition,
                        "when_to_use": code.when_to_use,
                        "when_not_to_use": code.when_not_to_use,
                        "example": code.example,
                        "colour": code.colour,
                        "key": code.key,
                        "order": code.order,
                        "archived": code.archived,
                    }
                    for code in code_set.codes.all()
                ],
            }
        )
    return {"code_sets": code_sets}


def codebook_version_record(*, study: Study, actor: User | None, note: str) -> CodebookVersion:
    """Store the codebook as it now stands as the next version."""
    with transaction.atomic():
        # Lock the study row so two simultaneous edits cannot take the same number.
        Study.objects.select_for_update().filter(pk=study.pk).first()
        last = CodebookVersion.objects.filter(study=study).aggregate(n=Max("number"))["n"] or 0
        return CodebookVersion.objects.create(
            study=study,
            number=last + 1,
            snapshot=codebook_snapshot(study=study),
            note=note[:300],
            created_by=actor,
        )


@transaction.atomic
def codebook_load(*, study: Study, data: dict[str, Any]) -> None:
    """Create code sets and codes from plain data (the default codebook's JSON format)."""
    for set_order, set_data in enumerate(data["code_sets"]):
        code_set = CodeSet(
            study=study,
            slug=set_data["slug"],
            name=set_data["name"],
            for_label=set_data.get("for_label", "for"),
            against_label=set_data.get("against_label", "against"),
            enabled=set_data.get("enabled", True),
            order=set_order,
        )
        code_set.full_clean()
        code_set.save()
        for order, code_data in enumerate(set_data["codes"]):
            code = Code(
                study=study,
                code_set=code_set,
                name=code_data["name"],
                label=code_data.get("label", ""),
                definition=code_data.get("definition", ""),
                when_to_use=code_data.get("when_to_use", ""),
                when_not_to_use=code_data.get("when_not_to_use", ""),
                example=code_data.get("example", ""),
                colour=code_data.get("colour", "#a6cee3"),
                key=code_data.get("key", ""),
                order=code_data.get("order", order),
            )
            code.full_clean()
            code.save()


CODE_FIELDS = (
    "name",
    "label",
    "definition",
    "when_to_use",
    "when_not_to_use",
    "example",
    "colour",
    "key",
    "order",
)


@transaction.atomic
def code_create(*, study: Study, code_set: CodeSet, actor: User, **fields: Any) -> Code:
    if code_set.study_id != study.pk:
        raise ValidationError("This code set belongs to another study.")
    code = Code(
        study=study, code_set=code_set, **{k: fields[k] for k in CODE_FIELDS if k in fields}
    )
    code.full_clean()
    code.save()
    codebook_version_record(study=study, actor=actor, note=f"Added code {code.name}")
    return code


@transaction.atomic
def code_update(*, code: Code, actor: User, **fields: Any) -> Code:
    changed = [k for k in CODE_FIELDS if k in fields and getattr(code, k) != fields[k]]
    if not changed:
        return code
    if "name" in changed and code.codings.exists():
        # Exports and past versions refer to a code by name; renaming a used code rewrites history.
        raise ValidationError({"name": "This code has codings; its name can no longer change."})
    for key in changed:
        setattr(code, key, fields[key])
    code.full_clean()
    code.save()
    codebook_version_record(
        study=code.study, actor=actor, note=f"Changed {code.name}: {', '.join(changed)}"
    )
    return code


@transaction.atomic
def code_remove(*, code: Code, actor: User) -> str:
    """Delete an unused code; archive a code that has codings. Returns what was done."""
    name = code.name
    if code.codings.exists():
        code.archived = True
        code.save(update_fields=["archived"])
        action = "archived"
    else:
        code.delete()
        action = "deleted"
    codebook_version_record(
        study=code.study, actor=actor, note=f"{action.capitalize()} code {name}"
    )
    return action


@transaction.atomic
def code_restore(*, code: Code, actor: User) -> Code:
    code.archived = False
    code.full_clean()
    code.save(update_fields=["archived"])
    codebook_version_record(study=code.study, actor=actor, note=f"Restored code {code.name}")
    return code


@transaction.atomic
def code_set_set_enabled(*, code_set: CodeSet, enabled: bool, actor: User) -> CodeSet:
    if code_set.enabled != enabled:
        code_set.enabled = enabled
        code_set.save(update_fields=["enabled"])
        verb = "Switched on" if enabled else "Switched off"
        codebook_version_record(study=code_set.study, actor=actor, note=f"{verb} {code_set.name}")
    return code_set
