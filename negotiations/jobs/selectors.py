"""Reads of background jobs."""

from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from negotiations.models import Job, JobKind, SourceImport, Study


def job_list(*, study: Study) -> QuerySet[Job]:
    return (
        Job.objects.filter(study=study)
        .select_related("started_by", "source_import", "qdpx_import")
        .defer("source_import__content", "qdpx_import__content")
    )


def job_get(*, study: Study, job_id: int) -> Job:
    """A job of the study, or 404 (a job of another study is not revealed)."""
    return get_object_or_404(job_list(study=study), pk=job_id)


def job_latest_for_import(*, source_import: SourceImport, kind: str = JobKind.IMPORT_CHECK):
    return (
        Job.objects.filter(source_import=source_import, kind=kind)
        .select_related("started_by")
        .order_by("-pk")
        .first()
    )
