"""The background jobs of source imports: checking a staged file and importing it, each with its
rows counted on the job's progress bar (`row_progress`)."""

from __future__ import annotations

from collections.abc import Callable

from negotiations.jobs import services as job_services
from negotiations.models import Job, JobKind, JobState, SourceImport
from negotiations.sources import imports
from negotiations.sources.resources import row_progress
from negotiations.wording import counted

Progress = Callable[[int, int], None]


def _counting_rows(work: Callable[[Job], tuple[str, str, dict]]) -> Callable:
    """The job's runner: the import counts its rows on the job's progress bar while it works."""

    def run(job: Job, reporter: Progress) -> tuple[str, str, dict]:
        token = row_progress.set(reporter)
        try:
            return work(job)
        finally:
            row_progress.reset(token)

    return run


@job_services.runs(JobKind.IMPORT_CHECK)
@_counting_rows
def import_check_run(job: Job) -> tuple[str, str, dict]:
    if job.source_import is None:
        return JobState.FAILED, "The staged file is gone.", {}
    staged = imports.source_import_check(
        source_import=SourceImport.objects.get(pk=job.source_import_id)
    )
    result = {"n_rows": staged.n_rows, "n_errors": staged.n_errors}
    if staged.n_errors:
        return (
            JobState.SUCCEEDED,
            f"Checked {counted(staged.n_rows, 'row')}: {counted(staged.n_errors, 'problem')}; "
            "nothing will be saved until a corrected file is uploaded.",
            result,
        )
    return JobState.SUCCEEDED, f"Checked {counted(staged.n_rows, 'row')}: no problems.", result


@job_services.runs(JobKind.IMPORT_RUN)
@_counting_rows
def import_run(job: Job) -> tuple[str, str, dict]:
    if job.source_import is None:
        return JobState.FAILED, "The staged file is gone.", {}
    staged = SourceImport.objects.get(pk=job.source_import_id)
    report = imports.source_import_confirm(source_import=staged, actor=job.started_by)
    if report.ok:
        return (
            JobState.SUCCEEDED,
            f"Imported {counted(report.n_imported, 'source')}.",
            {"n_rows": report.n_rows, "n_imported": report.n_imported},
        )
    imports.source_import_record_problems(source_import=staged, report=report)
    problems = len(report.problems or [])
    return (
        JobState.FAILED,
        f"The import found {counted(problems, 'problem')}; nothing was saved.",
        {"n_errors": problems},
    )
