"""Codebook pages: codes with their definitions, colours and keys, code sets and versions."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import (
    HttpResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from negotiations.access import MANAGERS, coding_list_visible_to, study_for_member
from negotiations.codebook import selectors, services
from negotiations.codebook.forms import CodeForm
from negotiations.codebook.stylesheet import codebook_stylesheet
from negotiations.http import HtmxHttpRequest, form_errors
from negotiations.models import (
    Code,
    CodeSet,
)


def _codebook_page(request: HtmxHttpRequest, study, membership) -> HttpResponse:
    context = {
        "study": study,
        "membership": membership,
        # Blind coding applies to the counts: a coder counts only the codings they may see.
        "code_sets": selectors.code_set_list(
            study=study,
            counted=coding_list_visible_to(study=study, user=request.user, role=membership.role),
        ),
        "versions": selectors.codebook_version_list(study=study)[:1],
    }
    template = "negotiations/codebook/codebook.html"
    if request.htmx:
        template += "#code-sets"
    return render(request, template, context)


@require_GET
def codebook(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    study, membership = study_for_member(request, slug)
    return _codebook_page(request, study, membership)


@require_GET
def codebook_css(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """Code colours as a stylesheet: the Content-Security-Policy forbids inline styles."""
    study, _ = study_for_member(request, slug)
    colours = Code.objects.filter(study=study).values_list("pk", "colour")
    response = HttpResponse(codebook_stylesheet(colours), content_type="text/css")
    response["Cache-Control"] = "private, no-cache"
    return response


@require_http_methods(["GET", "POST"])
def code_create(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    study, membership = study_for_member(request, slug, MANAGERS)
    form = CodeForm(request.POST or None, study=study)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        code_set = data.pop("code_set")
        try:
            code = services.code_create(study=study, code_set=code_set, actor=request.user, **data)
        except ValidationError as exc:
            form_errors(form, exc)
        else:
            messages.success(request, f"Code {code.name} added.")
            return redirect("negotiations:codebook", slug=study.slug)
    context = {"study": study, "membership": membership, "form": form}
    return render(request, "negotiations/codebook/code_form.html", context)


@require_http_methods(["GET", "POST"])
def code_edit(request: HtmxHttpRequest, slug: str, code_id: int) -> HttpResponse:
    study, membership = study_for_member(request, slug, MANAGERS)
    code = get_object_or_404(Code, study=study, pk=code_id)
    original = Code.objects.get(pk=code.pk)
    form = CodeForm(request.POST or None, instance=code, study=study)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        data.pop("code_set")
        try:
            services.code_update(code=original, actor=request.user, **data)
        except ValidationError as exc:
            form_errors(form, exc)
        else:
            messages.success(request, f"Code {original.name} saved.")
            return redirect("negotiations:codebook", slug=study.slug)
    context = {"study": study, "membership": membership, "form": form, "code": original}
    return render(request, "negotiations/codebook/code_form.html", context)


@require_POST
def code_remove(request: HtmxHttpRequest, slug: str, code_id: int) -> HttpResponse:
    study, _ = study_for_member(request, slug, MANAGERS)
    code = get_object_or_404(Code, study=study, pk=code_id)
    if request.POST.get("restore"):
        services.code_restore(code=code, actor=request.user)
        messages.success(request, f"Code {code.name} restored.")
    else:
        action = services.code_remove(code=code, actor=request.user)
        messages.success(request, f"Code {code.name} {action}.")
    return redirect("negotiations:codebook", slug=study.slug)


@require_POST
def code_set_toggle(request: HtmxHttpRequest, slug: str, code_set_id: int) -> HttpResponse:
    study, membership = study_for_member(request, slug, MANAGERS)
    code_set = get_object_or_404(CodeSet, study=study, pk=code_set_id)
    services.code_set_set_enabled(
        code_set=code_set, enabled=request.POST.get("enabled") == "1", actor=request.user
    )
    if request.htmx:
        return _codebook_page(request, study, membership)
    return redirect("negotiations:codebook", slug=study.slug)


@require_GET
def codebook_versions(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    study, membership = study_for_member(request, slug)
    versions = selectors.codebook_version_list(study=study)
    page = Paginator(versions, 50).get_page(request.GET.get("page"))
    selected = None
    if request.GET.get("version"):
        selected = study.codebook_versions.filter(number=request.GET["version"]).first()
    context = {"study": study, "membership": membership, "page": page, "selected": selected}
    return render(request, "negotiations/codebook/codebook_versions.html", context)
