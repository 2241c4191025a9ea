"""REFI-QDA pages: export a study or its codebook, upload a project, preview it, import it."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from negotiations.access import MANAGERS, study_for_member
from negotiations.http import HtmxHttpRequest, error_text
from negotiations.interchange import planning, selectors, services
from negotiations.interchange.forms import QdpxNewStudyForm, QdpxUploadForm, limit_text
from negotiations.interchange.qdpx import write_qdc, write_qdpx
from negotiations.jobs import services as job_services
from negotiations.models import ImportStatus, Job, JobKind, JobState, QdpxImport, Study

# The multipart envelope around the file: a body larger than the file limit plus this is refused
# before Django reads it.
_ENVELOPE_BYTES = 64 * 1024


def _too_large(request: HtmxHttpRequest) -> bool:
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return True
    return length > settings.TRUSTCODER_MAX_QDPX_BYTES + _ENVELOPE_BYTES


def _export_in_background(study: Study) -> bool:
    return selectors.study_export_chars(study=study) > settings.TRUSTCODER_BACKGROUND_EXPORT_CHARS


def _stage(request: HtmxHttpRequest, upload, study: Study | None, **new_study: str) -> QdpxImport:
    """Keep the upload; a large one is checked (its preview planned) by a worker."""
    in_background = upload.size > settings.TRUSTCODER_BACKGROUND_IMPORT_BYTES
    staged, _ = services.qdpx_import_stage(
        content=upload.read(),
        filename=upload.name,
        uploaded_by=request.user,
        study=study,
        check=not in_background,
        **new_study,
    )
    if in_background:
        job_services.qdpx_check_start(upload=staged, actor=request.user)
    return staged


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
    context = {
        "study": study,
        "membership": membership,
        "export_in_background": _export_in_background(study),
    }
    if request.method == "POST" and _too_large(request):
        context["form"] = QdpxUploadForm()
        return _refuse_large(request, template, context)
    form = QdpxUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        staged = _stage(request, form.cleaned_data["file"], study)
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
        staged = _stage(
            request,
            form.cleaned_data["file"],
            None,
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


def _latest_job(upload: QdpxImport) -> Job | None:
    return (
        Job.objects.filter(qdpx_import=upload, kind__in=(JobKind.QDPX_CHECK, JobKind.QDPX_IMPORT))
        .select_related("started_by")
        .order_by("-pk")
        .first()
    )


@require_GET
def qdpx_import_preview(request: HtmxHttpRequest, import_id: int) -> HttpResponse:
    """What the import will create and map, as planned once when the file was checked; nothing
    is saved until the button is pressed. While a job checks or imports the file, its progress."""
    upload, context = _upload_for(request, import_id)
    job_services.jobs_sweep(study=upload.study)
    job = _latest_job(upload)
    context["job"] = job
    imported = job is not None and job.kind == JobKind.QDPX_IMPORT
    if upload.status == ImportStatus.PREVIEWED and not imported:
        # Uploads staged before previews were stored are planned here, once more.
        context["plan"] = upload.preview or services.plan_preview(
            planning.qdpx_import_plan(
                content=bytes(upload.content), study=upload.study, study_name=upload.new_study_name
            )
        )
    elif upload.status == ImportStatus.FAILED and upload.preview and not imported:
        context["plan"] = upload.preview
    template = "negotiations/interchange/import_preview.html"
    if request.htmx:
        template += "#preview"
    return render(request, template, context)


@require_POST
def qdpx_import_confirm(request: HtmxHttpRequest, import_id: int) -> HttpResponse:
    """Queue the import of the previewed file (once); its preview page shows the progress."""
    upload, _ = _upload_for(request, import_id)
    url = upload.get_preview_url()
    try:
        job = job_services.qdpx_import_start(upload=upload, actor=request.user)
    except ValidationError as err:
        messages.error(request, f"Nothing was imported: {error_text(err)}")
    else:
        job.refresh_from_db()
        if job.state == JobState.SUCCEEDED:
            # Already done (a quick worker, or tasks run at once): straight to the study.
            messages.success(request, job.message)
            url = reverse("negotiations:study_detail", args=[job.result["study"]])
    if request.htmx:
        return HttpResponseClientRedirect(url)
    return redirect(url)


@require_POST
def qdpx_export_start(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """Have a worker write the study's REFI-QDA project; its job page offers the file."""
    study, _ = study_for_member(request, slug, MANAGERS)
    job = job_services.export_start(study=study, kind=JobKind.QDPX_EXPORT, actor=request.user)
    url = reverse("negotiations:job_detail", args=[study.slug, job.pk])
    if request.htmx:
        return HttpResponseClientRedirect(url)
    return redirect(url)


@require_GET
def export_qdpx(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """The project at once, for a study small enough; a larger one is sent to its page, which
    offers the export in the background (no long work inside a request)."""
    study, _ = study_for_member(request, slug, MANAGERS)
    if _export_in_background(study):
        messages.info(request, "This study is large: prepare the project in the background.")
        return redirect("negotiations:interchange", slug=study.slug)
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
