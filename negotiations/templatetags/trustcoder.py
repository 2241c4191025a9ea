"""Small template filters for TrustCoder's pages, and the study's navigation."""

import functools
import re

from django import template
from django.urls import get_script_prefix, reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from negotiations.http import current_urlconf

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


# The study's navigation: (label, URL name, who sees it, the URL-name prefix that marks it as the
# current page or "" for never). Built in Python from one reversed URL per entry and process: the
# sixteen `{% url %}` and their `startswith` tests cost every study page 0.7 ms.
_ANYONE, _CODER, _NOT_CODER, _MANAGER, _CODER_RELEASED = range(5)
_STUDY_NAV = (
    ("My work", "negotiations:my_work", _CODER, "my_work"),
    ("Sources", "negotiations:source_list", _ANYONE, "source"),
    ("Negotiations", "negotiations:negotiation_list", _ANYONE, "negotiation"),
    ("Codebook", "negotiations:codebook", _ANYONE, "code"),
    ("Passages", "negotiations:passage_list", _ANYONE, "passage"),
    ("Assessments", "negotiations:assessments", _NOT_CODER, "assessment"),
    ("Reliability", "negotiations:reliability", _NOT_CODER, "reliability"),
    ("Members", "negotiations:member_list", _ANYONE, "member"),
    ("Exports", "negotiations:exports", _ANYONE, "export"),
    ("Jobs", "negotiations:job_list", _ANYONE, "job"),
    ("Review", "negotiations:review_queue", _MANAGER, "review"),
    ("My agreement", "negotiations:consensus_coders", _CODER_RELEASED, ""),
    ("Assignments", "negotiations:assignments", _MANAGER, "assignment"),
    ("Settings", "negotiations:study_settings", _MANAGER, "study_settings"),
)
_SLUG_STAND_IN = "study-slug-stand-in"
_SLUG = re.compile(r"[-a-zA-Z0-9_]+\Z")


@register.simple_tag
def fixed_url(name: str) -> str:
    """`{% url name %}` for a URL without arguments, reversed once per URL configuration and
    script prefix: the links every page's header carries."""
    return _fixed_url(name, current_urlconf(), get_script_prefix())


@functools.lru_cache(maxsize=64)
def _fixed_url(name: str, urlconf: str, prefix: str) -> str:
    return reverse(name, urlconf=urlconf)


@functools.cache
def _study_nav_urls(urlconf: str, prefix: str) -> tuple[str, tuple[str, ...]]:
    """The study page's URL and each entry's, with `_SLUG_STAND_IN` where the slug goes."""
    home = reverse("negotiations:study_detail", args=[_SLUG_STAND_IN], urlconf=urlconf)
    urls = tuple(
        reverse(name, args=[_SLUG_STAND_IN], urlconf=urlconf) for _, name, _, _ in _STUDY_NAV
    )
    return home, urls


def _shown(rule: int, membership, study) -> bool:
    role = getattr(membership, "role", None)
    if rule == _CODER:
        return role == "coder"
    if rule == _NOT_CODER:
        return role != "coder"
    if rule == _MANAGER:
        return bool(membership and membership.can_manage)
    if rule == _CODER_RELEASED:
        return role == "coder" and bool(study.consensus_released)
    return True


@register.simple_tag(takes_context=True)
def study_nav(context) -> str:
    """The links of the study's navigation, the current section marked with aria-current."""
    study = context["study"]
    membership = context.get("membership")
    request = context.get("request")
    match = getattr(request, "resolver_match", None)
    current = (match.url_name or "") if match else ""
    slug = study.slug
    if not _SLUG.match(slug):  # not a slug the form accepts: let `reverse` quote it
        home = reverse("negotiations:study_detail", args=[slug])
        urls = [reverse(name, args=[slug]) for _, name, _, _ in _STUDY_NAV]
    else:
        home, templates = _study_nav_urls(current_urlconf(), get_script_prefix())
        home = home.replace(_SLUG_STAND_IN, slug)
        urls = [url.replace(_SLUG_STAND_IN, slug) for url in templates]
    parts = [format_html('<a class="study-name" href="{}">{}</a>', home, study.name)]
    for (label, _, rule, prefix), url in zip(_STUDY_NAV, urls, strict=True):
        if not _shown(rule, membership, study):
            continue
        mark = ' aria-current="page"' if prefix and current.startswith(prefix) else ""
        parts.append(format_html('<a href="{}"{}>{}</a>', url, mark_safe(mark), label))
    return mark_safe("\n        ".join(parts))
