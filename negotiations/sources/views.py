"""Source pages: the list, one source, create or upload, edit, text correction and import."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import (
    Http404,
    HttpResponse,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from negotiations.access import MANAGERS, coding_list_visible_to, study_for_member
from negotiations.http import HtmxHttpRequest, form_errors, table_response
from negotiations.jobs import selectors as job_selectors
from negotiations.jobs import services as job_services
from negotiations.models import (
    ImportStatus,
    JobKind,
    Source,
    SourceImport,
)
from negotiations.sources import imports, selectors, services
from negotiations.sources.extract import ExtractionError, extract_text
from negotiations.sources.forms import (
    SourceCreateForm,
    SourceEditForm,
    SourceFilterForm,
    SourceImportForm,
    SourceMetadataForm,
    SourceTextForm,
)
from negotiations.sources.resources import IMPORT_COLUMNS
from negotiations.wording import counted

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
    template = "negotiations/sources/source_list.html"
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
        # Blind coding applies to counts too: a coder counts only the codings they may see.
        "n_codings": coding_list_visible_to(study=study, user=request.user, role=membership.role)
        .filter(source=source)
        .count(),
    }
    return render(request, "negotiations/sources/source_detail.html", context)


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
                    max_bytes=settings.TRUSTCODER_MAX_UPLOAD_BYTES,
                    max_chars=settings.TRUSTCODER_MAX_TEXT_CHARS,
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
            form_errors(form, exc)
        else:
            messages.success(
                request, f"Source added with {source.segments.count()} sentence segments."
            )
            return redirect("negotiations:source_detail", slug=study.slug, source_id=source.pk)
    context = {"study": study, "membership": membership, "form": form}
    return render(
        request,
        "negotiations/sources/source_create.html",
        context,
        status=422 if form.errors else 200,
    )


@require_http_methods(["GET", "POST"])
def source_edit(request: HtmxHttpRequest, slug: str, source_id: int) -> HttpResponse:
    study, membership = study_for_member(request, slug, MANAGERS)
    source = get_object_or_404(Source, study=study, pk=source_id)
    form = SourceEditForm(request.POST or None, instance=source, study=study)
    text_form = SourceTextForm(initial={"text": source.text})
    if request.method == "POST" and form.is_valid():
        try:
            services.source_update_metadata(
                source=source,
                metadata=services.SourceMetadata(
                    **{k: form.cleaned_data[k] for k in SourceMetadataForm.Meta.fields}
                ),
                actor=request.user,
                confirmed=bool(form.cleaned_data.get("confirm_refile")),
            )
        except services.ConfirmationRequired as exc:
            form.ask_confirmation()
            form_errors(form, exc)
        except ValidationError as exc:
            form_errors(form, exc)
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
    return render(request, "negotiations/sources/source_edit.html", context)


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


def _in_background(size: int) -> bool:
    return size > settings.TRUSTCODER_BACKGROUND_IMPORT_BYTES


@require_http_methods(["GET", "POST"])
def source_import(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """Upload a CSV or XLSX of statements; shows a dry-run preview before anything is saved.

    A large file is checked by a background worker; the preview page shows its progress.
    """
    study, membership = study_for_member(request, slug, MANAGERS)
    form = SourceImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        content = upload.read()
        background = _in_background(len(content))
        staged = imports.source_import_stage(
            study=study,
            filename=upload.name,
            content=content,
            actor=request.user,
            create_missing=form.cleaned_data["create_missing"],
            check=not background,
        )
        if background:
            job_services.import_check_start(source_import=staged, actor=request.user)
        return redirect("negotiations:source_import_preview", slug=study.slug, import_id=staged.pk)
    context = {
        "study": study,
        "membership": membership,
        "form": form,
        "columns": IMPORT_COLUMNS,
        "recent": SourceImport.objects.filter(study=study).defer("content")[:10],
    }
    return render(request, "negotiations/sources/source_import.html", context)


PROBLEMS_PER_PAGE = 100


@require_http_methods(["GET", "POST"])
def source_import_preview(request: HtmxHttpRequest, slug: str, import_id: int) -> HttpResponse:
    """The stored findings of a staged file, its problems a page at a time; POST imports it.

    Nothing is re-checked here: the dry run ran once when the file was staged.
    """
    study, membership = study_for_member(request, slug, MANAGERS)
    staged = get_object_or_404(SourceImport.objects.defer("content"), study=study, pk=import_id)
    if request.method == "POST":
        if staged.status != ImportStatus.PREVIEWED:
            messages.error(request, "This file was already imported or refused.")
            return redirect("negotiations:source_import", slug=study.slug)
        if staged.n_errors:
            # The stored check found problems: nothing to import, whatever the size.
            staged = imports.source_import_refuse(source_import=staged)
        elif _in_background(staged.size):
            try:
                job = job_services.import_run_start(source_import=staged, actor=request.user)
            except ValidationError as exc:
                messages.error(request, " ".join(exc.messages))
                return redirect(
                    "negotiations:source_import_preview", slug=study.slug, import_id=staged.pk
                )
            return redirect("negotiations:job_detail", slug=study.slug, job_id=job.pk)
        else:
            report = imports.source_import_confirm(source_import=staged, actor=request.user)
            if report.ok:
                messages.success(request, f"Imported {counted(report.n_imported, 'source')}.")
                return redirect(
                    reverse("negotiations:source_list", args=[study.slug]) + "?sort=-created"
                )
            imports.source_import_record_problems(source_import=staged, report=report)
            staged.refresh_from_db()
    if staged.status == ImportStatus.CHECKING:
        job_services.jobs_sweep(study=study)
    problems = Paginator(selectors.source_import_problems(source_import=staged), PROBLEMS_PER_PAGE)
    preview = selectors.source_import_preview(source_import=staged)
    context = {
        "study": study,
        "membership": membership,
        "staged": staged,
        "problems": problems.get_page(request.GET.get("page")),
        "preview": preview,
        # Rows of the preview that have a problem: the problems table links to them.
        "preview_lines": {
            row.line
            for row in preview.rows
            if row.problems or any(cell.problems for cell in row.cells)
        },
        "check_job": (
            job_selectors.job_latest_for_import(source_import=staged)
            if staged.status == ImportStatus.CHECKING
            else None
        ),
        "run_job": job_selectors.job_latest_for_import(
            source_import=staged, kind=JobKind.IMPORT_RUN
        ),
    }
    template = "negotiations/sources/source_import_preview.html"
    if request.htmx:
        template += "#preview"
    return render(request, template, context)


@require_GET
def export_sources(request: HtmxHttpRequest, slug: str) -> StreamingHttpResponse:
    study, _ = study_for_member(request, slug)
    stamp = timezone.now().strftime("%Y%m%d")
    return table_response(
        request,
        f"{study.slug}-sources-{stamp}",
        selectors.SOURCE_COLUMNS,
        selectors.source_rows(study=study),
    )
