"""The account page's API tokens: a user creates and revokes their own personal tokens."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, time

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from negotiations.access import READERS_AND_MANAGERS, study_for_member
from negotiations.api import selectors, services
from negotiations.api.forms import ApiTokenForm
from negotiations.api.replication import replication_package_write
from negotiations.http import HtmxHttpRequest, form_errors
from negotiations.interchange import selectors as interchange_selectors
from negotiations.jobs import services as job_services
from negotiations.models import ApiToken, JobKind


def _context(request: HtmxHttpRequest, form: ApiTokenForm, created) -> dict:
    return {
        "form": form,
        "created": created,
        "tokens": selectors.api_token_list_for_user(user=request.user),
        "now": timezone.now(),
        "rate_per_minute": ApiToken._meta.get_field("rate_per_minute").default,
    }


@require_http_methods(["GET", "POST"])
def api_tokens(request: HtmxHttpRequest) -> HttpResponse:
    """The user's tokens; a POST creates one and shows its secret this once."""
    form = ApiTokenForm(request.POST or None)
    created = None
    if request.method == "POST" and form.is_valid():
        expires_on = form.cleaned_data["expires_on"]
        try:
            created = services.api_token_create(
                user=request.user,
                name=form.cleaned_data["name"],
                expires_at=datetime.combine(expires_on, time.min, tzinfo=UTC)
                if expires_on
                else None,
            )
        except ValidationError as exc:
            form_errors(form, exc)
        else:
            form = ApiTokenForm()
    context = _context(request, form, created)
    template = "negotiations/api/tokens.html"
    if request.htmx:
        template += "#tokens"
    return render(request, template, context)


@require_POST
def api_token_revoke(request: HtmxHttpRequest, token_id: int) -> HttpResponse:
    try:
        services.api_token_revoke(user=request.user, token_id=token_id)
    except ApiToken.DoesNotExist:
        raise Http404("No such token.") from None
    if request.htmx:
        context = _context(request, ApiTokenForm(), None)
        return render(request, "negotiations/api/tokens.html#tokens", context)
    return redirect("negotiations:api_tokens")


@require_GET
def replication_package(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """The study's replication package as a zip (readers, supervisors, owners), at once for a
    study small enough; a larger one is sent to the exports page, which offers it as a job."""
    study, _ = study_for_member(request, slug, READERS_AND_MANAGERS)
    if (
        interchange_selectors.study_export_chars(study=study)
        > settings.TRUSTCODER_BACKGROUND_EXPORT_CHARS
    ):
        messages.info(request, "This study is large: prepare the package in the background.")
        return redirect("negotiations:exports", slug=study.slug)
    # Spooled: small packages stay in memory, large ones go to a temporary file.
    handle = tempfile.SpooledTemporaryFile(max_size=32 * 1024 * 1024)  # noqa: SIM115
    replication_package_write(study=study, output=handle)
    handle.seek(0)
    stamp = timezone.now().strftime("%Y%m%d")
    return FileResponse(
        handle, as_attachment=True, filename=f"{study.slug}-replication-{stamp}.zip"
    )


@require_POST
def replication_package_start(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """Have a worker write the replication package; its job page offers the file."""
    study, _ = study_for_member(request, slug, READERS_AND_MANAGERS)
    job = job_services.export_start(study=study, kind=JobKind.REPLICATION, actor=request.user)
    url = reverse("negotiations:job_detail", args=[study.slug, job.pk])
    if request.htmx:
        return HttpResponseClientRedirect(url)
    return redirect(url)
