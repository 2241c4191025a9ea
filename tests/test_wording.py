"""The main pages with one and with two of everything: no "1 members", no "2 source", and no
empty state shown as item "1." of a list."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.urls import reverse

from negotiations.coding import assignments as assignment_services
from negotiations.coding import services as coding_services
from negotiations.consensus import services as consensus_services
from negotiations.models import Code, ConsensusUnit, Role
from negotiations.studies import services as study_services
from tests.conftest import client_for
from tests.factories import (
    NegotiationFactory,
    PartyFactory,
    PhaseFactory,
    SourceFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

NOUNS = (
    "member", "version", "source", "coding", "unit", "row", "problem", "sentence", "character",
    "coder", "passage", "code", "party", "parties", "negotiation", "phase", "event", "invitation",
    "assignment", "mark", "request", "decision", "disagreement", "job", "token", "element",
)  # fmt: skip
PLURALS = {n: n if n.endswith("ies") else n + "s" for n in NOUNS}
SINGULARS = {"parties": "party"}


def slips(text: str) -> list[str]:
    """'1 <plural>' and '2 <singular>' in the visible text of a page."""
    found = []
    for noun in NOUNS:
        plural = PLURALS[noun]
        singular = SINGULARS.get(noun, noun)
        found += re.findall(rf"(?<![\d.,:/-])\b1 {plural}\b", text)
        found += re.findall(rf"(?<![\d.,:/-])\b2 {singular}\b(?!-)", text)
    return found


def visible_text(html: str) -> str:
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    html = re.sub(r"<option\b.*?</option>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def test_slips_are_found():
    """The check itself: it must catch what it guards against, and pass what is right."""
    assert sorted(slips("1 members and 2 source and 1 parties")) == [
        "1 members",
        "1 parties",
        "2 source",
    ]
    assert slips("1 member, 2 sources, 11 codings, 1.5 units, Sentence 1 sources") == ["1 sources"]


def build(n: int):
    """A study with n of each thing: coders, sources, codings per coder, parties, events."""
    owner = UserFactory(username=f"owner{n}")
    study = study_services.study_create(name=f"Study {n}", slug=f"study-{n}", created_by=owner)
    supervisor = UserFactory(username=f"sup{n}")
    study_services.membership_add(
        study=study, identifier=supervisor.username, role=Role.SUPERVISOR, actor_role=Role.OWNER
    )
    coders = []
    for i in range(n):
        coder = UserFactory(username=f"coder{n}{i}")
        study_services.membership_add(
            study=study, identifier=coder.username, role=Role.CODER, actor_role=Role.OWNER
        )
        coders.append(coder)
    negotiation = NegotiationFactory(study=study, name="Agreed Framework")
    PhaseFactory(negotiation=negotiation)
    parties = [PartyFactory(study=study, code=f"P{i}") for i in range(n)]
    negotiation.parties.add(*parties)
    code = Code.objects.filter(study=study, name="ZOPA").get()
    sources = [SourceFactory(study=study, negotiation=negotiation) for _ in range(n)]
    for source in sources:
        for k, coder in enumerate(coders):
            assignment_services.assignment_create(
                source=source, coder=coder, assigned_by=supervisor
            )
            for j in range(n):
                start, end = (0, 9) if j == 0 else (10, 16)
                coding_services.coding_create(
                    source=source,
                    coder=coder,
                    code=code,
                    start=start,
                    end=end,
                    quote=source.text[start:end],
                    stance="for" if k == 0 else "against",
                    demonstrating_party=parties[0],
                )
    for assignment in coding_services.Assignment.objects.filter(source__study=study):
        assignment_services.assignment_submit(assignment=assignment)
    consensus_services.consensus_sync(study=study)
    return {
        "study": study,
        "owner": owner,
        "supervisor": supervisor,
        "coder": coders[0],
        "source": sources[0],
        "negotiation": negotiation,
        "code": code,
        "party": parties[0],
    }


PAGES = [
    ("study_detail", ()),
    ("member_list", ()),
    ("party_list", ()),
    ("negotiation_list", ()),
    ("codebook", ()),
    ("codebook_versions", ()),
    ("source_list", ()),
    ("exports", ()),
    ("my_work", ()),
    ("assignments", ()),
    ("review_queue", ()),
    ("review_history", ()),
    ("consensus_coders", ()),
    ("reliability", ()),
    ("assessments", ()),
    ("passage_list", ()),
    ("job_list", ()),
]


@pytest.mark.parametrize("n", [1, 2])
def test_main_pages_say_one_thing_and_two_things(n):
    made = build(n)
    study = made["study"]
    supervisor, coder = client_for(made["supervisor"]), client_for(made["coder"])
    urls = [reverse(f"negotiations:{name}", args=[study.slug, *args]) for name, args in PAGES]
    urls += [
        reverse("home"),
        reverse("negotiations:source_detail", args=[study.slug, made["source"].pk]),
        reverse("negotiations:negotiation_edit", args=[study.slug, made["negotiation"].pk]),
        reverse("negotiations:assessment_negotiation", args=[study.slug, made["negotiation"].pk]),
        reverse("negotiations:assessment_cell", args=[study.slug, made["negotiation"].pk])
        + f"?phase=0&code={made['code'].pk}&party={made['party'].pk}",
    ]
    unit = ConsensusUnit.objects.filter(study=study).first()
    if unit:
        urls.append(reverse("negotiations:review_unit", args=[study.slug, unit.pk]))
    checked = 0
    for client in (supervisor, coder):
        for url in urls:
            response = client.get(url)
            if response.status_code == 403:
                continue
            assert response.status_code == 200, url
            html = response.content.decode()
            assert slips(visible_text(html)) == [], url
            # An empty state is a sentence, never the first item of a (numbered) list.
            assert not re.search(r"<li[^>]*>\s*(<[^>]+>\s*)*No\b", html), url
            checked += 1
    assert checked >= 30
