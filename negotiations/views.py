"""TrustCoder's pages: one function view per URL, each checking study membership and role first."""

from __future__ import annotations

from datetime import date

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    QueryDict,
    StreamingHttpResponse,
)
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.middleware import HtmxDetails

from negotiations import exports, selectors, services
from negotiations.access import CODERS, MANAGERS, study_for_member
from negotiations.extract import ExtractionError, extract_text
from negotiations.forms import (
    AssessmentRuleForm,
    AssignmentBulkForm,
    CodeForm,
    CodingEditForm,
    CodingForm,
    CodingSentencesForm,
    ConsensusDecisionForm,
    ConsensusFilterForm,
    EventForm,
    JudgementForm,
    MemberAddForm,
    MemberRoleForm,
    NegotiationForm,
    PartyForm,
    PhaseForm,
    ReliabilityFilterForm,
    SourceCreateForm,
    SourceFilterForm,
    SourceImportForm,
    SourceMetadataForm,
    SourceTextForm,
    StudyForm,
    StudySettingsForm,
)
from negotiations.highlight import ListedCoding, Span, render_coding_items, render_text_html
from negotiations.models import (
    AssessmentJudgement,
    Assignment,
    AssignmentStatus,
    Code,
    CodeSet,
    Coding,
    ConsensusUnit,
    Event,
    ImportStatus,
    Membership,
    Negotiation,
    Phase,
    Role,
    Segment,
    Source,
    SourceImport,
    Stance,
    Strength,
)


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


def _form_errors(form, exc: ValidationError) -> None:
    """Put a service's ValidationError onto the form, field by field where it names fields."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc)


# Home and studies -------------------------------------------------------------------------------


@require_GET
def home(request: HtmxHttpRequest) -> HttpResponse:
    memberships = selectors.membership_list_for_user(user=request.user)
    return render(request, "negotiations/home.html", {"memberships": memberships})


@require_http_methods(["GET", "POST"])
def study_create(request: HtmxHttpRequest) -> HttpResponse:
    form = StudyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            study = services.study_create(
                name=form.cleaned_data["name"],
                slug=form.cleaned_data["slug"],
                description=form.cleaned_data["description"],
                created_by=request.user,
            )
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, f"Study {study.name} created with the default codebook.")
            return redirect("negotiations:study_detail", slug=study.slug)
    return render(request, "negotiations/study_create.html", {"form": form})


@require_GET
def study_detail(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    study, membership = study_for_member(request, slug)
    context = {
        "study": study,
        "membership": membership,
        "negotiations": selectors.negotiation_list(study=study),
        "n_sources": Source.objects.filter(study=study).count(),
        "n_members": Membership.objects.filter(study=study).count(),
    }
    return render(request, "negotiations/study_detail.html", context)


@require_http_methods(["GET", "POST"])
def study_settings(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    study, membership = study_for_member(request, slug, MANAGERS)
    form = StudySettingsForm(request.POST or None, instance=study)
    if request.method == "POST" and form.is_valid():
        services.study_update_settings(
            study=study,
            name=form.cleaned_data["name"],
            description=form.cleaned_data["description"],
            blind_coding=form.cleaned_data["blind_coding"],
            snap_to_words=form.cleaned_data["snap_to_words"],
        )
        messages.success(request, "Settings saved.")
        return redirect("negotiations:study_settings", slug=study.slug)
    context = {"study": study, "membership": membership, "form": form}
    return render(request, "negotiations/study_settings.html", context)


# Members -----------------------------------------------------------------------------------------


def _members_context(study, membership, add_form=None) -> dict:
    return {
        "study": study,
        "membership": membership,
        "members": selectors.membership_list(study=study),
        "add_form": add_form or MemberAddForm(),
        "roles": Role.choices,
    }


@require_GET
def member_list(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    study, membership = study_for_member(request, slug)
    return render(request, "negotiations/members.html", _members_context(study, membership))


@require_POST
def member_add(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    study, membership = study_for_member(request, slug, MANAGERS)
    form = MemberAddForm(request.POST)
    if form.is_valid():
        try:
            added = services.membership_add(
                study=study,
                identifier=form.cleaned_data["identifier"],
                role=form.cleaned_data["role"],
                actor_role=membership.role,
            )
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, f"{added.user.username} added as {added.get_role_display()}.")
            if not request.htmx:
                return redirect("negotiations:member_list", slug=study.slug)
            form = MemberAddForm()
    template = "negotiations/members.html"
    if request.htmx:
        template += "#members"
    status = 200 if not form.errors else 422
    return render(request, template, _members_context(study, membership, form), status=status)


@require_POST
def member_update(request: HtmxHttpRequest, slug: str, member_id: int) -> HttpResponse:
    study, membership = study_for_member(request, slug, MANAGERS)
    target = get_object_or_404(Membership, study=study, pk=member_id)
    form = MemberRoleForm(request.POST)
    if form.is_valid():
        try:
            services.membership_set_role(
                membership=target, role=form.cleaned_data["role"], actor_role=membership.role
            )
            messages.success(request, f"{target.user.username} is now {target.get_role_display()}.")
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
    else:
        messages.error(request, "Choose a valid role.")
    if request.htmx:
        return render(
            request, "negotiations/members.html#members", _members_context(study, membership)
        )
    return redirect("negotiations:member_list", slug=study.slug)


@require_POST
def member_remove(request: HtmxHttpRequest, slug: str, member_id: int) -> HttpResponse:
    study, membership = study_for_member(request, slug, MANAGERS)
    target = get_object_or_404(Membership, study=study, pk=member_id)
    try:
        services.membership_remove(membership=target, actor_role=membership.role)
        messages.success(request, f"{target.user.username} removed from the study.")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    if target.user_id == request.user.pk and not Membership.objects.filter(pk=target.pk).exists():
        return redirect("home")
    if request.htmx:
        return render(
            request, "negotiations/members.html#members", _members_context(study, membership)
        )
    return redirect("negotiations:member_list", slug=study.slug)


# Parties and negotiations ----------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def party_list(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    roles = MANAGERS if request.method == "POST" else None
    study, membership = study_for_member(request, slug, roles)
    form = PartyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            party = services.party_create(
                study=study, code=form.cleaned_data["code"], name=form.cleaned_data["name"]
            )
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, f"Party {party.code} added.")
            return redirect("negotiations:party_list", slug=study.slug)
    context = {
        "study": study,
        "membership": membership,
        "parties": selectors.party_list(study=study),
        "form": form,
    }
    return render(request, "negotiations/parties.html", context)


@require_GET
def negotiation_list(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    study, membership = study_for_member(request, slug)
    context = {
        "study": study,
        "membership": membership,
        "negotiations": selectors.negotiation_list(study=study),
    }
    return render(request, "negotiations/negotiation_list.html", context)


@require_http_methods(["GET", "POST"])
def negotiation_create(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    study, membership = study_for_member(request, slug, MANAGERS)
    form = NegotiationForm(request.POST or None, study=study)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            negotiation = services.negotiation_create(
                study=study,
                name=data["name"],
                description=data["description"],
                start_date=data["start_date"],
                end_date=data["end_date"],
                parties=data["parties"],
                principal_parties=data["principal_parties"],
            )
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, f"{negotiation.name} created; now add its phases.")
            return redirect(
                "negotiations:negotiation_edit", slug=study.slug, negotiation_id=negotiation.pk
            )
    context = {"study": study, "membership": membership, "form": form}
    return render(request, "negotiations/negotiation_form.html", context)


def _negotiation_edit_context(study, membership, negotiation, **forms) -> dict:
    return {
        "study": study,
        "membership": membership,
        "negotiation": negotiation,
        "phases": negotiation.phases.order_by("order", "start_date"),
        "events": negotiation.events.order_by("date"),
        "form": forms.get("form") or NegotiationForm(instance=negotiation, study=study),
        "phase_form": forms.get("phase_form") or PhaseForm(),
        "event_form": forms.get("event_form") or EventForm(),
    }


@require_http_methods(["GET", "POST"])
def negotiation_edit(request: HtmxHttpRequest, slug: str, negotiation_id: int) -> HttpResponse:
    study, membership = study_for_member(request, slug, MANAGERS)
    negotiation = get_object_or_404(Negotiation, study=study, pk=negotiation_id)
    form = NegotiationForm(request.POST or None, instance=negotiation, study=study)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.negotiation_update(
                negotiation=negotiation,
                name=data["name"],
                description=data["description"],
                start_date=data["start_date"],
                end_date=data["end_date"],
                parties=data["parties"],
                principal_parties=data["principal_parties"],
            )
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, f"{negotiation.name} saved.")
            return redirect(
                "negotiations:negotiation_edit", slug=study.slug, negotiation_id=negotiation.pk
            )
    return render(
        request,
        "negotiations/negotiation_edit.html",
        _negotiation_edit_context(study, membership, negotiation, form=form),
    )


def _add_to_negotiation(
    request: HtmxHttpRequest,
    slug: str,
    negotiation_id: int,
    form_class,
    create,
    form_key: str,
    done: str,
) -> HttpResponse:
    """Add a phase or an event from the negotiation page's small forms."""
    study, membership = study_for_member(request, slug, MANAGERS)
    negotiation = get_object_or_404(Negotiation, study=study, pk=negotiation_id)
    form = form_class(request.POST)
    if form.is_valid():
        try:
            create(negotiation=negotiation, **form.cleaned_data)
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, done)
            return redirect(
                "negotiations:negotiation_edit", slug=study.slug, negotiation_id=negotiation.pk
            )
    return render(
        request,
        "negotiations/negotiation_edit.html",
        _negotiation_edit_context(study, membership, negotiation, **{form_key: form}),
        status=422,
    )


@require_POST
def phase_create(request: HtmxHttpRequest, slug: str, negotiation_id: int) -> HttpResponse:
    return _add_to_negotiation(
        request,
        slug,
        negotiation_id,
        PhaseForm,
        services.phase_create,
        "phase_form",
        "Phase added.",
    )


@require_POST
def phase_update(
    request: HtmxHttpRequest, slug: str, negotiation_id: int, phase_id: int
) -> HttpResponse:
    study, _membership = study_for_member(request, slug, MANAGERS)
    phase = get_object_or_404(
        Phase, negotiation__study=study, negotiation_id=negotiation_id, pk=phase_id
    )
    if request.POST.get("delete"):
        try:
            services.phase_delete(phase=phase)
            messages.success(request, f"Phase {phase.name} deleted.")
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
    else:
        form = PhaseForm(request.POST, instance=Phase(negotiation=phase.negotiation))
        if form.is_valid():
            try:
                services.phase_update(phase=phase, **form.cleaned_data)
                messages.success(request, f"Phase {phase.name} saved.")
            except ValidationError as exc:
                messages.error(request, " ".join(exc.messages))
        else:
            messages.error(request, "The phase was not saved: check its name, kind and dates.")
    return redirect("negotiations:negotiation_edit", slug=study.slug, negotiation_id=negotiation_id)


@require_POST
def event_create(request: HtmxHttpRequest, slug: str, negotiation_id: int) -> HttpResponse:
    return _add_to_negotiation(
        request,
        slug,
        negotiation_id,
        EventForm,
        services.event_create,
        "event_form",
        "Event added.",
    )


@require_POST
def event_delete(
    request: HtmxHttpRequest, slug: str, negotiation_id: int, event_id: int
) -> HttpResponse:
    study, _ = study_for_member(request, slug, MANAGERS)
    event = get_object_or_404(
        Event, negotiation__study=study, negotiation_id=negotiation_id, pk=event_id
    )
    event.delete()
    messages.success(request, "Event deleted.")
    return redirect("negotiations:negotiation_edit", slug=study.slug, negotiation_id=negotiation_id)


# Codebook ----------------------------------------------------------------------------------------


def _codebook_page(request: HtmxHttpRequest, study, membership) -> HttpResponse:
    context = {
        "study": study,
        "membership": membership,
        "code_sets": selectors.code_set_list(study=study),
        "versions": selectors.codebook_version_list(study=study)[:1],
    }
    template = "negotiations/codebook.html"
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
    codes = Code.objects.filter(study=study).values_list("pk", "colour")
    response = render(
        request, "negotiations/codebook.css", {"codes": codes}, content_type="text/css"
    )
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
            _form_errors(form, exc)
        else:
            messages.success(request, f"Code {code.name} added.")
            return redirect("negotiations:codebook", slug=study.slug)
    context = {"study": study, "membership": membership, "form": form}
    return render(request, "negotiations/code_form.html", context)


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
            _form_errors(form, exc)
        else:
            messages.success(request, f"Code {original.name} saved.")
            return redirect("negotiations:codebook", slug=study.slug)
    context = {"study": study, "membership": membership, "form": form, "code": original}
    return render(request, "negotiations/code_form.html", context)


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
    return render(request, "negotiations/codebook_versions.html", context)


# Sources -----------------------------------------------------------------------------------------

SOURCES_PER_PAGE = 50


@require_GET
def source_list(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    study, membership = study_for_member(request, slug)
    filter_form = SourceFilterForm(request.GET or None, study=study)
    sources = selectors.source_list(study=study, filters=filter_form.filters())
    page = Paginator(sources, SOURCES_PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "study": study,
        "membership": membership,
        "filter_form": filter_form,
        "page": page,
        "query": query.urlencode(),
    }
    template = "negotiations/source_list.html"
    if request.htmx:
        template += "#results"
    return render(request, template, context)


@require_GET
def source_detail(request: HtmxHttpRequest, slug: str, source_id: int) -> HttpResponse:
    study, membership = study_for_member(request, slug)
    try:
        source = selectors.source_detail(study=study, source_id=source_id)
    except Source.DoesNotExist:
        raise Http404("No such source.") from None
    segments = [(seg, source.text[seg.start : seg.end]) for seg in source.segments.all()]
    context = {
        "study": study,
        "membership": membership,
        "source": source,
        "segments": segments,
        "newer": selectors.source_newer_version(source=source),
    }
    return render(request, "negotiations/source_detail.html", context)


@require_http_methods(["GET", "POST"])
def source_create(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    study, membership = study_for_member(request, slug, MANAGERS)
    form = SourceCreateForm(request.POST or None, request.FILES or None, study=study)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        upload = data.get("file")
        try:
            if upload is not None:
                extracted = extract_text(
                    upload.name,
                    upload.read(),
                    max_bytes=services.settings.TRUSTCODER_MAX_UPLOAD_BYTES,
                    max_chars=services.settings.TRUSTCODER_MAX_TEXT_CHARS,
                )
                text, filename = extracted.text, upload.name
            else:
                text, filename = data["text"], ""
            source = services.source_create(
                study=study,
                metadata=services.SourceMetadata(
                    **{k: data[k] for k in SourceMetadataForm.Meta.fields}
                ),
                text=text,
                created_by=request.user,
                original_filename=filename,
            )
        except ExtractionError as exc:
            form.add_error("file", str(exc))
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(
                request, f"Source added with {source.segments.count()} sentence segments."
            )
            return redirect("negotiations:source_detail", slug=study.slug, source_id=source.pk)
    context = {"study": study, "membership": membership, "form": form}
    return render(
        request, "negotiations/source_create.html", context, status=422 if form.errors else 200
    )


@require_http_methods(["GET", "POST"])
def source_edit(request: HtmxHttpRequest, slug: str, source_id: int) -> HttpResponse:
    study, membership = study_for_member(request, slug, MANAGERS)
    source = get_object_or_404(Source, study=study, pk=source_id)
    form = SourceMetadataForm(request.POST or None, instance=source, study=study)
    text_form = SourceTextForm(initial={"text": source.text})
    if request.method == "POST" and form.is_valid():
        try:
            services.source_update_metadata(
                source=source,
                metadata=services.SourceMetadata(
                    **{k: form.cleaned_data[k] for k in SourceMetadataForm.Meta.fields}
                ),
            )
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, "Source saved.")
            return redirect("negotiations:source_detail", slug=study.slug, source_id=source.pk)
    context = {
        "study": study,
        "membership": membership,
        "source": source,
        "form": form,
        "text_form": text_form,
        "is_coded": services.source_is_coded(source),
    }
    return render(request, "negotiations/source_edit.html", context)


@require_POST
def source_text(request: HtmxHttpRequest, slug: str, source_id: int) -> HttpResponse:
    study, _membership = study_for_member(request, slug, MANAGERS)
    source = get_object_or_404(Source, study=study, pk=source_id)
    text_form = SourceTextForm(request.POST)
    if text_form.is_valid():
        try:
            result = services.source_replace_text(
                source=source, text=text_form.cleaned_data["text"], actor=request.user
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            if result.pk != source.pk:
                messages.success(
                    request,
                    "The source is coded, so its text is kept; the correction is version "
                    f"{result.version}, a new source.",
                )
            else:
                messages.success(request, "Text corrected and split into sentences again.")
            return redirect("negotiations:source_detail", slug=study.slug, source_id=result.pk)
    return redirect("negotiations:source_edit", slug=study.slug, source_id=source.pk)


@require_POST
def source_delete(request: HtmxHttpRequest, slug: str, source_id: int) -> HttpResponse:
    study, _ = study_for_member(request, slug, MANAGERS)
    source = get_object_or_404(Source, study=study, pk=source_id)
    try:
        services.source_delete(source=source)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("negotiations:source_detail", slug=study.slug, source_id=source.pk)
    messages.success(request, f"Source {source.title} deleted.")
    return redirect("negotiations:source_list", slug=study.slug)


@require_http_methods(["GET", "POST"])
def source_import(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """Upload a CSV or XLSX of statements; shows a dry-run preview before anything is saved."""
    study, membership = study_for_member(request, slug, MANAGERS)
    form = SourceImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        staged = services.source_import_stage(
            study=study,
            filename=upload.name,
            content=upload.read(),
            actor=request.user,
            create_missing=form.cleaned_data["create_missing"],
        )
        return redirect("negotiations:source_import_preview", slug=study.slug, import_id=staged.pk)
    context = {
        "study": study,
        "membership": membership,
        "form": form,
        "columns": services.IMPORT_COLUMNS,
        "recent": SourceImport.objects.filter(study=study).defer("content")[:10],
    }
    return render(request, "negotiations/source_import.html", context)


@require_http_methods(["GET", "POST"])
def source_import_preview(request: HtmxHttpRequest, slug: str, import_id: int) -> HttpResponse:
    study, membership = study_for_member(request, slug, MANAGERS)
    staged = get_object_or_404(SourceImport, study=study, pk=import_id)
    if request.method == "POST":
        if staged.status != ImportStatus.PREVIEWED:
            messages.error(request, "This file was already imported or refused.")
            return redirect("negotiations:source_import", slug=study.slug)
        report = services.source_import_confirm(source_import=staged, actor=request.user)
        if report.ok:
            messages.success(request, f"Imported {report.n_imported:,} sources.")
            return redirect(
                reverse("negotiations:source_list", args=[study.slug]) + "?sort=-created"
            )
    else:
        report = services.sources_import(
            study=study,
            filename=staged.filename,
            content=bytes(staged.content),
            actor=request.user,
            dry_run=True,
            create_missing=staged.create_missing,
        )
    context = {"study": study, "membership": membership, "staged": staged, "report": report}
    return render(request, "negotiations/source_import_preview.html", context)


# Exports -----------------------------------------------------------------------------------------


def _csv_response(filename: str, lines) -> StreamingHttpResponse:
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_GET
def export_sources(request: HtmxHttpRequest, slug: str) -> StreamingHttpResponse:
    study, _ = study_for_member(request, slug)
    stamp = timezone.now().strftime("%Y%m%d")
    return _csv_response(
        f"{study.slug}-sources-{stamp}.csv",
        exports.csv_lines(exports.SOURCE_COLUMNS, exports.source_rows(study=study)),
    )


@require_GET
def export_codings(request: HtmxHttpRequest, slug: str) -> StreamingHttpResponse:
    study, membership = study_for_member(request, slug)
    codings = selectors.coding_list_visible_to(study=study, user=request.user, role=membership.role)
    stamp = timezone.now().strftime("%Y%m%d")
    return _csv_response(
        f"{study.slug}-codings-{stamp}.csv",
        exports.csv_lines(
            exports.CODING_COLUMNS, exports.coding_rows(codings=codings, study=study)
        ),
    )


@require_GET
def exports_page(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    study, membership = study_for_member(request, slug)
    context = {"study": study, "membership": membership}
    return render(request, "negotiations/exports.html", context)


# Coding ------------------------------------------------------------------------------------------


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
        "edit_url": reverse("negotiations:coding_update", args=[study.slug, 0]).replace(
            "/0/", "/{id}/"
        ),
        "delete_url": reverse("negotiations:coding_delete", args=[study.slug, 0]).replace(
            "/0/", "/{id}/"
        ),
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
    return render(request, "negotiations/coding.html#workspace", context, status=status)


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
    return render(request, "negotiations/coding.html", context)


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
    return render(request, "negotiations/coding.html#saved", context)


def _error_text(exc: ValidationError) -> str:
    return " ".join(exc.messages)


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
        return _coding_post_response(request, study, membership, source_id, _error_text(exc))
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
        messages.error(request, _error_text(exc))
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
            "codes": selectors.active_code_list(study=study),
            "parties": selectors.party_list(study=study),
            "stances": Stance.choices,
            "strengths": Strength.choices,
        }
        template = "negotiations/coding_edit.html"
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
        return _coding_post_response(request, study, membership, coding.source_id, _error_text(exc))
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
        return _coding_post_response(request, study, membership, source.pk, _error_text(exc))
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
    return render(request, "negotiations/my_work.html", context)


@require_http_methods(["GET", "POST"])
def assignments(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """Supervisors assign sources in bulk from a filter and watch each coder's progress."""
    study, membership = study_for_member(request, slug, MANAGERS)
    form = AssignmentBulkForm(request.POST or None, study=study)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        source_ids = selectors.source_list(study=study, filters=form.filters()).values_list(
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
            _form_errors(form, exc)
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
    return render(request, "negotiations/assignments.html", context)


# Reliability -------------------------------------------------------------------------------------

READERS_AND_MANAGERS = (Role.OWNER, Role.SUPERVISOR, Role.READER)


def _pair(request: HtmxHttpRequest) -> tuple[int, int] | None:
    try:
        first, second = int(request.GET["pair_a"]), int(request.GET["pair_b"])
    except (KeyError, ValueError):
        return None
    return (first, second) if first != second else None


def _lowest_rows(study, report: dict, can_review: bool) -> list[dict]:
    """The least-agreed units with their source titles and sentences, for supervisors."""
    if not can_review or not report.get("lowest"):
        return []
    ids = {row["source"] for row in report["lowest"]}
    sources = {
        s["pk"]: s
        for s in Source.objects.filter(study=study, pk__in=ids).values("pk", "title", "text")
    }
    segments = {
        (s.source_id, s.index): s
        for s in Segment.objects.filter(source_id__in=ids).only(
            "source_id", "index", "start", "end"
        )
    }
    rows = []
    for row in report["lowest"]:
        source = sources.get(row["source"])
        if source is None:
            continue
        segment = segments.get((row["source"], row["segment"]))
        text = source["text"][segment.start : segment.end] if segment else ""
        rows.append(
            {
                **row,
                "title": source["title"],
                "sentence": text,
                "element": report["codes"].get(str(row["code"]), "?"),
                "party_code": report["parties"].get(str(row["party"]), "?"),
                "readings": [
                    (report["coder_names"].get(str(coder), str(coder)), value)
                    for coder, value in sorted(row["values"].items(), key=lambda kv: str(kv[0]))
                ],
            }
        )
    return rows


def _heat_class(value: float | None) -> str:
    if value is None:
        return "heat-none"
    return f"heat-{max(0, min(10, round(value * 10)))}"


@require_GET
def reliability(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """The reliability report: statistics per element, coder pairs, and the least-agreed units."""
    study, membership = study_for_member(request, slug, READERS_AND_MANAGERS)
    form = ReliabilityFilterForm(request.GET or None, study=study)
    filters = form.filters()
    pair = _pair(request)
    computing = request.htmx or request.GET.get("compute") == "1"
    report = services.reliability_report(
        study=study, filters=filters, pair=pair, compute=bool(computing)
    )
    if report is not None and request.GET.get("format") == "csv":
        return _csv_response(
            f"{study.slug}-reliability.csv",
            exports.csv_lines(exports.RELIABILITY_COLUMNS, exports.reliability_rows(report)),
        )
    query = request.GET.copy()
    for key in ("compute", "format"):
        query.pop(key, None)
    context = {
        "study": study,
        "membership": membership,
        "form": form,
        "report": report,
        "query": query.urlencode(),
        "lowest": _lowest_rows(study, report, membership.can_manage) if report else [],
        "heat": _heat_matrix(report) if report else None,
        "chart": _alpha_chart(report) if report else None,
        "pair_names": [
            report["coder_names"].get(str(c), str(c)) for c in (report.get("pair") or [])
        ]
        if report
        else [],
    }
    template = "negotiations/reliability.html"
    if request.htmx:
        template += "#results"
    return render(request, template, context)


def _heat_matrix(report: dict) -> dict:
    pairwise = report["pairwise"]
    names = pairwise["coders"]
    rows = []
    for a in names:
        cells = []
        for b in names:
            if a == b:
                cells.append({"text": "—", "css": "heat-self", "title": a})
                continue
            entry = pairwise["cells"].get(f"{a}|{b}", {})
            value = entry.get("kappa")
            cells.append(
                {
                    "text": f"{value:.2f}" if value is not None else "n/a",
                    "css": _heat_class(value),
                    "title": (
                        f"{a} and {b}: kappa {value:.3f} on {entry.get('n_units', 0)} units"
                        if value is not None
                        else f"{a} and {b}: {entry.get('undefined') or 'undefined'}"
                    ),
                }
            )
        rows.append({"coder": a, "cells": cells})
    return {"names": names, "rows": rows}


def _alpha_chart(report: dict) -> dict:
    """Geometry of an SVG dot plot of alpha with its interval per element (no JavaScript)."""
    rows = [*report["rows"], report["overall"]]
    width, left, right, row_h, top = 640, 170, 20, 26, 30
    span = width - left - right

    def x(value: float) -> float:
        # The axis runs from -0.2 to 1, where almost all alphas of real codings fall.
        return left + (min(max(value, -0.2), 1.0) + 0.2) / 1.2 * span

    items = []
    for i, row in enumerate(rows):
        y = top + i * row_h + row_h / 2
        item = {"label": row["element"], "y": y, "text_y": y + 4, "verdict": row["verdict"]}
        if row["alpha"] is not None:
            cx = round(x(row["alpha"]), 1)
            item["x"] = cx
            item["value"] = f"{row['alpha']:.3f}"
            item["square"] = (cx - 5, y - 5)
            item["triangle"] = f"M {cx} {y - 6} l 6 11 h -12 z"
            if row["alpha_ci95"]:
                item["x1"] = round(x(row["alpha_ci95"][0]), 1)
                item["x2"] = round(x(row["alpha_ci95"][1]), 1)
        items.append(item)
    height = top + len(rows) * row_h + 30
    ticks = [{"x": round(x(t), 1), "label": f"{t:.1f}"} for t in (-0.2, 0, 0.2, 0.4, 0.6, 0.8, 1.0)]
    axis_y = height - 22
    return {
        "tick_top": axis_y + 4,
        "tick_text": axis_y + 16,
        "axis_x1": ticks[0]["x"],
        "axis_x2": ticks[-1]["x"],
        "width": width,
        "height": height,
        "items": items,
        "ticks": ticks,
        "axis_y": axis_y,
        "top": top - 10,
        "tentative_x": round(x(0.667), 1),
        "reliable_x": round(x(0.8), 1),
    }


@require_GET
def reliability_matrix(request: HtmxHttpRequest, slug: str) -> StreamingHttpResponse:
    """The unit x coder matrix as CSV, in the format `manage.py agreement_stats` reads."""
    study, _ = study_for_member(request, slug, READERS_AND_MANAGERS)
    filters = ReliabilityFilterForm(request.GET or None, study=study).filters()
    lines = services.reliability_matrix_lines(study=study, filters=filters)
    return _csv_response(f"{study.slug}-units-{filters.unit}-{filters.level}.csv", lines)


@require_GET
def source_compare(request: HtmxHttpRequest, slug: str, source_id: int) -> HttpResponse:
    """A sentence of a source with each coder's codings on it side by side (supervisors)."""
    study, membership = study_for_member(request, slug, MANAGERS)
    source = get_object_or_404(Source, study=study, pk=source_id)
    try:
        index = int(request.GET.get("segment", "0"))
    except ValueError:
        index = 0
    segments = list(source.segments.order_by("index"))
    if not segments:
        raise Http404("This source has no sentences.")
    index = min(max(index, 0), len(segments) - 1)
    segment = segments[index]
    context_start = segments[max(index - 1, 0)].start
    context_end = segments[min(index + 1, len(segments) - 1)].end
    codings = (
        Coding.objects.filter(source=source, start__lt=segment.end, end__gt=segment.start)
        .select_related("code", "demonstrating_party", "coder")
        .order_by("coder__username", "start")
    )
    by_coder: dict[int, list] = {}
    for coding in codings:
        by_coder.setdefault(coding.coder_id, []).append(coding)
    lanes = [
        {"assignment": a, "codings": by_coder.get(a.coder_id, [])}
        for a in source.assignments.select_related("coder").order_by("coder__username")
    ]
    context = {
        "study": study,
        "membership": membership,
        "source": source,
        "index": index,
        "n_segments": len(segments),
        "before": source.text[context_start : segment.start],
        "sentence": source.text[segment.start : segment.end],
        "after": source.text[segment.end : context_end],
        "lanes": lanes,
    }
    return render(request, "negotiations/source_compare.html", context)


# Review and consensus ----------------------------------------------------------------------------

UNITS_PER_PAGE = 50


def _review_query(request: HtmxHttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


@require_GET
def review_queue(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """The disagreements to settle, with filters, progress and impact order (supervisors)."""
    study, membership = study_for_member(request, slug, MANAGERS)
    services.consensus_sync(study=study)
    form = ConsensusFilterForm(request.GET or None, study=study)
    units = selectors.consensus_queue(study=study, filters=form.filters())
    page = Paginator(units, UNITS_PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "study": study,
        "membership": membership,
        "form": form,
        "page": page,
        "query": _review_query(request),
        "progress": selectors.consensus_progress(study=study),
    }
    template = "negotiations/review_queue.html"
    if request.htmx:
        template += "#queue"
    return render(request, template, context)


def _unit_context(request: HtmxHttpRequest, study, membership, unit_id: int, **extra) -> dict:
    filters = ConsensusFilterForm(request.GET or None, study=study).filters()
    try:
        data = selectors.consensus_unit_page(study=study, unit_id=unit_id, filters=filters)
    except ConsensusUnit.DoesNotExist:
        raise Http404("No such unit.") from None
    unit = data.unit
    source = unit.source
    segments = list(source.segments.order_by("index").values_list("start", "end"))
    text_html = render_text_html(
        source.text,
        segments,
        (Span(c.pk, c.start, c.end, c.code_id, c.stance) for c in data.consensus_codings),
        marked_segment=unit.segment.index,
    )
    readings = sorted({lane["reading"] for lane in data.lanes if lane["reading"]})
    return {
        "study": study,
        "membership": membership,
        "data": data,
        "unit": unit,
        "source": source,
        "text_html": mark_safe(text_html),
        "readings": readings,
        "segment_text": source.text[unit.segment.start : unit.segment.end],
        "query": _review_query(request),
        "codes": selectors.active_code_list(study=study),
        "parties": selectors.party_list(study=study),
        "stances": Stance.choices,
        "strengths": Strength.choices,
        **extra,
    }


@require_GET
def review_unit(request: HtmxHttpRequest, slug: str, unit_id: int) -> HttpResponse:
    """One unit: the source with the disputed sentence marked, each coder's codings in lanes."""
    study, membership = study_for_member(request, slug, MANAGERS)
    return render(
        request,
        "negotiations/review_unit.html",
        _unit_context(request, study, membership, unit_id),
    )


def _unit_url(study, unit_id: int, query: str) -> str:
    url = reverse("negotiations:review_unit", args=[study.slug, unit_id])
    return f"{url}?{query}" if query else url


@require_POST
def review_decide(request: HtmxHttpRequest, slug: str, unit_id: int) -> HttpResponse:
    """Settle a unit; on success go to the next unit of the queue."""
    study, membership = study_for_member(request, slug, MANAGERS)
    get_object_or_404(ConsensusUnit, study=study, pk=unit_id)
    form = ConsensusDecisionForm(request.POST, study=study)
    query = request.POST.get("query", "")
    status = 200
    if not form.is_valid():
        messages.error(request, form.error_text())
        status = 422
    else:
        data = form.cleaned_data
        custom = None
        if data["decision"] == "custom":
            custom = services.CustomConsensus(
                start=data["start"],
                end=data["end"],
                quote=data["quote"],
                code=data["code"],
                stance=data["stance"],
                party=data["demonstrating_party"],
                strength=data["strength"] or "",
            )
        try:
            services.consensus_decide(
                unit_id=unit_id,
                actor=request.user,
                decision=data["decision"],
                seen_version=data["version"],
                coder_id=data.get("coder"),
                custom=custom,
                rationale=data.get("rationale") or "",
            )
        except services.ConsensusConflict as exc:
            messages.error(request, str(exc))
            status = 409
        except ValidationError as exc:
            messages.error(request, _error_text(exc))
            status = 422
        else:
            messages.success(request, "Settled.")
            next_id = request.POST.get("next")
            target = int(next_id) if next_id and next_id.isdigit() else unit_id
            return redirect(_unit_url(study, target, query))
    request.GET = QueryDict(query)
    return render(
        request,
        "negotiations/review_unit.html",
        _unit_context(
            request, study, membership, unit_id, rationale=request.POST.get("rationale", "")
        ),
        status=status,
    )


@require_POST
def review_reopen(request: HtmxHttpRequest, slug: str, unit_id: int) -> HttpResponse:
    study, _membership = study_for_member(request, slug, MANAGERS)
    get_object_or_404(ConsensusUnit, study=study, pk=unit_id)
    query = request.POST.get("query", "")
    try:
        version = int(request.POST.get("version", "-1"))
        services.consensus_reopen(unit_id=unit_id, actor=request.user, seen_version=version)
    except services.ConsensusConflict as exc:
        messages.error(request, str(exc))
    except ValueError:
        messages.error(request, "Reload the page and try again.")
    else:
        messages.success(request, "Reopened.")
    return redirect(_unit_url(study, unit_id, query))


@require_GET
def review_history(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """The audit trail of the consensus layer: every decision, reopening and flag."""
    study, membership = study_for_member(request, slug, MANAGERS)
    page = Paginator(selectors.consensus_event_list(study=study), 100).get_page(
        request.GET.get("page")
    )
    context = {"study": study, "membership": membership, "page": page, "query": ""}
    return render(request, "negotiations/review_history.html", context)


@require_http_methods(["GET", "POST"])
def consensus_coders(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """Each coder's agreement with the consensus, per element and over time."""
    study, membership = study_for_member(request, slug)
    if request.method == "POST":
        if not membership.can_manage:
            raise PermissionDenied("Only supervisors release these figures.")
        services.consensus_release(study=study, released=request.POST.get("released") == "1")
        messages.success(request, "Saved.")
        return redirect("negotiations:consensus_coders", slug=study.slug)
    if membership.role == Role.CODER and not study.consensus_released:
        raise PermissionDenied("Your supervisor has not released these figures yet.")
    if membership.role == Role.READER:
        raise PermissionDenied("Coder figures are for supervisors and the coders themselves.")
    services.consensus_sync(study=study)
    only = request.user.pk if membership.role == Role.CODER else None
    figures = selectors.coder_consensus_figures(study=study, only_coder=only)
    context = {
        "study": study,
        "membership": membership,
        "figures": figures,
        "chart": _drift_chart(figures),
    }
    return render(request, "negotiations/consensus_coders.html", context)


def _drift_chart(figures: dict) -> dict:
    """Geometry of an SVG line chart: each coder's percent agreement with the consensus by month."""
    months = figures["months"]
    width, left, right, top, bottom = 640, 50, 120, 20, 40
    height = 240
    if not months:
        return {"lines": [], "months": [], "width": width, "height": height}
    step = (width - left - right) / max(1, len(months) - 1)
    palette = ["#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#000000"]
    dashes = ["", "6 3", "2 3", "8 3 2 3", "1 2", "10 4", "4 4"]

    def y(value: float) -> float:
        # Kappa below zero is drawn on the axis; the table gives the exact figure.
        return round(top + (1 - min(max(value, 0.0), 1.0)) * (height - top - bottom), 1)

    lines = []
    for i, coder in enumerate(figures["drift"]):
        points = [
            (round(left + months.index(m) * step, 1), y(v), m, v)
            for m, v in coder["points"]
            if v is not None
        ]
        lines.append(
            {
                "coder": coder["coder"],
                "colour": palette[i % len(palette)],
                "dash": dashes[i % len(dashes)],
                "path": " ".join(
                    f"{'M' if k == 0 else 'L'} {x} {yy}" for k, (x, yy, _, _) in enumerate(points)
                ),
                "points": [
                    {"x": x, "y": yy, "label": f"{m}: kappa {v:.2f}"} for x, yy, m, v in points
                ],
                "label_y": points[-1][1] if points else top,
                "label_x": (points[-1][0] + 6) if points else left,
            }
        )
    return {
        "width": width,
        "height": height,
        "lines": lines,
        "months": [{"x": round(left + i * step, 1), "label": m} for i, m in enumerate(months)],
        "grid": [{"y": y(v), "label": f"{v:.2f}"} for v in (0, 0.25, 0.5, 0.75, 1.0)],
        "axis_y": height - bottom,
        "label_y": height - bottom + 16,
        "left": left,
        "right": width - right,
    }


@require_GET
def export_consensus(request: HtmxHttpRequest, slug: str) -> StreamingHttpResponse:
    study, _ = study_for_member(request, slug, READERS_AND_MANAGERS)
    stamp = timezone.now().strftime("%Y%m%d")
    return _csv_response(
        f"{study.slug}-consensus-{stamp}.csv",
        exports.csv_lines(exports.CONSENSUS_COLUMNS, exports.consensus_rows(study=study)),
    )


# Assessments -------------------------------------------------------------------------------------


def _verdict_symbol(verdict: str) -> str:
    return {"present": "✓", "absent": "✗", "contested": "±", "insufficient": "?"}.get(verdict, "?")


@require_GET
def assessments(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """The cross-case overview: negotiations x elements x parties coloured by verdict."""
    study, membership = study_for_member(request, slug, READERS_AND_MANAGERS)
    data = selectors.assessment(study=study)
    if request.GET.get("format") == "csv":
        return _csv_response(
            f"{study.slug}-assessments.csv",
            exports.csv_lines(exports.ASSESSMENT_COLUMNS, exports.assessment_rows(data)),
        )
    rows = []
    for negotiation in data.negotiations:
        principals = [
            p for p in data.parties[negotiation.pk] if p.pk in data.principals[negotiation.pk]
        ] or data.parties[negotiation.pk]
        rows.append(
            {
                "negotiation": negotiation,
                "cells": [
                    [data.get(negotiation.pk, 0, code.pk, party.pk) for party in principals]
                    for code in data.codes
                ],
                "parties": principals,
                "trust": data.strategic_trust(negotiation.pk),
            }
        )
    context = {
        "study": study,
        "membership": membership,
        "data": data,
        "rows": rows,
        "rule": selectors.study_rule(study),
        "max_parties": max((len(r["parties"]) for r in rows), default=0),
    }
    return render(request, "negotiations/assessments.html", context)


def _negotiation_for(study, negotiation_id: int):
    return get_object_or_404(Negotiation, study=study, pk=negotiation_id)


@require_GET
def assessment_negotiation(
    request: HtmxHttpRequest, slug: str, negotiation_id: int
) -> HttpResponse:
    """One negotiation: element x party matrices for the whole case and for each phase."""
    study, membership = study_for_member(request, slug, READERS_AND_MANAGERS)
    negotiation = _negotiation_for(study, negotiation_id)
    data = selectors.assessment(study=study, negotiation_id=negotiation.pk)
    negotiation = data.negotiations[0]
    parties = data.parties[negotiation.pk]
    tables = []
    for phase in [None, *negotiation.phases.all()]:
        phase_id = phase.pk if phase else 0
        tables.append(
            {
                "phase": phase,
                "rows": [
                    {
                        "code": code,
                        "cells": [
                            data.get(negotiation.pk, phase_id, code.pk, p.pk) for p in parties
                        ],
                    }
                    for code in data.codes
                ],
            }
        )
    context = {
        "study": study,
        "membership": membership,
        "negotiation": negotiation,
        "parties": parties,
        "tables": tables,
        "data": data,
        "trust": data.strategic_trust(negotiation.pk),
        "rule": selectors.study_rule(study),
    }
    return render(request, "negotiations/assessment_negotiation.html", context)


@require_http_methods(["GET", "POST"])
def assessment_cell(request: HtmxHttpRequest, slug: str, negotiation_id: int) -> HttpResponse:
    """The passages behind one cell, its verdict, and the supervisors' judgements on it."""
    study, membership = study_for_member(request, slug, READERS_AND_MANAGERS)
    negotiation = _negotiation_for(study, negotiation_id)
    params = request.POST if request.method == "POST" else request.GET
    try:
        phase_id = int(params.get("phase") or 0)
        code_id = int(params["code"])
        party_id = int(params["party"])
    except (KeyError, ValueError):
        raise Http404("No such cell.") from None
    data = selectors.assessment(study=study, negotiation_id=negotiation.pk)
    try:
        cell = data.get(negotiation.pk, phase_id, code_id, party_id)
    except KeyError:
        raise Http404("No such cell.") from None
    form = JudgementForm(request.POST or None)
    if request.method == "POST":
        if not membership.can_manage:
            raise PermissionDenied("Only supervisors write judgements.")
        if form.is_valid():
            try:
                services.judgement_record(
                    study=study,
                    negotiation=negotiation,
                    phase=cell.phase,
                    code=cell.code,
                    party=cell.party,
                    judgement=form.cleaned_data["judgement"],
                    override_verdict=form.cleaned_data["override_verdict"],
                    rationale=form.cleaned_data["rationale"],
                    computed_verdict=cell.computed,
                    author=request.user,
                )
            except ValidationError as exc:
                _form_errors(form, exc)
            else:
                messages.success(request, "Judgement saved.")
                return redirect(request.get_full_path())
    source_id = params.get("source")
    month = params.get("month", "")
    passages = selectors.cell_passages(
        study=study,
        negotiation_id=negotiation.pk,
        phase_id=phase_id,
        code_id=code_id,
        party_id=party_id,
        source_id=int(source_id) if source_id and source_id.isdigit() else None,
        month=month if len(month) == 7 and month[:4].isdigit() and month[5:].isdigit() else None,
    )
    history = AssessmentJudgement.objects.filter(
        negotiation=negotiation, phase_id=phase_id or None, code_id=code_id, party_id=party_id
    ).select_related("author")
    context = {
        "study": study,
        "membership": membership,
        "negotiation": negotiation,
        "cell": cell,
        "passages": passages,
        "filtered_source": source_id or month,
        "form": form,
        "history": history,
        "rule": selectors.study_rule(study),
    }
    return render(
        request, "negotiations/assessment_cell.html", context, status=422 if form.errors else 200
    )


@require_GET
def assessment_timeline(request: HtmxHttpRequest, slug: str, negotiation_id: int) -> HttpResponse:
    """Evidence for and against each element over time, phases shaded and key events marked."""
    study, membership = study_for_member(request, slug, READERS_AND_MANAGERS)
    negotiation = _negotiation_for(study, negotiation_id)
    rule = selectors.study_rule(study)
    marks = selectors.timeline_marks(study=study, negotiation_id=negotiation.pk, rule=rule)
    party_links = list(negotiation.negotiationparty_set.select_related("party"))
    party_filter = request.GET.get("party", "")
    if party_filter.isdigit():
        marks = [m for m in marks if m["party"] == int(party_filter)]
    codes = selectors.assessment_codes(study=study)
    chart = _timeline_chart(study, negotiation, codes, marks, party_filter)
    context = {
        "study": study,
        "membership": membership,
        "negotiation": negotiation,
        "parties": [link.party for link in party_links],
        "party_filter": party_filter,
        "chart": chart,
    }
    return render(request, "negotiations/assessment_timeline.html", context)


def _timeline_chart(study, negotiation, codes, marks, party_filter: str) -> dict:
    """Geometry of the timeline SVG: one lane per element, "for" above its line, "against" below."""
    from datetime import timedelta

    phases = list(negotiation.phases.all())
    events = list(negotiation.events.all())
    dates = [m["date"] for m in marks if m["date"]]
    dates += [d for p in phases for d in (p.start_date, p.end_date) if d]
    dates += [e.date for e in events]
    dates += [d for d in (negotiation.start_date, negotiation.end_date) if d]
    if not dates:
        return {"lanes": [], "empty": True}
    first, last = min(dates), max(dates)
    if first == last:
        first, last = first - timedelta(days=30), last + timedelta(days=30)
    width, left, right, top, lane_h = 900, 140, 20, 70, 90
    span_days = (last - first).days or 1

    def x(day) -> float:
        return round(left + (day - first).days / span_days * (width - left - right), 1)

    height = top + lane_h * len(codes) + 40
    shades = []
    for i, p in enumerate(phases):
        if p.start_date and p.end_date:
            shades.append(
                {
                    "x": x(p.start_date),
                    "w": max(1.0, round(x(p.end_date) - x(p.start_date), 1)),
                    "label": p.name,
                    "kind": p.kind,
                    "label_x": x(p.start_date) + 3,
                    "label_y": 14 + (i % 2) * 13,
                }
            )
    # One mark per source while they are few; per month beyond that, so that a case with
    # thousands of sources stays a picture rather than a smear.
    by_month = len(marks) > 300
    groups: dict[tuple, dict] = {}
    for m in marks:
        if not m["date"]:
            continue
        when = m["date"].replace(day=1) if by_month else m["date"]
        key = (when, m["code_ref"], m["party"], None if by_month else m["source_ref"])
        group = groups.setdefault(key, {"n_for": 0, "n_against": 0, "w_for": 0.0, "w_against": 0.0})
        for field in ("n_for", "n_against", "w_for", "w_against"):
            group[field] += m[field] or 0
    cell_url = reverse("negotiations:assessment_cell", args=[study.slug, negotiation.pk])
    lanes = []
    for k, code in enumerate(codes):
        mid = top + k * lane_h + lane_h / 2
        lane_marks = []
        for (when, code_id, party_id, source_id), g in groups.items():
            if code_id != code.pk:
                continue
            for stance, n, weight in (
                ("for", g["n_for"], g["w_for"]),
                ("against", g["n_against"], g["w_against"]),
            ):
                if not n:
                    continue
                size = min(14, 5 + 2 * (weight or n) ** 0.5)
                cx = x(when)
                cy = mid - 16 if stance == "for" else mid + 16
                half = round(size / 2, 1)
                shape = (
                    f"M {cx} {cy - half} L {cx + half} {cy + half} L {cx - half} {cy + half} Z"
                    if stance == "for"
                    else f"M {cx} {cy + half} L {cx + half} {cy - half} L {cx - half} {cy - half} Z"
                )
                query = f"?phase=0&code={code.pk}&party={party_id}"
                if source_id:
                    query += f"&source={source_id}"
                    period = f"on {when:%Y-%m-%d}"
                else:
                    query += f"&month={when:%Y-%m}"
                    period = f"in {when:%Y-%m}"
                lane_marks.append(
                    {
                        "path": shape,
                        "stance": stance,
                        "href": cell_url + query,
                        "title": f"{code.name} {stance}: {n} passage{'s' if n != 1 else ''} "
                        f"{period} (weight {weight or n:g})",
                    }
                )
        lanes.append(
            {
                "code": code,
                "y": mid,
                "top": top + k * lane_h,
                "marks": lane_marks,
                "label_y": mid + 4,
            }
        )
    event_marks = [
        {"x": x(e.date), "title": f"{e.date:%Y-%m-%d}: {e.title}", "label": e.title[:28]}
        for e in events
    ]
    years = sorted({d.year for d in dates})
    ticks = [
        {"x": x(date(year, 1, 1)), "label": str(year)}
        for year in range(years[0], years[-1] + 1)
        if first <= date(year, 1, 1) <= last
    ]
    return {
        "width": width,
        "height": height,
        "left": left,
        "right": width - right,
        "top": top,
        "bottom": height - 40,
        "shades": shades,
        "lanes": lanes,
        "events": event_marks,
        "ticks": ticks,
        "tick_y": height - 22,
        "empty": False,
        "n_marks": sum(len(lane["marks"]) for lane in lanes),
    }


@require_GET
def assessment_robustness(request: HtmxHttpRequest, slug: str, negotiation_id: int) -> HttpResponse:
    """Whether each verdict holds with settled consensus only, unanimous units only, or all
    coders' codings."""
    study, membership = study_for_member(request, slug, READERS_AND_MANAGERS)
    negotiation = _negotiation_for(study, negotiation_id)
    bases = ["combined", "consensus", "unanimous", "coders"]
    data = {
        mode: selectors.assessment(study=study, mode=mode, negotiation_id=negotiation.pk)
        for mode in bases
    }
    main = data["combined"]
    negotiation = main.negotiations[0]
    rows = []
    for code in main.codes:
        for party in main.parties[negotiation.pk]:
            verdicts = [
                data[mode].get(negotiation.pk, 0, code.pk, party.pk).computed for mode in bases
            ]
            decided = [v for v in verdicts if v != "insufficient"]
            rows.append(
                {
                    "code": code,
                    "party": party,
                    "verdicts": verdicts,
                    "holds": len(set(verdicts)) == 1,
                    "holds_where_decided": len(set(decided)) <= 1,
                }
            )
    context = {
        "study": study,
        "membership": membership,
        "negotiation": negotiation,
        "bases": [(mode, selectors.EVIDENCE_MODES[mode]) for mode in bases],
        "rows": rows,
    }
    return render(request, "negotiations/assessment_robustness.html", context)


@require_http_methods(["GET", "POST"])
def assessment_rule(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    study, membership = study_for_member(request, slug, MANAGERS)
    form = AssessmentRuleForm(request.POST or None, instance=study)
    if request.method == "POST" and form.is_valid():
        try:
            services.study_update_rule(
                study=study,
                min_sources=form.cleaned_data["rule_min_sources"],
                use_strength=form.cleaned_data["rule_use_strength"],
                contested_min_weight=form.cleaned_data["rule_contested_min_weight"],
                contested_ratio=form.cleaned_data["rule_contested_ratio"],
            )
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, "Rule saved; every verdict now follows it.")
            return redirect("negotiations:assessments", slug=study.slug)
    context = {
        "study": study,
        "membership": membership,
        "form": form,
        "rule": selectors.study_rule(study),
    }
    return render(request, "negotiations/assessment_rule.html", context)
