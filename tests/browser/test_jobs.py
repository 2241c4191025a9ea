"""A job's page in a real browser: the progress bar follows the job by htmx polling."""

from __future__ import annotations

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from negotiations.models import Job, JobKind, JobState, Role
from negotiations.studies import services as study_services
from tests.browser.conftest import log_in
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.browser


def test_the_progress_bar_moves_and_stops_when_the_job_ends(page):
    owner = UserFactory(username="olivia")
    study = study_services.study_create(name="Browser study", slug="browser", created_by=owner)
    UserFactory(username="sam")
    study_services.membership_add(
        study=study, identifier="sam", role=Role.SUPERVISOR, actor_role=Role.OWNER
    )
    job = Job.objects.create(
        study=study,
        kind=JobKind.IMPORT_RUN,
        started_by=owner,
        state=JobState.RUNNING,
        progress_done=10,
        progress_total=100,
        started_at=timezone.now(),
        heartbeat_at=timezone.now(),
        worker="elsewhere:1",
    )
    log_in(page, "sam", PASSWORD)
    page.goto(f"/studies/browser/jobs/{job.pk}/")
    page.evaluate("window.__marker = 'same page'")
    bar = page.locator("#job-status progress")
    expect(bar).to_have_attribute("value", "10")
    expect(page.locator("#job-status")).to_contain_text("10 of 100 rows (10%)")

    Job.objects.filter(pk=job.pk).update(progress_done=60, heartbeat_at=timezone.now())
    expect(bar).to_have_attribute("value", "60")

    Job.objects.filter(pk=job.pk).update(
        state=JobState.SUCCEEDED,
        progress_done=100,
        finished_at=timezone.now(),
        message="Imported 100 sources.",
    )
    expect(page.locator("#job-status")).to_contain_text("Imported 100 sources.")
    expect(page.locator("#job-status")).not_to_have_attribute("hx-trigger", "every 1s")
    assert page.evaluate("window.__marker") == "same page"

    page.goto("/studies/browser/jobs/")
    expect(page.locator("#jobs")).to_contain_text(f"Import #{job.pk}")
    expect(page.locator("#jobs")).to_contain_text("Succeeded")
