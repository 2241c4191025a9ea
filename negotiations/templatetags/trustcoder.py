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
