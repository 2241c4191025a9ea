"""Codings stay on the characters they quote, and one passage is one coding: races and double
submits, on SQLite and with real concurrent connections on PostgreSQL."""

from __future__ import annotations

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connections, transaction
from django.urls import reverse

from negotiations.coding import assignments as assignment_services
from negotiations.coding import services as coding_services
from negotiations.models import Code, Coding, Source
from negotiations.sources import services as source_services
from tests.factories import NegotiationFactory, PartyFactory

pytestmark = pytest.mark.django_db

TEXT = "Alpha talks resumed. The delegation left late."


@pytest.fixture
def setup(members):
    study = members.study
    us = PartyFactory(study=study, code="US")
    negotiation = NegotiationFactory(study=study)
    negotiation.parties.add(us)
    source = source_services.source_create(
        study=study,
        metadata=source_services.SourceMetadata(negotiation=negotiation, title="Talks"),
        text=TEXT,
        created_by=members.supervisor,
    )
    assignment_services.assignment_create(source=source, coder=members.coder, assigned_by=None)
    return {
        "study": study,
        "source": source,
        "us": us,
        "zopa": Code.objects.get(study=study, name="ZOPA"),
    }


def save_alpha(setup, coder, source=None):
    return coding_services.coding_create(
        source=source or setup["source"],
        coder=coder,
        code=setup["zopa"],
        start=0,
        end=5,
        quote="Alpha",
        stance="for",
        demonstrating_party=setup["us"],
    )


def assert_every_quote_matches():
    for coding in Coding.objects.select_related("source"):
        assert coding.quote == coding.source.text[coding.start : coding.end]


def test_a_stale_source_object_cannot_save_a_span_over_corrected_text(setup, members):
    """The page loaded the source before the supervisor corrected it: the quote is checked
    against the text as it is now, not as the request first read it."""
    stale = Source.objects.get(pk=setup["source"].pk)
    source_services.source_replace_text(
        source=setup["source"], text="XYZQW " + TEXT, actor=members.supervisor
    )
    with pytest.raises(ValidationError, match="does not match the source"):
        save_alpha(setup, members.coder, source=stale)
    assert Coding.objects.count() == 0


def test_the_same_coding_twice_is_refused_with_a_message(setup, members):
    save_alpha(setup, members.coder)
    with pytest.raises(ValidationError, match="already coded this passage"):
        save_alpha(setup, members.coder)
    assert Coding.objects.count() == 1


def test_the_database_refuses_a_duplicate_coding(setup, members):
    first = save_alpha(setup, members.coder)
    with pytest.raises(IntegrityError), transaction.atomic():
        Coding.objects.create(
            source=first.source,
            coder=first.coder,
            code=first.code,
            start=0,
            end=5,
            quote="Alpha",
            stance="for",
            demonstrating_party=first.demonstrating_party,
        )


def test_a_double_submitted_form_saves_one_coding(clients, setup):
    url = reverse("negotiations:coding_create", args=[setup["study"].slug, setup["source"].pk])
    data = {
        "start": 0,
        "end": 5,
        "quote": "Alpha",
        "code": setup["zopa"].pk,
        "stance": "for",
        "demonstrating_party": setup["us"].pk,
    }
    assert clients["coder"].post(url, data, headers={"HX-Request": "true"}).status_code == 200
    second = clients["coder"].post(url, data, headers={"HX-Request": "true"})
    assert second.status_code == 422
    assert "already coded this passage" in second.content.decode()
    assert Coding.objects.count() == 1


def test_sentence_coding_refuses_a_stale_source(setup, members):
    stale = Source.objects.get(pk=setup["source"].pk)
    source_services.source_replace_text(
        source=setup["source"], text="XYZQW " + TEXT, actor=members.supervisor
    )
    (coding,) = coding_services.codings_create_for_segments(
        source=stale,
        coder=members.coder,
        segment_indexes=[0],
        code=setup["zopa"],
        stance="for",
        demonstrating_party=setup["us"],
    )
    assert coding.quote == "XYZQW Alpha talks resumed."
    assert_every_quote_matches()


def test_saving_while_the_text_is_corrected_on_postgresql(
    setup, members, postgres_only, transactional_db, monkeypatch
):
    """A supervisor's correction holds its transaction open after deciding the source is uncoded;
    a coder saves a coding of the old text from a second connection at that moment. Either the
    coding waits for the correction and is refused, or the correction sees the coding and becomes
    a new version: never a coding over characters it does not quote."""
    stale = Source.objects.get(pk=setup["source"].pk)
    checked, go = threading.Event(), threading.Event()
    original = source_services.source_is_coded

    def slow_is_coded(source):
        answer = original(source)
        checked.set()
        go.wait(timeout=10)
        return answer

    monkeypatch.setattr(source_services, "source_is_coded", slow_is_coded)
    results: dict[str, str] = {}

    def correct():
        try:
            source_services.source_replace_text(
                source=stale, text="XYZQW " + TEXT, actor=members.supervisor
            )
            results["correct"] = "done"
        finally:
            connections.close_all()

    def code():
        try:
            save_alpha(setup, members.coder, source=stale)
            results["code"] = "saved"
        except ValidationError as exc:
            results["code"] = str(exc)
        finally:
            connections.close_all()

    corrector = threading.Thread(target=correct)
    coder = threading.Thread(target=code)
    corrector.start()
    assert checked.wait(timeout=10)
    coder.start()
    coder.join(timeout=2)  # with the source locked, the coder waits here
    go.set()
    corrector.join(timeout=30)
    coder.join(timeout=30)
    assert results["correct"] == "done"
    assert "does not match the source" in results["code"]
    assert Coding.objects.count() == 0
    assert_every_quote_matches()


def test_five_concurrent_identical_codings_save_one_on_postgresql(
    setup, members, postgres_only, transactional_db
):
    barrier = threading.Barrier(5)
    results: list[str] = []

    def submit():
        try:
            barrier.wait(timeout=10)
            save_alpha(setup, members.coder)
            results.append("saved")
        except ValidationError as exc:
            results.append(str(exc))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=submit) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert results.count("saved") == 1
    assert all("already coded this passage" in r for r in results if r != "saved")
    assert Coding.objects.count() == 1


def test_coders_of_one_source_do_not_wait_for_each_other_on_postgresql(
    setup, members, postgres_only, transactional_db
):
    """One coder's save holds the source's lock; a second coder's save of the same source goes
    through meanwhile, while a correction of the text waits until the first save is done."""
    assignment_services.assignment_create(
        source=setup["source"], coder=members.coder2, assigned_by=None
    )
    holding, release = threading.Event(), threading.Event()
    order: list[str] = []

    def first_coder():
        try:
            with transaction.atomic():
                coding_services.source_for_write(setup["source"])
                holding.set()
                release.wait(timeout=20)
                save_alpha(setup, members.coder)
                order.append("first saved")
        except Exception as exc:  # the assertions below show it
            order.append(f"first failed: {exc!r}")
        finally:
            connections.close_all()

    def correction():
        try:
            source_services.source_replace_text(
                source=Source.objects.get(pk=setup["source"].pk),
                text="XYZQW " + TEXT,
                actor=members.supervisor,
            )
            order.append("corrected")
        except Exception as exc:
            order.append(f"correction failed: {exc!r}")
        finally:
            connections.close_all()

    first = threading.Thread(target=first_coder)
    first.start()
    assert holding.wait(timeout=10)
    second = threading.Thread(
        target=lambda: (save_alpha(setup, members.coder2), connections.close_all())
    )
    second.start()
    second.join(timeout=5)
    # The second coder was not held up by the first one's lock.
    assert not second.is_alive(), "the second coder waited for the first"
    order.append("second saved")
    corrector = threading.Thread(target=correction)
    corrector.start()
    corrector.join(timeout=2)
    assert corrector.is_alive(), f"the correction must wait for the first coder: {order}"
    release.set()
    first.join(timeout=30)
    corrector.join(timeout=30)
    assert order == ["second saved", "first saved", "corrected"]
    # The source was coded when the correction ran: it became a new version, and every coding
    # still quotes the text it was made on.
    assert Coding.objects.count() == 2
    assert_every_quote_matches()
