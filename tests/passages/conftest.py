"""Passages of two coders in two negotiations, one with a phase."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from negotiations.models import Assignment, AssignmentStatus, Code, Coding, Party, Source
from tests.factories import NegotiationFactory, PartyFactory, PhaseFactory, SourceFactory

TEXT = (
    "The United States will deliver heavy fuel oil on schedule. "
    "The reactor freeze stays in place while deliveries continue. "
    "Both sides will meet again in Geneva next month."
)


@dataclass
class Passages:
    us: Party
    dprk: Party
    source_af: Source
    source_spt: Source
    cora_fuel: Coding
    cody_freeze: Coding
    cody_geneva: Coding

    def assignment(self, source, coder) -> Assignment:
        return Assignment.objects.get(source=source, coder=coder)


def make_coding(source, coder, quote, code, party, stance="for") -> Coding:
    start = source.text.index(quote)
    return Coding.objects.create(
        source=source,
        coder=coder,
        code=code,
        start=start,
        end=start + len(quote),
        quote=quote,
        stance=stance,
        demonstrating_party=party,
    )


@pytest.fixture
def passages(members) -> Passages:
    study = members.study
    us = PartyFactory(study=study, code="US")
    dprk = PartyFactory(study=study, code="DPRK")
    agreed = NegotiationFactory(study=study, name="Agreed Framework")
    talks = NegotiationFactory(study=study, name="Six-Party Talks")
    phase = PhaseFactory(negotiation=agreed, name="Implementation")
    source_af = SourceFactory(
        study=study,
        negotiation=agreed,
        phase=phase,
        text=TEXT,
        speaker="Gallucci",
        speaker_party=us,
    )
    source_spt = SourceFactory(
        study=study,
        negotiation=talks,
        text="Pyongyang said the talks were useful. " + TEXT,
        speaker="KCNA",
        speaker_party=dprk,
        source_type="news_report",
    )
    for source in (source_af, source_spt):
        for coder in (members.coder, members.coder2):
            Assignment.objects.create(source=source, coder=coder)
    capacity = Code.objects.get(study=study, name="CAPACITY")
    willingness = Code.objects.get(study=study, name="WILLINGNESS")
    return Passages(
        us=us,
        dprk=dprk,
        source_af=source_af,
        source_spt=source_spt,
        cora_fuel=make_coding(source_af, members.coder, "deliver heavy fuel oil", capacity, us),
        cody_freeze=make_coding(
            source_af, members.coder2, "reactor freeze stays in place", capacity, dprk, "against"
        ),
        cody_geneva=make_coding(
            source_spt, members.coder2, "meet again in Geneva", willingness, dprk
        ),
    )


def submit(passages, source, coder) -> None:
    Assignment.objects.filter(source=source, coder=coder).update(status=AssignmentStatus.SUBMITTED)
