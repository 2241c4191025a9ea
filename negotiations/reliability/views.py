"""The reliability report page, its unit x coder matrix download and the compare view."""

from __future__ import annotations

from django.conf import settings
from django.http import (
    Http404,
    HttpResponse,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404, render
from django.utils.text import slugify
from django.views.decorators.http import require_GET

from negotiations.access import MANAGERS, READERS_AND_MANAGERS, study_for_member
from negotiations.chart_layout import SIZES
from negotiations.http import HtmxHttpRequest, csv_response, table_response
from negotiations.jobs import services as job_services
from negotiations.models import (
    Coding,
    Job,
    JobState,
    Membership,
    Source,
    Study,
)
from negotiations.reliability import selectors, services
from negotiations.reliability.charts import alpha_chart, heat_matrix
from negotiations.reliability.forms import ReliabilityFilterForm
from negotiations.reliability.passages import PASSAGE_COLUMNS, passage_rows
from negotiations.reliability.report import RELIABILITY_COLUMNS, reliability_rows
from negotiations.reliability.selectors import ReliabilityFilters


def _pair(request: HtmxHttpRequest) -> tuple[int, int] | None:
    try:
        first, second = int(request.GET["pair_a"]), int(request.GET["pair_b"])
    except (KeyError, ValueError):
        return None
    return (first, second) if first != second else None


def _query(request: HtmxHttpRequest) -> str:
    """The page's filters as a query string, without the words that ask for work."""
    query = request.GET.copy()
    for key in ("compute", "format", "retry"):
        query.pop(key, None)
    return query.urlencode()


def _report_or_job(
    request: HtmxHttpRequest,
    study: Study,
    filters: ReliabilityFilters,
    pair: tuple[int, int] | None,
    computing: bool,
) -> tuple[dict | None, Job | None]:
    """The report (reliability, or passages for that unit) from the cache, computed here for a
    small study, or the job computing it for a large one (units x coders above the setting)."""
    unitizing = filters.unit == "passage"

    def cached() -> dict | None:
        if unitizing:
            return services.passage_report(study=study, filters=filters, compute=False)
        return services.reliability_report(study=study, filters=filters, pair=pair, compute=False)

    report = cached()
    if report is not None or not computing:
        return report, None
    size = selectors.report_size(study=study, filters=filters)
    if size <= settings.TRUSTCODER_BACKGROUND_REPORT_CELLS:
        if unitizing:
            return services.passage_report(study=study, filters=filters), None
        return services.reliability_report(study=study, filters=filters, pair=pair), None
    params = services.report_params(study=study, filters=filters, pair=pair, unitizing=unitizing)
    params["query"] = _query(request)
    job = job_services.report_start(
        study=study, params=params, actor=request.user, retry=request.GET.get("retry") == "1"
    )
    if job.state == JobState.SUCCEEDED:
        # Done already (a worker was quick, or tasks run at once): the report is in the cache.
        report = cached()
        if report is not None:
            return report, None
    return None, job


@require_GET
def reliability(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """The reliability report: statistics per element, coder pairs, and the least-agreed units."""
    study, membership = study_for_member(request, slug, READERS_AND_MANAGERS)
    form = ReliabilityFilterForm(request.GET or None, study=study)
    filters = form.filters()
    pair = _pair(request) if filters.unit != "passage" else None
    computing = bool(request.htmx or request.GET.get("compute") == "1")
    report, job = _report_or_job(request, study, filters, pair, computing)
    if filters.unit == "passage":
        return _passage_results(request, study, membership, form, report, job)
    if report is not None and request.GET.get("format") == "csv":
        return table_response(
            request, f"{study.slug}-reliability", RELIABILITY_COLUMNS, reliability_rows(report)
        )
    context = {
        "study": study,
        "membership": membership,
        "form": form,
        "report": report,
        "job": job,
        "query": _query(request),
        "lowest": selectors.lowest_agreement_rows(study, report, membership.can_manage)
        if report
        else [],
        "heat": heat_matrix(report) if report else None,
        # One picture per screen size; the stylesheet shows the one that fits the window.
        "charts": [{**alpha_chart(report, width=w), "size": size} for size, w in SIZES]
        if report
        else [],
        "pair_names": [
            report["coder_names"].get(str(c), str(c)) for c in (report.get("pair") or [])
        ]
        if report
        else [],
    }
    template = "negotiations/reliability/reliability.html"
    if request.htmx:
        template += "#results"
    return render(request, template, context)


def _passage_results(
    request: HtmxHttpRequest,
    study: Study,
    membership: Membership,
    form: ReliabilityFilterForm,
    passage_report: dict | None,
    job: Job | None,
) -> HttpResponse:
    """The reliability page for the passages (unitizing) unit: u-alpha per element."""
    if passage_report is not None and request.GET.get("format") == "csv":
        return table_response(
            request,
            f"{study.slug}-reliability-passages",
            PASSAGE_COLUMNS,
            passage_rows(passage_report),
        )
    context = {
        "study": study,
        "membership": membership,
        "form": form,
        "report": None,
        "job": job,
        "passages": passage_report,
        "query": _query(request),
    }
    template = "negotiations/reliability/reliability.html"
    if request.htmx:
        template += "#results"
    return render(request, template, context)


@require_GET
def reliability_passages(request: HtmxHttpRequest, slug: str) -> StreamingHttpResponse:
    """The units of the passages (unitizing) report as coder,start,end,category, for one element
    (`element`) or all elements pooled; the file name carries L for `unitizing_agreement`."""
    study, _ = study_for_member(request, slug, READERS_AND_MANAGERS)
    filters = ReliabilityFilterForm(request.GET or None, study=study).filters()
    try:
        code_id: int | None = int(request.GET["element"])
    except (KeyError, ValueError):
        code_id = None
    lines, length, name = services.passage_units_lines(
        study=study, filters=filters, code_id=code_id
    )
    slug_name = slugify(name) or "element"
    return csv_response(f"{study.slug}-passages-{slug_name}-L{length}.csv", lines)


@require_GET
def reliability_matrix(request: HtmxHttpRequest, slug: str) -> StreamingHttpResponse:
    """The unit x coder matrix as CSV, in the format `manage.py agreement_stats` reads."""
    study, _ = study_for_member(request, slug, READERS_AND_MANAGERS)
    filters = ReliabilityFilterForm(request.GET or None, study=study).filters()
    element = request.GET.get("element", "")
    code_id = int(element) if element.isdigit() else None
    header, rows = services.reliability_matrix_table(study=study, filters=filters, code_id=code_id)
    suffix = f"-element{code_id}" if code_id else ""
    return table_response(
        request, f"{study.slug}-units-{filters.unit}-{filters.level}{suffix}", header, rows
    )


@require_GET
def source_compare(request: HtmxHttpRequest, slug: str, source_id: int) -> HttpResponse:
    """A sentence of a source with each coder's codings on it side by side (supervisors)."""
    study, membership = study_for_member(request, slug, MANAGERS)
    source = get_object_or_404(Source, study=study, pk=source_id)
    try:
        index = int(request.GET.get("segment", "0"))
    except ValueError:
        index = 0
    segments = list(source.segments.order_by("index"))
    if not segments:
        raise Http404("This source has no sentences.")
    index = min(max(index, 0), len(segments) - 1)
    segment = segments[index]
    context_start = segments[max(index - 1, 0)].start
    context_end = segments[min(index + 1, len(segments) - 1)].end
    codings = (
        Coding.objects.filter(source=source, start__lt=segment.end, end__gt=segment.start)
        .select_related("code", "demonstrating_party", "coder")
        .order_by("coder__username", "start")
    )
    by_coder: dict[int, list] = {}
    for coding in codings:
        by_coder.setdefault(coding.coder_id, []).append(coding)
    lanes = [
        {"assignment": a, "codings": by_coder.get(a.coder_id, [])}
        for a in source.assignments.select_related("coder").order_by("coder__username")
    ]
    context = {
        "study": study,
        "membership": membership,
        "source": source,
        "index": index,
        "n_segments": len(segments),
        "before": source.text[context_start : segment.start],
        "sentence": source.text[segment.start : segment.end],
        "after": source.text[segment.end : context_end],
        "lanes": lanes,
    }
    return render(request, "negotiations/reliability/source_compare.html", context)
