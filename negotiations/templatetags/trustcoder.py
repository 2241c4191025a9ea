"""Small template filters for TrustCoder's pages."""

from django import template

register = template.Library()


@register.filter
def startswith(value: object, prefix: str) -> bool:
    return str(value or "").startswith(prefix)


@register.filter
def get_item(mapping: dict, key: object) -> object:
    return mapping.get(key) if mapping else None


@register.filter
def get_index(sequence: list, index: int) -> object:
    try:
        return sequence[index]
    except (IndexError, TypeError):
        return ""


@register.filter
def percent(value: float | None) -> str:
    """A share as a percentage with one decimal: 0.996 is 99.6%, never rounded up to 100%."""
    if value is None:
        return ""
    return f"{float(value) * 100:.1f}%"


@register.filter
def form_problems(form: object) -> list[dict[str, str]]:
    """Every error of a bound form, in field order, for the summary at the top of a page: the
    form-wide errors first (no field to link to), then each field's with its input's id."""
    errors = getattr(form, "errors", None)
    if not errors:
        return []
    problems = [{"id": "", "label": "", "message": str(m)} for m in form.non_field_errors()]
    for field in form:
        problems += [
            {
                "id": field.id_for_label or field.auto_id or "",
                "label": str(field.label or field.name),
                "message": str(m),
            }
            for m in field.errors
        ]
    return problems
