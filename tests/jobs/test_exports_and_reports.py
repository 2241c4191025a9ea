"""Background jobs beyond source imports, with the immediate backend: the REFI-QDA export and
import, the replication package and the reliability reports of large studies."""

from __future__ import annotations

import io
import zipfile
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from negotiations.api import jobs as api_jobs
from negotiations.coding import assignments as assignment_services
from negotiations.coding import services as coding_services
from negotiations.interchange import jobs as interchange_jobs
from negotiations.interchange import planning
from negotiations.interchange import services as interchange_services
from negotiations.interchange.qdpx import read_qdpx
from negotiations.jobs import services as job_services
from negotiations.models import (
    Assignment,
    Code,
    Coding,
    ImportStatus,
    Job,
    JobKind,
    JobState,
    QdpxImport,
    ReportCache,
    Source,
    Study,
)
from negotiations.reliability import services as reliability_services
from tests.factories import NegotiationFactory, PartyFactory, SourceFactory, UserFactory
from tests.interchange.test_qdpx import NVIVO_PASSAGES, nvivo_project

pytestmark = pytest.mark.django_db

DUMMY_TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}


@pytest.fixture
def large(settings):
    """Every study is large: exports, checks and reports all go to the background."""
    settings.TRUSTCODER_BACKGROUND_EXPORT_CHARS = 0
    settings.TRUSTCODER_BACKGROUND_IMPORT_BYTES = 0
    settings.TRUSTCODER_BACKGROUND_REPORT_CELLS = 0


@pytest.fixture
def coded(members):
    """Two sources coded by both coders and submitted; one coder's codings differ on one."""
    study = members.study
    us = PartyFactory(study=study, code="US")
    negotiation = NegotiationFactory(study=study)
    negotiation.parties.add(us)
    zopa = Code.objects.get(study=study, name="ZOPA")
    for i in range(3):
        source = SourceFactory(
            study=study, negotiation=negotiation, text=f"Talks resumed {i}. The envoy arrived."
        )
        for coder, stance in ((members.coder, "for"), (members.coder2, "for" if i else "against")):
            assignment_services.assignment_create(
                source=source, coder=coder, assigned_by=members.supervisor
            )
            coding_services.coding_create(
                source=source,
                coder=coder,
                code=zopa,
                start=0,
                end=16,
                quote=source.text[:16],
                stance=stance,
                demonstrating_party=us,
            )
    for assignment in Assignment.objects.filter(source__study=study):
        assignment_services.assignment_submit(assignment=assignment)
    return members


def stored_files() -> set[str]:
    return set(default_storage.listdir("jobs")[1]) if default_storage.exists("jobs") else set()


def download(client, job: Job):
    return client.get(reverse("negotiations:job_download", args=[job.study.slug, job.pk]))


# REFI-QDA export ------------------------------------------------------------------------------


def test_a_large_study_is_exported_to_qdpx_by_a_job(coded, clients, large):
    slug = coded.study.slug
    supervisor = clients["supervisor"]
    page = supervisor.get(reverse("negotiations:interchange", args=[slug])).content.decode()
    assert "Prepare the project (.qdpx)" in page
    assert reverse("negotiations:export_qdpx", args=[slug]) not in page
    # The direct download no longer does the long work inside the request.
    direct = supervisor.get(reverse("negotiations:export_qdpx", args=[slug]))
    assert direct.status_code == 302
    assert direct["Location"] == reverse("negotiations:interchange", args=[slug])

    response = supervisor.post(reverse("negotiations:qdpx_export_start", args=[slug]))

    job = Job.objects.get(kind=JobKind.QDPX_EXPORT)
    assert response["Location"] == reverse("negotiations:job_detail", args=[slug, job.pk])
    assert (job.state, job.started_by, job.progress_done, job.progress_total) == (
        JobState.SUCCEEDED,
        coded.supervisor,
        3,
        3,
    )
    assert job.message.startswith("The project is ready (")
    assert job.output.name.startswith("jobs/") and slug not in job.output.name
    assert job.output_name.startswith(f"{slug}-") and job.output_name.endswith(".qdpx")
    detail = supervisor.get(response["Location"]).content.decode()
    assert f"Download {job.output_name}" in detail

    got = download(supervisor, job)
    assert got.status_code == 200
    assert got["Content-Disposition"] == f'attachment; filename="{job.output_name}"'
    project = read_qdpx(b"".join(got.streaming_content))
    assert len(project.sources) == 3
    assert len(project.selections) == 6  # both coders' codings


@pytest.mark.parametrize("role", ["reader", "coder"])
def test_only_managers_start_a_qdpx_export_or_download_it(coded, clients, large, role):
    slug = coded.study.slug
    refused = clients[role].post(reverse("negotiations:qdpx_export_start", args=[slug]))
    assert refused.status_code == 403
    assert not Job.objects.exists()
    clients["owner"].post(reverse("negotiations:qdpx_export_start", args=[slug]))
    job = Job.objects.get()
    # Every coder's codings are in the file: a coder (blind coding) or a reader never gets it.
    assert download(clients[role], job).status_code == 403
    listed = clients[role].get(reverse("negotiations:job_list", args=[slug])).content.decode()
    assert "REFI-QDA export #" in listed
    assert "The project is ready" not in listed and "/download/" not in listed
    detail = clients[role].get(reverse("negotiations:job_detail", args=[slug, job.pk]))
    assert "The project is ready" not in detail.content.decode()
    assert "/download/" not in detail.content.decode()
    assert download(clients["outsider"], job).status_code == 404


def test_a_failed_export_shows_its_message_and_keeps_no_file(coded, clients, large, monkeypatch):
    def broken(project):
        raise OSError("disk full")

    monkeypatch.setattr(interchange_jobs, "write_qdpx", broken)
    clients["supervisor"].post(reverse("negotiations:qdpx_export_start", args=[coded.study.slug]))
    job = Job.objects.get()
    assert (job.state, job.message, job.output.name) == (
        JobState.FAILED,
        "The job failed: disk full",
        "",
    )
    assert download(clients["supervisor"], job).status_code == 404
    page = clients["supervisor"].get(reverse("negotiations:job_list", args=[coded.study.slug]))
    assert "The job failed: disk full" in page.content.decode()


def test_a_small_study_downloads_its_project_at_once(coded, clients):
    page = clients["supervisor"].get(reverse("negotiations:interchange", args=[coded.study.slug]))
    assert "Prepare the project" not in page.content.decode()
    got = clients["supervisor"].get(reverse("negotiations:export_qdpx", args=[coded.study.slug]))
    assert got.status_code == 200 and got["Content-Type"] == "application/zip"
    assert not Job.objects.exists()


def test_a_deleted_file_is_a_404_with_a_sentence(coded, clients, large):
    clients["supervisor"].post(reverse("negotiations:qdpx_export_start", args=[coded.study.slug]))
    job = Job.objects.get()
    default_storage.delete(job.output.name)
    assert download(clients["supervisor"], job).status_code == 404


def test_export_files_are_deleted_after_their_days(coded, clients, large, settings):
    settings.TRUSTCODER_JOB_FILE_DAYS = 7
    slug = coded.study.slug
    supervisor = clients["supervisor"]
    for _ in range(2):
        supervisor.post(reverse("negotiations:qdpx_export_start", args=[slug]))
    old, new = Job.objects.order_by("pk")
    Job.objects.filter(pk=old.pk).update(finished_at=timezone.now() - timedelta(days=8))
    assert default_storage.exists(old.output.name)

    # Opening the Jobs list sweeps: the old file goes, the new one stays.
    page = supervisor.get(reverse("negotiations:job_list", args=[slug]))
    assert page.status_code == 200
    old.refresh_from_db()
    new.refresh_from_db()
    assert not old.output and "deleted after 7 days" in old.message
    assert default_storage.exists(new.output.name)
    assert download(supervisor, old).status_code == 404
    assert download(supervisor, new).status_code == 200


# Replication package -------------------------------------------------------------------------


def test_the_replication_package_of_a_large_study_is_a_job_readers_may_start(coded, clients, large):
    slug = coded.study.slug
    reader = clients["reader"]
    page = reader.get(reverse("negotiations:exports", args=[slug])).content.decode()
    assert "Prepare the ZIP" in page
    direct = reader.get(reverse("negotiations:replication_package", args=[slug]))
    assert direct.status_code == 302
    assert direct["Location"] == reverse("negotiations:exports", args=[slug])

    response = reader.post(reverse("negotiations:replication_package_start", args=[slug]))

    job = Job.objects.get(kind=JobKind.REPLICATION)
    assert response["Location"] == reverse("negotiations:job_detail", args=[slug, job.pk])
    assert (job.state, job.started_by) == (JobState.SUCCEEDED, coded.reader)
    assert job.progress_done == job.progress_total == 8  # seven tables, then the rest
    assert job.output_name.startswith(f"{slug}-replication-") and job.output_name.endswith(".zip")
    got = download(reader, job)
    assert got.status_code == 200
    names = zipfile.ZipFile(io.BytesIO(b"".join(got.streaming_content))).namelist()
    assert {"codings.csv", "reliability.csv", "datapackage.json", "README.md"} <= set(names)
    assert download(clients["supervisor"], job).status_code == 200
    assert download(clients["coder"], job).status_code == 403
    listed = reader.get(reverse("negotiations:job_list", args=[slug])).content.decode()
    assert "The replication package is ready: 11 files" in listed and "/download/" in listed


def test_a_coder_may_not_start_the_replication_package(coded, clients, large):
    url = reverse("negotiations:replication_package_start", args=[coded.study.slug])
    assert clients["coder"].post(url).status_code == 403
    assert clients["outsider"].post(url).status_code == 404
    assert clients["anonymous"].post(url).status_code == 302
    assert not Job.objects.exists()


def test_a_failed_replication_package_says_why(coded, clients, large, monkeypatch):
    def broken(*, study, output, progress=None):
        output.write(b"half a zip")
        raise ValueError("the assessment rule is missing")

    monkeypatch.setattr(api_jobs, "replication_package_write", broken)
    before = stored_files()
    clients["owner"].post(
        reverse("negotiations:replication_package_start", args=[coded.study.slug])
    )
    job = Job.objects.get()
    assert job.state == JobState.FAILED
    assert job.message == "The job failed: the assessment rule is missing"
    assert job.output.name == "" and stored_files() == before


# REFI-QDA import -----------------------------------------------------------------------------


def upload(content: bytes, name: str = "talks.qdpx") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/zip")


def test_a_qdpx_file_is_checked_and_imported_by_jobs(members, clients, large, monkeypatch):
    supervisor = clients["supervisor"]
    slug = members.study.slug
    response = supervisor.post(
        reverse("negotiations:interchange", args=[slug]), {"file": upload(nvivo_project())}
    )
    staged = QdpxImport.objects.get()
    assert response["Location"] == staged.get_preview_url()
    check = Job.objects.get(kind=JobKind.QDPX_CHECK)
    assert (check.state, check.qdpx_import, check.study, check.started_by) == (
        JobState.SUCCEEDED,
        staged,
        members.study,
        members.supervisor,
    )
    assert check.message == (
        f"Checked the file: 1 sources and {len(NVIVO_PASSAGES)} codings, no problems."
    )
    staged.refresh_from_db()
    assert staged.status == ImportStatus.PREVIEWED and staged.preview["ok"] is True

    # The preview shows the stored plan: the file is not read again.
    def refuse(**kwargs):
        raise AssertionError("the preview must show the stored plan")

    monkeypatch.setattr(planning, "qdpx_import_plan", refuse)
    html = supervisor.get(staged.get_preview_url()).content.decode()
    assert "No problems" in html and "TRUST_CAPACITY" in html
    monkeypatch.undo()

    confirmed = supervisor.post(reverse("negotiations:qdpx_import_confirm", args=[staged.pk]))

    run = Job.objects.get(kind=JobKind.QDPX_IMPORT)
    assert confirmed["Location"] == reverse("negotiations:study_detail", args=[slug])
    total = 1 + len(NVIVO_PASSAGES)
    assert (run.state, run.progress_done, run.progress_total) == (JobState.SUCCEEDED, total, total)
    assert run.message == f"Imported 1 sources and {len(NVIVO_PASSAGES)} codings."
    assert Coding.objects.filter(source__study=members.study).count() == len(NVIVO_PASSAGES)
    page = supervisor.get(staged.get_preview_url()).content.decode()
    assert run.message in page and "Go to the study" in page
    listed = supervisor.get(reverse("negotiations:job_list", args=[slug])).content.decode()
    assert f"REFI-QDA import #{run.pk}" in listed and "talks.qdpx" in listed


def test_a_check_that_fails_shows_its_message_on_the_preview(members, clients, large, monkeypatch):
    def broken(**kwargs):
        raise ValueError("the XML parser ran out of memory")

    monkeypatch.setattr(interchange_services, "qdpx_import_plan", broken)
    clients["supervisor"].post(
        reverse("negotiations:interchange", args=[members.study.slug]),
        {"file": upload(nvivo_project())},
    )
    job = Job.objects.get(kind=JobKind.QDPX_CHECK)
    assert (job.state, job.message) == (
        JobState.FAILED,
        "The job failed: the XML parser ran out of memory",
    )
    staged = QdpxImport.objects.get()
    page = clients["supervisor"].get(staged.get_preview_url()).content.decode()
    assert job.message in page and 'role="alert"' in page
    assert reverse("negotiations:qdpx_import_confirm", args=[staged.pk]) not in page
    assert not Job.objects.filter(kind=JobKind.QDPX_IMPORT).exists()


def test_two_confirmations_import_the_file_once(members, clients, large, settings):
    settings.TASKS = DUMMY_TASKS  # the first job waits in the queue
    staged, _ = interchange_services.qdpx_import_stage(
        content=nvivo_project(),
        filename="talks.qdpx",
        uploaded_by=members.supervisor,
        study=members.study,
    )
    confirm = reverse("negotiations:qdpx_import_confirm", args=[staged.pk])
    first = clients["supervisor"].post(confirm)
    second = clients["supervisor"].post(confirm, follow=True)
    assert first["Location"] == staged.get_preview_url()
    job = Job.objects.get(kind=JobKind.QDPX_IMPORT)
    assert f"already being imported (job #{job.pk})" in second.content.decode()
    with pytest.raises(ValidationError, match="already being imported"):
        job_services.qdpx_import_start(upload=staged, actor=members.supervisor)
    assert Job.objects.filter(kind=JobKind.QDPX_IMPORT).count() == 1
    # While it waits the preview shows the job and polls for it.
    page = clients["supervisor"].get(staged.get_preview_url()).content.decode()
    assert f"REFI-QDA import #{job.pk}" in page and 'hx-trigger="every 1s"' in page
    assert "Waiting for a worker" in page and confirm not in page
    partial = clients["supervisor"].get(staged.get_preview_url(), headers={"HX-Request": "true"})
    assert partial.content.decode().lstrip().startswith('<div id="qdpx-preview"')
    # The worker runs it once; a second run of the same job does nothing.
    job_services.job_run(job_id=job.pk)
    assert job_services.job_run(job_id=job.pk) is None
    assert Coding.objects.filter(source__study=members.study).count() == len(NVIVO_PASSAGES)
    assert Source.objects.filter(study=members.study).count() == 1


def test_an_import_failing_midway_saves_nothing_and_its_job_says_why(
    members, clients, large, monkeypatch
):
    staged, _ = interchange_services.qdpx_import_stage(
        content=nvivo_project(),
        filename="talks.qdpx",
        uploaded_by=members.supervisor,
        study=members.study,
    )

    def broken(**kwargs):
        raise ValidationError("The coding overlaps the end of the text.")

    # The sources are saved by then; the codings fail.
    monkeypatch.setattr(coding_services, "codings_bulk_create", broken)
    response = clients["supervisor"].post(
        reverse("negotiations:qdpx_import_confirm", args=[staged.pk])
    )
    assert response["Location"] == staged.get_preview_url()
    job = Job.objects.get(kind=JobKind.QDPX_IMPORT)
    assert job.state == JobState.FAILED
    assert job.message == "Nothing was imported: The coding overlaps the end of the text."
    assert not Source.objects.filter(study=members.study).exists()
    assert not Coding.objects.exists()
    staged.refresh_from_db()
    assert staged.status == ImportStatus.FAILED
    page = clients["supervisor"].get(staged.get_preview_url()).content.decode()
    assert job.message in page and 'role="alert"' in page
    assert reverse("negotiations:qdpx_import_confirm", args=[staged.pk]) not in page


def test_a_new_study_whose_slug_was_taken_meanwhile_fails_and_creates_nothing(
    members, clients, large
):
    importer = UserFactory(username="ines")
    staged, _ = interchange_services.qdpx_import_stage(
        content=nvivo_project(),
        filename="talks.qdpx",
        uploaded_by=importer,
        study=None,
        new_study_name="Talks",
        new_study_slug="talks",
    )
    Study.objects.create(name="Someone else's talks", slug="talks")
    users_before = set(type(importer).objects.values_list("username", flat=True))
    job = job_services.qdpx_import_start(upload=staged, actor=importer)
    job.refresh_from_db()
    assert job.state == JobState.FAILED and job.study is None
    assert job.message.startswith("Nothing was imported: ")
    assert Study.objects.filter(slug="talks").count() == 1
    assert not Source.objects.exists()
    assert set(type(importer).objects.values_list("username", flat=True)) == users_before


def test_a_new_study_import_job_joins_the_study_it_made(members, large):
    importer = UserFactory(username="ines")
    staged, _ = interchange_services.qdpx_import_stage(
        content=nvivo_project(),
        filename="talks.qdpx",
        uploaded_by=importer,
        study=None,
        new_study_name="Talks",
        new_study_slug="talks",
    )
    job = job_services.qdpx_import_start(upload=staged, actor=importer)
    job.refresh_from_db()
    assert job.state == JobState.SUCCEEDED
    assert job.study == Study.objects.get(slug="talks")
    assert job.result["study"] == "talks"


def test_a_coder_may_not_upload_or_import(members, clients, large):
    url = reverse("negotiations:interchange", args=[members.study.slug])
    assert clients["coder"].post(url, {"file": upload(nvivo_project())}).status_code == 403
    staged, _ = interchange_services.qdpx_import_stage(
        content=nvivo_project(),
        filename="talks.qdpx",
        uploaded_by=members.supervisor,
        study=members.study,
    )
    confirm = reverse("negotiations:qdpx_import_confirm", args=[staged.pk])
    assert clients["coder"].post(confirm).status_code == 404  # someone else's upload
    assert clients["owner"].post(confirm).status_code == 404
    assert not Job.objects.filter(kind=JobKind.QDPX_IMPORT).exists()


# Reliability reports -------------------------------------------------------------------------


def report_url(study: Study) -> str:
    return reverse("negotiations:reliability", args=[study.slug])


def test_a_large_report_is_computed_by_a_job_and_then_cached(coded, clients, large):
    reader = clients["reader"]
    first = reader.get(report_url(coded.study), headers={"HX-Request": "true"}).content.decode()
    job = Job.objects.get(kind=JobKind.RELIABILITY)
    assert (job.state, job.started_by) == (JobState.SUCCEEDED, coded.reader)
    assert job.message.startswith("Computed in ")
    assert "Krippendorff" in first  # the job ran at once: the page shows its report
    assert ReportCache.objects.filter(study=coded.study).count() == 1
    again = reader.get(report_url(coded.study), {"compute": "1"}).content.decode()
    assert "From the cache" in again
    assert Job.objects.count() == 1


def test_while_the_report_job_waits_the_page_polls_it(coded, clients, large, settings):
    settings.TASKS = DUMMY_TASKS
    reader = clients["reader"]
    partial = reader.get(report_url(coded.study), headers={"HX-Request": "true"}).content.decode()
    job = Job.objects.get(kind=JobKind.RELIABILITY)
    assert job.state == JobState.QUEUED
    assert partial.lstrip().startswith('<div id="results">')
    assert f"job #{job.pk}" in partial and 'hx-trigger="every 1s"' in partial
    assert "Krippendorff" not in partial
    # A supervisor asking for the same report shares the job.
    clients["supervisor"].get(report_url(coded.study), headers={"HX-Request": "true"})
    assert Job.objects.count() == 1
    job_services.job_run(job_id=job.pk)
    done = reader.get(report_url(coded.study), headers={"HX-Request": "true"}).content.decode()
    assert "Krippendorff" in done and "From the cache" in done
    assert Job.objects.count() == 1


def test_a_failed_report_job_is_shown_and_can_be_tried_again(coded, clients, large, monkeypatch):
    def broken(**kwargs):
        raise MemoryError("out of memory")

    monkeypatch.setattr(reliability_services, "report_compute", broken)
    page = clients["reader"].get(report_url(coded.study), {"compute": "1"}).content.decode()
    job = Job.objects.get()
    assert job.state == JobState.FAILED and job.message == "The job failed: out of memory"
    assert "could not be computed" in page and "Try again" in page and "out of memory" in page
    clients["reader"].get(report_url(coded.study), {"compute": "1"})
    assert Job.objects.count() == 1  # shown, not started again at every look
    monkeypatch.undo()
    retried = clients["reader"].get(report_url(coded.study), {"compute": "1", "retry": "1"})
    assert Job.objects.count() == 2 and "Krippendorff" in retried.content.decode()


def test_the_passages_report_of_a_large_study_is_a_job_too(coded, clients, large):
    page = (
        clients["supervisor"]
        .get(report_url(coded.study), {"unit": "passage", "compute": "1"})
        .content.decode()
    )
    job = Job.objects.get()
    assert (job.kind, job.state) == (JobKind.PASSAGES, JobState.SUCCEEDED)
    assert job.params["unitizing"] is True
    assert "u-alpha" in page or "Passages" in page


def test_a_small_report_is_computed_in_the_request(coded, clients):
    page = clients["reader"].get(report_url(coded.study), {"compute": "1"}).content.decode()
    assert "Krippendorff" in page
    assert not Job.objects.exists()


def test_a_coder_starts_no_report_job(coded, clients, large):
    assert clients["coder"].get(report_url(coded.study), {"compute": "1"}).status_code == 403
    assert not Job.objects.exists()


def test_a_new_submission_means_a_new_report_job(coded, clients, large, settings):
    settings.TASKS = DUMMY_TASKS
    clients["reader"].get(report_url(coded.study), {"compute": "1"})
    Study.objects.filter(pk=coded.study.pk).update(data_version=coded.study.data_version + 5)
    clients["reader"].get(report_url(coded.study), {"compute": "1"})
    keys = set(Job.objects.values_list("params__key", flat=True))
    assert len(keys) == 2


def test_the_export_size_counts_texts_sources_and_codings(coded):
    from negotiations.interchange.selectors import CODING_CHARS, SOURCE_CHARS, study_export_chars

    text = sum(len(s.text) for s in Source.objects.filter(study=coded.study))
    assert study_export_chars(study=coded.study) == text + 3 * SOURCE_CHARS + 6 * CODING_CHARS
