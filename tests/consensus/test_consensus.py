"""The consensus layer: units from disagreements, decisions, reopening, flags, conflicts, export."""

from __future__ import annotations

import csv
import io
import threading
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from negotiations.coding import assignments as assignment_services
from negotiations.coding import services as coding_services
from negotiations.consensus import selectors as consensus_selectors
from negotiations.consensus import services as consensus_services
from negotiations.models import (
    Assignment,
    Code,
    Coding,
    ConsensusCoding,
    ConsensusEvent,
    ConsensusStatus,
    ConsensusUnit,
    Decision,
    Segment,
    Study,
)
from tests.factories import NegotiationFactory, PartyFactory, SourceFactory

pytestmark = pytest.mark.django_db

TEXT = "The envoy promised fuel. The freeze held for a year. Talks ended in March."


def code_passage(source, coder, code, party, passage, stance="for", strength="", memo=""):
    start = source.text.index(passage)
    return coding_services.coding_create(
        source=source,
        coder=coder,
        code=code,
        start=start,
        end=start + len(passage),
        quote=passage,
        stance=stance,
        demonstrating_party=party,
        strength=strength,
        memo=memo,
    )


@pytest.fixture
def layer(members):
    """Two coders on one source: they agree on sentence 0 (for), differ on sentence 1."""
    study = members.study
    us = PartyFactory(study=study, code="US")
    negotiation = NegotiationFactory(study=study)
    negotiation.parties.add(us)
    source = SourceFactory(study=study, negotiation=negotiation, text=TEXT)
    zopa = Code.objects.get(study=study, name="ZOPA")
    a, b = members.coder, members.coder2
    for coder in (a, b):
        assignment_services.assignment_create(
            source=source, coder=coder, assigned_by=members.supervisor
        )
    code_passage(source, a, zopa, us, "The envoy promised fuel.", "for", "hoop")
    code_passage(source, b, zopa, us, "envoy promised fuel", "for")
    code_passage(source, a, zopa, us, "The freeze held for a year.", "for", memo="a's memo")
    code_passage(source, b, zopa, us, "The freeze held", "against")
    for assignment in Assignment.objects.filter(source=source):
        assignment_services.assignment_submit(assignment=assignment)
    consensus_services.consensus_sync(study=study)
    return {"study": study, "source": source, "zopa": zopa, "us": us, "a": a, "b": b}


def unit_at(layer, index):
    return ConsensusUnit.objects.get(source=layer["source"], segment__index=index)


def test_sync_creates_open_disagreements_and_unanimous_units(layer):
    assert ConsensusUnit.objects.count() == 2
    agreed, disputed = unit_at(layer, 0), unit_at(layer, 1)
    assert agreed.unanimous and agreed.status == ConsensusStatus.SETTLED
    assert agreed.decision == Decision.UNANIMOUS
    # The unanimous unit copies the passage of the first coder by name (cody before cora).
    assert list(agreed.consensus_codings.values_list("quote", "stance")) == [
        ("envoy promised fuel", "for")
    ]
    assert disputed.status == ConsensusStatus.OPEN and not disputed.unanimous
    assert disputed.readings == {str(layer["a"].pk): "for", str(layer["b"].pk): "against"}
    assert ConsensusEvent.objects.filter(unit=agreed, action="unanimous").exists()


def test_accepting_a_coder_copies_their_passages_and_never_changes_coder_layers(layer, members):
    before = list(Coding.objects.order_by("pk").values())
    unit = unit_at(layer, 1)
    consensus_services.consensus_decide(
        unit_id=unit.pk,
        actor=members.supervisor,
        decision="coder",
        coder_id=layer["b"].pk,
        seen_version=unit.version,
    )
    unit.refresh_from_db()
    assert unit.status == ConsensusStatus.SETTLED and unit.chosen_coder == layer["b"]
    assert list(unit.consensus_codings.values_list("quote", "stance")) == [
        ("The freeze held", "against")
    ]
    assert list(Coding.objects.order_by("pk").values()) == before
    event = ConsensusEvent.objects.get(unit=unit, action="settle")
    assert event.actor == members.supervisor
    assert event.before["status"] == "open" and event.after["decision"] == "coder"


def test_rationale_required_when_the_decision_differs_from_every_coder(layer, members):
    unit = unit_at(layer, 1)
    with pytest.raises(ValidationError, match="rationale"):
        consensus_services.consensus_decide(
            unit_id=unit.pk, actor=members.supervisor, decision="none", seen_version=unit.version
        )
    unit.refresh_from_db()
    assert unit.status == ConsensusStatus.OPEN and not ConsensusCoding.objects.filter(unit=unit)
    consensus_services.consensus_decide(
        unit_id=unit.pk,
        actor=members.supervisor,
        decision="none",
        seen_version=unit.version,
        rationale="Neither reading holds: the freeze is context.",
    )
    unit.refresh_from_db()
    assert unit.decision == Decision.NONE and unit.consensus_codings.count() == 0


def test_custom_consensus_coding(layer, members):
    unit = unit_at(layer, 1)
    text = layer["source"].text
    passage = "held for a year"
    custom = consensus_services.CustomConsensus(
        start=text.index(passage),
        end=text.index(passage) + len(passage),
        quote=passage,
        code=layer["zopa"],
        stance="against",
        party=layer["us"],
        strength="smoking_gun",
    )
    # "against" is coder b's reading: no rationale needed.
    consensus_services.consensus_decide(
        unit_id=unit.pk,
        actor=members.supervisor,
        decision="custom",
        custom=custom,
        seen_version=unit.version,
    )
    coding = ConsensusCoding.objects.get(unit=unit)
    assert (coding.quote, coding.stance, coding.strength) == (passage, "against", "smoking_gun")
    wrong = consensus_services.CustomConsensus(
        start=0, end=5, quote="xxxxx", code=layer["zopa"], stance="for", party=layer["us"]
    )
    unit.refresh_from_db()
    with pytest.raises(ValidationError, match="does not match"):
        consensus_services.consensus_decide(
            unit_id=unit.pk,
            actor=members.supervisor,
            decision="custom",
            custom=wrong,
            seen_version=unit.version,
            rationale="x",
        )


def test_stale_version_is_refused_with_who_settled_first(layer, members):
    unit = unit_at(layer, 1)
    seen = unit.version
    consensus_services.consensus_decide(
        unit_id=unit.pk,
        actor=members.owner,
        decision="coder",
        coder_id=layer["a"].pk,
        seen_version=seen,
    )
    with pytest.raises(
        consensus_services.ConsensusConflict, match="olivia settled this unit first"
    ):
        consensus_services.consensus_decide(
            unit_id=unit.pk,
            actor=members.supervisor,
            decision="coder",
            coder_id=layer["b"].pk,
            seen_version=seen,
        )
    unit.refresh_from_db()
    assert unit.chosen_coder == layer["a"]


def test_reopen_then_changed_codings_flag_the_unit(layer, members):
    unit = unit_at(layer, 1)
    consensus_services.consensus_decide(
        unit_id=unit.pk,
        actor=members.supervisor,
        decision="coder",
        coder_id=layer["a"].pk,
        seen_version=unit.version,
    )
    # Coder b's source is reopened and b changes the reading to agree with a.
    assignment = Assignment.objects.get(source=layer["source"], coder=layer["b"])
    assignment_services.assignment_reopen(assignment=assignment)
    coding = Coding.objects.get(coder=layer["b"], stance="against")
    coding_services.coding_update(
        coding=coding,
        coder=layer["b"],
        code=layer["zopa"],
        stance="for",
        demonstrating_party=layer["us"],
    )
    assignment_services.assignment_submit(assignment=assignment)
    consensus_services.consensus_sync(study=layer["study"])
    unit.refresh_from_db()
    assert unit.status == ConsensusStatus.FLAGGED
    assert unit.consensus_codings.count() == 1  # the decision is kept until reviewed
    assert ConsensusEvent.objects.filter(unit=unit, action="flag").exists()
    consensus_services.consensus_reopen(
        unit_id=unit.pk, actor=members.supervisor, seen_version=unit.version
    )
    unit.refresh_from_db()
    assert unit.status == ConsensusStatus.OPEN and unit.consensus_codings.count() == 0
    assert list(unit.events.values_list("action", flat=True))[:3] == ["reopen", "flag", "settle"]


def test_unsubmitting_drops_open_units(layer):
    assignment = Assignment.objects.get(source=layer["source"], coder=layer["b"])
    assignment_services.assignment_reopen(assignment=assignment)
    consensus_services.consensus_sync(study=layer["study"])
    assert not ConsensusUnit.objects.filter(status=ConsensusStatus.OPEN).exists()


def review_url(layer, name="review_queue", *args):
    return reverse(f"negotiations:{name}", args=[layer["study"].slug, *args])


def test_queue_page_partial_progress_and_permissions(layer, clients):
    url = review_url(layer)
    for role, status in [("coder", 403), ("reader", 403), ("outsider", 404), ("anonymous", 302)]:
        assert clients[role].get(url).status_code == status
    html = clients["supervisor"].get(url).content.decode()
    assert "0 of 1 settled" in html and "1 unanimous" in html
    # Sentences are numbered from 1 for people: the disagreement is on the second sentence.
    assert "Sentence 2" in html and "Sentence 0" not in html and "ZOPA · US" in html
    partial = clients["supervisor"].get(
        url, {"status": "unanimous"}, headers={"HX-Request": "true"}
    )
    text = partial.content.decode()
    assert text.lstrip().startswith('<div id="queue">') and "Sentence 1" in text


def test_unit_page_lanes_and_decision_by_post(layer, clients, members):
    unit = unit_at(layer, 1)
    url = review_url(layer, "review_unit", unit.pk)
    html = clients["supervisor"].get(url).content.decode()
    assert "sentence 2 of" in html
    assert "a&#x27;s memo" in html and "cora" in html and "cody" in html
    assert 'data-accept="1"' in html and 'data-accept="0"' in html
    assert clients["coder"].get(url).status_code == 403
    decide = review_url(layer, "review_decide", unit.pk)
    assert (
        clients["coder"]
        .post(decide, {"decision": "coder", "coder": layer["a"].pk, "version": 0})
        .status_code
        == 403
    )
    response = clients["supervisor"].post(
        decide, {"decision": "coder", "coder": layer["a"].pk, "version": unit.version}
    )
    assert response.status_code == 302
    unit.refresh_from_db()
    assert unit.status == ConsensusStatus.SETTLED
    stale = clients["owner"].post(decide, {"decision": "none", "version": 0, "rationale": "r"})
    assert stale.status_code == 409
    assert "sam settled this unit first" in stale.content.decode()


def test_history_page(layer, clients, members):
    unit = unit_at(layer, 1)
    consensus_services.consensus_decide(
        unit_id=unit.pk,
        actor=members.supervisor,
        decision="coder",
        coder_id=layer["a"].pk,
        seen_version=unit.version,
    )
    html = clients["supervisor"].get(review_url(layer, "review_history")).content.decode()
    assert "Settled" in html and "sam" in html and "Entered as unanimous" in html


def test_consensus_export_and_command(layer, clients, members):
    unit = unit_at(layer, 1)
    consensus_services.consensus_decide(
        unit_id=unit.pk,
        actor=members.supervisor,
        decision="none",
        seen_version=unit.version,
        rationale="=cmd|' /C calc'!A0",
    )
    response = clients["reader"].get(
        reverse("negotiations:export_consensus", args=[layer["study"].slug])
    )
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert {r["decision"] for r in rows} == {"none", "unanimous"}
    none_row = next(r for r in rows if r["decision"] == "none")
    assert none_row["rationale"].startswith("'=")  # neutralised
    assert none_row["decided_by"] == "sam" and none_row["unanimous"] == "no"
    unanimous = next(r for r in rows if r["decision"] == "unanimous")
    assert (
        unanimous["quote"] == layer["source"].text[int(unanimous["start"]) : int(unanimous["end"])]
    )
    out = StringIO()
    call_command("export_consensus", "--study", layer["study"].slug, stdout=out)
    assert out.getvalue().splitlines()[0].startswith("coding_id,study,negotiation")
    assert len(out.getvalue().splitlines()) == 3
    assert (
        clients["coder"]
        .get(reverse("negotiations:export_consensus", args=[layer["study"].slug]))
        .status_code
        == 403
    )


def test_coders_against_consensus_and_release(layer, clients, members):
    unit = unit_at(layer, 1)
    consensus_services.consensus_decide(
        unit_id=unit.pk,
        actor=members.supervisor,
        decision="coder",
        coder_id=layer["a"].pk,
        seen_version=unit.version,
    )
    url = review_url(layer, "consensus_coders")
    html = clients["supervisor"].get(url).content.decode()
    assert "cora" in html and "cody" in html and "<svg" in html
    for size in ("wide", "medium", "narrow"):
        assert (
            html.count(f'<svg class="chart-{size}"') == html.count(f'id="drift-title-{size}"') == 1
        )
    assert clients["coder"].get(url).status_code == 403
    clients["supervisor"].post(url, {"released": "1"})
    mine = clients["coder"].get(url).content.decode()
    assert "cora" in mine and "cody" not in mine.split("<main")[1]

    figures = consensus_selectors.coder_consensus_figures(study=layer["study"])
    cora = next(r for r in figures["rows"] if r["coder"] == "cora")
    cody = next(r for r in figures["rows"] if r["coder"] == "cody")
    assert cora["overall"]["percent"] == 1.0  # her reading was accepted everywhere
    assert cody["overall"]["percent"] < 1.0


def test_queue_queries_fixed_with_many_units(
    layer, clients, members, django_assert_max_num_queries
):
    url = review_url(layer)
    clients["supervisor"].get(url)
    with CaptureQueriesContext(connection) as small:
        clients["supervisor"].get(url)
    source = layer["source"]
    segments = list(Segment.objects.filter(source=source))
    bulk = []
    codes = list(Code.objects.filter(study=layer["study"]))
    parties = [layer["us"], *[PartyFactory(study=layer["study"], code=f"X{i}") for i in range(30)]]
    for segment in segments:
        for code in codes:
            for party in parties:
                bulk.append(
                    ConsensusUnit(
                        study=layer["study"],
                        source=source,
                        segment=segment,
                        code=code,
                        party=party,
                        readings={"1": "for", "2": "none"},
                    )
                )
    # Units of many sources too, read by the real coders: one heading and sentence each.
    readings = {str(members.coder.pk): "for", str(members.coder2.pk): "against"}
    for _ in range(12):
        extra = SourceFactory(study=layer["study"], negotiation=source.negotiation)
        for segment in Segment.objects.filter(source=extra):
            bulk.append(
                ConsensusUnit(
                    study=layer["study"],
                    source=extra,
                    segment=segment,
                    code=codes[0],
                    party=layer["us"],
                    readings=readings,
                    impact=-1,
                )
            )
    ConsensusUnit.objects.bulk_create(bulk, ignore_conflicts=True)
    assert ConsensusUnit.objects.count() > 500
    with django_assert_max_num_queries(len(small)):
        first = clients["supervisor"].get(url).content.decode()
    assert first.count('<section class="queue-source">') >= 8
    with django_assert_max_num_queries(len(small)):
        response = clients["supervisor"].get(url, {"page": 3})
    assert response.status_code == 200


def test_two_supervisors_at_once_on_postgresql(layer, members, postgres_only, transactional_db):
    """Two connections decide the same unit at the same moment: one wins, the other is told."""
    unit = unit_at(layer, 1)
    seen = unit.version
    barrier = threading.Barrier(2)
    results: dict[str, str] = {}

    def decide(actor, coder):
        try:
            barrier.wait(timeout=10)
            consensus_services.consensus_decide(
                unit_id=unit.pk, actor=actor, decision="coder", coder_id=coder.pk, seen_version=seen
            )
            results[actor.username] = "settled"
        except consensus_services.ConsensusConflict as exc:
            results[actor.username] = str(exc)
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=decide, args=(members.supervisor, layer["a"])),
        threading.Thread(target=decide, args=(members.owner, layer["b"])),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(v == "settled" for v in results.values()) == [False, True]
    winner = next(k for k, v in results.items() if v == "settled")
    loser_message = next(v for v in results.values() if v != "settled")
    assert f"{winner} settled this unit first" in loser_message
    unit.refresh_from_db()
    assert unit.version == seen + 1
    assert ConsensusEvent.objects.filter(unit=unit, action="settle").count() == 1


def _agreement_stats(matrix: str, tmp_path) -> dict:
    import json

    from negotiations.consensus.views import CONSENSUS_COMMAND

    path = tmp_path / "matrix.csv"
    path.write_text(matrix, encoding="utf-8")
    args = [str(path) if a == "MATRIX.csv" else a for a in CONSENSUS_COMMAND.split()[3:]]
    out = StringIO()
    call_command("agreement_stats", *args, stdout=out)
    return json.loads(out.getvalue())


def test_coder_figures_are_reproduced_from_their_downloads(clients, tmp_path):
    """Every kappa and percentage of "Coders and consensus" on the demo study, from the CSV of
    its row, by the command the page shows."""
    from django.test import Client

    call_command("load_demo", stdout=StringIO())
    study = Study.objects.get(slug="demo")
    client = Client()
    client.force_login(study.memberships.filter(role="supervisor").first().user)
    page = client.get(reverse("negotiations:consensus_coders", args=[study.slug]))
    assert "agreement_stats MATRIX.csv --order=for,against,mixed,none" in page.content.decode()
    figures = consensus_selectors.coder_consensus_figures(study=study)
    checked = 0
    for row in figures["rows"]:
        for params, figure in [({}, row["overall"])] + [
            ({"element": e["code"]}, e) for e in row["elements"]
        ]:
            response = client.get(
                reverse("negotiations:consensus_coders_matrix", args=[study.slug]),
                {"coder": row["coder_id"], **params},
            )
            matrix = b"".join(response.streaming_content).decode()
            if figure["n_units"] == 0:
                continue
            stats = _agreement_stats(matrix, tmp_path)
            assert stats["n_pairable_units"] == figure["n_units"]
            assert abs(stats["percent_agreement"] - figure["percent"]) <= 1e-12
            if figure["kappa"] is None:
                assert stats["cohen_kappa"] is None
                assert stats["undefined"]["cohen_kappa"] == figure["undefined"]
            else:
                assert abs(stats["cohen_kappa"] - figure["kappa"]) <= 1e-12
            checked += 1
    assert checked >= 4


def test_kappa_without_variation_is_undefined_with_its_reason(members, clients):
    """A coder who read "none" everywhere, one sentence short of the consensus: kappa undefined (not
    0.000), shown with the reason."""
    study = members.study
    us = PartyFactory(study=study, code="US")
    negotiation = NegotiationFactory(study=study)
    negotiation.parties.add(us)
    text = " ".join(f"Sentence number {n} is here." for n in range(10))
    source = SourceFactory(study=study, negotiation=negotiation, text=text)
    zopa = Code.objects.get(study=study, name="ZOPA")
    for coder in (members.coder, members.coder2):
        assignment_services.assignment_create(
            source=source, coder=coder, assigned_by=members.supervisor
        )
    code_passage(source, members.coder2, zopa, us, "Sentence number 3 is here.", "for")
    for assignment in Assignment.objects.filter(source=source):
        assignment_services.assignment_submit(assignment=assignment)
    consensus_services.consensus_sync(study=study)
    unit = ConsensusUnit.objects.get(source=source, status=ConsensusStatus.OPEN)
    consensus_services.consensus_decide(
        unit_id=unit.pk,
        actor=members.supervisor,
        decision="coder",
        coder_id=members.coder2.pk,
        seen_version=unit.version,
    )
    figures = consensus_selectors.coder_consensus_figures(study=study)
    cora = next(r for r in figures["rows"] if r["coder"] == "cora")
    assert cora["overall"]["kappa"] is None
    assert cora["overall"]["undefined"] == (
        "no variation: cora used one category (none) on every unit both coded"
    )
    html = clients["supervisor"].get(review_url({"study": study}, "consensus_coders")).content
    row = html.decode().split('<th scope="row">cora</th>')[1].split("</tr>")[0]
    assert "undefined" in row and "no variation" in row and "0.000" not in row
    assert "96.7%" in row  # 29 of 30 units (10 sentences x 3 elements), not "100%"


def test_refused_consensus_coding_keeps_the_panel_and_its_values(layer, clients):
    unit = unit_at(layer, 1)
    response = clients["supervisor"].post(
        review_url(layer, "review_decide", unit.pk),
        {
            "decision": "custom",
            "version": unit.version,
            "start": 0,
            "end": 5,
            "quote": "wrong",
            "code": layer["zopa"].pk,
            "stance": "against",
            "demonstrating_party": layer["us"].pk,
            "strength": "smoking_gun",
            "rationale": "",
        },
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert '<details class="custom-consensus" open>' in html
    assert '<option value="against" selected>' in html
    assert '<option value="smoking_gun" selected>' in html
    assert 'id="custom-quote" value="wrong"' in html
    unit.refresh_from_db()
    assert unit.status == ConsensusStatus.OPEN


@pytest.mark.parametrize("role", ["anonymous", "outsider", "reader", "coder", "supervisor"])
def test_only_managers_reopen_a_settled_unit(layer, members, clients, role):
    unit = unit_at(layer, 1)
    consensus_services.consensus_decide(
        unit_id=unit.pk,
        actor=members.supervisor,
        decision="coder",
        coder_id=layer["a"].pk,
        seen_version=unit.version,
    )
    unit.refresh_from_db()
    settled = (unit.status, unit.version, unit.consensus_codings.count())
    response = clients[role].post(
        reverse("negotiations:review_reopen", args=[layer["study"].slug, unit.pk]),
        {"version": unit.version},
    )
    unit.refresh_from_db()
    if role == "supervisor":
        assert response.status_code == 302
        assert unit.status != settled[0] and unit.version > settled[1]
        return
    expected = {"anonymous": 302, "outsider": 404}.get(role, 403)
    assert response.status_code == expected
    assert (unit.status, unit.version, unit.consensus_codings.count()) == settled


def test_queue_shows_sentences_readings_and_one_heading_per_source(layer, clients, members):
    """Each unit with its (escaped, trimmed) sentence and who read it how, under one heading per
    source even when the impact order interleaves the sources."""
    study, zopa, us = layer["study"], layer["zopa"], layer["us"]
    long_sentence = "The <b>envoy</b> & the delegate " + "spoke at length " * 30 + "then left."
    other = SourceFactory(
        study=study,
        negotiation=layer["source"].negotiation,
        title="Second <i>statement</i>",
        text=f"Short opening. {long_sentence} The talks went on.",
    )
    a, b = layer["a"], layer["b"]
    for coder in (a, b):
        assignment_services.assignment_create(source=other, coder=coder, assigned_by=None)
    code_passage(other, a, zopa, us, "Short opening.", "for", "smoking_gun")
    code_passage(other, b, zopa, us, "Short opening.", "against", "straw_in_the_wind")
    code_passage(other, a, zopa, us, "The talks went on.", "for")
    code_passage(other, b, zopa, us, long_sentence, "against")
    for assignment in Assignment.objects.filter(source=other):
        assignment_services.assignment_submit(assignment=assignment)
    consensus_services.consensus_sync(study=study)
    # Interleave: first source, second source, first source again (by impact).
    ConsensusUnit.objects.filter(source=layer["source"]).update(impact=0)
    ConsensusUnit.objects.filter(source=other, segment__index=0).update(impact=1)
    ConsensusUnit.objects.filter(source=other, segment__index=1).update(impact=-1)
    ConsensusUnit.objects.filter(source=other, segment__index=2).update(impact=2)
    units = list(
        consensus_selectors.consensus_queue(
            study=study, filters=consensus_selectors.ConsensusFilters()
        )
    )
    assert [u.source_id for u in units] == [other.pk, layer["source"].pk, other.pk, other.pk]

    html = clients["supervisor"].get(review_url(layer)).content.decode()
    assert html.count('<section class="queue-source">') == 2
    assert html.count("Second &lt;i&gt;statement&lt;/i&gt;</a>") == 1
    assert "<i>statement" not in html and "<b>envoy" not in html
    # The sentence of each unit, the long one trimmed.
    assert '<blockquote class="queue-sentence">The freeze held for a year.</blockquote>' in html
    assert '<blockquote class="queue-sentence">Short opening.</blockquote>' in html
    assert "The &lt;b&gt;envoy&lt;/b&gt; &amp; the delegate spoke at length" in html
    assert "then left." not in html
    trimmed = html.split("The &lt;b&gt;envoy&lt;/b&gt;")[1].split("</blockquote>")[0]
    assert trimmed.endswith("\N{HORIZONTAL ELLIPSIS}") and 250 < len(trimmed) < 340
    # Who read it how, with the strengths they gave it.
    assert (
        '<li>cody: <span class="reading value-against">against</span> '
        '<small class="muted">(Straw in the wind)</small></li>'
    ) in html
    assert (
        '<li>cora: <span class="reading value-for">for</span> '
        '<small class="muted">(Smoking gun)</small></li>'
    ) in html
    assert '<li>cora: <span class="reading value-for">for</span></li>' in html
    assert '<li>cody: <span class="reading value-none">none</span></li>' in html


def test_queue_readings_only_of_the_coders_behind_the_unit(layer, clients, members):
    """A third coder still at work on the source is not among the readings of its units."""
    from negotiations.studies import services as study_services
    from tests.factories import UserFactory

    UserFactory(username="cleo")
    study_services.membership_add(
        study=layer["study"], identifier="cleo", role="coder", actor_role="owner"
    )
    cleo = members.study.memberships.get(user__username="cleo").user
    assignment_services.assignment_create(source=layer["source"], coder=cleo, assigned_by=None)
    code_passage(layer["source"], cleo, layer["zopa"], layer["us"], "The freeze held", "for")
    html = clients["supervisor"].get(review_url(layer)).content.decode()
    assert "cora: " in html and "cody: " in html and "cleo: " not in html
