"""A small coded study for the API tests: two sources coded by both coders, cora has submitted
source A (and so sees cody's codings of it) but not source B (where she must not)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

import pytest

from negotiations.api import services as api_services
from negotiations.coding import assignments as assignment_services
from negotiations.coding import services as coding_services
from negotiations.models import Code, Coding, Event, NegotiationParty, Party, Source
from negotiations.sources import services as source_services
from tests.factories import NegotiationFactory, PartyFactory, PhaseFactory


@dataclass
class Corpus:
    members: object
    sources: dict[str, Source]
    codings: dict[str, Coding]
    tokens: dict[str, str]


def _code(source: Source, coder, phrase: str, code: str, stance: str = "for") -> Coding:
    start = source.text.index(phrase)
    return coding_services.coding_create(
        source=source,
        coder=coder,
        code=Code.objects.get(study=source.study, name=code),
        start=start,
        end=start + len(phrase),
        quote=phrase,
        stance=stance,
        demonstrating_party=Party.objects.get(study=source.study, code="DPRK"),
    )


@pytest.fixture
def corpus(members) -> Corpus:
    study = members.study
    negotiation = NegotiationFactory(study=study, name="Agreed Framework", slug="agreed-framework")
    phase = PhaseFactory(negotiation=negotiation, name="Agreement")
    Event.objects.create(
        negotiation=negotiation, date=datetime.date(1994, 10, 21), title="Signed in Geneva"
    )
    dprk = PartyFactory(study=study, code="DPRK", name="North Korea")
    us = PartyFactory(study=study, code="US", name="United States")
    NegotiationParty.objects.create(negotiation=negotiation, party=dprk, is_principal=True)
    NegotiationParty.objects.create(negotiation=negotiation, party=us, is_principal=True)

    def source(title: str, text: str) -> Source:
        return source_services.source_create(
            study=study,
            metadata=source_services.SourceMetadata(
                negotiation=negotiation,
                title=title,
                phase=phase,
                speaker_party=dprk,
                date=datetime.date(1994, 10, 21),
            ),
            text=text,
            created_by=members.supervisor,
        )

    sources = {
        "A": source("Statement A", "🙂 We agree to freeze the reactor. Fuel is late. We wait."),
        "B": source("Statement B", "We agree to talk. We will meet again in Geneva."),
    }
    cora, cody = members.coder, members.coder2
    for coder in (cora, cody):
        for key in "AB":
            assignment_services.assignment_create(
                source=sources[key], coder=coder, assigned_by=members.supervisor
            )
    codings = {
        "cora A": _code(sources["A"], cora, "We agree to freeze the reactor.", "ZOPA"),
        "cody A": _code(sources["A"], cody, "We agree to freeze the reactor.", "ZOPA"),
        "cody A2": _code(sources["A"], cody, "Fuel is late.", "CAPACITY", "against"),
        "cora B": _code(sources["B"], cora, "We agree to talk.", "WILLINGNESS"),
        "cody B": _code(sources["B"], cody, "We will meet again in Geneva.", "ZOPA"),
    }
    assignment_services.assignment_submit(assignment=sources["A"].assignments.get(coder=cora))
    assignment_services.assignment_submit(assignment=sources["A"].assignments.get(coder=cody))
    assignment_services.assignment_submit(assignment=sources["B"].assignments.get(coder=cody))
    users = {
        "outsider": members.outsider,
        "reader": members.reader,
        "coder": cora,
        "supervisor": members.supervisor,
        "owner": members.owner,
    }
    tokens = {
        role: api_services.api_token_create(user=user, name=f"{role} laptop").secret
        for role, user in users.items()
    }
    return Corpus(members=members, sources=sources, codings=codings, tokens=tokens)
