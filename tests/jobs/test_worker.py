"""Real workers (`manage.py db_worker`) against PostgreSQL: an import through the queue, and a
worker killed in the middle of one."""

from __future__ import annotations

import csv
import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from negotiations.jobs import services as job_services
from negotiations.models import (
    ImportStatus,
    Job,
    JobKind,
    JobState,
    NegotiationParty,
    PhaseKind,
    Segment,
    Source,
    SourceImport,
)
from negotiations.sources import imports as source_imports
from tests.factories import NegotiationFactory, PartyFactory, PhaseFactory
from tests.sources.test_import import HEADER, statement

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

BASE_DIR = Path(__file__).resolve().parent.parent.parent
DATABASE_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}


@pytest.fixture
def queue(postgres_only, settings):
    """Jobs go to the database queue, as in production."""
    settings.TASKS = DATABASE_TASKS


@pytest.fixture
def study(members):
    negotiation = NegotiationFactory(
        study=members.study, name="Agreed Framework", slug="agreed-framework"
    )
    PhaseFactory(negotiation=negotiation, name="Agreement", kind=PhaseKind.AGREEMENT)
    party = PartyFactory(study=members.study, code="US", name="United States")
    NegotiationParty.objects.create(negotiation=negotiation, party=party)
    return members


def csv_bytes(n_rows: int) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    for n in range(n_rows):
        writer.writerow(statement(n))
    return out.getvalue().encode()


def start_worker() -> subprocess.Popen:
    """A worker with the production settings on the test database, as `make serve` starts it."""
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "trustcoder.settings",
        "DATABASE_URL": url,
        "DJANGO_SECRET_KEY": "worker-test-key-4b9e0d7c1a2f3e5d6c7b8a9f0e1d2c3b4a5f6e7d",
        "DJANGO_DEBUG": "0",
    }
    return subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "db_worker",
            "--no-reload",
            "--no-startup-delay",
            "--interval",
            "0.2",
            "--verbosity",
            "0",
        ],
        cwd=BASE_DIR,
        env=env,
    )


def stop(worker: subprocess.Popen) -> None:
    if worker.poll() is None:
        worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=30)


def wait_for(job: Job, condition, timeout: float = 180.0) -> Job:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if condition(job):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job #{job.pk} stayed {job.state} at {job.progress_done}")


def test_a_worker_checks_and_imports_a_file(study, queue):
    staged = source_imports.source_import_stage(
        study=study.study,
        filename="statements.csv",
        content=csv_bytes(3000),
        actor=study.supervisor,
        create_missing=False,
        check=False,
    )
    worker = start_worker()
    try:
        check = job_services.import_check_start(source_import=staged, actor=study.supervisor)
        check = wait_for(check, lambda j: j.finished)
        assert (check.state, check.message) == (
            JobState.SUCCEEDED,
            "Checked 3,000 rows: no problems.",
        )
        staged.refresh_from_db()
        assert (staged.status, staged.n_rows, staged.n_errors) == (ImportStatus.PREVIEWED, 3000, 0)
        assert Source.objects.count() == 0

        run = job_services.import_run_start(source_import=staged, actor=study.supervisor)
        run = wait_for(run, lambda j: j.finished)
    finally:
        stop(worker)

    assert (run.state, run.message) == (JobState.SUCCEEDED, "Imported 3,000 sources.")
    assert (run.progress_done, run.progress_total) == (3000, 3000)
    assert run.worker.endswith(f":{worker.pid}")
    assert run.started_at <= run.finished_at
    assert Source.objects.filter(study=study.study).count() == 3000
    assert set(Source.objects.values_list("created_by", flat=True)) == {study.supervisor.pk}
    staged.refresh_from_db()
    assert (staged.status, staged.n_imported) == (ImportStatus.IMPORTED, 3000)


def test_a_worker_killed_mid_import_saves_nothing_and_its_job_fails(study, queue):
    n_rows = 12_000
    staged = source_imports.source_import_stage(
        study=study.study,
        filename="statements.csv",
        content=csv_bytes(n_rows),
        actor=study.supervisor,
        create_missing=False,
    )
    assert staged.n_errors == 0
    job = job_services.import_run_start(source_import=staged, actor=study.supervisor)
    worker = start_worker()
    try:
        # Progress is committed while the import's own transaction is still open.
        job = wait_for(job, lambda j: j.state == JobState.RUNNING and j.progress_done >= 1000)
        assert job.progress_done < n_rows
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
    finally:
        stop(worker)

    assert Source.objects.count() == 0
    assert Segment.objects.count() == 0
    job.refresh_from_db()
    assert job.state == JobState.RUNNING  # nobody has noticed yet
    assert job_services.jobs_sweep(study=study.study) == 1
    job.refresh_from_db()
    assert job.state == JobState.FAILED
    assert "stopped before it finished" in job.message
    staged.refresh_from_db()
    assert staged.status == ImportStatus.PREVIEWED  # the file can be imported again

    again = job_services.import_run_start(source_import=staged, actor=study.supervisor)
    worker = start_worker()
    try:
        again = wait_for(again, lambda j: j.finished)
    finally:
        stop(worker)
    assert again.state == JobState.SUCCEEDED
    assert Source.objects.count() == n_rows
    assert Job.objects.filter(kind=JobKind.IMPORT_RUN).count() == 2
    assert SourceImport.objects.get().status == ImportStatus.IMPORTED


def test_a_worker_checks_and_imports_a_refi_qda_project(study, queue):
    from negotiations.interchange import services as interchange_services
    from negotiations.models import Coding, QdpxImport
    from tests.interchange.test_qdpx import NVIVO_PASSAGES, nvivo_project

    staged, plan = interchange_services.qdpx_import_stage(
        content=nvivo_project(),
        filename="talks.qdpx",
        uploaded_by=study.supervisor,
        study=study.study,
        check=False,
    )
    assert plan is None and staged.status == ImportStatus.CHECKING
    worker = start_worker()
    try:
        check = job_services.qdpx_check_start(upload=staged, actor=study.supervisor)
        check = wait_for(check, lambda j: j.finished)
        assert check.state == JobState.SUCCEEDED, check.message
        staged.refresh_from_db()
        assert staged.status == ImportStatus.PREVIEWED and staged.preview["ok"] is True
        run = job_services.qdpx_import_start(upload=staged, actor=study.supervisor)
        run = wait_for(run, lambda j: j.finished)
    finally:
        stop(worker)

    assert run.state == JobState.SUCCEEDED, run.message
    assert run.worker.endswith(f":{worker.pid}")
    assert Coding.objects.filter(source__study=study.study).count() == len(NVIVO_PASSAGES)
    assert QdpxImport.objects.get().status == ImportStatus.IMPORTED
