"""Background jobs with the immediate backend: imports through jobs, progress, the sweep, pages."""

from __future__ import annotations

import os
import socket
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from negotiations.jobs import services as job_services
from negotiations.models import (
    ImportStatus,
    Job,
    JobKind,
    JobState,
    NegotiationParty,
    PhaseKind,
    Source,
    SourceImport,
)
from negotiations.sources import imports as source_imports
from negotiations.sources import resources
from negotiations.studies import services as study_services
from tests.factories import NegotiationFactory, PartyFactory, PhaseFactory
from tests.sources.test_import import HEADER, statement, upload, write

pytestmark = pytest.mark.django_db

DUMMY_TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}


@pytest.fixture
def case(members):
    """The members' study with the Agreed Framework, its Agreement phase and the US."""
    negotiation = NegotiationFactory(
        study=members.study, name="Agreed Framework", slug="agreed-framework"
    )
    PhaseFactory(negotiation=negotiation, name="Agreement", kind=PhaseKind.AGREEMENT)
    party = PartyFactory(study=members.study, code="US", name="United States")
    NegotiationParty.objects.create(negotiation=negotiation, party=party)
    return members


@pytest.fixture
def background(settings):
    """Every upload goes to the background."""
    settings.TRUSTCODER_BACKGROUND_IMPORT_BYTES = 0


def stage(case, tmp_path, rows, check=True):
    return source_imports.source_import_stage(
        study=case.study,
        filename="statements.csv",
        content=write(tmp_path, [HEADER, *rows]).read_bytes(),
        actor=case.supervisor,
        create_missing=False,
        check=check,
    )


def test_a_large_upload_is_checked_and_imported_by_jobs(case, clients, tmp_path, background):
    supervisor = clients["supervisor"]
    response = upload(supervisor, write(tmp_path, [HEADER, *(statement(n) for n in range(30))]))

    staged = SourceImport.objects.get()
    preview_url = reverse("negotiations:source_import_preview", args=["test-study", staged.pk])
    assert response["Location"] == preview_url
    check = Job.objects.get(kind=JobKind.IMPORT_CHECK)
    assert (check.state, check.source_import, check.started_by) == (
        JobState.SUCCEEDED,
        staged,
        case.supervisor,
    )
    assert (check.progress_done, check.progress_total) == (30, 30)
    assert check.message == "Checked 30 rows: no problems."
    assert (staged.status, staged.n_rows, staged.n_errors) == (ImportStatus.PREVIEWED, 30, 0)
    assert Source.objects.count() == 0

    html = supervisor.get(preview_url).content.decode()
    assert "30 rows checked: no problems." in html
    assert '<th scope="col">negotiation</th><th scope="col">phase</th>' in html
    assert "Statement 19 opens here." in html  # the stored first rows

    confirmed = supervisor.post(preview_url)

    run = Job.objects.get(kind=JobKind.IMPORT_RUN)
    assert confirmed["Location"] == reverse("negotiations:job_detail", args=["test-study", run.pk])
    assert (run.state, run.progress_done, run.progress_total) == (JobState.SUCCEEDED, 30, 30)
    assert run.message == "Imported 30 sources."
    assert run.result == {"n_rows": 30, "n_imported": 30}
    assert run.started_at <= run.finished_at
    assert Source.objects.count() == 30
    staged.refresh_from_db()
    assert (staged.status, staged.n_imported) == (ImportStatus.IMPORTED, 30)
    page = supervisor.get(confirmed["Location"]).content.decode()
    assert "Imported 30 sources." in page
    assert "See the imported sources" in page
    assert 'hx-trigger="every 1s"' not in page  # finished: no more polling


def test_the_preview_never_reruns_the_dry_run(case, clients, tmp_path, monkeypatch):
    staged = stage(case, tmp_path, [statement(1, date="1994-13-01"), statement(2)])
    assert staged.n_errors == 1

    def refuse(**kwargs):
        raise AssertionError("the preview must read the stored findings")

    monkeypatch.setattr(source_imports, "sources_import", refuse)
    url = reverse("negotiations:source_import_preview", args=["test-study", staged.pk])
    html = clients["supervisor"].get(url).content.decode()
    assert "<strong>1 problem</strong> in 2 rows." in html
    assert '<td><a href="#row-2">2</a></td><td>date</td>' in html


def test_problems_are_paged(case, clients, tmp_path):
    rows = [statement(n, source_type="nonsense") for n in range(250)]
    staged = stage(case, tmp_path, rows)
    assert staged.n_errors == 250
    assert staged.problems.count() == 250
    url = reverse("negotiations:source_import_preview", args=["test-study", staged.pk])
    supervisor = clients["supervisor"]

    first = supervisor.get(url).content.decode()
    last = supervisor.get(url + "?page=3").content.decode()
    partial = supervisor.get(url + "?page=2", headers={"HX-Request": "true"}).content.decode()

    assert "<strong>250 problems</strong> in 250 rows." in first
    # The problems table holds 100 a page (the preview of the first rows marks their cells too).
    table = first.split('<table class="table problems">')[1].split("</table>")[0]
    assert table.count("Unknown source type") == 100
    assert "Page 1 of 3 (problems 1\u2013100)" in first
    assert '<td><a href="#row-2">2</a></td><td>source_type</td>' in first
    table = last.split('<table class="table problems">')[1].split("</table>")[0]
    assert table.count("Unknown source type") == 50
    assert "<td>251</td><td>source_type</td>" in last
    assert partial.strip().startswith('<div id="import-preview"')
    assert "<html" not in partial
    assert "Page 2 of 3 (problems 101\u2013200)" in partial


def test_a_file_being_checked_shows_progress_and_polls(case, clients, tmp_path, settings):
    settings.TASKS = DUMMY_TASKS
    staged = stage(case, tmp_path, [statement(1)], check=False)
    job_services.import_check_start(source_import=staged, actor=case.supervisor)
    url = reverse("negotiations:source_import_preview", args=["test-study", staged.pk])

    html = clients["supervisor"].get(url).content.decode()
    partial = clients["supervisor"].get(url, headers={"HX-Request": "true"}).content.decode()

    assert "A worker is checking every row of this file" in html
    assert "<progress" in html
    assert 'hx-trigger="every 1s"' in partial
    assert "Import 1 source" not in html


def test_two_confirmations_queue_one_import(case, tmp_path, settings):
    settings.TASKS = DUMMY_TASKS
    staged = stage(case, tmp_path, [statement(1)])

    first = job_services.import_run_start(source_import=staged, actor=case.supervisor)
    with pytest.raises(ValidationError, match=f"already being imported \\(job #{first.pk}\\)"):
        job_services.import_run_start(source_import=staged, actor=case.supervisor)

    assert Job.objects.filter(kind=JobKind.IMPORT_RUN).count() == 1
    # The queued job runs once; running it again (a second worker) does nothing.
    assert job_services.job_run(job_id=first.pk).state == JobState.SUCCEEDED
    assert job_services.job_run(job_id=first.pk) is None
    assert Source.objects.count() == 1


def test_a_second_confirmation_on_the_page_is_refused(case, clients, tmp_path, settings):
    settings.TASKS = DUMMY_TASKS
    settings.TRUSTCODER_BACKGROUND_IMPORT_BYTES = 0
    staged = stage(case, tmp_path, [statement(1)])
    url = reverse("negotiations:source_import_preview", args=["test-study", staged.pk])
    supervisor = clients["supervisor"]

    supervisor.post(url)
    again = supervisor.post(url, follow=True)

    job = Job.objects.get(kind=JobKind.IMPORT_RUN)
    assert f"This file is already being imported (job #{job.pk})." in again.content.decode()
    assert Job.objects.filter(kind=JobKind.IMPORT_RUN).count() == 1


def test_a_failing_job_is_marked_failed_with_its_message(case, tmp_path, monkeypatch):
    staged = stage(case, tmp_path, [statement(1)], check=False)

    def broken(**kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(source_imports, "source_import_check", broken)
    job = job_services.import_check_start(source_import=staged, actor=case.supervisor)

    job.refresh_from_db()
    assert job.state == JobState.FAILED
    assert job.message == "The job failed: disk full"
    assert job.finished_at is not None


def test_an_import_refused_at_confirmation_fails_its_job(case, tmp_path, settings):
    settings.TASKS = DUMMY_TASKS
    staged = stage(case, tmp_path, [statement(1)])
    job = job_services.import_run_start(source_import=staged, actor=case.supervisor)
    # Meanwhile the same text arrived another way: the real import refuses the row.
    stage(case, tmp_path, [statement(1)])  # a second staged copy, checked, not imported
    source_imports.source_import_confirm(
        source_import=SourceImport.objects.exclude(pk=staged.pk).get(), actor=case.supervisor
    )

    job = job_services.job_run(job_id=job.pk)

    assert job.state == JobState.FAILED
    assert job.message == "The import found 1 problem; nothing was saved."
    staged.refresh_from_db()
    assert (staged.status, staged.n_errors) == (ImportStatus.FAILED, 1)
    assert "already in the study" in staged.problems.get().message
    assert Source.objects.count() == 1


def test_progress_is_reported_per_row(case, tmp_path):
    calls = []
    token = resources.row_progress.set(lambda done, total: calls.append((done, total)))
    try:
        stage(case, tmp_path, [statement(n) for n in range(5)])
    finally:
        resources.row_progress.reset(token)
    assert calls == [(n, 5) for n in range(1, 6)]


def test_progress_reporter_writes_now_and_then(case):
    job = Job.objects.create(study=case.study, kind=JobKind.IMPORT_RUN, state=JobState.RUNNING)
    clock = iter([0.0, 0.1, 0.2, 1.5, 1.6])
    report = job_services.ProgressReporter(job.pk, clock=lambda: next(clock))

    report(1, 10)
    report(2, 10)
    job.refresh_from_db()
    assert job.progress_done == 1  # the second call came too soon
    report(3, 10)
    report(4, 10)
    job.refresh_from_db()
    assert (job.progress_done, job.progress_total) == (4, 10)  # 1.5 s later: written
    report(10, 10)  # the last row is always written
    job.refresh_from_db()
    assert job.progress_done == 10
    assert job.heartbeat_at is not None


def running_job(study, worker, beat):
    return Job.objects.create(
        study=study,
        kind=JobKind.IMPORT_RUN,
        state=JobState.RUNNING,
        worker=worker,
        started_at=beat,
        heartbeat_at=beat,
    )


def test_the_sweep_fails_jobs_whose_worker_is_gone(case, settings):
    settings.TRUSTCODER_JOB_STALE_SECONDS = 60
    now = timezone.now()
    host = socket.gethostname()
    dead_pid = 2**22 + 12345  # above any pid this machine hands out
    here_dead = running_job(case.study, f"{host}:{dead_pid}", now)
    here_alive = running_job(case.study, f"{host}:{os.getpid()}", now - timedelta(hours=1))
    elsewhere_silent = running_job(case.study, "other-host:1", now - timedelta(seconds=61))
    elsewhere_beating = running_job(case.study, "other-host:2", now - timedelta(seconds=5))

    assert job_services.jobs_sweep() == 2

    states = {job.pk: job.state for job in Job.objects.all()}
    assert states[here_dead.pk] == JobState.FAILED
    assert states[elsewhere_silent.pk] == JobState.FAILED
    assert states[here_alive.pk] == JobState.RUNNING
    assert states[elsewhere_beating.pk] == JobState.RUNNING
    here_dead.refresh_from_db()
    assert "stopped before it finished" in here_dead.message
    assert job_services.jobs_sweep() == 0


def test_the_jobs_pages_sweep_before_showing(case, clients):
    job = running_job(case.study, f"{socket.gethostname()}:{2**22 + 1}", timezone.now())
    html = clients["reader"].get(reverse("negotiations:job_list", args=["test-study"])).content
    assert b"Failed" in html
    job.refresh_from_db()
    assert job.state == JobState.FAILED


def test_job_pages_for_members(case, clients, tmp_path, settings):
    settings.TASKS = DUMMY_TASKS
    staged = stage(case, tmp_path, [statement(1)])
    job = job_services.import_run_start(source_import=staged, actor=case.supervisor)
    job_services.job_run(job_id=job.pk)
    list_url = reverse("negotiations:job_list", args=["test-study"])
    detail_url = reverse("negotiations:job_detail", args=["test-study", job.pk])

    manager = clients["supervisor"].get(list_url).content.decode()
    reader = clients["reader"].get(detail_url).content.decode()
    coder_list = clients["coder"].get(list_url).content.decode()
    partial = clients["owner"].get(detail_url, headers={"HX-Request": "true"}).content.decode()

    assert f"Import #{job.pk}" in manager
    assert "Imported 1 source." in manager
    assert "sam" in manager
    assert 'aria-current="page">Jobs</a>' in manager
    assert "Succeeded" in reader
    assert "Imported 1 source." not in reader  # the result is for those who manage sources
    assert f"Import #{job.pk}" in coder_list
    assert "Imported 1 source." not in coder_list
    assert partial.strip().startswith('<section id="job-status"')
    assert "Imported 1 source." in partial
    assert clients["outsider"].get(detail_url).status_code == 404
    assert clients["outsider"].get(list_url, headers={"HX-Request": "true"}).status_code == 404
    assert clients["anonymous"].get(detail_url).status_code == 302


def test_a_job_of_another_study_is_not_found(case, clients):
    other = study_services.study_create(name="Other", slug="other", created_by=case.supervisor)
    job = Job.objects.create(study=other, kind=JobKind.IMPORT_CHECK)
    url = reverse("negotiations:job_detail", args=["test-study", job.pk])
    assert clients["supervisor"].get(url).status_code == 404


def test_an_unfinished_job_polls(case, clients, settings, tmp_path):
    settings.TASKS = DUMMY_TASKS
    staged = stage(case, tmp_path, [statement(1)])
    job = job_services.import_run_start(source_import=staged, actor=case.supervisor)
    detail = reverse("negotiations:job_detail", args=["test-study", job.pk])

    html = clients["supervisor"].get(detail).content.decode()
    listing = clients["supervisor"].get(reverse("negotiations:job_list", args=["test-study"]))

    assert 'hx-trigger="every 1s"' in html
    assert "Waiting for a worker" in html
    assert 'hx-trigger="every 2s"' in listing.content.decode()
    assert "style=" not in html


def test_confirming_a_file_with_problems_refuses_it_without_importing(
    case, clients, tmp_path, background, monkeypatch
):
    staged = stage(case, tmp_path, [statement(1, source_type="nonsense"), statement(2)])

    def refuse(**kwargs):
        raise AssertionError("a file with stored problems is not imported again")

    monkeypatch.setattr(source_imports, "sources_import", refuse)
    url = reverse("negotiations:source_import_preview", args=["test-study", staged.pk])
    response = clients["supervisor"].post(url)

    assert response.status_code == 200
    assert "<strong>1 problem</strong> in 2 rows." in response.content.decode()
    staged.refresh_from_db()
    assert staged.status == ImportStatus.FAILED
    assert not Job.objects.filter(kind=JobKind.IMPORT_RUN).exists()
    assert Source.objects.count() == 0
