"""The task every background job runs: Django's Tasks framework hands it a job's id."""

from __future__ import annotations

from django.tasks import task


@task()
def run_job(job_id: int) -> None:
    # Imported here: services enqueue this task, so a module-level import would be circular.
    from negotiations.jobs.services import job_run

    job_run(job_id=job_id)
