"""The coding page and its htmx partials, "My work" and bulk assignment."""

from __future__ import annotations

import hashlib
import re

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import (
    Http404,
    HttpResponse,
    JsonResponse,
    StreamingHttpResponse,
)
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import get_conditional_response
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import trigger_client_event

from negotiations.access import CODERS, MANAGERS, coding_list_visible_to, study_for_member
from negotiations.codebook import selectors as codebook_selectors
from negotiations.codebook.stylesheet import codebook_stylesheet
from negotiations.coding import assignments as assignment_services
from negotiations.coding import selectors, services
from negotiations.coding.forms import (
    AssignmentBulkForm,
    AssignmentFilterForm,
    CodingEditForm,
    CodingForm,
    CodingSentencesForm,
)
from negotiations.coding.highlight import ListedCoding, codings_payload, render_coding_items
from negotiations.fragments import kept_fragment
from negotiations.http import (
    HtmxHttpRequest,
    csp_with_style,
    csv_response,
    error_text,
    form_errors,
    table_response,
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
from negotiations.shortcuts import page_shortcuts
from negotiations.sources import selectors as source_selectors
from negotiations.studies import selectors as study_selectors
from negotiations.wording import counted


def _listed(row: tuple, text: str, *, editable: bool) -> ListedCoding:
    pk, start, end, code_id, code_name, stance, party, strength, _coder_id, coder, memo = row
    return ListedCoding(
        id=pk,
        code_id=code_id,
        code_name=code_name,
        stance=stance,
        party=party,
        strength=strength,
        coder=coder,
        quote=text[start:end],
        memo=memo,
        start=start,
        editable=editable,
    )


def _list_urls(study) -> dict[str, str]:
    return {
        "edit_url": url_template("negotiations:coding_update", study.slug),
        "delete_url": url_template("negotiations:coding_delete", study.slug),
    }


def _page_data(request: HtmxHttpRequest, study, membership, source_id: int):
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
    return data


def _payload(request: HtmxHttpRequest, data) -> dict:
    return codings_payload(
        data.codings,
        me=request.user.pk,
        can_code=data.can_code,
        show_coder=data.layer != "mine",
    )


def _coding_context(request: HtmxHttpRequest, study, membership, source_id: int) -> dict:
    """The page: the text's HTML from the cache, the codings as compact data painted by
    coding.js; in sentence mode (the page without JavaScript) the sentences and the list."""
    data = _page_data(request, study, membership, source_id)
    source = data.source
    sentence_mode = request.GET.get("mode") == "sentences"
    code_sets = {}
    for code in data.codes:
        code_sets.setdefault(code.code_set, []).append(code)
    context = {
        "study": study,
        "membership": membership,
        "page": data,
        "source": source,
        "n_codings": len(data.codings),
        "code_sets": code_sets,
        "strengths": Strength.choices,
        "stances": Stance.choices,
        "sentence_mode": sentence_mode,
        "source_id": source.pk,
        "shortcuts": page_shortcuts(),
    }
    # The parts that show only codes, rendered once per process for each content of the codes.
    parts = {"code_sets": code_sets, "sentence_mode": sentence_mode}
    key = (data.codes_key, sentence_mode)
    context["codebook_ref"] = kept_fragment(
        "negotiations/coding/coding.html#codebook-ref", key, parts
    )
    context["code_choices"] = kept_fragment(
        "negotiations/coding/includes/coding_fields.html#code-choices", key, parts
    )
    if sentence_mode:
        text = source.text
        segments = selectors.source_segments(source=source)
        context["sentences"] = [(i, text[a:b]) for i, (a, b) in enumerate(segments)]
        # Built from escaped pieces in highlight.py.
        context["coding_items"] = mark_safe(
            render_coding_items(
                (
                    _listed(row, text, editable=data.can_code and row[8] == request.user.pk)
                    for row in data.codings
                ),
                show_coder=data.layer != "mine",
                csrf_token=get_token(request),
                **_list_urls(study),
            )
        )
    else:
        # The text's HTML goes in after rendering (see `coding_page`): the page's validator is
        # computed over the rest and the text's digest, never over 100,000 characters.
        context["text_html"] = TEXT_SLOT
        context["codings_payload"] = _payload(request, data)
        context["list_urls"] = _list_urls(study)
    return context


# Where the text's HTML goes. Escaped user text cannot contain "<", so nothing else on the page
# can look like this.
TEXT_SLOT = mark_safe("<!--source-text-->")
_TEXT_SLOT = TEXT_SLOT.encode()

# Each rendering masks the CSRF token afresh; the validator must not see that.
_MASKED_TOKEN = re.compile(rb'(csrfmiddlewaretoken" value="|"X-CSRFToken": ")[A-Za-z0-9]+')


def _page_etag(request: HtmxHttpRequest, content: bytes, text_key: str = "") -> str:
    """A strong validator of the page: its content with the masked CSRF tokens taken out, and the
    token's secret put in (a page kept from an older session would carry a stale token). The
    text, which never changes for a digest, counts by its digest (`text_key`)."""
    digest = hashlib.sha256(_MASKED_TOKEN.sub(rb"\1", content))
    digest.update(text_key.encode())
    digest.update(request.META.get("CSRF_COOKIE", "").encode())
    return f'"{digest.hexdigest()[:32]}"'


def _coding_url(study, source_id: int, layer: str = "") -> str:
    url = reverse("negotiations:coding_page", args=[study.slug, source_id])
    return f"{url}?layer={layer}" if layer else url


@require_GET
def coding_page(request: HtmxHttpRequest, slug: str, source_id: int) -> HttpResponse:
    """A source's coding page: the text with highlights, the codebook and the codings list.

    The response carries an ETag of its content, so a browser that has the page already gets a
    304 without the body while nothing on it changed.
    """
    study, membership = study_for_member(request, slug)
    context = _coding_context(request, study, membership, source_id)
    # The code colours travel in the page (one request fewer before the highlights can be
    # painted), allowed by their hash in the Content-Security-Policy.
    codebook_css = codebook_stylesheet(context["page"].colours)
    context["codebook_css"] = codebook_css
    response = render(request, "negotiations/coding/coding.html", context)
    response["Cache-Control"] = "private, no-cache"
    source = context["source"]
    text_key = "" if context["sentence_mode"] else selectors.coding_text_key(source=source)
    response["ETag"] = _page_etag(request, response.content, text_key)
    result = get_conditional_response(request, etag=response["ETag"], response=response)
    # A 304 updates the headers a browser keeps with the page: it needs the same policy.
    result._csp_config = csp_with_style(codebook_css)
    if result is response and text_key:
        response.content = response.content.replace(
            _TEXT_SLOT, selectors.coding_text_html(source=source).encode(), 1
        )
    return result


@require_GET
def coding_data(request: HtmxHttpRequest, slug: str, source_id: int) -> JsonResponse:
    """The codings of one layer as the page's compact data: the layer chooser loads this."""
    study, membership = study_for_member(request, slug)
    data = _page_data(request, study, membership, source_id)
    return JsonResponse(_payload(request, data) | {"layer": data.layer})


def _compact_event(coding: Coding) -> dict:
    return {
        "coding": [
            coding.pk,
            coding.start,
            coding.end,
            coding.code_id,
            coding.stance,
            coding.demonstrating_party.code,
            coding.strength,
            coding.coder_id,
            coding.memo,
        ],
        "code": coding.code.name,
        "coder": coding.coder.username,
    }


def _saved_response(
    request: HtmxHttpRequest,
    study,
    source_id: int,
    *,
    event: str = "",
    detail: dict | None = None,
    undo: dict | None = None,
    status: int = 200,
) -> HttpResponse:
    """After a write with htmx: the message and the undo slot (out of band), and a client event
    carrying only the coding that changed. Its cost and size do not depend on how many codings
    the source already has: coding.js paints the one coding and places its list item."""
    if not request.htmx:
        return redirect(_coding_url(study, source_id))
    context = {"study": study, "source_id": source_id, "undo": undo, "saved": True}
    response = render(request, "negotiations/coding/coding.html#saved", context, status=status)
    if event:
        trigger_client_event(response, event, detail or {})
    return response


def _refused(request: HtmxHttpRequest, study, source_id: int, error: str) -> HttpResponse:
    messages.error(request, error)
    return _saved_response(request, study, source_id, status=422)


@require_POST
def coding_create(request: HtmxHttpRequest, slug: str, source_id: int) -> HttpResponse:
    study, _membership = study_for_member(request, slug, CODERS)
    # The service reads the source afresh under its lock: here only that it is the study's.
    source = get_object_or_404(Source.objects.only("pk", "study_id"), study=study, pk=source_id)
    form = CodingForm(request.POST, study=study)
    if not form.is_valid():
        return _refused(request, study, source_id, form.error_text())
    try:
        # The form's fields are the service's arguments: span, quote, code, stance, party...
        coding = services.coding_create(source=source, coder=request.user, **form.cleaned_data)
    except ValidationError as exc:
        return _refused(request, study, source_id, error_text(exc))
    messages.success(
        request, f"Saved {coding.code.name} ({coding.stance}, {coding.demonstrating_party.code})."
    )
    return _saved_response(
        request, study, source_id, event="coding-saved", detail=_compact_event(coding)
    )


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
        messages.success(request, f"Saved {counted(len(codings), 'coding')}.")
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
        return _refused(request, study, coding.source_id, form.error_text())
    try:
        services.coding_update(coding=coding, coder=request.user, **form.cleaned_data)
    except ValidationError as exc:
        return _refused(request, study, coding.source_id, error_text(exc))
    messages.success(request, "Coding changed.")
    coding = Coding.objects.select_related("code", "coder", "demonstrating_party").get(pk=coding.pk)
    return _saved_response(
        request, study, coding.source_id, event="coding-changed", detail=_compact_event(coding)
    )


@require_POST
def coding_delete(request: HtmxHttpRequest, slug: str, coding_id: int) -> HttpResponse:
    study, _membership = study_for_member(request, slug, CODERS)
    coding = get_object_or_404(
        Coding.objects.select_related("source", "code").defer("source__text"),
        source__study=study,
        pk=coding_id,
    )
    if coding.coder_id != request.user.pk:
        raise PermissionDenied("You can only delete your own codings.")
    source_id = coding.source_id
    try:
        restorable = services.coding_delete(coding=coding, coder=request.user)
    except ValidationError as exc:
        return _refused(request, study, source_id, error_text(exc))
    # The quote saved with the coding is text[start:end] (the service checks it on save).
    restorable["quote"] = coding.quote
    messages.success(request, f"Deleted {coding.code.name} on “{restorable['quote'][:60]}”.")
    return _saved_response(
        request, study, source_id, event="coding-removed", detail={"id": coding_id}, undo=restorable
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
    assignment_services.assignment_submit(assignment=assignment)
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
    assignment_services.assignment_reopen(assignment=assignment)
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


ASSIGNMENT_SOURCES_PER_PAGE = 25


def _match_count(study, data) -> int | None:
    """How many sources the filter part of the assignment form matches; None while the filter
    itself is invalid (a malformed date), so that no misleading number is shown."""
    filter_form = AssignmentFilterForm(data, study=study)
    if not filter_form.is_valid():
        return None
    return source_selectors.source_list(study=study, filters=filter_form.filters()).count()


@require_http_methods(["GET", "POST"])
def assignments(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """Supervisors see who has what per source, assign sources in bulk from a filter (with the
    number of sources it matches, before assigning) and watch each coder's progress."""
    study, membership = study_for_member(request, slug, MANAGERS)
    if request.method == "POST":
        form = AssignmentBulkForm(request.POST, study=study)
        filter_data = request.POST
    else:
        # A GET with the filter (the no-JS "Count the sources" button, or htmx as the filter
        # changes) fills the form in without showing "required" errors for the coders.
        initial = {k: v for k, v in request.GET.items() if k != "page"}
        initial["coders"] = request.GET.getlist("coders")
        form = AssignmentBulkForm(study=study, initial=initial)
        filter_data = request.GET
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        source_ids = source_selectors.source_list(study=study, filters=form.filters()).values_list(
            "pk", flat=True
        )
        try:
            plan = assignment_services.assignments_bulk_create(
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
                f"{plan.n_sources} source{pluralize(plan.n_sources)} assigned "
                f"({plan.n_double_coded} coded by more than one coder). New assignments: {made}.",
            )
            return redirect("negotiations:assignments", slug=study.slug)
    context = {
        "study": study,
        "membership": membership,
        "form": form,
        "match_count": _match_count(study, filter_data),
    }
    if request.htmx and request.htmx.target == "match-count":
        return render(request, "negotiations/coding/assignments.html#match-count", context)
    sources = selectors.source_list_with_assignments(
        sources=source_selectors.source_list(study=study, filters=source_selectors.SourceFilters())
    )
    query = request.GET.copy()
    query.pop("page", None)
    context |= {
        "progress": selectors.progress_by_coder(study=study),
        "page": Paginator(sources, ASSIGNMENT_SOURCES_PER_PAGE).get_page(request.GET.get("page")),
        "query": query.urlencode(),
    }
    return render(request, "negotiations/coding/assignments.html", context)


@require_http_methods(["GET", "POST"])
def assignment_unassign(request: HtmxHttpRequest, slug: str, assignment_id: int) -> HttpResponse:
    """Unassign a coder from a source: first the list of the coder's codings on it that would be
    deleted, then (POST, confirmed) the delete; refused for submitted work."""
    study, membership = study_for_member(request, slug, MANAGERS)
    try:
        assignment = selectors.assignment_for_unassign(study=study, assignment_id=assignment_id)
    except Assignment.DoesNotExist:
        raise Http404("No such assignment.") from None
    error = ""
    if request.method == "POST":
        try:
            shown = int(request.POST.get("n_codings", ""))
        except ValueError:
            shown = -1
        if request.POST.get("confirm") != "yes":
            error = "Tick the confirmation to unassign."
        else:
            try:
                n = assignment_services.assignment_delete(
                    assignment=assignment, n_codings_shown=shown
                )
            except ValidationError as exc:
                error = error_text(exc)
            else:
                messages.success(
                    request,
                    f"Unassigned {assignment.coder.username} from “{assignment.source.title}”; "
                    f"{n} coding{pluralize(n)} deleted.",
                )
                return redirect("negotiations:assignments", slug=study.slug)
        try:
            assignment.refresh_from_db()
        except Assignment.DoesNotExist:
            messages.error(request, error)
            return redirect("negotiations:assignments", slug=study.slug)
    codings = list(selectors.coding_list_of_assignment(assignment=assignment))
    context = {
        "study": study,
        "membership": membership,
        "assignment": assignment,
        "codings": codings,
        "submitted": assignment.status == AssignmentStatus.SUBMITTED,
        "error": error,
    }
    status = 422 if error else 200
    return render(request, "negotiations/coding/assignment_unassign.html", context, status=status)


@require_GET
def export_codings(request: HtmxHttpRequest, slug: str) -> StreamingHttpResponse:
    study, membership = study_for_member(request, slug)
    codings = coding_list_visible_to(study=study, user=request.user, role=membership.role)
    stamp = timezone.now().strftime("%Y%m%d")
    submitted_only = request.GET.get("submitted") == "1"
    filename = f"{study.slug}-codings{'-submitted' if submitted_only else ''}-{stamp}"
    if request.GET.get("as") == "xlsx":
        return table_response(
            request,
            filename,
            selectors.CODING_COLUMNS,
            selectors.coding_rows(codings=codings, study=study, submitted_only=submitted_only),
        )
    return csv_response(
        f"{filename}.csv",
        selectors.coding_csv(codings=codings, study=study, submitted_only=submitted_only),
    )
