"""The background job that computes a large reliability or passages report into the cache."""

from __future__ import annotations

from collections.abc import Callable

from negotiations.jobs import services as job_services
from negotiations.models import Job, JobKind, JobState
from negotiations.reliability import services

Progress = Callable[[int, int], None]


@job_services.runs(JobKind.RELIABILITY)
@job_services.runs(JobKind.PASSAGES)
def report_run(job: Job, reporter: Progress) -> tuple[str, str, dict]:
    report = services.report_compute(study=job.study, params=job.params)
    return (
        JobState.SUCCEEDED,
        f"Computed in {report['seconds']:.1f} s; the report page shows it.",
        {"seconds": round(report["seconds"], 3)},
    )
