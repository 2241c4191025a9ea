"""Coded data is never re-filed or orphaned without a word; parties are one per code, whatever
the case, and can be renamed and merged with a record of it."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from negotiations.coding import assignments as assignment_services
from negotiations.coding import services as coding_services
from negotiations.models import (
    ChangeRecord,
    Code,
    Coding,
    NegotiationParty,
    Party,
    Source,
)
from negotiations.sources import services as source_services
from negotiations.studies import services as study_services
from tests.factories import NegotiationFactory, PartyFactory, PhaseFactory

pytestmark = pytest.mark.django_db

TEXT = "Alpha talks resumed. The delegation left late."


@pytest.fixture
def coded(members):
    study = members.study
    us = PartyFactory(study=study, code="US")
    dprk = PartyFactory(study=study, code="DPRK")
    af = NegotiationFactory(study=study, name="Agreed Framework")
    six = NegotiationFactory(study=study, name="Six-Party Talks")
    for negotiation in (af, six):
        negotiation.parties.add(us, dprk)
    phase = PhaseFactory(negotiation=af, name="Implementation")
    source = source_services.source_create(
        study=study,
        metadata=source_services.SourceMetadata(
            negotiation=af, phase=phase, title="Talks", speaker_party=dprk
        ),
        text=TEXT,
        created_by=members.supervisor,
    )
    assignment_services.assignment_create(source=source, coder=members.coder, assigned_by=None)
    zopa = Code.objects.get(study=study, name="ZOPA")
    for start, end, party in [(0, 5, us), (6, 11, dprk), (21, 24, us)]:
        coding_services.coding_create(
            source=source,
            coder=members.coder,
            code=zopa,
            start=start,
            end=end,
            quote=TEXT[start:end],
            stance="for",
            demonstrating_party=party,
        )
    return {
        "study": study,
        "us": us,
        "dprk": dprk,
        "af": af,
        "six": six,
        "phase": phase,
        "source": source,
        "zopa": zopa,
    }


def metadata(coded, **changes):
    values = {
        "negotiation": coded["af"],
        "phase": coded["phase"],
        "title": "Talks",
        "speaker_party": coded["dprk"],
    }
    values.update(changes)
    return source_services.SourceMetadata(**values)


def test_moving_a_coded_source_needs_a_confirmation_that_lists_its_codings(coded, members):
    with pytest.raises(source_services.ConfirmationRequired) as refused:
        source_services.source_update_metadata(
            source=coded["source"],
            metadata=metadata(coded, negotiation=coded["six"], phase=None),
            actor=members.supervisor,
        )
    text = " ".join(refused.value.messages)
    assert "3 codings by cora" in text and "Agreed Framework" in text and "Six-Party" in text
    source = Source.objects.get(pk=coded["source"].pk)
    assert source.negotiation == coded["af"] and source.phase == coded["phase"]
    assert ChangeRecord.objects.count() == 0
    source_services.source_update_metadata(
        source=coded["source"],
        metadata=metadata(coded, negotiation=coded["six"], phase=None),
        actor=members.supervisor,
        confirmed=True,
    )
    source.refresh_from_db()
    assert source.negotiation == coded["six"] and source.phase is None
    record = ChangeRecord.objects.get()
    assert record.actor == members.supervisor
    assert record.action == ChangeRecord.Action.SOURCE_REFILED
    assert record.before["negotiation"] == "Agreed Framework"
    assert record.after["negotiation"] == "Six-Party Talks"
    assert record.affected["codings"] == 3


def test_the_edit_page_asks_for_the_confirmation(clients, coded):
    url = reverse("negotiations:source_edit", args=[coded["study"].slug, coded["source"].pk])
    data = {
        "negotiation": coded["six"].pk,
        "phase": "",
        "title": "Talks",
        "speaker_party": coded["dprk"].pk,
        "source_type": "official_statement",
        "language": "en",
    }
    response = clients["supervisor"].post(url, data)
    assert response.status_code == 200
    html = response.content.decode()
    assert "3 codings by cora" in html and 'name="confirm_refile"' in html
    assert Source.objects.get(pk=coded["source"].pk).negotiation == coded["af"]
    response = clients["supervisor"].post(url, {**data, "confirm_refile": "on"})
    assert response.status_code == 302
    assert Source.objects.get(pk=coded["source"].pk).negotiation == coded["six"]


def test_moving_to_a_case_without_the_coded_parties_is_refused(coded, members):
    other = NegotiationFactory(study=coded["study"], name="Summits")
    other.parties.add(coded["dprk"])
    with pytest.raises(ValidationError, match="US"):
        source_services.source_update_metadata(
            source=coded["source"],
            metadata=metadata(coded, negotiation=other, phase=None),
            actor=members.supervisor,
            confirmed=True,
        )
    assert Source.objects.get(pk=coded["source"].pk).negotiation == coded["af"]


def refusal_keeping_only(coded, members, party) -> str:
    """The refusal's text when the negotiation's parties would be cut to `party` alone."""
    with pytest.raises(ValidationError) as refused:
        study_services.negotiation_update(
            negotiation=coded["af"],
            name="Agreed Framework",
            description="",
            start_date=None,
            end_date=None,
            parties=[party],
            principal_parties=[],
            actor=members.supervisor,
        )
    return " ".join(refused.value.messages)


def test_removing_a_party_that_codings_name_is_refused(coded, members):
    refusal = refusal_keeping_only(coded, members, coded["dprk"])
    assert "US" in refusal
    assert "2 codings" in refusal
    assert set(coded["af"].parties.all()) == {coded["us"], coded["dprk"]}


def test_the_refusal_counts_one_coding_and_one_source_in_the_singular(coded, members):
    assert "DPRK (1 coding, 1 source)" in refusal_keeping_only(coded, members, coded["us"])


def test_changing_a_negotiations_parties_is_recorded(coded, members):
    china = PartyFactory(study=coded["study"], code="CN")
    study_services.negotiation_update(
        negotiation=coded["af"],
        name="Agreed Framework",
        description="",
        start_date=None,
        end_date=None,
        parties=[coded["us"], coded["dprk"], china],
        principal_parties=[coded["us"]],
        actor=members.supervisor,
    )
    record = ChangeRecord.objects.get(action=ChangeRecord.Action.NEGOTIATION_PARTIES)
    assert record.before["parties"] == ["DPRK", "US"]
    assert record.after["parties"] == ["CN", "DPRK", "US"]


def test_party_codes_are_unique_ignoring_case(members):
    study_services.party_create(study=members.study, code="US", name="United States")
    with pytest.raises(ValidationError, match="ignoring case"):
        study_services.party_create(study=members.study, code="us", name="us")
    assert Party.objects.filter(study=members.study).count() == 1


def test_the_party_form_says_so(clients, members):
    study_services.party_create(study=members.study, code="US", name="United States")
    url = reverse("negotiations:party_list", args=[members.study.slug])
    response = clients["supervisor"].post(url, {"code": "us", "name": "us"})
    assert response.status_code == 200
    assert "already exists" in response.content.decode()


def test_a_coding_party_must_belong_to_the_negotiation(coded, members):
    china = PartyFactory(study=coded["study"], code="CN")
    with pytest.raises(ValidationError, match="not a party of Agreed Framework"):
        coding_services.coding_create(
            source=coded["source"],
            coder=members.coder,
            code=coded["zopa"],
            start=0,
            end=5,
            quote="Alpha",
            stance="against",
            demonstrating_party=china,
        )


def test_a_speaking_party_must_belong_to_the_negotiation(coded, members):
    china = PartyFactory(study=coded["study"], code="CN")
    with pytest.raises(ValidationError, match="not a party of Agreed Framework"):
        source_services.source_create(
            study=coded["study"],
            metadata=metadata(coded, speaker_party=china, title="Other"),
            text="Another statement.",
            created_by=members.supervisor,
        )


def test_rename_a_party_is_recorded(clients, coded, members):
    url = reverse("negotiations:party_edit", args=[coded["study"].slug, coded["us"].pk])
    assert clients["supervisor"].get(url).status_code == 200
    response = clients["supervisor"].post(url, {"code": "USA", "name": "United States"})
    assert response.status_code == 302
    coded["us"].refresh_from_db()
    assert coded["us"].code == "USA"
    record = ChangeRecord.objects.get(action=ChangeRecord.Action.PARTY_RENAMED)
    assert record.before["code"] == "US" and record.after["code"] == "USA"
    assert record.actor == members.supervisor


def test_merge_moves_codings_and_is_recorded(clients, coded, members):
    usa = PartyFactory(study=coded["study"], code="USA")
    coded["six"].parties.add(usa)
    url = reverse("negotiations:party_merge", args=[coded["study"].slug, coded["us"].pk])
    response = clients["supervisor"].post(url, {"into": usa.pk})
    assert response.status_code == 302
    assert not Party.objects.filter(pk=coded["us"].pk).exists()
    assert Coding.objects.filter(demonstrating_party=usa).count() == 2
    assert NegotiationParty.objects.filter(negotiation=coded["af"], party=usa).exists()
    record = ChangeRecord.objects.get(action=ChangeRecord.Action.PARTY_MERGED)
    assert record.affected["codings"] == 2
    assert record.before["code"] == "US" and record.after["code"] == "USA"


def test_merge_drops_a_coding_that_becomes_an_exact_duplicate(coded, members):
    usa = PartyFactory(study=coded["study"], code="USA")
    coded["af"].parties.add(usa)
    coding_services.coding_create(
        source=coded["source"],
        coder=members.coder,
        code=coded["zopa"],
        start=0,
        end=5,
        quote="Alpha",
        stance="for",
        demonstrating_party=usa,
    )
    study_services.party_merge(party=coded["us"], into=usa, actor=members.supervisor)
    assert Coding.objects.filter(demonstrating_party=usa).count() == 2
    record = ChangeRecord.objects.get(action=ChangeRecord.Action.PARTY_MERGED)
    assert record.affected["duplicates_removed"] == 1


def test_only_managers_rename_and_merge(clients, coded):
    edit = reverse("negotiations:party_edit", args=[coded["study"].slug, coded["us"].pk])
    merge = reverse("negotiations:party_merge", args=[coded["study"].slug, coded["us"].pk])
    for role in ("coder", "reader"):
        assert clients[role].post(edit, {"code": "X", "name": "X"}).status_code == 403
        assert clients[role].post(merge, {"into": coded["dprk"].pk}).status_code == 403
    assert clients["outsider"].post(edit, {"code": "X", "name": "X"}).status_code == 404
