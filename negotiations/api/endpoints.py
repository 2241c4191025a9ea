"""The read API, /api/v1/: every answer is read through the features' selectors and services,
so its figures are the pages' figures, and every endpoint checks membership and role as the
matching page does (`access.study_for_member`)."""

from __future__ import annotations

import base64
import binascii
import itertools
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Literal

from django.core.exceptions import PermissionDenied
from django.db.models.functions import Length
from django.http import HttpRequest, HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import render
from ninja import NinjaAPI, Query
from ninja.errors import HttpError, Throttled
from ninja.openapi.docs import DocsBase

from negotiations.access import READERS_AND_MANAGERS, coding_list_visible_to, study_for_member
from negotiations.api import schemas
from negotiations.api.auth import SessionAuth, TokenAuth
from negotiations.assessments import selectors as assessment_selectors
from negotiations.codebook import selectors as codebook_selectors
from negotiations.coding import selectors as coding_selectors
from negotiations.consensus import selectors as consensus_selectors
from negotiations.http import csv_response
from negotiations.models import Coding, Membership, Role, Source, Study
from negotiations.reliability import services as reliability_services
from negotiations.reliability.forms import ReliabilityFilterForm
from negotiations.reliability.passages import PASSAGE_COLUMNS, passage_rows
from negotiations.reliability.report import RELIABILITY_COLUMNS, reliability_rows
from negotiations.sources import selectors as source_selectors
from negotiations.studies import selectors as study_selectors
from negotiations.tabular import csv_lines


class VendoredSwagger(DocsBase):
    """Swagger UI from `static/vendor/` (no CDN), started by `static/js/api-docs.js`, so the
    page passes the strict Content Security Policy."""

    def render_page(self, request: HttpRequest, api: NinjaAPI, **kwargs: Any) -> HttpResponse:
        context = {"api": api, "openapi_url": self.get_openapi_url(api, kwargs)}
        return render(request, "negotiations/api/docs.html", context)


api = NinjaAPI(
    title="TrustCoder API",
    version="1",
    description=(
        "Read-only access to the studies you belong to, with your role in each. Authenticate "
        "with a personal token from your account page (`Authorization: Bearer tc_...`) or a "
        "logged-in browser session. Lists are cursor-paginated: pass `next_cursor` back as "
        "`cursor`. Tables are also served as CSV (the `.csv` paths), the same files as the "
        "pages' downloads. Offsets count Unicode code points from 0, end exclusive."
    ),
    urls_namespace="api-v1",
    auth=[TokenAuth(), SessionAuth()],
    docs=VendoredSwagger(),
    docs_url="/docs",
    openapi_url="/openapi.json",
)

ERRORS: dict[int, Any] = {
    400: schemas.Error,
    401: schemas.Error,
    403: schemas.Error,
    404: schemas.Error,
    422: schemas.Error,
    429: schemas.Error,
}
CSV_ANSWER = {
    "responses": {
        200: {
            "description": "A CSV table (UTF-8, header row), the pages' download.",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        }
    }
}
MAX_LIMIT = 1000


@api.exception_handler(PermissionDenied)
def permission_denied(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return api.create_response(request, {"detail": str(exc) or "Forbidden."}, status=403)


@api.exception_handler(Throttled)
def throttled(request: HttpRequest, exc: Throttled) -> HttpResponse:
    response = api.create_response(request, {"detail": str(exc)}, status=429)
    if exc.wait:
        response["Retry-After"] = str(exc.wait)
    return response


def _member(request: HttpRequest, slug: str, roles: Iterable[str] | None = None):
    return study_for_member(request, slug, roles)


# -- cursors -------------------------------------------------------------------------------------
# A cursor is opaque to the caller: base64 of "k<pk>" (keyset, after that primary key) or
# "o<offset>" (position in a table whose order is not by primary key).


def _encode(kind: str, value: int) -> str:
    return base64.urlsafe_b64encode(f"{kind}{value}".encode()).decode().rstrip("=")


def _decode(cursor: str | None, kind: str) -> int:
    if not cursor:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if not text.startswith(kind):
            raise ValueError(text)
        value = int(text[1:])
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise HttpError(400, "Invalid cursor.") from None
    if not 0 <= value < 2**63:  # beyond the databases' integers
        raise HttpError(400, "Invalid cursor.")
    return value


def _keyset(queryset, cursor: str | None, limit: int) -> tuple[list[Any], str | None]:
    after = _decode(cursor, "k")
    items = list(queryset.filter(pk__gt=after).order_by("pk")[: limit + 1])
    more = len(items) > limit
    items = items[:limit]
    return items, _encode("k", items[-1].pk) if more else None


def _rows_page(
    columns: Sequence[str], rows: Iterator[tuple[Any, ...]], cursor: str | None, limit: int
) -> dict[str, Any]:
    offset = _decode(cursor, "o")
    window = list(itertools.islice(rows, offset, offset + limit + 1))
    more = len(window) > limit
    return {
        "columns": list(columns),
        "results": [dict(zip(columns, row, strict=True)) for row in window[:limit]],
        "next_cursor": _encode("o", offset + limit) if more else None,
    }


# -- studies -------------------------------------------------------------------------------------


def _study_out(study: Study, role: str, n_sources: int, n_members: int) -> dict[str, Any]:
    return {
        "slug": study.slug,
        "name": study.name,
        "description": study.description,
        "role": role,
        "blind_coding": study.blind_coding,
        "n_sources": n_sources,
        "n_members": n_members,
    }


@api.get("/studies", response={200: list[schemas.StudyOut], **ERRORS}, tags=["studies"])
def studies(request: HttpRequest):
    """The studies you belong to, with your role in each."""
    return [
        _study_out(m.study, m.role, m.n_sources, m.n_members)
        for m in study_selectors.membership_list_for_user(user=request.user)
    ]


@api.get("/studies/{slug}", response={200: schemas.StudyDetailOut, **ERRORS}, tags=["studies"])
def study(request: HttpRequest, slug: str):
    """One study, its settings and its assessment rule."""
    study, membership = _member(request, slug)
    return {
        **_study_out(
            study,
            membership.role,
            Source.objects.filter(study=study).count(),
            Membership.objects.filter(study=study).count(),
        ),
        "snap_to_words": study.snap_to_words,
        "data_version": study.data_version,
        "assessment_rule": {
            "min_sources": study.rule_min_sources,
            "use_strength": study.rule_use_strength,
            "contested_min_weight": study.rule_contested_min_weight,
            "contested_ratio": study.rule_contested_ratio,
        },
    }


@api.get(
    "/studies/{slug}/parties", response={200: list[schemas.PartyOut], **ERRORS}, tags=["studies"]
)
def parties(request: HttpRequest, slug: str):
    study, _ = _member(request, slug)
    return [
        {"id": p.pk, "code": p.code, "name": p.name}
        for p in study_selectors.party_list(study=study)
    ]


@api.get(
    "/studies/{slug}/negotiations",
    response={200: list[schemas.NegotiationOut], **ERRORS},
    tags=["studies"],
)
def negotiations(request: HttpRequest, slug: str):
    """The study's negotiations (cases) with their parties, phases and events."""
    study, _ = _member(request, slug)
    return [
        {
            "id": n.pk,
            "name": n.name,
            "slug": n.slug,
            "description": n.description,
            "start_date": n.start_date,
            "end_date": n.end_date,
            "n_sources": n.n_sources,
            "parties": [
                {
                    "code": link.party.code,
                    "name": link.party.name,
                    "is_principal": link.is_principal,
                }
                for link in n.negotiationparty_set.all()
            ],
            "phases": [
                {
                    "id": ph.pk,
                    "name": ph.name,
                    "kind": ph.kind,
                    "start_date": ph.start_date,
                    "end_date": ph.end_date,
                }
                for ph in n.phases.all()
            ],
            "events": [
                {"id": e.pk, "date": e.date, "end_date": e.end_date, "title": e.title}
                for e in n.events.all()
            ],
        }
        for n in study_selectors.negotiation_list(study=study)
    ]


@api.get(
    "/studies/{slug}/codebook", response={200: schemas.CodebookOut, **ERRORS}, tags=["codebook"]
)
def codebook(request: HttpRequest, slug: str):
    """The codebook: every code set and code, archived codes included (marked)."""
    study, _ = _member(request, slug)
    latest = codebook_selectors.codebook_version_list(study=study).first()
    return {
        "version": latest.number if latest else 0,
        "code_sets": [
            {
                "slug": cs.slug,
                "name": cs.name,
                "enabled": cs.enabled,
                "for_label": cs.for_label,
                "against_label": cs.against_label,
                "codes": [
                    {
                        "id": c.pk,
                        "name": c.name,
                        "label": c.label,
                        "definition": c.definition,
                        "when_to_use": c.when_to_use,
                        "when_not_to_use": c.when_not_to_use,
                        "example": c.example,
                        "colour": c.colour,
                        "key": c.key,
                        "archived": c.archived,
                    }
                    for c in cs.codes.all()
                ],
            }
            for cs in codebook_selectors.code_set_list(study=study)
        ],
    }


# -- sources -------------------------------------------------------------------------------------


def _source_out(source: Source, with_text: bool) -> dict[str, Any]:
    return {
        "id": source.pk,
        "title": source.title,
        "negotiation": source.negotiation.name,
        "phase": source.phase.name if source.phase_id else None,
        "speaker": source.speaker,
        "speaker_party": source.speaker_party.code if source.speaker_party_id else None,
        "date": source.date,
        "source_type": source.source_type,
        "citation": source.citation,
        "url": source.url,
        "language": source.language,
        "version": source.version,
        "n_characters": getattr(source, "n_characters", None) or len(source.text),
        "text": source.text if with_text else None,
    }


@api.get("/studies/{slug}/sources", response={200: schemas.SourcePage, **ERRORS}, tags=["sources"])
def sources(
    request: HttpRequest,
    slug: str,
    negotiation: schemas.RowId | None = None,
    phase: schemas.RowId | None = None,
    q: str = "",
    include_text: bool = False,
    cursor: str | None = None,
    limit: int = Query(100, ge=1, le=MAX_LIMIT),
):
    """The study's sources (metadata; their text with `include_text=true`), by id; `q` matches
    every word in the title, speaker or text, as the source list does."""
    study, _ = _member(request, slug)
    filters = source_selectors.SourceFilters(negotiation=negotiation, phase=phase, q=q)
    queryset = (
        source_selectors.source_list(study=study, filters=filters)
        .defer(None)
        .annotate(n_characters=Length("text"))
    )
    if not include_text:
        queryset = queryset.defer("text")
    items, next_cursor = _keyset(queryset, cursor, limit)
    return {
        "count": queryset.count(),
        "next_cursor": next_cursor,
        "results": [_source_out(s, include_text) for s in items],
    }


@api.get(
    "/studies/{slug}/sources/{source_id}",
    response={200: schemas.SourceOut, **ERRORS},
    tags=["sources"],
)
def source(request: HttpRequest, slug: str, source_id: schemas.RowId):
    """One source with its text."""
    study, _ = _member(request, slug)
    try:
        found = source_selectors.source_detail(study=study, source_id=source_id)
    except Source.DoesNotExist:
        raise HttpError(404, "No such source.") from None
    return _source_out(found, True)


@api.get("/studies/{slug}/sources.csv", response=ERRORS, openapi_extra=CSV_ANSWER, tags=["sources"])
def sources_csv(request: HttpRequest, slug: str):
    """The sources table with their text, as the sources download."""
    study, _ = _member(request, slug)
    return csv_response(
        f"{study.slug}-sources.csv",
        csv_lines(source_selectors.SOURCE_COLUMNS, source_selectors.source_rows(study=study)),
    )


# -- codings -------------------------------------------------------------------------------------


class CodingFilters(schemas.Schema):
    negotiation: schemas.RowId | None = None
    phase: schemas.RowId | None = None
    source: schemas.RowId | None = None
    code: str | None = None
    stance: Literal["for", "against"] | None = None
    party: str | None = None
    coder: str | None = None


def _codings(request: HttpRequest, slug: str, filters: CodingFilters):
    study, membership = _member(request, slug)
    codings = coding_list_visible_to(study=study, user=request.user, role=membership.role)
    lookups = {
        "source__negotiation_id": filters.negotiation,
        "source__phase_id": filters.phase,
        "source_id": filters.source,
        "code__name": filters.code,
        "stance": filters.stance,
        "demonstrating_party__code": filters.party,
        "coder__username": filters.coder,
    }
    return study, codings.filter(**{k: v for k, v in lookups.items() if v is not None})


@api.get("/studies/{slug}/codings", response={200: schemas.RowPage, **ERRORS}, tags=["codings"])
def codings(
    request: HttpRequest,
    slug: str,
    filters: Query[CodingFilters],
    cursor: str | None = None,
    limit: int = Query(500, ge=1, le=MAX_LIMIT),
):
    """The coders' codings you may see (blind coding applies), by coding id; the columns of the
    codings download."""
    study, queryset = _codings(request, slug, filters)
    items, next_cursor = _keyset(queryset.only("pk"), cursor, limit)
    rows = coding_selectors.coding_rows(
        codings=Coding.objects.filter(pk__in=[c.pk for c in items]), study=study
    )
    columns = coding_selectors.CODING_COLUMNS
    return {
        "count": queryset.count(),
        "next_cursor": next_cursor,
        "columns": list(columns),
        "results": sorted(
            (dict(zip(columns, row, strict=True)) for row in rows), key=lambda r: r["coding_id"]
        ),
    }


@api.get("/studies/{slug}/codings.csv", response=ERRORS, openapi_extra=CSV_ANSWER, tags=["codings"])
def codings_csv(request: HttpRequest, slug: str, filters: Query[CodingFilters]):
    """The codings you may see, as the codings download (with the same filters as JSON)."""
    study, queryset = _codings(request, slug, filters)
    return csv_response(
        f"{study.slug}-codings.csv",
        csv_lines(
            coding_selectors.CODING_COLUMNS,
            coding_selectors.coding_rows(codings=queryset, study=study),
        ),
    )


@api.get("/studies/{slug}/consensus", response={200: schemas.RowPage, **ERRORS}, tags=["codings"])
def consensus(
    request: HttpRequest,
    slug: str,
    cursor: str | None = None,
    limit: int = Query(500, ge=1, le=MAX_LIMIT),
):
    """The consensus layer (readers, supervisors, owners): one row per consensus coding and one
    per unit settled as "none"."""
    study, _ = _member(request, slug, READERS_AND_MANAGERS)
    columns = consensus_selectors.CONSENSUS_COLUMNS
    page = _rows_page(columns, consensus_selectors.consensus_rows(study=study), cursor, limit)
    count = sum(1 for _ in consensus_selectors.consensus_rows(study=study))
    return {"count": count, **page}


@api.get(
    "/studies/{slug}/consensus.csv", response=ERRORS, openapi_extra=CSV_ANSWER, tags=["codings"]
)
def consensus_csv(request: HttpRequest, slug: str):
    study, _ = _member(request, slug, READERS_AND_MANAGERS)
    return csv_response(
        f"{study.slug}-consensus.csv",
        csv_lines(
            consensus_selectors.CONSENSUS_COLUMNS, consensus_selectors.consensus_rows(study=study)
        ),
    )


# -- reliability ---------------------------------------------------------------------------------


class ReliabilityQuery(schemas.Schema):
    negotiation: schemas.RowId | None = None
    phase: schemas.RowId | None = None
    code: schemas.RowId | None = None
    party: schemas.RowId | None = None
    coder: list[str] = []
    unit: Literal["segment", "source"] = "segment"
    level: Literal["nominal", "ordinal", "interval"] = "nominal"


class PassageQuery(ReliabilityQuery):
    categories: Literal["stance", "stance_party"] = "stance"


def _reliability_filters(study: Study, query: ReliabilityQuery, unit: str | None = None):
    """The report's filters, through the page's own form, so both read the same scope."""
    data = QueryDict(mutable=True)
    for name in ("negotiation", "phase", "code", "party"):
        value = getattr(query, name)
        if value is not None:
            data[name] = str(value)
    data["unit"], data["level"] = unit or query.unit, query.level
    if isinstance(query, PassageQuery):
        data["categories"] = query.categories
    coders = dict(
        Membership.objects.filter(
            study=study, role=Role.CODER, user__username__in=query.coder
        ).values_list("user__username", "pk")
    )
    unknown = sorted(set(query.coder) - set(coders))
    if unknown:
        raise HttpError(400, f"Not a coder of this study: {', '.join(unknown)}.")
    data.setlist("coders", [str(pk) for pk in coders.values()])
    form = ReliabilityFilterForm(data, study=study)
    if not form.is_valid():
        raise HttpError(400, "; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items()))
    return form.filters()


@api.get(
    "/studies/{slug}/reliability",
    response={200: schemas.ReliabilityOut, **ERRORS},
    tags=["reliability"],
)
def reliability(request: HttpRequest, slug: str, query: Query[ReliabilityQuery]):
    """The reliability report (readers, supervisors, owners): one row per element and one for
    all elements, the figures of the reliability page."""
    study, _ = _member(request, slug, READERS_AND_MANAGERS)
    filters = _reliability_filters(study, query)
    report = reliability_services.reliability_report(study=study, filters=filters)
    assert report is not None
    names = sorted(report["coder_names"].values())
    return {
        "unit": filters.unit,
        "level": filters.level,
        "n_coders": len(names),
        "coders": names,
        "columns": list(RELIABILITY_COLUMNS),
        "rows": [
            dict(zip(RELIABILITY_COLUMNS, row, strict=True)) for row in reliability_rows(report)
        ],
    }


@api.get(
    "/studies/{slug}/reliability.csv",
    response=ERRORS,
    openapi_extra=CSV_ANSWER,
    tags=["reliability"],
)
def reliability_csv(request: HttpRequest, slug: str, query: Query[ReliabilityQuery]):
    study, _ = _member(request, slug, READERS_AND_MANAGERS)
    report = reliability_services.reliability_report(
        study=study, filters=_reliability_filters(study, query)
    )
    assert report is not None
    return csv_response(
        f"{study.slug}-reliability.csv", csv_lines(RELIABILITY_COLUMNS, reliability_rows(report))
    )


@api.get(
    "/studies/{slug}/reliability/passages",
    response={200: schemas.PassagesOut, **ERRORS},
    tags=["reliability"],
)
def reliability_passages(request: HttpRequest, slug: str, query: Query[PassageQuery]):
    """Agreement on the passages themselves (Krippendorff's u-alpha per element and category),
    the figures of the reliability page's "Passages (unitizing)" unit."""
    study, _ = _member(request, slug, READERS_AND_MANAGERS)
    filters = _reliability_filters(study, query, unit="passage")
    report = reliability_services.passage_report(study=study, filters=filters)
    assert report is not None
    return {
        "categories": filters.categories,
        "columns": list(PASSAGE_COLUMNS),
        "rows": [dict(zip(PASSAGE_COLUMNS, row, strict=True)) for row in passage_rows(report)],
    }


@api.get(
    "/studies/{slug}/reliability/passages.csv",
    response=ERRORS,
    openapi_extra=CSV_ANSWER,
    tags=["reliability"],
)
def reliability_passages_csv(request: HttpRequest, slug: str, query: Query[PassageQuery]):
    study, _ = _member(request, slug, READERS_AND_MANAGERS)
    filters = _reliability_filters(study, query, unit="passage")
    report = reliability_services.passage_report(study=study, filters=filters)
    assert report is not None
    return csv_response(
        f"{study.slug}-reliability-passages.csv", csv_lines(PASSAGE_COLUMNS, passage_rows(report))
    )


@api.get(
    "/studies/{slug}/reliability/matrix.csv",
    response=ERRORS,
    openapi_extra=CSV_ANSWER,
    tags=["reliability"],
)
def reliability_matrix_csv(
    request: HttpRequest, slug: str, query: Query[ReliabilityQuery]
) -> StreamingHttpResponse:
    """The unit x coder matrix, the input `manage.py agreement_stats` (or R's `irr`) reads."""
    study, _ = _member(request, slug, READERS_AND_MANAGERS)
    filters = _reliability_filters(study, query)
    lines = reliability_services.reliability_matrix_lines(study=study, filters=filters)
    return csv_response(f"{study.slug}-units-{filters.unit}-{filters.level}.csv", lines)


# -- assessments ---------------------------------------------------------------------------------

EvidenceBase = Literal["combined", "consensus", "unanimous", "coders"]


@api.get(
    "/studies/{slug}/assessments",
    response={200: schemas.AssessmentOut, **ERRORS},
    tags=["assessments"],
)
def assessments(request: HttpRequest, slug: str, mode: EvidenceBase = "combined"):
    """The assessment table (readers, supervisors, owners): negotiation x phase x element x
    party with counts, weights and verdicts, and strategic trust per negotiation."""
    study, _ = _member(request, slug, READERS_AND_MANAGERS)
    data = assessment_selectors.assessment(study=study, mode=mode)
    columns = assessment_selectors.ASSESSMENT_COLUMNS
    return {
        "columns": list(columns),
        "rows": [
            dict(zip(columns, row, strict=True))
            for row in assessment_selectors.assessment_rows(data)
        ],
        "strategic_trust": {n.name: data.strategic_trust(n.pk) for n in data.negotiations},
    }


@api.get(
    "/studies/{slug}/assessments.csv",
    response=ERRORS,
    openapi_extra=CSV_ANSWER,
    tags=["assessments"],
)
def assessments_csv(request: HttpRequest, slug: str, mode: EvidenceBase = "combined"):
    study, _ = _member(request, slug, READERS_AND_MANAGERS)
    data = assessment_selectors.assessment(study=study, mode=mode)
    return csv_response(
        f"{study.slug}-assessments.csv",
        csv_lines(
            assessment_selectors.ASSESSMENT_COLUMNS, assessment_selectors.assessment_rows(data)
        ),
    )
