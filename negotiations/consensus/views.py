"""Review pages: the queue, a unit's lanes and decision, history and coders vs consensus."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import (
    Http404,
    HttpResponse,
    QueryDict,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from negotiations.access import MANAGERS, READERS_AND_MANAGERS, study_for_member
from negotiations.chart_layout import SIZES
from negotiations.codebook import selectors as codebook_selectors
from negotiations.coding.highlight import Span, render_text_html
from negotiations.consensus import selectors, services
from negotiations.consensus.charts import drift_chart
from negotiations.consensus.forms import ConsensusDecisionForm, ConsensusFilterForm
from negotiations.http import HtmxHttpRequest, error_text, table_response
from negotiations.models import (
    ConsensusUnit,
    Role,
    Stance,
    Strength,
)
from negotiations.studies import selectors as study_selectors

UNITS_PER_PAGE = 50


def _review_query(request: HtmxHttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


@require_GET
def review_queue(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """The disagreements to settle, with filters, progress and impact order (supervisors)."""
    study, membership = study_for_member(request, slug, MANAGERS)
    services.consensus_sync(study=study)
    form = ConsensusFilterForm(request.GET or None, study=study)
    units = selectors.consensus_queue(study=study, filters=form.filters())
    page = Paginator(units, UNITS_PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "study": study,
        "membership": membership,
        "form": form,
        "page": page,
        "groups": selectors.consensus_queue_by_source(units=list(page.object_list)),
        "query": _review_query(request),
        "progress": selectors.consensus_progress(study=study),
    }
    template = "negotiations/consensus/review_queue.html"
    if request.htmx:
        template += "#queue"
    return render(request, template, context)


def _unit_context(request: HtmxHttpRequest, study, membership, unit_id: int, **extra) -> dict:
    filters = ConsensusFilterForm(request.GET or None, study=study).filters()
    try:
        data = selectors.consensus_unit_page(study=study, unit_id=unit_id, filters=filters)
    except ConsensusUnit.DoesNotExist:
        raise Http404("No such unit.") from None
    unit = data.unit
    source = unit.source
    segments = list(source.segments.order_by("index").values_list("start", "end"))
    text_html = render_text_html(
        source.text,
        segments,
        (Span(c.pk, c.start, c.end, c.code_id, c.stance) for c in data.consensus_codings),
        marked_segment=unit.segment.index,
    )
    readings = sorted({lane["reading"] for lane in data.lanes if lane["reading"]})
    return {
        "study": study,
        "membership": membership,
        "data": data,
        "unit": unit,
        "source": source,
        "text_html": mark_safe(text_html),
        "readings": readings,
        "segment_text": source.text[unit.segment.start : unit.segment.end],
        "query": _review_query(request),
        "codes": codebook_selectors.active_code_list(study=study),
        "parties": study_selectors.party_list(study=study),
        "stances": Stance.choices,
        "strengths": Strength.choices,
        **extra,
    }


@require_GET
def review_unit(request: HtmxHttpRequest, slug: str, unit_id: int) -> HttpResponse:
    """One unit: the source with the disputed sentence marked, each coder's codings in lanes."""
    study, membership = study_for_member(request, slug, MANAGERS)
    return render(
        request,
        "negotiations/consensus/review_unit.html",
        _unit_context(request, study, membership, unit_id),
    )


def _unit_url(study, unit_id: int, query: str) -> str:
    url = reverse("negotiations:review_unit", args=[study.slug, unit_id])
    return f"{url}?{query}" if query else url


@require_POST
def review_decide(request: HtmxHttpRequest, slug: str, unit_id: int) -> HttpResponse:
    """Settle a unit; on success go to the next unit of the queue."""
    study, membership = study_for_member(request, slug, MANAGERS)
    get_object_or_404(ConsensusUnit, study=study, pk=unit_id)
    form = ConsensusDecisionForm(request.POST, study=study)
    query = request.POST.get("query", "")
    status = 200
    if not form.is_valid():
        messages.error(request, form.error_text())
        status = 422
    else:
        data = form.cleaned_data
        custom = None
        if data["decision"] == "custom":
            custom = services.CustomConsensus(
                start=data["start"],
                end=data["end"],
                quote=data["quote"],
                code=data["code"],
                stance=data["stance"],
                party=data["demonstrating_party"],
                strength=data["strength"] or "",
            )
        try:
            services.consensus_decide(
                unit_id=unit_id,
                actor=request.user,
                decision=data["decision"],
                seen_version=data["version"],
                coder_id=data.get("coder"),
                custom=custom,
                rationale=data.get("rationale") or "",
            )
        except services.ConsensusConflict as exc:
            messages.error(request, str(exc))
            status = 409
        except ValidationError as exc:
            messages.error(request, error_text(exc))
            status = 422
        else:
            messages.success(request, "Settled.")
            next_id = request.POST.get("next")
            target = int(next_id) if next_id and next_id.isdigit() else unit_id
            return redirect(_unit_url(study, target, query))
    request.GET = QueryDict(query)
    return render(
        request,
        "negotiations/consensus/review_unit.html",
        _unit_context(
            request,
            study,
            membership,
            unit_id,
            rationale=request.POST.get("rationale", ""),
            # A refused consensus coding keeps its panel open with every value chosen.
            posted=request.POST if request.POST.get("decision") == "custom" else None,
        ),
        status=status,
    )


@require_POST
def review_reopen(request: HtmxHttpRequest, slug: str, unit_id: int) -> HttpResponse:
    study, _membership = study_for_member(request, slug, MANAGERS)
    get_object_or_404(ConsensusUnit, study=study, pk=unit_id)
    query = request.POST.get("query", "")
    try:
        version = int(request.POST.get("version", "-1"))
        services.consensus_reopen(unit_id=unit_id, actor=request.user, seen_version=version)
    except services.ConsensusConflict as exc:
        messages.error(request, str(exc))
    except ValueError:
        messages.error(request, "Reload the page and try again.")
    else:
        messages.success(request, "Reopened.")
    return redirect(_unit_url(study, unit_id, query))


@require_GET
def review_history(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """The audit trail of the consensus layer: every decision, reopening and flag."""
    study, membership = study_for_member(request, slug, MANAGERS)
    page = Paginator(selectors.consensus_event_list(study=study), 100).get_page(
        request.GET.get("page")
    )
    context = {"study": study, "membership": membership, "page": page, "query": ""}
    return render(request, "negotiations/consensus/review_history.html", context)


@require_http_methods(["GET", "POST"])
def consensus_coders(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """Each coder's agreement with the consensus, per element and over time."""
    study, membership = study_for_member(request, slug)
    if request.method == "POST":
        if not membership.can_manage:
            raise PermissionDenied("Only supervisors release these figures.")
        services.consensus_release(study=study, released=request.POST.get("released") == "1")
        messages.success(request, "Saved.")
        return redirect("negotiations:consensus_coders", slug=study.slug)
    if membership.role == Role.CODER and not study.consensus_released:
        raise PermissionDenied("Your supervisor has not released these figures yet.")
    if membership.role == Role.READER:
        raise PermissionDenied("Coder figures are for supervisors and the coders themselves.")
    services.consensus_sync(study=study)
    only = request.user.pk if membership.role == Role.CODER else None
    figures = selectors.coder_consensus_figures(study=study, only_coder=only)
    context = {
        "study": study,
        "membership": membership,
        "figures": figures,
        # One picture per screen size; the stylesheet shows the one that fits the window.
        "charts": [{**drift_chart(figures, width=w), "size": size} for size, w in SIZES],
        "command": CONSENSUS_COMMAND,
    }
    return render(request, "negotiations/consensus/consensus_coders.html", context)


CONSENSUS_COMMAND = "python manage.py agreement_stats MATRIX.csv --order=for,against,mixed,none"


@require_GET
def consensus_coders_matrix(request: HtmxHttpRequest, slug: str) -> StreamingHttpResponse:
    """One coder against the consensus as a matrix `agreement_stats` reads (its cohen_kappa and
    percent_agreement are the page's figures); optionally one element."""
    study, membership = study_for_member(request, slug)
    if membership.role == Role.CODER and not study.consensus_released:
        raise PermissionDenied("Your supervisor has not released these figures yet.")
    if membership.role == Role.READER:
        raise PermissionDenied("Coder figures are for supervisors and the coders themselves.")
    coder, element = request.GET.get("coder", ""), request.GET.get("element", "")
    if membership.role == Role.CODER:
        coder_id = request.user.pk
    elif coder.isdigit():
        coder_id = int(coder)
    else:
        raise Http404("No such coder.")
    code_id = int(element) if element.isdigit() else None
    services.consensus_sync(study=study)
    rows = selectors.coder_consensus_matrix_rows(study=study, coder_id=coder_id, code_id=code_id)
    header = next(rows)
    suffix = f"-element{code_id}" if code_id else ""
    return table_response(request, f"{study.slug}-coder{coder_id}-consensus{suffix}", header, rows)


@require_GET
def export_consensus(request: HtmxHttpRequest, slug: str) -> StreamingHttpResponse:
    study, _ = study_for_member(request, slug, READERS_AND_MANAGERS)
    stamp = timezone.now().strftime("%Y%m%d")
    return table_response(
        request,
        f"{study.slug}-consensus-{stamp}",
        selectors.CONSENSUS_COLUMNS,
        selectors.consensus_rows(study=study),
    )
