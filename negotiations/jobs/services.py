"""Writes of background jobs: starting them, running them in a worker, recording progress.

A job's own work (an import) runs in one transaction on the default connection. Its progress and
heartbeat go through the `jobs` connection, committed at once, so the web sees a moving bar while
nothing of the work is visible yet; a worker killed mid-way leaves its transaction rolled back and
a job that the sweep marks failed.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import DatabaseError, transaction
from django.tasks import task
from django.utils import timezone

from negotiations.models import (
    ImportStatus,
    Job,
    JobKind,
    JobState,
    QdpxImport,
    SourceImport,
    Study,
)

logger = logging.getLogger(__name__)


# What runs each kind of job: (job, progress) -> (state, message, result). Every feature registers
# its own in its `jobs.py` (imported when the app is ready), so this module runs them without
# importing any feature.
Runner = Callable[[Job, Callable[[int, int], None]], tuple[str, str, dict]]
_RUNNERS: dict[str, Runner] = {}


def runs(kind: str) -> Callable[[Runner], Runner]:
    """Register the decorated function as the runner of `kind` jobs."""

    def register(runner: Runner) -> Runner:
        _RUNNERS[kind] = runner
        return runner

    return register


@task()
def run_job(job_id: int) -> None:
    """The task every background job runs: Django's Tasks framework hands it a job's id."""
    job_run(job_id=job_id)


def _progress_db() -> str:
    return settings.TRUSTCODER_PROGRESS_DATABASE


# Progress is written at most this often (seconds): often enough for a bar polled every second.
PROGRESS_INTERVAL = 1.0


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@transaction.atomic
def job_enqueue(
    *,
    study: Study | None,
    kind: str,
    started_by: User | None,
    source_import: SourceImport | None = None,
    qdpx_import: QdpxImport | None = None,
    params: dict | None = None,
    progress_total: int = 0,
) -> Job:
    """Record a job and queue it; a worker (or the immediate backend in tests) runs it.

    With the database backend the queued task is a row written in this same transaction, so a
    worker never sees a task whose job is not committed.
    """
    job = Job(
        study=study,
        kind=kind,
        started_by=started_by,
        source_import=source_import,
        qdpx_import=qdpx_import,
        params=params or {},
        progress_total=progress_total,
    )
    job.full_clean()
    job.save()
    result = run_job.enqueue(job.pk)
    Job.objects.filter(pk=job.pk).update(task_id=str(result.id)[:64])
    job.refresh_from_db()
    return job


def _refuse_a_second_import(*, kind: str, **staged: object) -> None:
    """Refuse to queue an import of a staged file that a job is importing or has imported. The
    caller holds the staged row's lock, so two confirmations at the same moment queue one job."""
    earlier = (
        Job.objects.filter(
            kind=kind,
            state__in=(JobState.QUEUED, JobState.RUNNING, JobState.SUCCEEDED),
            **staged,
        )
        .order_by("pk")
        .first()
    )
    if earlier is not None:
        raise ValidationError(f"This file is already being imported (job #{earlier.pk}).")


def import_check_start(*, source_import: SourceImport, actor: User) -> Job:
    """Check a staged file (its full dry run) in the background."""
    return job_enqueue(
        study=source_import.study,
        kind=JobKind.IMPORT_CHECK,
        started_by=actor,
        source_import=source_import,
    )


@transaction.atomic
def import_run_start(*, source_import: SourceImport, actor: User) -> Job:
    """Queue the real import of a checked file, once.

    The staged import's row is locked while we look for a job already importing it, so two
    confirmations at the same moment queue one job; the second is refused with its number.
    """
    staged = SourceImport.objects.select_for_update().defer("content").get(pk=source_import.pk)
    if staged.status != ImportStatus.PREVIEWED or staged.n_errors:
        raise ValidationError("This file was already imported or refused.")
    _refuse_a_second_import(kind=JobKind.IMPORT_RUN, source_import=staged)
    return job_enqueue(
        study=staged.study,
        kind=JobKind.IMPORT_RUN,
        started_by=actor,
        source_import=staged,
        progress_total=staged.n_rows,
    )


def _progress_write(job_id: int, **fields: object) -> bool:
    """Write progress fields on the jobs connection; False if the database is busy."""
    try:
        Job.objects.using(_progress_db()).filter(pk=job_id).update(**fields)
    except DatabaseError:
        # SQLite's single writer is held by the job's own import: skip, the bar catches up.
        return False
    return True


class ProgressReporter:
    """Called with (done, total) as work goes; writes them, with a heartbeat, now and then."""

    def __init__(self, job_id: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.job_id = job_id
        self.clock = clock
        self.last = float("-inf")

    def __call__(self, done: int, total: int) -> None:
        now = self.clock()
        if now - self.last < PROGRESS_INTERVAL and done < total:
            return
        self.last = now
        _progress_write(
            self.job_id,
            progress_done=done,
            progress_total=total,
            heartbeat_at=timezone.now(),
        )


def job_run(*, job_id: int) -> Job | None:
    """Run a queued job in this process: the worker's task calls it.

    A job that is no longer queued (already run by another worker, or swept) is left alone.
    Whatever happens, the job ends succeeded or failed, with a message.
    """
    now = timezone.now()
    # Claimed on the default connection, outside any transaction: it waits for a busy SQLite
    # rather than give up, as only progress writes may.
    claimed = Job.objects.filter(pk=job_id, state=JobState.QUEUED).update(
        state=JobState.RUNNING,
        started_at=now,
        heartbeat_at=now,
        worker=worker_name()[:200],
    )
    if not claimed:
        return None
    # Read on the default connection: the work's rows (a source's created_by) must come from
    # the connection that writes them.
    job = Job.objects.select_related("started_by").get(pk=job_id)
    reporter = ProgressReporter(job_id)
    runner = _RUNNERS.get(job.kind)
    try:
        if runner is None:
            state, message, result = JobState.FAILED, f"Unknown kind of job: {job.kind}.", {}
        else:
            state, message, result = runner(job, reporter)
    except Exception as exc:
        logger.exception("Job %s failed", job_id)
        state, message, result = JobState.FAILED, f"The job failed: {exc}", {}
    update = {
        "state": state,
        "message": message,
        "result": result,
        "finished_at": timezone.now(),
        "heartbeat_at": timezone.now(),
    }
    # A file the job made, and a new study it created, are fields of the job, not its result.
    for field in ("output", "output_name", "study_id"):
        if field in result:
            update[field] = result.pop(field)
    if state == JobState.SUCCEEDED:
        total = result.get("n_rows") or Job.objects.get(pk=job_id).progress_total
        update["progress_done"] = update["progress_total"] = total
    # The work is committed (or rolled back) by now, so the default connection can write.
    Job.objects.filter(pk=job_id).update(**update)
    return Job.objects.get(pk=job_id)


# REFI-QDA, exports and reports ---------------------------------------------------------------


def qdpx_check_start(*, upload: QdpxImport, actor: User) -> Job:
    """Plan a staged REFI-QDA file (its preview) in the background."""
    return job_enqueue(
        study=upload.study, kind=JobKind.QDPX_CHECK, started_by=actor, qdpx_import=upload
    )


@transaction.atomic
def qdpx_import_start(*, upload: QdpxImport, actor: User) -> Job:
    """Queue the import of a previewed REFI-QDA file, once.

    As for a source import, the upload's row is locked while we look for a job already importing
    it: two confirmations queue one job, the second is refused with its number.
    """
    staged = QdpxImport.objects.select_for_update().defer("content").get(pk=upload.pk)
    if staged.status != ImportStatus.PREVIEWED:
        raise ValidationError("This file was already imported or refused; upload it again.")
    _refuse_a_second_import(kind=JobKind.QDPX_IMPORT, qdpx_import=staged)
    return job_enqueue(
        study=staged.study,
        kind=JobKind.QDPX_IMPORT,
        started_by=actor,
        qdpx_import=staged,
        progress_total=staged.n_sources + staged.n_codings,
    )


def export_start(*, study: Study, kind: str, actor: User) -> Job:
    """Queue an export of the study (a REFI-QDA project or the replication package)."""
    if kind not in (JobKind.QDPX_EXPORT, JobKind.REPLICATION):
        raise ValidationError(f"Not an export: {kind}.")
    return job_enqueue(study=study, kind=kind, started_by=actor)


@transaction.atomic
def report_start(*, study: Study, params: dict, actor: User, retry: bool = False) -> Job:
    """The job computing a report (`reliability_services.report_params`): the one already queued,
    running or done for the same report of the same data, or a new one.

    Everyone polling the page shares one job; a failed one is shown until `retry` asks again.
    The study's row is locked meanwhile, so two first looks queue one job.
    """
    Study.objects.select_for_update().filter(pk=study.pk).first()
    kind = JobKind.PASSAGES if params.get("unitizing") else JobKind.RELIABILITY
    latest = (
        Job.objects.filter(study=study, kind=kind, params__key=params["key"])
        .select_related("started_by")
        .order_by("-pk")
        .first()
    )
    # A succeeded one whose report is no longer in the cache is computed again.
    waiting = latest is not None and latest.state in (JobState.QUEUED, JobState.RUNNING)
    failed = latest is not None and latest.state == JobState.FAILED
    if waiting or (failed and not retry):
        return latest
    return job_enqueue(study=study, kind=kind, started_by=actor, params=params)


def job_file_store(handle, suffix: str, name: str) -> dict:
    """Keep a file the job made in the default storage, under a name nobody can guess."""
    handle.seek(0)
    path = default_storage.save(f"jobs/{secrets.token_hex(16)}{suffix}", File(handle))
    return {"output": path, "output_name": name, "bytes": default_storage.size(path)}


def date_stamp() -> str:
    return timezone.now().strftime("%Y%m%d")


def _worker_is_gone(job: Job, stale_before: datetime) -> bool:
    """A worker on this machine is gone when its process is; elsewhere, when it fell silent."""
    host, _, pid = job.worker.rpartition(":")
    if host and host == socket.gethostname() and pid.isdigit():
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False
    beat = job.heartbeat_at or job.started_at
    return beat is None or beat < stale_before


def job_files_expire(*, study: Study | None = None) -> int:
    """Delete the files of exports finished more than `TRUSTCODER_JOB_FILE_DAYS` days ago; the
    job stays in the list, saying its file is gone. Returns how many files were deleted."""
    cutoff = timezone.now() - timedelta(days=settings.TRUSTCODER_JOB_FILE_DAYS)
    old = Job.objects.filter(finished_at__lt=cutoff).exclude(output="")
    if study is not None:
        old = old.filter(study=study)
    expired = 0
    for job in old.only("pk", "output", "message"):
        job.output.delete(save=False)  # a file already gone is no error
        Job.objects.filter(pk=job.pk).update(
            output="",
            message=f"{job.message} The file was deleted after "
            f"{settings.TRUSTCODER_JOB_FILE_DAYS} days; start the export again.".strip(),
        )
        expired += 1
    return expired


def jobs_sweep(*, study: Study | None = None) -> int:
    """Mark running jobs whose worker died as failed; their work was rolled back with them; and
    delete export files past their days (`job_files_expire`).

    Returns how many jobs were marked. Cheap when nothing is stale: two reads, no write.
    """
    job_files_expire(study=study)
    stale_before = timezone.now() - timedelta(seconds=settings.TRUSTCODER_JOB_STALE_SECONDS)
    running = Job.objects.filter(state=JobState.RUNNING).only(
        "pk", "worker", "heartbeat_at", "started_at"
    )
    if study is not None:
        running = running.filter(study=study)
    gone = [job.pk for job in running if _worker_is_gone(job, stale_before)]
    if not gone:
        return 0
    return Job.objects.filter(pk__in=gone, state=JobState.RUNNING).update(
        state=JobState.FAILED,
        finished_at=timezone.now(),
        message=(
            "The worker running this job stopped before it finished. Nothing of the job was "
            "saved; start it again."
        ),
    )
