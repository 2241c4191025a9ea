"""REFI-QDA pages: export a study or its codebook, upload a project, preview it, import it."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from negotiations.access import MANAGERS, study_for_member
from negotiations.http import HtmxHttpRequest, error_text
from negotiations.interchange import planning, selectors, services
from negotiations.interchange.forms import QdpxNewStudyForm, QdpxUploadForm, limit_text
from negotiations.interchange.qdpx import write_qdc, write_qdpx
from negotiations.models import ImportStatus, QdpxImport

# The multipart envelope around the file: a body larger than the file limit plus this is refused
# before Django reads it.
_ENVELOPE_BYTES = 64 * 1024


def _too_large(request: HtmxHttpRequest) -> bool:
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return True
    return length > settings.TRUSTCODER_MAX_QDPX_BYTES + _ENVELOPE_BYTES


def _refuse_large(request: HtmxHttpRequest, template: str, context: dict) -> HttpResponse:
    limit = limit_text(settings.TRUSTCODER_MAX_QDPX_BYTES)
    context["too_large"] = f"The upload is larger than the {limit} limit; nothing was read."
    return render(request, template, context, status=413)


@require_http_methods(["GET", "POST"])
def interchange(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """Export the study as REFI-QDA, or upload a project to import into it (a preview first)."""
    study, membership = study_for_member(request, slug, MANAGERS)
    template = "negotiations/interchange/interchange.html"
    if request.htmx:
        template += "#upload"
    context = {"study": study, "membership": membership}
    if request.method == "POST" and _too_large(request):
        context["form"] = QdpxUploadForm()
        return _refuse_large(request, template, context)
    form = QdpxUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        staged, _ = services.qdpx_import_stage(
            content=upload.read(), filename=upload.name, uploaded_by=request.user, study=study
        )
        if request.htmx:
            return HttpResponseClientRedirect(staged.get_preview_url())
        return redirect(staged.get_preview_url())
    context["form"] = form
    context["recent"] = QdpxImport.objects.filter(study=study, uploaded_by=request.user).defer(
        "content"
    )[:10]
    status = 422 if request.method == "POST" else 200
    return render(request, template, context, status=status)


@require_http_methods(["GET", "POST"])
def qdpx_import_new(request: HtmxHttpRequest) -> HttpResponse:
    """Upload a project to become a new study owned by the uploader (a preview first)."""
    template = "negotiations/interchange/import_new.html"
    if request.htmx:
        template += "#upload"
    if request.method == "POST" and _too_large(request):
        return _refuse_large(request, template, {"form": QdpxNewStudyForm()})
    form = QdpxNewStudyForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        staged, _ = services.qdpx_import_stage(
            content=upload.read(),
            filename=upload.name,
            uploaded_by=request.user,
            study=None,
            new_study_name=form.cleaned_data["name"],
            new_study_slug=form.cleaned_data["slug"],
        )
        if request.htmx:
            return HttpResponseClientRedirect(staged.get_preview_url())
        return redirect(staged.get_preview_url())
    status = 422 if request.method == "POST" else 200
    return render(request, template, {"form": form}, status=status)


def _upload_for(request: HtmxHttpRequest, import_id: int) -> tuple[QdpxImport, dict]:
    """The request user's own upload; into an existing study only while they manage it."""
    upload = get_object_or_404(
        QdpxImport.objects.select_related("study"), pk=import_id, uploaded_by=request.user
    )
    context: dict = {"upload": upload}
    if upload.study is not None:
        study, membership = study_for_member(request, upload.study.slug, MANAGERS)
        context |= {"study": study, "membership": membership}
    return upload, context


@require_GET
def qdpx_import_preview(request: HtmxHttpRequest, import_id: int) -> HttpResponse:
    """What the import will create and map; nothing is saved until the button is pressed."""
    upload, context = _upload_for(request, import_id)
    if upload.status == ImportStatus.PREVIEWED:
        context["plan"] = planning.qdpx_import_plan(
            content=bytes(upload.content), study=upload.study, study_name=upload.new_study_name
        )
    return render(request, "negotiations/interchange/import_preview.html", context)


@require_POST
def qdpx_import_confirm(request: HtmxHttpRequest, import_id: int) -> HttpResponse:
    upload, context = _upload_for(request, import_id)
    if upload.status != ImportStatus.PREVIEWED:
        messages.error(request, "This file was already imported or refused; upload it again.")
        return redirect(upload.get_preview_url())
    started = timezone.now()
    try:
        study = services.qdpx_import_run(upload=upload)
    except planning.QdpxImportError as err:
        context["plan"] = err.plan
        return render(request, "negotiations/interchange/import_preview.html", context, status=422)
    except ValidationError as err:
        messages.error(request, f"Nothing was imported: {error_text(err)}")
        return redirect(upload.get_preview_url())
    seconds = (timezone.now() - started).total_seconds()
    messages.success(
        request,
        f"Imported {upload.n_sources:,} sources and {upload.n_codings:,} codings "
        f"in {seconds:.1f} s.",
    )
    return redirect("negotiations:study_detail", slug=study.slug)


@require_GET
def export_qdpx(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    study, _ = study_for_member(request, slug, MANAGERS)
    data = write_qdpx(selectors.study_project(study=study))
    stamp = timezone.now().strftime("%Y%m%d")
    response = HttpResponse(data, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{study.slug}-{stamp}.qdpx"'
    return response


@require_GET
def export_qdc(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    study, _ = study_for_member(request, slug, MANAGERS)
    data = write_qdc(selectors.codebook_codes(study=study))
    stamp = timezone.now().strftime("%Y%m%d")
    response = HttpResponse(data, content_type="application/xml")
    response["Content-Disposition"] = f'attachment; filename="{study.slug}-codebook-{stamp}.qdc"'
    return response
