"""Assessment pages: the cross-case overview, the matrix of one negotiation, a cell's passages,
the timeline, robustness across evidence bases and the editable rule."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import (
    Http404,
    HttpResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from negotiations.access import MANAGERS, READERS_AND_MANAGERS, study_for_member
from negotiations.assessments import selectors, services
from negotiations.assessments.charts import timeline_chart
from negotiations.assessments.forms import AssessmentRuleForm, JudgementForm
from negotiations.chart_layout import SIZES
from negotiations.http import HtmxHttpRequest, form_errors, table_response
from negotiations.models import (
    AssessmentJudgement,
    Negotiation,
)


def _verdict_symbol(verdict: str) -> str:
    return {"present": "✓", "absent": "✗", "contested": "±", "insufficient": "?"}.get(verdict, "?")


@require_GET
def assessments(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """The cross-case overview: negotiations x elements x parties coloured by verdict."""
    study, membership = study_for_member(request, slug, READERS_AND_MANAGERS)
    data = selectors.assessment(study=study)
    if request.GET.get("format") == "csv":
        return table_response(
            request,
            f"{study.slug}-assessments",
            selectors.ASSESSMENT_COLUMNS,
            selectors.assessment_rows(data),
        )
    rows = []
    for negotiation in data.negotiations:
        principals = [
            p for p in data.parties[negotiation.pk] if p.pk in data.principals[negotiation.pk]
        ] or data.parties[negotiation.pk]
        rows.append(
            {
                "negotiation": negotiation,
                "cells": [
                    [data.get(negotiation.pk, 0, code.pk, party.pk) for party in principals]
                    for code in data.codes
                ],
                "parties": principals,
                "trust": data.strategic_trust(negotiation.pk),
            }
        )
    context = {
        "study": study,
        "membership": membership,
        "data": data,
        "rows": rows,
        "rule": selectors.study_rule(study),
        "max_parties": max((len(r["parties"]) for r in rows), default=0),
    }
    return render(request, "negotiations/assessments/assessments.html", context)


def _negotiation_for(study, negotiation_id: int):
    return get_object_or_404(Negotiation, study=study, pk=negotiation_id)


@require_GET
def assessment_negotiation(
    request: HtmxHttpRequest, slug: str, negotiation_id: int
) -> HttpResponse:
    """One negotiation: element x party matrices for the whole case and for each phase."""
    study, membership = study_for_member(request, slug, READERS_AND_MANAGERS)
    negotiation = _negotiation_for(study, negotiation_id)
    data = selectors.assessment(study=study, negotiation_id=negotiation.pk)
    negotiation = data.negotiations[0]
    parties = data.parties[negotiation.pk]
    tables = []
    for phase in [None, *negotiation.phases.all()]:
        phase_id = phase.pk if phase else 0
        tables.append(
            {
                "phase": phase,
                "rows": [
                    {
                        "code": code,
                        "cells": [
                            data.get(negotiation.pk, phase_id, code.pk, p.pk) for p in parties
                        ],
                    }
                    for code in data.codes
                ],
            }
        )
    context = {
        "study": study,
        "membership": membership,
        "negotiation": negotiation,
        "parties": parties,
        "tables": tables,
        "data": data,
        "trust": data.strategic_trust(negotiation.pk),
        "rule": selectors.study_rule(study),
    }
    return render(request, "negotiations/assessments/assessment_negotiation.html", context)


@require_http_methods(["GET", "POST"])
def assessment_cell(request: HtmxHttpRequest, slug: str, negotiation_id: int) -> HttpResponse:
    """The passages behind one cell, its verdict, and the supervisors' judgements on it."""
    study, membership = study_for_member(request, slug, READERS_AND_MANAGERS)
    negotiation = _negotiation_for(study, negotiation_id)
    params = request.POST if request.method == "POST" else request.GET
    try:
        phase_id = int(params.get("phase") or 0)
        code_id = int(params["code"])
        party_id = int(params["party"])
    except (KeyError, ValueError):
        raise Http404("No such cell.") from None
    data = selectors.assessment(study=study, negotiation_id=negotiation.pk)
    try:
        cell = data.get(negotiation.pk, phase_id, code_id, party_id)
    except KeyError:
        raise Http404("No such cell.") from None
    form = JudgementForm(request.POST or None)
    if request.method == "POST":
        if not membership.can_manage:
            raise PermissionDenied("Only supervisors write judgements.")
        if form.is_valid():
            try:
                services.judgement_record(
                    study=study,
                    negotiation=negotiation,
                    phase=cell.phase,
                    code=cell.code,
                    party=cell.party,
                    judgement=form.cleaned_data["judgement"],
                    override_verdict=form.cleaned_data["override_verdict"],
                    rationale=form.cleaned_data["rationale"],
                    computed_verdict=cell.computed,
                    author=request.user,
                )
            except ValidationError as exc:
                form_errors(form, exc)
            else:
                messages.success(request, "Judgement saved.")
                return redirect(request.get_full_path())
    source_id = params.get("source")
    month = params.get("month", "")
    passages = selectors.cell_passages(
        study=study,
        negotiation_id=negotiation.pk,
        phase_id=phase_id,
        code_id=code_id,
        party_id=party_id,
        source_id=int(source_id) if source_id and source_id.isdigit() else None,
        month=month if len(month) == 7 and month[:4].isdigit() and month[5:].isdigit() else None,
    )
    history = AssessmentJudgement.objects.filter(
        negotiation=negotiation, phase_id=phase_id or None, code_id=code_id, party_id=party_id
    ).select_related("author")
    context = {
        "study": study,
        "membership": membership,
        "negotiation": negotiation,
        "cell": cell,
        "passages": passages,
        "filtered_source": source_id or month,
        "form": form,
        "history": history,
        "rule": selectors.study_rule(study),
    }
    return render(
        request,
        "negotiations/assessments/assessment_cell.html",
        context,
        status=422 if form.errors else 200,
    )


@require_GET
def assessment_timeline(request: HtmxHttpRequest, slug: str, negotiation_id: int) -> HttpResponse:
    """Evidence for and against each element over time, phases shaded and key events marked."""
    study, membership = study_for_member(request, slug, READERS_AND_MANAGERS)
    negotiation = _negotiation_for(study, negotiation_id)
    rule = selectors.study_rule(study)
    marks = selectors.timeline_marks(study=study, negotiation_id=negotiation.pk, rule=rule)
    party_links = list(negotiation.negotiationparty_set.select_related("party"))
    party_filter = request.GET.get("party", "")
    if party_filter.isdigit():
        marks = [m for m in marks if m["party"] == int(party_filter)]
    codes = selectors.assessment_codes(study=study)
    phases = list(negotiation.phases.all())
    events = list(negotiation.events.all())
    cell_url = reverse("negotiations:assessment_cell", args=[study.slug, negotiation.pk])
    # One picture per screen size; the stylesheet shows the one that fits the window.
    charts = [
        {
            **timeline_chart(
                phases=phases,
                events=events,
                case_dates=(negotiation.start_date, negotiation.end_date),
                codes=codes,
                marks=marks,
                cell_url=cell_url,
                width=width,
            ),
            "size": size,
        }
        for size, width in SIZES
    ]
    context = {
        "study": study,
        "membership": membership,
        "negotiation": negotiation,
        "parties": [link.party for link in party_links],
        "party_filter": party_filter,
        "charts": charts,
        "events": events,
    }
    return render(request, "negotiations/assessments/assessment_timeline.html", context)


@require_GET
def assessment_robustness(request: HtmxHttpRequest, slug: str, negotiation_id: int) -> HttpResponse:
    """Whether each verdict holds with settled consensus only, unanimous units only, or all
    coders' codings."""
    study, membership = study_for_member(request, slug, READERS_AND_MANAGERS)
    negotiation = _negotiation_for(study, negotiation_id)
    bases = ["combined", "consensus", "unanimous", "coders"]
    data = {
        mode: selectors.assessment(study=study, mode=mode, negotiation_id=negotiation.pk)
        for mode in bases
    }
    main = data["combined"]
    negotiation = main.negotiations[0]
    rows = []
    for code in main.codes:
        for party in main.parties[negotiation.pk]:
            verdicts = [
                data[mode].get(negotiation.pk, 0, code.pk, party.pk).computed for mode in bases
            ]
            # A verdict holds only when every base gives the same one; a verdict that turns
            # "insufficient" on another base does not hold, and the page says what it becomes.
            changes = [
                (selectors.EVIDENCE_MODES[mode], v)
                for mode, v in zip(bases[1:], verdicts[1:], strict=True)
                if v != verdicts[0]
            ]
            rows.append(
                {
                    "code": code,
                    "party": party,
                    "verdicts": verdicts,
                    "holds": not changes,
                    "changes": changes,
                }
            )
    context = {
        "study": study,
        "membership": membership,
        "negotiation": negotiation,
        "bases": [(mode, selectors.EVIDENCE_MODES[mode]) for mode in bases],
        "rows": rows,
    }
    return render(request, "negotiations/assessments/assessment_robustness.html", context)


@require_http_methods(["GET", "POST"])
def assessment_rule(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    study, membership = study_for_member(request, slug, MANAGERS)
    form = AssessmentRuleForm(request.POST or None, instance=study)
    if request.method == "POST" and form.is_valid():
        try:
            services.study_update_rule(
                study=study,
                min_sources=form.cleaned_data["rule_min_sources"],
                use_strength=form.cleaned_data["rule_use_strength"],
                contested_min_weight=form.cleaned_data["rule_contested_min_weight"],
                contested_ratio=form.cleaned_data["rule_contested_ratio"],
            )
        except ValidationError as exc:
            form_errors(form, exc)
        else:
            messages.success(request, "Rule saved; every verdict now follows it.")
            return redirect("negotiations:assessments", slug=study.slug)
    context = {
        "study": study,
        "membership": membership,
        "form": form,
        "rule": selectors.study_rule(study),
    }
    return render(request, "negotiations/assessments/assessment_rule.html", context)
