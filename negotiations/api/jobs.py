"""The background job that writes a study's replication package."""

from __future__ import annotations

import tempfile
from collections.abc import Callable

from negotiations.api.replication import replication_package_write
from negotiations.jobs import services as job_services
from negotiations.models import Job, JobKind, JobState

Progress = Callable[[int, int], None]


@job_services.runs(JobKind.REPLICATION)
def replication_run(job: Job, reporter: Progress) -> tuple[str, str, dict]:
    study = job.study
    with tempfile.TemporaryFile() as handle:
        names = replication_package_write(study=study, output=handle, progress=reporter)
        stored = job_services.job_file_store(
            handle, ".zip", f"{study.slug}-replication-{job_services.date_stamp()}.zip"
        )
    return (
        JobState.SUCCEEDED,
        f"The replication package is ready: {len(names)} files "
        f"({stored['bytes'] / 1_000_000:.1f} MB).",
        stored,
    )
