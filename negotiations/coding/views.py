"""The coding page and its htmx partials, "My work" and bulk assignment."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import (
    Http404,
    HttpResponse,
    StreamingHttpResponse,
)
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from negotiations.access import CODERS, MANAGERS, study_for_member
from negotiations.codebook import selectors as codebook_selectors
from negotiations.coding import selectors, services
from negotiations.coding.forms import (
    AssignmentBulkForm,
    CodingEditForm,
    CodingForm,
    CodingSentencesForm,
)
from negotiations.coding.highlight import ListedCoding, Span, render_coding_items, render_text_html
from negotiations.exports.tabular import csv_lines
from negotiations.http import (
    HtmxHttpRequest,
    csv_response,
    error_text,
    form_errors,
    url_template,
)
from negotiations.models import (
    Assignment,
    AssignmentStatus,
    Coding,
    Role,
    Source,
    Stance,
    Strength,
)
from negotiations.sources import selectors as source_selectors
from negotiations.studies import selectors as study_selectors


def _listed(coding: Coding, *, editable: bool) -> ListedCoding:
    return ListedCoding(
        id=coding.pk,
        code_id=coding.code_id,
        code_name=coding.code.name,
        stance=coding.stance,
        party=coding.demonstrating_party.code,
        strength=coding.strength,
        coder=coding.coder.username,
        quote=coding.quote,
        memo=coding.memo,
        start=coding.start,
        editable=editable,
    )


def _list_urls(study) -> dict[str, str]:
    return {
        "edit_url": url_template("negotiations:coding_update", study.slug),
        "delete_url": url_template("negotiations:coding_delete", study.slug),
    }


def _coding_context(
    request: HtmxHttpRequest,
    study,
    membership,
    source_id: int,
    with_list: bool = True,
) -> dict:
    layer = request.GET.get("layer") or request.POST.get("layer") or "mine"
    try:
        data = selectors.coding_page(
            study=study,
            source_id=source_id,
            user=request.user,
            role=membership.role,
            layer=layer,
        )
    except Source.DoesNotExist:
        raise Http404("No such source.") from None
    if membership.role == Role.CODER and data.assignment is None:
        raise PermissionDenied("This source is not assigned to you.")
    source = data.source
    text_html = render_text_html(
        source.text,
        data.segments,
        (Span(c.pk, c.start, c.end, c.code_id, c.stance) for c in data.codings),
    )
    own_layer = data.layer == "mine"
    coding_items = ""
    if with_list:
        coding_items = render_coding_items(
            (
                _listed(c, editable=data.can_code and c.coder_id == request.user.pk)
                for c in data.codings
            ),
            show_coder=not own_layer,
            csrf_token=get_token(request),
            **_list_urls(study),
        )
    code_sets = {}
    for code in data.codes:
        code_sets.setdefault(code.code_set, []).append(code)
    return {
        "study": study,
        "membership": membership,
        "page": data,
        "source": source,
        # Both are built from escaped pieces in highlight.py.
        "text_html": mark_safe(text_html),
        "coding_items": mark_safe(coding_items),
        "n_codings": len(data.codings),
        "code_sets": code_sets,
        "strengths": Strength.choices,
        "stances": Stance.choices,
        "sentence_mode": request.GET.get("mode") == "sentences",
        "sentences": [(i, source.text[a:b]) for i, (a, b) in enumerate(data.segments)]
        if request.GET.get("mode") == "sentences"
        else [],
    }


def _workspace(request: HtmxHttpRequest, context: dict, status: int = 200) -> HttpResponse:
    return render(request, "negotiations/coding/coding.html#workspace", context, status=status)


def _coding_url(study, source_id: int, layer: str = "") -> str:
    url = reverse("negotiations:coding_page", args=[study.slug, source_id])
    return f"{url}?layer={layer}" if layer else url


@require_GET
def coding_page(request: HtmxHttpRequest, slug: str, source_id: int) -> HttpResponse:
    """A source's coding page: the text with highlights, the codebook and the coder's codings."""
    study, membership = study_for_member(request, slug)
    context = _coding_context(request, study, membership, source_id)
    if request.htmx:
        return _workspace(request, context)
    return render(request, "negotiations/coding/coding.html", context)


def _coding_post_response(
    request: HtmxHttpRequest, study, membership, source_id: int, error: str = "", undo=None
) -> HttpResponse:
    if error:
        messages.error(request, error)
    if not request.htmx:
        return redirect(_coding_url(study, source_id))
    context = _coding_context(request, study, membership, source_id)
    context["undo"] = undo
    return _workspace(request, context, status=422 if error else 200)


def _saved_response(
    request: HtmxHttpRequest,
    study,
    membership,
    source_id: int,
    *,
    added: Coding | None = None,
    changed: Coding | None = None,
    removed_id: int | None = None,
    undo: dict | None = None,
) -> HttpResponse:
    """After a save with htmx: the text with its highlights and only what changed in the list
    (an added, changed or removed item), so a long list is not sent and rebuilt every time."""
    if not request.htmx:
        return redirect(_coding_url(study, source_id))
    context = _coding_context(request, study, membership, source_id, with_list=False)

    def item(coding: Coding, attributes: str = "") -> str:
        html = render_coding_items(
            [_listed(coding, editable=True)],
            show_coder=False,
            csrf_token=get_token(request),
            **_list_urls(study),
        )
        return html.replace(
            f'<li id="coding-{coding.pk}"', f'<li id="coding-{coding.pk}"{attributes}', 1
        )

    context.update(
        saved=True,
        undo=undo,
        removed_id=removed_id,
        # Both are built from escaped pieces in highlight.py.
        added_item=mark_safe(item(added)) if added else "",
        changed_item=mark_safe(item(changed, ' hx-swap-oob="true"')) if changed else "",
    )
    return render(request, "negotiations/coding/coding.html#saved", context)


@require_POST
def coding_create(request: HtmxHttpRequest, slug: str, source_id: int) -> HttpResponse:
    study, membership = study_for_member(request, slug, CODERS)
    source = get_object_or_404(Source, study=study, pk=source_id)
    form = CodingForm(request.POST, study=study)
    if not form.is_valid():
        return _coding_post_response(request, study, membership, source_id, form.error_text())
    try:
        # The form's fields are the service's arguments: span, quote, code, stance, party...
        coding = services.coding_create(source=source, coder=request.user, **form.cleaned_data)
    except ValidationError as exc:
        return _coding_post_response(request, study, membership, source_id, error_text(exc))
    messages.success(
        request, f"Saved {coding.code.name} ({coding.stance}, {coding.demonstrating_party.code})."
    )
    return _saved_response(request, study, membership, source_id, added=coding)


@require_POST
def coding_sentences(request: HtmxHttpRequest, slug: str, source_id: int) -> HttpResponse:
    """Code whole sentences chosen from a list: the page without JavaScript."""
    study, _membership = study_for_member(request, slug, CODERS)
    source = get_object_or_404(Source, study=study, pk=source_id)
    form = CodingSentencesForm(request.POST, study=study)
    if not form.is_valid():
        messages.error(request, form.error_text())
        return redirect(_coding_url(study, source_id) + "?mode=sentences")
    data = dict(form.cleaned_data)
    try:
        codings = services.codings_create_for_segments(
            source=source, coder=request.user, segment_indexes=data.pop("segments"), **data
        )
    except ValidationError as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(request, f"Saved {len(codings)} coding{'s' if len(codings) != 1 else ''}.")
    return redirect(
        reverse("negotiations:coding_page", args=[study.slug, source_id]) + "?mode=sentences"
    )


@require_http_methods(["GET", "POST"])
def coding_update(request: HtmxHttpRequest, slug: str, coding_id: int) -> HttpResponse:
    """Change one of the coder's codings: the form (inline with htmx) and its save."""
    study, membership = study_for_member(request, slug, CODERS)
    coding = get_object_or_404(
        Coding.objects.select_related("source", "code", "demonstrating_party"),
        source__study=study,
        pk=coding_id,
    )
    if coding.coder_id != request.user.pk:
        raise PermissionDenied("You can only change your own codings.")
    if request.method == "GET":
        context = {
            "study": study,
            "membership": membership,
            "coding": coding,
            "codes": codebook_selectors.active_code_list(study=study),
            "parties": study_selectors.party_list(study=study),
            "stances": Stance.choices,
            "strengths": Strength.choices,
        }
        template = "negotiations/coding/coding_edit.html"
        if request.htmx:
            template += "#edit-form"
        return render(request, template, context)
    form = CodingEditForm(request.POST, study=study)
    if not form.is_valid():
        return _coding_post_response(
            request, study, membership, coding.source_id, form.error_text()
        )
    try:
        services.coding_update(coding=coding, coder=request.user, **form.cleaned_data)
    except ValidationError as exc:
        return _coding_post_response(request, study, membership, coding.source_id, error_text(exc))
    messages.success(request, "Coding changed.")
    coding.refresh_from_db()
    return _saved_response(request, study, membership, coding.source_id, changed=coding)


@require_POST
def coding_delete(request: HtmxHttpRequest, slug: str, coding_id: int) -> HttpResponse:
    study, membership = study_for_member(request, slug, CODERS)
    coding = get_object_or_404(
        Coding.objects.select_related("source", "code", "demonstrating_party"),
        source__study=study,
        pk=coding_id,
    )
    if coding.coder_id != request.user.pk:
        raise PermissionDenied("You can only delete your own codings.")
    source = coding.source
    try:
        restorable = services.coding_delete(coding=coding, coder=request.user)
    except ValidationError as exc:
        return _coding_post_response(request, study, membership, source.pk, error_text(exc))
    restorable["quote"] = source.text[restorable["start"] : restorable["end"]]
    messages.success(request, f"Deleted {coding.code.name} on “{restorable['quote'][:60]}”.")
    return _saved_response(
        request, study, membership, source.pk, removed_id=coding_id, undo=restorable
    )


@require_POST
def assignment_submit(request: HtmxHttpRequest, slug: str, source_id: int) -> HttpResponse:
    study, _membership = study_for_member(request, slug, CODERS)
    assignment = get_object_or_404(
        Assignment, source__study=study, source_id=source_id, coder=request.user
    )
    if request.POST.get("confirm") != "yes":
        messages.error(request, "Tick the confirmation to submit.")
        return redirect(_coding_url(study, source_id))
    services.assignment_submit(assignment=assignment)
    messages.success(request, "Submitted. Your codings of this source now count in agreement.")
    next_assignment = (
        selectors.assignment_list_for_coder(study=study, user=request.user)
        .exclude(status=AssignmentStatus.SUBMITTED)
        .first()
    )
    if next_assignment is not None:
        return redirect(_coding_url(study, next_assignment.source_id))
    return redirect("negotiations:my_work", slug=study.slug)


@require_POST
def assignment_reopen(request: HtmxHttpRequest, slug: str, assignment_id: int) -> HttpResponse:
    study, _membership = study_for_member(request, slug, MANAGERS)
    assignment = get_object_or_404(Assignment, source__study=study, pk=assignment_id)
    services.assignment_reopen(assignment=assignment)
    messages.success(request, f"Reopened for {assignment.coder.username}.")
    return redirect(_coding_url(study, assignment.source_id, str(assignment.coder_id)))


@require_GET
def my_work(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """A coder's assigned sources with their status, progress and the next one to open."""
    study, membership = study_for_member(request, slug)
    assignments = list(selectors.assignment_list_for_coder(study=study, user=request.user))
    progress = selectors.progress_by_coder(study=study)
    mine = next((p for p in progress if p.coder_id == request.user.pk), None)
    study_total = sum(p.total for p in progress)
    study_submitted = sum(p.submitted for p in progress)
    next_assignment = next((a for a in assignments if a.status != AssignmentStatus.SUBMITTED), None)
    context = {
        "study": study,
        "membership": membership,
        "assignments": assignments,
        "mine": mine,
        "study_total": study_total,
        "study_submitted": study_submitted,
        "next_assignment": next_assignment,
    }
    return render(request, "negotiations/coding/my_work.html", context)


@require_http_methods(["GET", "POST"])
def assignments(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """Supervisors assign sources in bulk from a filter and watch each coder's progress."""
    study, membership = study_for_member(request, slug, MANAGERS)
    form = AssignmentBulkForm(request.POST or None, study=study)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        source_ids = source_selectors.source_list(study=study, filters=form.filters()).values_list(
            "pk", flat=True
        )
        try:
            plan = services.assignments_bulk_create(
                study=study,
                source_ids=list(source_ids),
                coders=[m.user for m in data["coders"]],
                mode=data["mode"],
                share=data["share"] / 100,
                seed=data["seed"],
                assigned_by=request.user,
            )
        except ValidationError as exc:
            form_errors(form, exc)
        else:
            made = ", ".join(f"{name}: {n}" for name, n in plan.created.items())
            messages.success(
                request,
                f"{plan.n_sources} sources assigned ({plan.n_double_coded} coded by more than "
                f"one coder). New assignments: {made}.",
            )
            return redirect("negotiations:assignments", slug=study.slug)
    context = {
        "study": study,
        "membership": membership,
        "form": form,
        "progress": selectors.progress_by_coder(study=study),
    }
    return render(request, "negotiations/coding/assignments.html", context)


@require_GET
def export_codings(request: HtmxHttpRequest, slug: str) -> StreamingHttpResponse:
    study, membership = study_for_member(request, slug)
    codings = selectors.coding_list_visible_to(study=study, user=request.user, role=membership.role)
    stamp = timezone.now().strftime("%Y%m%d")
    return csv_response(
        f"{study.slug}-codings-{stamp}.csv",
        csv_lines(selectors.CODING_COLUMNS, selectors.coding_rows(codings=codings, study=study)),
    )
