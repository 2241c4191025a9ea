"""Job pages: a study's background jobs, one job with its progress (polled by htmx), and the file
a job made."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from negotiations.access import may_see_job_result, study_for_member
from negotiations.http import HtmxHttpRequest
from negotiations.jobs import selectors, services
from negotiations.models import Job, JobState, Membership

JOBS_PER_PAGE = 50


def _mark_visible(jobs, membership: Membership) -> None:
    """Set `show_result` on each job: whether this member's role may see what it found."""
    for job in jobs:
        job.show_result = may_see_job_result(membership=membership, kind=job.kind)


@require_GET
def job_list(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """Every job of the study, newest first; members see them, the roles that may start a kind
    of job its results."""
    study, membership = study_for_member(request, slug)
    services.jobs_sweep(study=study)
    jobs = Paginator(selectors.job_list(study=study), JOBS_PER_PAGE)
    page = jobs.get_page(request.GET.get("page"))
    _mark_visible(page, membership)
    context = {
        "study": study,
        "membership": membership,
        "jobs": page,
        "any_unfinished": any(not job.finished for job in page),
        "show_results": any(job.show_result for job in page),
    }
    template = "negotiations/jobs/job_list.html"
    if request.htmx:
        template += "#jobs"
    return render(request, template, context)


@require_GET
def job_detail(request: HtmxHttpRequest, slug: str, job_id: int) -> HttpResponse:
    """One job: state, progress bar, duration, who started it and its outcome."""
    study, membership = study_for_member(request, slug)
    services.jobs_sweep(study=study)
    job = selectors.job_get(study=study, job_id=job_id)
    _mark_visible([job], membership)
    context = {
        "study": study,
        "membership": membership,
        "job": job,
        "show_results": job.show_result,
        # The preview of a REFI-QDA upload is its uploader's page only.
        "qdpx_preview": job.qdpx_import is not None
        and job.qdpx_import.uploaded_by_id == request.user.pk,
    }
    template = "negotiations/jobs/job_detail.html"
    if request.htmx:
        template += "#status"
    return render(request, template, context)


@require_GET
def job_download(request: HtmxHttpRequest, slug: str, job_id: int) -> FileResponse:
    """The file a finished job made, to the roles that may start that kind of job."""
    study, membership = study_for_member(request, slug)
    job: Job = selectors.job_get(study=study, job_id=job_id)
    if not may_see_job_result(membership=membership, kind=job.kind):
        raise PermissionDenied("Your role in this study does not allow this.")
    if job.state != JobState.SUCCEEDED or not job.output:
        raise Http404("This job made no file.")
    try:
        handle = job.output.open("rb")
    except FileNotFoundError:
        raise Http404("The file of this job is gone; start the export again.") from None
    return FileResponse(
        handle, as_attachment=True, filename=job.output_name, content_type="application/zip"
    )
