"""Job pages: a study's background jobs and one job with its progress, polled by htmx."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from negotiations.access import MANAGERS, study_for_member
from negotiations.http import HtmxHttpRequest
from negotiations.jobs import selectors, services

JOBS_PER_PAGE = 50


@require_GET
def job_list(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """Every job of the study, newest first; members see them, managers their results."""
    study, membership = study_for_member(request, slug)
    services.jobs_sweep(study=study)
    jobs = Paginator(selectors.job_list(study=study), JOBS_PER_PAGE)
    page = jobs.get_page(request.GET.get("page"))
    context = {
        "study": study,
        "membership": membership,
        "jobs": page,
        "any_unfinished": any(not job.finished for job in page),
        "show_results": membership.role in MANAGERS,
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
    context = {
        "study": study,
        "membership": membership,
        "job": job,
        "show_results": membership.role in MANAGERS,
    }
    template = "negotiations/jobs/job_detail.html"
    if request.htmx:
        template += "#status"
    return render(request, template, context)
