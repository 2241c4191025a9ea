"""Blind coding on every response that can carry a coding, a count of codings or a coder's reading.

Coders A (cora) and B (cody) code the same source; B has submitted, A has not. Every response A
can get (pages, htmx partials, downloads, the read API, A's own saves, changes and deletions) must
hold nothing of B: not B's memo, not the id of B's coding, not B's username, not B's count. Once A
submits too, the responses that show coders' work to a coder show B's. A supervisor sees B's
throughout: that proves each walked response does carry the coding it must hide.

The list of endpoints comes from the URL configuration (`url_names`): a new URL name fails here
until it is walked (WALKS) or declared not to carry codings (NOT_CODING_BEARING).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field

import openpyxl
import pytest
from django.test import Client
from django.urls import reverse

from negotiations.coding import assignments as assignment_services
from negotiations.coding import services as coding_services
from negotiations.consensus import services as consensus_services
from negotiations.models import (
    Assignment,
    Code,
    Coding,
    ConsensusUnit,
    Job,
    JobKind,
)
from negotiations.sources import services as source_services
from tests.conftest import client_for
from tests.factories import NegotiationFactory, PartyFactory, PhaseFactory
from tests.test_views_permissions import url_names

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
B_MEMO = "B-memo-quokka-7Q"
A_MEMO = "A-memo-own"
B_ID = 9_876_543  # B's first coding: an id no other number on a page can be mistaken for
B_NAME = "cody"
TEXT = (
    "The delegation welcomed the freeze offer warmly. "
    "The fuel deliveries would resume next month. "
    "Both sides agreed to meet again in Geneva. "
    "The talks ended late in the evening."
)


@dataclass(frozen=True)
class Walk:
    """How to reach one endpoint, and what of B it shows.

    `reveals`: markers A sees once A has submitted too (empty: the endpoint never shows a coder
    other coders' work, e.g. because coders are refused). `witness`: markers a supervisor sees
    (the endpoint does carry B's work). `count(n)`: how the response writes a count of n codings
    (A has 1, B 3, together 4); A must see 1 and never 3 or 4 while A has not submitted.
    """

    kwargs: tuple[str, ...] = ()
    query: dict = field(default_factory=dict)
    method: str = "GET"
    reveals: frozenset = frozenset()
    witness: frozenset = frozenset({"memo", "id", "coder"})
    count: Callable[[int], str] | None = None
    api: bool = False


ALL = frozenset({"memo", "id", "coder"})
NONE = frozenset()

WALKS: dict[str, Walk] = {
    # The coding page, its layer data and the coder's own writes (walked in their own test too).
    "coding_page": Walk(
        ("source_id",), {"layer": "all"}, reveals=ALL | {"count"}, count=lambda n: f"({n})"
    ),
    "coding_data": Walk(("source_id",), {"layer": "all"}, reveals=ALL),
    "coding_update": Walk(("b_coding_id",), witness=NONE),  # B's edit form: refused to A
    "coding_delete": Walk(("b_coding_id",), method="POST", witness=NONE),
    "coding_create": Walk(("source_id",), method="POST", witness=NONE),
    "coding_sentences": Walk(("source_id",), method="POST", witness=NONE),
    # Counts of codings.
    "codebook": Walk(reveals={"count"}, witness={"count"}, count=lambda n: f"{n} coding"),
    "source_detail": Walk(
        ("source_id",), reveals={"count"}, witness={"count"}, count=lambda n: f"{n} coding"
    ),
    "my_work": Walk(witness=NONE),
    # Downloads and the Passages page.
    "export_codings": Walk(reveals=ALL),
    "passage_list": Walk(reveals={"id", "coder"}, witness={"id", "coder"}),
    "passage_export_csv": Walk(reveals={"id", "coder"}, witness={"id", "coder"}),
    "passage_export_xlsx": Walk(reveals={"id", "coder"}, witness={"id", "coder"}),
    # Results: readers and supervisors only.
    "reliability": Walk(witness={"coder"}),
    "reliability_passages": Walk(witness={"coder"}),
    "reliability_matrix": Walk(witness={"coder"}),
    "source_compare": Walk(("source_id",), witness={"coder"}),
    "replication_package": Walk(witness={"memo", "id", "coder"}),
    "export_qdpx": Walk(witness={"memo", "coder"}),
    # Review and consensus: supervisors; coders their own figures once released.
    "review_queue": Walk(witness=NONE),
    "review_history": Walk(witness=NONE),
    "review_unit": Walk(("unit_id",), witness={"coder"}),
    "review_decide": Walk(("unit_id",), method="POST", witness=NONE),
    "review_reopen": Walk(("unit_id",), method="POST", witness=NONE),
    "consensus_coders": Walk(witness={"coder"}),
    "consensus_coders_matrix": Walk(query={"coder": "b_id"}, witness={"coder"}),
    "export_consensus": Walk(witness=NONE),
    # Assessments count the submitted coders' readings.
    "assessments": Walk(witness=NONE),
    "assessment_negotiation": Walk(("negotiation_id",), witness=NONE),
    "assessment_cell": Walk(("negotiation_id",), witness=NONE),
    "assessment_timeline": Walk(("negotiation_id",), witness=NONE),
    "assessment_robustness": Walk(("negotiation_id",), witness=NONE),
    "assignments": Walk(witness=NONE),
    "assignment_reopen": Walk(("b_assignment_id",), method="POST", witness=NONE),
    # The read API.
    "api-v1:codings": Walk(
        reveals=ALL | {"count"}, witness=ALL | {"count"}, count=lambda n: f'"count": {n},', api=True
    ),
    "api-v1:codings_csv": Walk(reveals=ALL, api=True),
    "api-v1:consensus": Walk(witness=NONE, api=True),
    "api-v1:consensus_csv": Walk(witness=NONE, api=True),
    "api-v1:reliability": Walk(witness=NONE, api=True),
    "api-v1:reliability_csv": Walk(witness=NONE, api=True),
    "api-v1:reliability_passages": Walk(witness=NONE, api=True),
    "api-v1:reliability_passages_csv": Walk(witness=NONE, api=True),
    "api-v1:reliability_matrix_csv": Walk(witness={"coder"}, api=True),
    "api-v1:assessments": Walk(witness=NONE, api=True),
    "api-v1:assessments_csv": Walk(witness=NONE, api=True),
    "api-v1:codebook": Walk(witness=NONE, api=True),
    "api-v1:sources": Walk(witness=NONE, api=True),
    "api-v1:source": Walk(("source_id",), witness=NONE, api=True),
    "api-v1:sources_csv": Walk(witness=NONE, api=True),
    "api-v1:study": Walk(witness=NONE, api=True),
}

# URL names whose responses carry no coding, count of codings nor coder's reading, and why.
NOT_CODING_BEARING = {
    "study_create": "a form for a new study",
    "study_detail": "cases, and counts of sources and members",
    "study_settings": "the study's name and switches",
    "party_list": "parties",
    "party_edit": "supervisors only; the count of codings naming a party is study-wide for them",
    "party_merge": "a supervisor's write, answered by a redirect",
    "negotiation_list": "cases, phases and parties",
    "negotiation_create": "a form",
    "negotiation_edit": "a case's form",
    "phase_create": "a supervisor's write",
    "phase_update": "a supervisor's write",
    "event_create": "a supervisor's write",
    "event_delete": "a supervisor's write",
    "member_list": "members and roles (every member sees who is in the study)",
    "member_add": "a supervisor's write",
    "member_update": "a supervisor's write",
    "member_remove": "a supervisor's write",
    "member_reset_link": "an owner's write",
    "invitation_create": "a supervisor's write",
    "invitation_revoke": "a supervisor's write",
    "invitation_accept": "the page behind an invitation link",
    "codebook_css": "code colours",
    "codebook_versions": "codebook snapshots",
    "code_create": "a form",
    "code_edit": "a code's form",
    "code_remove": "a supervisor's write",
    "code_set_toggle": "a supervisor's write",
    "source_list": "sources' metadata",
    "source_create": "a form",
    "source_import": "a form",
    "source_import_preview": "the plan of a file's sources",
    "source_edit": "a source's metadata form",
    "source_text": "a supervisor's write (refused once coded)",
    "source_delete": "a supervisor's write",
    "export_sources": "sources' metadata",
    "exports": "a list of links",
    "numbers": "docs/numbers.md",
    "interchange": "a form and the recent imports",
    "export_qdc": "the codebook",
    "qdpx_import_new": "a form",
    "qdpx_import_preview": "the plan of a file",
    "qdpx_import_confirm": "a write, answered by a redirect",
    "assignment_submit": "A's own write, answered by a redirect to the coding page (walked)",
    "assessment_rule": "the rule's parameters",
    "api_tokens": "the user's own tokens",
    "api_token_revoke": "a write, answered by a redirect",
    "job_list": "background jobs",
    "job_download": "an export job's file: owners and supervisors (readers for the replication "
    "package) only, coders are refused (tests/jobs/test_exports_and_reports.py)",
    "qdpx_export_start": "a supervisor's write, answered by a redirect to the job",
    "replication_package_start": "a write answered by a redirect to the job; coders are refused",
    "assignment_unassign": "owners and supervisors only: it lists the codings an unassignment "
    "would discard, and coders are refused (tests/coding/test_assignments.py)",
    "job_detail": "a background job",
    "api-v1:openapi-json": "the API's schema",
    "api-v1:openapi-view": "the API's documentation page",
    "api-v1:api-root": "the API's index",
    "api-v1:studies": "studies with counts of sources and members",
    "api-v1:parties": "parties",
    "api-v1:negotiations": "cases",
}


def all_url_names() -> list[str]:
    return url_names() + [f"api-v1:{name}" for name in url_names("api-v1")]


def test_every_url_is_walked_or_declared_not_to_carry_codings():
    names = set(all_url_names())
    assert sorted(names - set(WALKS) - set(NOT_CODING_BEARING)) == []
    assert sorted(set(WALKS) & set(NOT_CODING_BEARING)) == []
    # Nothing listed that no longer exists.
    assert sorted((set(WALKS) | set(NOT_CODING_BEARING)) - names) == []


@pytest.fixture
def world(members):
    """One source coded by A (1 coding, in progress) and B (3 codings, submitted)."""
    study = members.study
    us, dprk = PartyFactory(study=study, code="US"), PartyFactory(study=study, code="DPRK")
    negotiation = NegotiationFactory(study=study)
    negotiation.parties.add(us, dprk)
    phase = PhaseFactory(negotiation=negotiation)
    source = source_services.source_create(
        study=study,
        metadata=source_services.SourceMetadata(
            negotiation=negotiation, phase=phase, title="Talks", speaker_party=dprk
        ),
        text=TEXT,
        created_by=members.supervisor,
    )
    a, b = members.coder, members.coder2
    assert b.username == B_NAME
    for coder in (a, b):
        assignment_services.assignment_create(source=source, coder=coder, assigned_by=members.owner)
    zopa = Code.objects.get(study=study, name="ZOPA")

    def span(quote: str) -> dict:
        start = source.text.index(quote)
        return {"start": start, "end": start + len(quote), "quote": quote}

    a_coding = coding_services.coding_create(
        source=source,
        coder=a,
        code=zopa,
        stance="for",
        demonstrating_party=us,
        memo=A_MEMO,
        **span("welcomed the freeze"),
    )
    for i, quote in enumerate(("fuel deliveries", "meet again", "talks ended")):
        Coding.objects.create(
            pk=B_ID + i,
            source=source,
            coder=b,
            code=zopa,
            stance="against",
            demonstrating_party=dprk,
            memo=B_MEMO if i == 0 else "",
            **span(quote),
        )
    b_assignment = Assignment.objects.get(source=source, coder=b)
    assignment_services.assignment_submit(assignment=b_assignment)
    Job.objects.create(study=study, kind=JobKind.IMPORT_CHECK)
    return {
        "members": members,
        "source": source,
        "zopa": zopa,
        "us": us,
        "a_coding": a_coding,
        "ids": {
            "slug": study.slug,
            "source_id": source.pk,
            "b_coding_id": B_ID,
            "a_coding_id": a_coding.pk,
            "negotiation_id": negotiation.pk,
            "b_assignment_id": b_assignment.pk,
            "b_id": b.pk,
        },
    }


def unit_id() -> int:
    unit = ConsensusUnit.objects.order_by("pk").first()
    return unit.pk if unit else 1


def target(name: str, walk: Walk, ids: dict) -> tuple[str, dict]:
    ids = ids | {"unit_id": unit_id()}
    query = {k: ids.get(v, v) for k, v in walk.query.items()}
    if walk.api:
        return reverse(name, kwargs={k: ids[k] for k in ("slug", *walk.kwargs)}), query
    kwargs = {k.removeprefix("b_").removeprefix("a_"): ids[k] for k in ("slug", *walk.kwargs)}
    return reverse(f"negotiations:{name}", kwargs=kwargs), query


def body(response) -> str:
    """The text a response carries: pages, JSON, CSV, and the cells of XLSX and files in zips."""
    content = b"".join(response.streaming_content) if response.streaming else response.content
    if content[:2] == b"PK":
        archive = zipfile.ZipFile(io.BytesIO(content))
        if "xl/workbook.xml" in archive.namelist():
            book = openpyxl.load_workbook(io.BytesIO(content), read_only=True)
            return "\n".join(
                "\t".join("" if v is None else str(v) for v in row)
                for sheet in book.worksheets
                for row in sheet.iter_rows(values_only=True)
            )
        return "\n".join(archive.read(n).decode("utf-8", "replace") for n in archive.namelist())
    text = content.decode("utf-8", "replace")
    for header in ("HX-Trigger", "HX-Trigger-After-Swap", "HX-Trigger-After-Settle"):
        text += response.get(header, "")
    return text


def markers(walk: Walk) -> dict[str, list[str]]:
    found = {"memo": [B_MEMO], "id": [str(B_ID + i) for i in range(3)], "coder": [B_NAME]}
    if walk.count:
        found["count"] = [walk.count(3), walk.count(4)]
    return found


def responses(client: Client, name: str, walk: Walk, ids: dict) -> list:
    path, query = target(name, walk, ids)
    if walk.method == "POST":
        return [client.post(path, query), client.post(path, query, headers=HTMX)]
    return [client.get(path, query), client.get(path, query, headers=HTMX)]


def shown(text: str, walk: Walk) -> set[str]:
    return {kind for kind, values in markers(walk).items() if any(v in text for v in values)}


WALKED = sorted(WALKS)


@pytest.mark.parametrize("name", WALKED)
def test_a_coder_sees_nothing_of_another_coder_before_submitting(world, name):
    walk = WALKS[name]
    members = world["members"]
    a = client_for(members.coder)
    for response in responses(a, name, walk, world["ids"]):
        text = body(response)
        assert shown(text, walk) == set(), (response.status_code, text[:300])
        if walk.count and response.status_code == 200:
            assert walk.count(1) in text  # A's own coding is counted
    # The supervisor sees B's work on the same endpoint: the absence above is blindness.
    assignment_services.assignment_submit(assignment=Assignment.objects.get(coder=members.coder))
    consensus_services.consensus_sync(study=members.study, force=True)
    supervisor = client_for(members.supervisor)
    for response in responses(supervisor, name, walk, world["ids"]):
        assert walk.witness <= shown(body(response), walk), name
        if walk.count and response.status_code == 200:
            assert walk.count(4) in body(response)


@pytest.mark.parametrize("name", [n for n in WALKED if WALKS[n].reveals])
def test_after_submitting_a_coder_sees_the_other_coders_work(world, name):
    walk = WALKS[name]
    members = world["members"]
    assignment_services.assignment_submit(assignment=Assignment.objects.get(coder=members.coder))
    a = client_for(members.coder)
    for response in responses(a, name, walk, world["ids"]):
        assert response.status_code == 200
        assert walk.reveals <= shown(body(response), walk)
        if walk.count:
            assert walk.count(4) in body(response)


def test_a_coders_own_saves_changes_deletions_and_edit_form_hold_nothing_of_b(world):
    """The htmx requests the coding page sends, and the edit form, before A submits."""
    members, source = world["members"], world["source"]
    slug, walk = members.study.slug, Walk(count=None)
    a = client_for(members.coder)
    start = source.text.index("Geneva")
    data = {
        "start": start,
        "end": start + len("Geneva"),
        "quote": "Geneva",
        "code": world["zopa"].pk,
        "stance": "for",
        "demonstrating_party": world["us"].pk,
        "strength": "",
        "memo": "mine",
    }
    saved = a.post(
        reverse("negotiations:coding_create", args=[slug, source.pk]), data, headers=HTMX
    )
    assert saved.status_code == 200 and shown(body(saved), walk) == set()
    new = Coding.objects.get(coder=members.coder, quote="Geneva")
    edit_url = reverse("negotiations:coding_update", args=[slug, new.pk])
    for headers in ({}, HTMX):
        form = a.get(edit_url, headers=headers)
        assert form.status_code == 200 and "mine" in body(form)
        assert shown(body(form), walk) == set()
    changed = a.post(edit_url, data | {"stance": "against", "memo": "changed"}, headers=HTMX)
    assert changed.status_code == 200 and shown(body(changed), walk) == set()
    assert Coding.objects.get(pk=new.pk).memo == "changed"
    deleted = a.post(reverse("negotiations:coding_delete", args=[slug, new.pk]), headers=HTMX)
    assert deleted.status_code == 200 and shown(body(deleted), walk) == set()
    assert not Coding.objects.filter(pk=new.pk).exists()
    # Asking for B's layer by its id gives A's own layer.
    layer = a.get(
        reverse("negotiations:coding_data", args=[slug, source.pk]), {"layer": members.coder2.pk}
    )
    assert A_MEMO in body(layer) and shown(body(layer), walk) == set()
