"""Query counts that must not grow with the data (exact bounds, measured)."""

from __future__ import annotations

from datetime import date
from html.parser import HTMLParser

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from negotiations.consensus import services as consensus_services
from negotiations.models import (
    Assignment,
    AssignmentStatus,
    Code,
    CodeSet,
    Coding,
    ConsensusUnit,
    Event,
    Job,
    JobKind,
    Negotiation,
    Party,
    Role,
    Source,
)
from negotiations.sources import services as source_services
from negotiations.studies import services as study_services
from tests.factories import (
    CodeFactory,
    NegotiationFactory,
    PartyFactory,
    PhaseFactory,
    SourceFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def make_sources(study, n: int) -> None:
    negotiation = NegotiationFactory(study=study)
    phase = PhaseFactory(negotiation=negotiation)
    party = PartyFactory(study=study, code="US")
    Source.objects.bulk_create(
        Source(
            study=study,
            negotiation=negotiation,
            phase=phase,
            speaker_party=party,
            title=f"Statement {i}",
            text=f"Statement {i}. It has two sentences.",
            text_sha256=source_services.text_digest(f"Statement {i}. It has two sentences."),
            date=f"19{90 + i % 10}-01-01",
        )
        for i in range(n)
    )


def count_queries(client, url, params=None) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, params or {})
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("params", [{}, {"q": "Statement two", "sort": "-date"}])
def test_source_list_queries_do_not_grow(clients, members, params, django_assert_max_num_queries):
    url = reverse("negotiations:source_list", args=[members.study.slug])
    make_sources(members.study, 10)
    small = count_queries(clients["reader"], url, params)
    make_sources(members.study, 10_000)
    with django_assert_max_num_queries(small):
        response = clients["reader"].get(url, params)
    assert response.status_code == 200
    assert "Page 1 of" in response.content.decode()
    assert small <= 12


def test_study_pages_have_few_queries(clients, members, django_assert_max_num_queries):
    make_sources(members.study, 50)
    slug = members.study.slug
    for name in ("study_detail", "negotiation_list", "codebook", "member_list"):
        with django_assert_max_num_queries(12):
            assert (
                clients["reader"].get(reverse(f"negotiations:{name}", args=[slug])).status_code
                == 200
            )


# -- small vs large: every page ------------------------------------------------------------------


def grow(members, n: int) -> None:
    """Add n of everything a page lists: negotiations with two parties, two phases and two events
    (and a phase and an event more on the first case), coders, codes, and 2n sources, each coded
    by cora and a new coder who disagree and submitted."""
    study = members.study
    code_set = CodeSet.objects.filter(study=study).order_by("pk").first()
    first = Negotiation.objects.filter(study=study).order_by("pk").first()
    for _ in range(n):
        user = UserFactory()
        study_services.membership_add(
            study=study, identifier=user.username, role=Role.CODER, actor_role=Role.OWNER
        )
        CodeFactory(code_set=code_set)
        negotiation = NegotiationFactory(study=study)
        parties = [PartyFactory(study=study), PartyFactory(study=study)]
        negotiation.parties.add(*parties)
        for case in filter(None, (negotiation, first)):
            PhaseFactory(negotiation=case)
            Event.objects.create(negotiation=case, date=date(1994, 10, 21), title="Signed")
        PhaseFactory(negotiation=negotiation)
        Event.objects.create(negotiation=negotiation, date=date(1995, 3, 9), title="KEDO")
        phase = negotiation.phases.first()
        zopa = Code.objects.get(study=study, name="ZOPA")
        sources = [
            SourceFactory(study=study, negotiation=negotiation, phase=phase, speaker_party=party)
            for party in parties
        ]
        first_source = Source.objects.filter(study=study).order_by("pk").first()
        # Cora and the new coder on each new source; the new coder on the first source too, so
        # that its pages get more coders and codings.
        work = [(source, coder) for source in sources for coder in (members.coder, user)]
        if first_source != sources[0]:
            work.append((first_source, user))
        for source, coder in work:
            Assignment.objects.create(
                source=source,
                coder=coder,
                status=AssignmentStatus.SUBMITTED,
                submitted_at=timezone.now(),
            )
            i = int(coder == user)
            for start, end in ((0, 9), (10, 16), (30, 40)):
                Coding.objects.create(
                    source=source,
                    coder=coder,
                    code=zopa,
                    start=start,
                    end=end,
                    quote=source.text[start:end],
                    stance=("for", "against")[(i + start) % 2],
                    demonstrating_party=parties[i],
                    memo=f"memo {start}",
                )
    Job.objects.create(study=study, kind=JobKind.IMPORT_CHECK)
    consensus_services.consensus_sync(study=study, force=True)


# (URL name, the ids it takes, query, who asks). The first objects of each kind are the ones the
# detail pages show; `grow` adds more of everything, also to them.
PAGES = {
    "study": [
        ("study_detail", (), {}, "supervisor"),
        ("member_list", (), {}, "supervisor"),
        ("party_list", (), {}, "supervisor"),
        ("party_edit", ("party_id",), {}, "supervisor"),
        ("negotiation_list", (), {}, "reader"),
        ("negotiation_edit", ("negotiation_id",), {}, "supervisor"),
        ("codebook", (), {}, "coder"),
        ("codebook_versions", (), {}, "supervisor"),
        ("job_list", (), {}, "supervisor"),
        ("exports", (), {}, "reader"),
    ],
    "sources and coding": [
        ("source_list", (), {}, "reader"),
        ("source_detail", ("source_id",), {}, "coder"),
        ("coding_page", ("source_id",), {"layer": "all"}, "supervisor"),
        ("coding_page", ("source_id",), {}, "coder"),
        ("coding_data", ("source_id",), {"layer": "all"}, "supervisor"),
        ("my_work", (), {}, "coder"),
        ("assignments", (), {}, "supervisor"),
        ("passage_list", (), {}, "coder"),
        ("passage_list", (), {"counts": "phase"}, "supervisor"),
    ],
    "results": [
        ("reliability", (), {}, "reader"),
        ("source_compare", ("source_id",), {}, "supervisor"),
        ("review_queue", (), {}, "supervisor"),
        ("review_history", (), {}, "supervisor"),
        ("review_unit", ("unit_id",), {}, "supervisor"),
        ("consensus_coders", (), {}, "supervisor"),
        ("assessments", (), {}, "reader"),
        ("assessment_negotiation", ("negotiation_id",), {}, "reader"),
        ("assessment_timeline", ("negotiation_id",), {}, "reader"),
        ("assessment_robustness", ("negotiation_id",), {}, "reader"),
    ],
    "downloads": [
        ("export_sources", (), {}, "reader"),
        ("export_codings", (), {}, "reader"),
        ("export_codings", (), {"as": "xlsx"}, "reader"),
        ("export_consensus", (), {}, "reader"),
        ("reliability_passages", (), {}, "reader"),
        ("reliability_matrix", (), {}, "reader"),
        ("passage_export_csv", (), {}, "reader"),
        ("passage_export_xlsx", (), {}, "reader"),
    ],
    "api": [
        ("api-v1:studies", (), {}, "reader"),
        ("api-v1:study", (), {}, "reader"),
        ("api-v1:parties", (), {}, "reader"),
        ("api-v1:negotiations", (), {}, "reader"),
        ("api-v1:codebook", (), {}, "reader"),
        ("api-v1:sources", (), {}, "reader"),
        ("api-v1:codings", (), {}, "coder"),
        ("api-v1:consensus", (), {}, "reader"),
        ("api-v1:reliability", (), {}, "reader"),
        ("api-v1:assessments", (), {}, "reader"),
    ],
}


def page_ids(members) -> dict:
    study = members.study
    return {
        "slug": study.slug,
        "party_id": Party.objects.filter(study=study).order_by("pk").first().pk,
        "negotiation_id": Negotiation.objects.filter(study=study).order_by("pk").first().pk,
        "source_id": Source.objects.filter(study=study).order_by("pk").first().pk,
        "unit_id": ConsensusUnit.objects.filter(source__study=study).order_by("pk").first().pk,
    }


def page_queries(clients, members, pages) -> dict[tuple, int]:
    ids, counts = page_ids(members), {}
    for name, keys, query, role in pages:
        full = name if ":" in name else f"negotiations:{name}"
        slug = () if name == "api-v1:studies" else ("slug",)
        path = reverse(full, kwargs={k: ids[k] for k in (*slug, *keys)})
        cache.clear()  # every page measured cold, at both sizes
        with CaptureQueriesContext(connection) as ctx:
            response = clients[role].get(path, query)
            if response.streaming:
                b"".join(response.streaming_content)  # a download's queries run as it streams
        assert response.status_code == 200, (name, response.status_code)
        counts[(name, tuple(sorted(query.items())), role)] = len(ctx)
    return counts


@pytest.mark.parametrize("group", list(PAGES))
def test_every_page_has_the_same_queries_small_and_large(clients, members, group):
    """2 cases, coders, codes and 4 sources against 8 of each and 16 sources (more parties,
    phases, events, codings and consensus units too): no page asks more of the database."""
    grow(members, 2)
    small = page_queries(clients, members, PAGES[group])
    grow(members, 6)
    large = page_queries(clients, members, PAGES[group])
    grown = {page: (small[page], large[page]) for page in small if large[page] > small[page]}
    assert grown == {}


class _FormFields(HTMLParser):
    """The fields a browser would post from `<form id=...>`: names and default values."""

    def __init__(self, form_id: str) -> None:
        super().__init__()
        self.form_id, self.inside, self.select = form_id, False, None
        self.fields: dict[str, list[str]] = {}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.inside = a.get("id") == self.form_id
        elif not self.inside:
            return
        elif tag == "input" and a.get("name"):
            values = self.fields.setdefault(a["name"], [])
            if a.get("type") not in ("radio", "checkbox") or "checked" in a:
                values.append(a.get("value") or "")
        elif tag in ("select", "textarea") and a.get("name"):
            self.select = a["name"]
            self.fields.setdefault(a["name"], [] if tag == "select" else [""])
        elif tag == "option" and self.select and ("selected" in a or not self.fields[self.select]):
            self.fields[self.select][:] = [a.get("value") or ""]

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        if tag == "select":
            self.select = None


def test_the_browsers_save_is_the_same_at_20_and_2000_codings(members):
    """The htmx POST the coding page's form sends (its fields and CSRF token, the headers htmx
    adds): the same queries and the same response with 20 and with 2,000 codings on the source."""
    from tests.coding.test_views import big_source

    measured = []
    for n in (20, 2000):
        source = big_source(members, n)
        Assignment.objects.filter(source=source, coder=members.coder).update(
            status=AssignmentStatus.IN_PROGRESS
        )
        browser = Client(enforce_csrf_checks=True)
        browser.force_login(members.coder)
        page_url = reverse("negotiations:coding_page", args=[members.study.slug, source.pk])
        page = browser.get(page_url)
        parser = _FormFields("coding-form")
        parser.feed(page.content.decode())
        fields = parser.fields
        assert set(fields) == {
            "csrfmiddlewaretoken",
            "start",
            "end",
            "quote",
            "code",
            "stance",
            "demonstrating_party",
            "strength",
            "memo",
        }
        # What coding.js fills in from the selection and the chosen code.
        start = source.text.index("freeze")
        fields |= {"start": [str(start)], "end": [str(start + 6)], "quote": ["freeze"]}
        fields["code"] = [str(Code.objects.get(study=members.study, name="CAPACITY").pk)]
        post_url = reverse("negotiations:coding_create", args=[members.study.slug, source.pk])
        headers = {
            "HX-Request": "true",
            "HX-Current-URL": "http://testserver" + page_url,
            "HX-Trigger": "coding-form",
            "HX-Target": "coding-form",
            "X-CSRFToken": fields["csrfmiddlewaretoken"][0],
        }
        cache.clear()
        with CaptureQueriesContext(connection) as ctx:
            response = browser.post(post_url, fields, headers=headers)
        assert response.status_code == 200, response.content.decode()[:300]
        created = Coding.objects.get(source=source, coder=members.coder, quote="freeze")
        trigger = response["HX-Trigger"].replace(str(created.pk), "ID")
        measured.append((len(ctx), len(response.content), len(trigger)))
    assert measured[0] == measured[1]
