"""The background jobs of REFI-QDA interchange: checking a file, importing it, exporting a
study."""

from __future__ import annotations

import tempfile
from collections.abc import Callable

from django.core.exceptions import ValidationError

from negotiations.interchange import planning, selectors, services
from negotiations.interchange.qdpx import write_qdpx
from negotiations.jobs import services as job_services
from negotiations.models import ImportStatus, Job, JobKind, JobState, QdpxImport
from negotiations.wording import counted

Progress = Callable[[int, int], None]


@job_services.runs(JobKind.QDPX_CHECK)
def qdpx_check_run(job: Job, reporter: Progress) -> tuple[str, str, dict]:
    if job.qdpx_import_id is None:
        return JobState.FAILED, "The uploaded file is gone.", {}
    upload = services.qdpx_import_check(
        upload=QdpxImport.objects.select_related("study").get(pk=job.qdpx_import_id)
    )
    result = {"n_sources": upload.n_sources, "n_codings": upload.n_codings}
    if upload.status == ImportStatus.FAILED:
        problems = len(upload.preview.get("problems") or [])
        return (
            JobState.SUCCEEDED,
            f"Checked the file: {counted(problems, 'problem')}; nothing "
            "will be imported until a corrected file is uploaded.",
            result,
        )
    return (
        JobState.SUCCEEDED,
        f"Checked the file: {upload.n_sources:,} sources and {upload.n_codings:,} codings, "
        "no problems.",
        result,
    )


@job_services.runs(JobKind.QDPX_IMPORT)
def qdpx_import_job_run(job: Job, reporter: Progress) -> tuple[str, str, dict]:
    if job.qdpx_import_id is None:
        return JobState.FAILED, "The uploaded file is gone.", {}
    upload = QdpxImport.objects.select_related("study", "uploaded_by").get(pk=job.qdpx_import_id)
    try:
        study = services.qdpx_import_run(upload=upload, progress=reporter)
    except planning.QdpxImportError as err:
        problems = err.plan.problems
        return (
            JobState.FAILED,
            f"Nothing was imported: {counted(len(problems), 'problem')}"
            f" in the file ({'; '.join(problems[:3])}).",
            {"n_errors": len(problems)},
        )
    except ValidationError as err:
        return JobState.FAILED, f"Nothing was imported: {'; '.join(err.messages)}", {}
    return (
        JobState.SUCCEEDED,
        f"Imported {upload.n_sources:,} sources and {upload.n_codings:,} codings.",
        {
            "n_rows": upload.n_sources + upload.n_codings,
            "study": study.slug,
            "study_id": study.pk,
        },
    )


@job_services.runs(JobKind.QDPX_EXPORT)
def qdpx_export_run(job: Job, reporter: Progress) -> tuple[str, str, dict]:
    study = job.study
    reporter(0, 3)
    project = selectors.study_project(study=study)
    reporter(1, 3)
    data = write_qdpx(project)
    reporter(2, 3)
    with tempfile.TemporaryFile() as handle:
        handle.write(data)
        stored = job_services.job_file_store(
            handle, ".qdpx", f"{study.slug}-{job_services.date_stamp()}.qdpx"
        )
    return (
        JobState.SUCCEEDED,
        f"The project is ready ({stored['bytes'] / 1_000_000:.1f} MB).",
        {**stored, "n_rows": 3},
    )
