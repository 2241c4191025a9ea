"""Study pages: home, create, overview, settings, parties, negotiations and phases."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import (
    HttpResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from negotiations.access import MANAGERS, study_for_member
from negotiations.http import HtmxHttpRequest, form_errors
from negotiations.models import (
    Event,
    Membership,
    Negotiation,
    Party,
    Phase,
    Source,
)
from negotiations.studies import selectors, services
from negotiations.studies.forms import (
    EventForm,
    NegotiationForm,
    PartyForm,
    PartyMergeForm,
    PhaseForm,
    StudyForm,
    StudySettingsForm,
)


@require_GET
def home(request: HtmxHttpRequest) -> HttpResponse:
    memberships = selectors.membership_list_for_user(user=request.user)
    return render(request, "negotiations/studies/home.html", {"memberships": memberships})


@require_http_methods(["GET", "POST"])
def study_create(request: HtmxHttpRequest) -> HttpResponse:
    form = StudyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            study = services.study_create(
                name=form.cleaned_data["name"],
                slug=form.cleaned_data["slug"],
                description=form.cleaned_data["description"],
                created_by=request.user,
            )
        except ValidationError as exc:
            form_errors(form, exc)
        else:
            messages.success(request, f"Study {study.name} created with the default codebook.")
            return redirect("negotiations:study_detail", slug=study.slug)
    return render(request, "negotiations/studies/study_create.html", {"form": form})


@require_GET
def study_detail(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    study, membership = study_for_member(request, slug)
    checklist = selectors.study_setup_checklist(study=study) if membership.can_manage else []
    context = {
        "study": study,
        "membership": membership,
        "negotiations": selectors.negotiation_list(study=study),
        "n_sources": Source.objects.filter(study=study).count(),
        "n_members": Membership.objects.filter(study=study).count(),
        # Shown until every step is done.
        "checklist": checklist if not all(step.done for step in checklist) else [],
    }
    return render(request, "negotiations/studies/study_detail.html", context)


@require_http_methods(["GET", "POST"])
def study_settings(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    study, membership = study_for_member(request, slug, MANAGERS)
    form = StudySettingsForm(request.POST or None, instance=study)
    if request.method == "POST" and form.is_valid():
        services.study_update_settings(
            study=study,
            name=form.cleaned_data["name"],
            description=form.cleaned_data["description"],
            blind_coding=form.cleaned_data["blind_coding"],
            snap_to_words=form.cleaned_data["snap_to_words"],
        )
        messages.success(request, "Settings saved.")
        return redirect("negotiations:study_settings", slug=study.slug)
    context = {"study": study, "membership": membership, "form": form}
    return render(request, "negotiations/studies/study_settings.html", context)


@require_http_methods(["GET", "POST"])
def party_list(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    roles = MANAGERS if request.method == "POST" else None
    study, membership = study_for_member(request, slug, roles)
    form = PartyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            party = services.party_create(
                study=study, code=form.cleaned_data["code"], name=form.cleaned_data["name"]
            )
        except ValidationError as exc:
            form_errors(form, exc)
        else:
            messages.success(request, f"Party {party.code} added.")
            return redirect("negotiations:party_list", slug=study.slug)
    context = {
        "study": study,
        "membership": membership,
        "parties": selectors.party_list(study=study),
        "form": form,
        "changes": selectors.change_record_list(study=study) if membership.can_manage else [],
    }
    return render(request, "negotiations/studies/parties.html", context)


def _party_edit_page(request, study, membership, party, form=None, merge_form=None):
    context = {
        "study": study,
        "membership": membership,
        "party": party,
        "form": form or PartyForm(instance=party),
        "merge_form": merge_form or PartyMergeForm(party=party),
        "n_codings": party.codings.count(),
    }
    return render(request, "negotiations/studies/party_edit.html", context)


@require_http_methods(["GET", "POST"])
def party_edit(request: HtmxHttpRequest, slug: str, party_id: int) -> HttpResponse:
    """Rename a party; its codings keep naming it under the new code."""
    study, membership = study_for_member(request, slug, MANAGERS)
    party = get_object_or_404(Party, study=study, pk=party_id)
    form = PartyForm(request.POST or None, instance=party)
    if request.method == "POST" and form.is_valid():
        try:
            party = services.party_update(
                party=party,
                code=form.cleaned_data["code"],
                name=form.cleaned_data["name"],
                actor=request.user,
            )
        except ValidationError as exc:
            form_errors(form, exc)
        else:
            messages.success(request, f"Party {party.code} saved.")
            return redirect("negotiations:party_list", slug=study.slug)
    return _party_edit_page(request, study, membership, party, form=form)


@require_POST
def party_merge(request: HtmxHttpRequest, slug: str, party_id: int) -> HttpResponse:
    study, membership = study_for_member(request, slug, MANAGERS)
    party = get_object_or_404(Party, study=study, pk=party_id)
    merge_form = PartyMergeForm(request.POST, party=party)
    if merge_form.is_valid():
        code = party.code
        try:
            into = services.party_merge(
                party=party, into=merge_form.cleaned_data["into"], actor=request.user
            )
        except ValidationError as exc:
            form_errors(merge_form, exc)
        else:
            messages.success(request, f"Party {code} merged into {into.code}.")
            return redirect("negotiations:party_list", slug=study.slug)
    return _party_edit_page(request, study, membership, party, merge_form=merge_form)


@require_GET
def negotiation_list(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    study, membership = study_for_member(request, slug)
    context = {
        "study": study,
        "membership": membership,
        "negotiations": selectors.negotiation_list(study=study),
    }
    return render(request, "negotiations/studies/negotiation_list.html", context)


@require_http_methods(["GET", "POST"])
def negotiation_create(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    study, membership = study_for_member(request, slug, MANAGERS)
    form = NegotiationForm(request.POST or None, study=study)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            negotiation = services.negotiation_create(
                study=study,
                name=data["name"],
                description=data["description"],
                start_date=data["start_date"],
                end_date=data["end_date"],
                parties=data["parties"],
                principal_parties=data["principal_parties"],
            )
        except ValidationError as exc:
            form_errors(form, exc)
        else:
            messages.success(request, f"{negotiation.name} created; now add its phases.")
            return redirect(
                "negotiations:negotiation_edit", slug=study.slug, negotiation_id=negotiation.pk
            )
    context = {"study": study, "membership": membership, "form": form}
    return render(request, "negotiations/studies/negotiation_form.html", context)


def _negotiation_edit_context(study, membership, negotiation, **forms) -> dict:
    return {
        "study": study,
        "membership": membership,
        "negotiation": negotiation,
        "phases": negotiation.phases.order_by("order", "start_date"),
        "events": negotiation.events.order_by("date"),
        "form": forms.get("form") or NegotiationForm(instance=negotiation, study=study),
        "phase_form": forms.get("phase_form") or PhaseForm(),
        "event_form": forms.get("event_form") or EventForm(),
    }


@require_http_methods(["GET", "POST"])
def negotiation_edit(request: HtmxHttpRequest, slug: str, negotiation_id: int) -> HttpResponse:
    study, membership = study_for_member(request, slug, MANAGERS)
    negotiation = get_object_or_404(Negotiation, study=study, pk=negotiation_id)
    form = NegotiationForm(request.POST or None, instance=negotiation, study=study)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.negotiation_update(
                negotiation=negotiation,
                name=data["name"],
                description=data["description"],
                start_date=data["start_date"],
                end_date=data["end_date"],
                parties=data["parties"],
                principal_parties=data["principal_parties"],
                actor=request.user,
            )
        except ValidationError as exc:
            form_errors(form, exc)
        else:
            messages.success(request, f"{negotiation.name} saved.")
            return redirect(
                "negotiations:negotiation_edit", slug=study.slug, negotiation_id=negotiation.pk
            )
    return render(
        request,
        "negotiations/studies/negotiation_edit.html",
        _negotiation_edit_context(study, membership, negotiation, form=form),
    )


def _add_to_negotiation(
    request: HtmxHttpRequest,
    slug: str,
    negotiation_id: int,
    form_class,
    create,
    form_key: str,
    done: str,
) -> HttpResponse:
    """Add a phase or an event from the negotiation page's small forms."""
    study, membership = study_for_member(request, slug, MANAGERS)
    negotiation = get_object_or_404(Negotiation, study=study, pk=negotiation_id)
    form = form_class(request.POST)
    if form.is_valid():
        try:
            create(negotiation=negotiation, **form.cleaned_data)
        except ValidationError as exc:
            form_errors(form, exc)
        else:
            messages.success(request, done)
            return redirect(
                "negotiations:negotiation_edit", slug=study.slug, negotiation_id=negotiation.pk
            )
    return render(
        request,
        "negotiations/studies/negotiation_edit.html",
        _negotiation_edit_context(study, membership, negotiation, **{form_key: form}),
        status=422,
    )


@require_POST
def phase_create(request: HtmxHttpRequest, slug: str, negotiation_id: int) -> HttpResponse:
    return _add_to_negotiation(
        request,
        slug,
        negotiation_id,
        PhaseForm,
        services.phase_create,
        "phase_form",
        "Phase added.",
    )


@require_POST
def phase_update(
    request: HtmxHttpRequest, slug: str, negotiation_id: int, phase_id: int
) -> HttpResponse:
    study, _membership = study_for_member(request, slug, MANAGERS)
    phase = get_object_or_404(
        Phase, negotiation__study=study, negotiation_id=negotiation_id, pk=phase_id
    )
    if request.POST.get("delete"):
        try:
            services.phase_delete(phase=phase)
            messages.success(request, f"Phase {phase.name} deleted.")
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
    else:
        form = PhaseForm(request.POST, instance=Phase(negotiation=phase.negotiation))
        if form.is_valid():
            try:
                services.phase_update(phase=phase, **form.cleaned_data)
                messages.success(request, f"Phase {phase.name} saved.")
            except ValidationError as exc:
                messages.error(request, " ".join(exc.messages))
        else:
            messages.error(request, "The phase was not saved: check its name, kind and dates.")
    return redirect("negotiations:negotiation_edit", slug=study.slug, negotiation_id=negotiation_id)


@require_POST
def event_create(request: HtmxHttpRequest, slug: str, negotiation_id: int) -> HttpResponse:
    return _add_to_negotiation(
        request,
        slug,
        negotiation_id,
        EventForm,
        services.event_create,
        "event_form",
        "Event added.",
    )


@require_POST
def event_delete(
    request: HtmxHttpRequest, slug: str, negotiation_id: int, event_id: int
) -> HttpResponse:
    study, _ = study_for_member(request, slug, MANAGERS)
    event = get_object_or_404(
        Event, negotiation__study=study, negotiation_id=negotiation_id, pk=event_id
    )
    event.delete()
    messages.success(request, "Event deleted.")
    return redirect("negotiations:negotiation_edit", slug=study.slug, negotiation_id=negotiation_id)
