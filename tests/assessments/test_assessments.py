"""Assessments: the rule's edge cases, evidence with provenance, judgements, pages and table."""

from __future__ import annotations

import csv
import io
import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from negotiations.assessments import selectors as assessment_selectors
from negotiations.assessments.rule import (
    ABSENT,
    CONTESTED,
    INSUFFICIENT,
    PRESENT,
    Evidence,
    Rule,
    passage_weight,
    strategic_trust,
    verdict,
)
from negotiations.coding import assignments as assignment_services
from negotiations.coding import services as coding_services
from negotiations.consensus import services as consensus_services
from negotiations.models import (
    AssessmentJudgement,
    Assignment,
    AssignmentStatus,
    Code,
    Coding,
    ConsensusUnit,
    Study,
)
from tests.factories import NegotiationFactory, PartyFactory, PhaseFactory, SourceFactory

pytestmark = pytest.mark.django_db

RULE = Rule()


def ev(n_for=0, n_against=0, w_for=None, w_against=None, sources=2):
    return Evidence(
        n_for,
        n_against,
        float(n_for if w_for is None else w_for),
        float(n_against if w_against is None else w_against),
        sources,
    )


@pytest.mark.parametrize(
    ("evidence", "expected"),
    [
        (ev(), INSUFFICIENT),  # no evidence
        (ev(3, 0, sources=1), INSUFFICIENT),  # below the minimum of sources
        (ev(0, 2), ABSENT),  # only evidence against
        (ev(2, 0), PRESENT),
        (ev(2, 2), CONTESTED),  # a tie
        (ev(4, 3), CONTESTED),  # both strong and close
        (ev(7, 3), PRESENT),  # both strong, but for is more than 1.5 times against
        (ev(2, 1), PRESENT),  # against too weak to contest
        # A failed hoop test (weight 3) against two straws in the wind for (weight 1 each).
        (ev(2, 1, w_for=2, w_against=3), ABSENT),
        # A smoking gun for (3) against two straws against (2).
        (ev(1, 2, w_for=3, w_against=2), PRESENT),
    ],
)
def test_rule_edge_cases(evidence, expected):
    assert verdict(evidence, RULE) == expected


def test_weights_follow_the_process_tracing_tests():
    assert (
        passage_weight("against", "hoop", RULE)
        > passage_weight("for", "straw_in_the_wind", RULE) * 2
    )
    assert passage_weight("for", "smoking_gun", RULE) == 3
    assert passage_weight("for", "hoop", RULE) == 1
    assert passage_weight("against", "doubly_decisive", RULE) == 4
    counted = Rule(use_strength=False)
    assert passage_weight("against", "hoop", counted) == 1
    # Counting instead of weighing: two straws for now beat one failed hoop test.
    assert verdict(ev(2, 1, w_for=2, w_against=3), counted) == PRESENT


def test_strategic_trust_needs_every_element_for_both_principals():
    elements, principals = [1, 2, 3], [10, 20]
    all_present = {(e, p): PRESENT for e in elements for p in principals}
    assert strategic_trust(all_present, elements, principals) == "present"
    assert strategic_trust({**all_present, (2, 20): ABSENT}, elements, principals) == "absent"
    assert strategic_trust({**all_present, (2, 20): CONTESTED}, elements, principals) == "absent"
    assert (
        strategic_trust({**all_present, (2, 20): INSUFFICIENT}, elements, principals)
        == "undetermined"
    )
    assert strategic_trust(all_present, elements, [10]) == "undetermined"


@pytest.fixture
def case(members):
    """One negotiation, two phases, two coders; one disagreement settled by a supervisor."""
    study = members.study
    us, dprk = PartyFactory(study=study, code="US"), PartyFactory(study=study, code="DPRK")
    quiet = PartyFactory(study=study, code="KEDO")  # a party with no statements
    negotiation = NegotiationFactory(study=study, name="Agreed Framework")
    for party in (us, dprk):
        negotiation.negotiationparty_set.create(party=party, is_principal=True)
    negotiation.negotiationparty_set.create(party=quiet)
    talks = PhaseFactory(negotiation=negotiation, name="Negotiation", kind="negotiation")
    later = PhaseFactory(negotiation=negotiation, name="Implementation", kind="implementation")
    zopa = Code.objects.get(study=study, name="ZOPA")
    capacity = Code.objects.get(study=study, name="CAPACITY")
    sources = [
        SourceFactory(
            study=study,
            negotiation=negotiation,
            phase=talks,
            date="1994-06-01",
            text="We understand your need for energy. We will meet again.",
        ),
        SourceFactory(
            study=study,
            negotiation=negotiation,
            phase=talks,
            date="1994-09-01",
            text="Both sides see the other's interests. The freeze holds.",
        ),
        SourceFactory(
            study=study,
            negotiation=negotiation,
            phase=later,
            date="1997-01-01",
            text="The fuel is late again. Congress cut the funds.",
        ),
    ]
    coders = (members.coder, members.coder2)
    for source in sources:
        for coder in coders:
            assignment_services.assignment_create(
                source=source, coder=coder, assigned_by=members.supervisor
            )

    def code(source, coder, passage, code, party, stance, strength=""):
        start = source.text.index(passage)
        coding_services.coding_create(
            source=source,
            coder=coder,
            code=code,
            start=start,
            end=start + len(passage),
            quote=passage,
            stance=stance,
            demonstrating_party=party,
            strength=strength,
        )

    for coder in coders:
        code(sources[0], coder, "We understand your need for energy.", zopa, dprk, "for")
        code(sources[1], coder, "Both sides see the other's interests.", zopa, us, "for")
        code(sources[2], coder, "The fuel is late again.", capacity, us, "against", "hoop")
    # They disagree on the second sentence of the last source.
    code(
        sources[2], members.coder, "Congress cut the funds.", capacity, us, "against", "smoking_gun"
    )
    code(sources[2], members.coder2, "Congress cut the funds.", capacity, us, "for")
    for assignment in Assignment.objects.filter(source__in=sources):
        assignment_services.assignment_submit(assignment=assignment)
    consensus_services.consensus_sync(study=study)
    disputed = ConsensusUnit.objects.get(unanimous=False)
    consensus_services.consensus_decide(
        unit_id=disputed.pk,
        actor=members.supervisor,
        decision="coder",
        coder_id=members.coder.pk,
        seen_version=disputed.version,
    )
    return {
        "study": study,
        "negotiation": negotiation,
        "us": us,
        "dprk": dprk,
        "quiet": quiet,
        "zopa": zopa,
        "capacity": capacity,
        "talks": talks,
        "later": later,
        "sources": sources,
    }


def test_evidence_uses_consensus_where_settled_and_coders_elsewhere(case):
    data = assessment_selectors.assessment(study=case["study"])
    n = case["negotiation"].pk
    capacity_us = data.get(n, 0, case["capacity"].pk, case["us"].pk)
    # Sentence 0 of the last source is unanimous (one consensus passage, hoop against); sentence 1
    # was settled for coder 1 (smoking gun against). No coder passage remains.
    assert (capacity_us.cell.n_for, capacity_us.cell.n_against) == (0, 2)
    assert capacity_us.cell.weight_against == 3 + 1  # failed hoop 3, smoking gun against 1
    assert capacity_us.cell.from_consensus == 2 and capacity_us.cell.from_coders == 0
    assert capacity_us.computed == INSUFFICIENT  # one source only (minimum 2)
    zopa_dprk = data.get(n, 0, case["zopa"].pk, case["dprk"].pk)
    assert zopa_dprk.cell.n_for == 1 and zopa_dprk.cell.n_sources == 1
    quiet = data.get(n, 0, case["zopa"].pk, case["quiet"].pk)
    assert quiet.computed == INSUFFICIENT and quiet.cell.n_sources == 0
    # Per phase: the implementation phase holds the CAPACITY evidence, the talks none of it.
    assert data.get(n, case["later"].pk, case["capacity"].pk, case["us"].pk).cell.n_against == 2
    assert data.get(n, case["talks"].pk, case["capacity"].pk, case["us"].pk).cell.n_against == 0


def test_every_number_traces_to_its_passages(case, clients):
    """Counts on the page equal the passages listed behind each cell, for every cell."""
    data = assessment_selectors.assessment(study=case["study"])
    for key, assessed in data.cells.items():
        negotiation_id, phase_id, code_id, party_id = key
        passages = assessment_selectors.cell_passages(
            study=case["study"],
            negotiation_id=negotiation_id,
            phase_id=phase_id,
            code_id=code_id,
            party_id=party_id,
        )
        counted = [u for u in passages if u["status"] != "unsettled"]
        assert sum(u["n_for"] for u in counted) == assessed.cell.n_for
        assert sum(u["n_against"] for u in counted) == assessed.cell.n_against
        assert len({u["source"].pk for u in counted}) == assessed.cell.n_sources
        assert len(passages) - len(counted) == assessed.cell.unsettled
        assert all(u["passages"] for u in passages)


def test_demo_numbers_trace_to_passages():
    call_command("load_demo", stdout=StringIO())
    study = Study.objects.get(slug="demo")
    consensus_services.consensus_sync(study=study)
    data = assessment_selectors.assessment(study=study)
    checked = 0
    for (negotiation_id, phase_id, code_id, party_id), assessed in data.cells.items():
        if phase_id:
            continue
        passages = assessment_selectors.cell_passages(
            study=study,
            negotiation_id=negotiation_id,
            phase_id=0,
            code_id=code_id,
            party_id=party_id,
        )
        counted = [u for u in passages if u["status"] != "unsettled"]
        assert sum(u["n_for"] + u["n_against"] for u in counted) == (
            assessed.cell.n_for + assessed.cell.n_against
        )
        assert len({u["source"].pk for u in counted}) == assessed.cell.n_sources
        checked += bool(passages)
    assert checked > 10
    agreed = next(n for n in data.negotiations if n.name == "Agreed Framework")
    assert data.strategic_trust(agreed.pk) == "absent"


def cell_url(case, code, party, phase=0):
    url = reverse("negotiations:assessment_cell", args=[case["study"].slug, case["negotiation"].pk])
    return f"{url}?phase={phase}&code={code.pk}&party={party.pk}"


def test_override_needs_rationale_and_history_is_kept(case, clients, members):
    url = cell_url(case, case["zopa"], case["dprk"])
    post = {"phase": 0, "code": case["zopa"].pk, "party": case["dprk"].pk}
    refused = clients["supervisor"].post(url, {**post, "override_verdict": "present"})
    assert refused.status_code == 422 and "needs a rationale" in refused.content.decode()
    assert not AssessmentJudgement.objects.exists()
    clients["supervisor"].post(
        url,
        {
            **post,
            "override_verdict": "present",
            "rationale": "The 1994 record is plain.",
            "judgement": "ZOPA shown.",
        },
    )
    clients["owner"].post(url, {**post, "judgement": "Keep the rule's verdict after all."})
    history = list(AssessmentJudgement.objects.order_by("created_at", "pk"))
    assert [j.override_verdict for j in history] == ["present", ""]
    assert history[0].computed_verdict == INSUFFICIENT
    page = clients["reader"].get(url).content.decode()
    assert "Keep the rule&#x27;s verdict after all." in page and "The 1994 record is plain." in page
    # The latest judgement has no override, so the computed verdict stands again.
    data = assessment_selectors.assessment(study=case["study"])
    assert (
        data.get(case["negotiation"].pk, 0, case["zopa"].pk, case["dprk"].pk).verdict
        == INSUFFICIENT
    )


def test_overridden_and_computed_verdicts_both_shown(case, clients):
    url = cell_url(case, case["capacity"], case["us"])
    clients["supervisor"].post(
        url,
        {
            "phase": 0,
            "code": case["capacity"].pk,
            "party": case["us"].pk,
            "override_verdict": "absent",
            "rationale": "Two strong passages from one source suffice here.",
        },
    )
    html = clients["reader"].get(url).content.decode()
    assert "v-absent" in html and "computed by the rule: insufficient" in html
    overview = (
        clients["reader"]
        .get(reverse("negotiations:assessments", args=[case["study"].slug]))
        .content.decode()
    )
    assert "computed: insufficient" in overview


def test_permissions(case, clients):
    slug = case["study"].slug
    n = case["negotiation"].pk
    urls = [
        reverse("negotiations:assessments", args=[slug]),
        reverse("negotiations:assessment_negotiation", args=[slug, n]),
        reverse("negotiations:assessment_timeline", args=[slug, n]),
        reverse("negotiations:assessment_robustness", args=[slug, n]),
        cell_url(case, case["zopa"], case["us"]),
    ]
    for url in urls:
        assert clients["reader"].get(url).status_code == 200
        assert clients["coder"].get(url).status_code == 403  # coders stay blind to aggregates
        assert clients["outsider"].get(url).status_code == 404
        assert clients["anonymous"].get(url).status_code == 302
    post = {"phase": 0, "code": case["zopa"].pk, "party": case["us"].pk, "judgement": "x"}
    assert clients["reader"].post(cell_url(case, case["zopa"], case["us"]), post).status_code == 403
    assert not AssessmentJudgement.objects.exists()
    rule_url = reverse("negotiations:assessment_rule", args=[slug])
    assert clients["reader"].get(rule_url).status_code == 403
    response = clients["supervisor"].post(
        rule_url,
        {
            "rule_min_sources": 1,
            "rule_use_strength": "on",
            "rule_contested_min_weight": 3,
            "rule_contested_ratio": 1.5,
        },
    )
    assert response.status_code == 302
    data = assessment_selectors.assessment(study=Study.objects.get(pk=case["study"].pk))
    assert (
        data.get(n, 0, case["capacity"].pk, case["us"].pk).computed == ABSENT
    )  # one source now enough


def test_pages_show_matrix_timeline_and_robustness(case, clients):
    slug, n = case["study"].slug, case["negotiation"].pk
    matrix = (
        clients["reader"]
        .get(reverse("negotiations:assessment_negotiation", args=[slug, n]))
        .content.decode()
    )
    assert "Whole negotiation" in matrix and "Implementation" in matrix and "KEDO" in matrix
    timeline = (
        clients["reader"]
        .get(reverse("negotiations:assessment_timeline", args=[slug, n]))
        .content.decode()
    )
    assert "<svg" in timeline and "<title" in timeline and "<desc" in timeline
    assert "mark-against" in timeline and "mark-for" in timeline
    assert f"source={case['sources'][2].pk}" in timeline  # each mark opens its passages
    # One picture per screen size, each with its own ids and its element names.
    for size in ("wide", "medium", "narrow"):
        assert timeline.count(f'<svg class="chart-{size}"') == 1
        assert timeline.count(f'id="tl-title-{size}"') == 1
    assert timeline.count('class="chart-label lane-label"') == 3 * 3  # the three elements
    assert timeline.count('class="mark-hit"') == timeline.count('class="mark mark-') > 0
    only_dprk = (
        clients["reader"]
        .get(
            reverse("negotiations:assessment_timeline", args=[slug, n]), {"party": case["dprk"].pk}
        )
        .content.decode()
    )
    assert "mark-against" not in only_dprk
    robust = (
        clients["reader"]
        .get(reverse("negotiations:assessment_robustness", args=[slug, n]))
        .content.decode()
    )
    assert "Settled consensus only" in robust and "Unanimous units only" in robust


def test_overview_csv_and_command_columns(case, clients):
    response = clients["reader"].get(
        reverse("negotiations:assessments", args=[case["study"].slug]), {"format": "csv"}
    )
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert list(rows[0]) == [
        "negotiation",
        "phase",
        "element",
        "party",
        "n_for",
        "n_against",
        "n_sources",
        "weight_for",
        "weight_against",
        "n_unsettled",
        "n_from_consensus",
        "n_from_majority",
        "verdict",
        "final_verdict",
        "override_verdict",
        "judgement",
        "rationale",
        "judged_by",
        "judged_at",
    ]
    assert {r["phase"] for r in rows} == {"all", "Negotiation", "Implementation"}
    out = StringIO()
    call_command("assessment_table", "--study", case["study"].slug, "--format", "json", stdout=out)
    payload = json.loads(out.getvalue())
    capacity = next(
        r
        for r in payload["rows"]
        if r["phase"] == "all" and r["element"] == "CAPACITY" and r["party"] == "US"
    )
    assert (capacity["n_against"], capacity["weight_against"], capacity["verdict"]) == (
        2,
        4.0,
        "insufficient",
    )


def test_assessment_queries_do_not_grow_with_codings(case, clients, members):
    url = reverse(
        "negotiations:assessment_negotiation", args=[case["study"].slug, case["negotiation"].pk]
    )
    clients["reader"].get(url)

    def add_codings(n):
        source = SourceFactory(
            study=case["study"],
            negotiation=case["negotiation"],
            phase=case["talks"],
            text="x " * 600 + f"{n}",
        )
        Assignment.objects.create(
            source=source, coder=members.coder, status=AssignmentStatus.SUBMITTED
        )
        Coding.objects.bulk_create(
            (
                Coding(
                    source=source,
                    coder=members.coder,
                    code=case["zopa"],
                    # Distinct spans: one coder codes one passage once.
                    start=i % 1000,
                    end=i % 1000 + 5 + i // 1000,
                    quote=source.text[i % 1000 : i % 1000 + 5 + i // 1000],
                    stance="for" if i % 3 else "against",
                    demonstrating_party=case["us"],
                )
                for i in range(n)
            ),
            batch_size=5000,
        )

    add_codings(1_000)
    with CaptureQueriesContext(connection) as small:
        clients["reader"].get(url)
    add_codings(99_000)
    assert Coding.objects.count() > 100_000
    with CaptureQueriesContext(connection) as large:
        response = clients["reader"].get(url)
    assert len(large) == len(small)
    assert "+66" in response.content.decode() or response.status_code == 200


def test_passages_of_one_month_for_timeline_marks(case):
    common = {
        "study": case["study"],
        "negotiation_id": case["negotiation"].pk,
        "phase_id": 0,
        "code_id": case["capacity"].pk,
        "party_id": case["us"].pk,
    }
    assert len(assessment_selectors.cell_passages(**common, month="1997-01")) == 2
    assert assessment_selectors.cell_passages(**common, month="1994-06") == []


@pytest.fixture
def three_coders(members):
    """A negotiation whose two sources are coded by three coders; nothing is settled."""
    from negotiations.models import Role
    from negotiations.studies import services as study_services
    from tests.factories import UserFactory

    study = members.study
    third = UserFactory(username="cleo")
    study_services.membership_add(
        study=study, identifier="cleo", role=Role.CODER, actor_role=Role.OWNER
    )
    us, dprk = PartyFactory(study=study, code="US"), PartyFactory(study=study, code="DPRK")
    negotiation = NegotiationFactory(study=study, name="Summits")
    for party in (us, dprk):
        negotiation.negotiationparty_set.create(party=party, is_principal=True)
    zopa = Code.objects.get(study=study, name="ZOPA")
    sources = [
        SourceFactory(
            study=study,
            negotiation=negotiation,
            text=f"We see what the other side needs {n}. The talks go on.",
        )
        for n in range(2)
    ]
    return {
        "study": study,
        "negotiation": negotiation,
        "us": us,
        "zopa": zopa,
        "sources": sources,
        "coders": [members.coder, members.coder2, third],
        "supervisor": members.supervisor,
    }


def _code_and_submit(setup, coders, *, nested=False):
    for source in setup["sources"]:
        passage = source.text[: source.text.index(".") + 1]
        for coder in coders:
            assignment_services.assignment_create(
                source=source, coder=coder, assigned_by=setup["supervisor"]
            )
            spans = [(0, len(passage))] + ([(3, 10)] if nested else [])
            for start, end in spans:
                coding_services.coding_create(
                    source=source,
                    coder=coder,
                    code=setup["zopa"],
                    start=start,
                    end=end,
                    quote=source.text[start:end],
                    stance="for",
                    demonstrating_party=setup["us"],
                    strength="smoking_gun",
                )
    for assignment in Assignment.objects.filter(source__in=setup["sources"]):
        assignment_services.assignment_submit(assignment=assignment)


def _whole_case(setup):
    data = assessment_selectors.assessment(study=setup["study"])
    cell = data.get(setup["negotiation"].pk, 0, setup["zopa"].pk, setup["us"].pk)
    return (
        cell.cell.n_for,
        cell.cell.n_against,
        cell.cell.weight_for,
        cell.cell.n_sources,
        cell.computed,
    )


def test_three_agreeing_coders_count_as_one(three_coders):
    """Two sentences, each found by three coders, are two units of evidence, not six."""
    _code_and_submit(three_coders, three_coders["coders"])
    assert _whole_case(three_coders) == (2, 0, 6.0, 2, PRESENT)


def test_one_coder_gives_the_same_counts(three_coders):
    _code_and_submit(three_coders, three_coders["coders"][:1])
    assert _whole_case(three_coders) == (2, 0, 6.0, 2, PRESENT)


def test_a_nested_duplicate_changes_no_count_and_no_verdict(three_coders):
    _code_and_submit(three_coders, three_coders["coders"][:1], nested=True)
    assert Coding.objects.filter(source__in=three_coders["sources"]).count() == 4
    assert _whole_case(three_coders) == (2, 0, 6.0, 2, PRESENT)


def test_a_tie_is_unsettled_shown_and_counted_for_neither_side(three_coders, clients):
    # Two coders submit; only one of them found the passage: a tie on every unit.
    first, second = three_coders["coders"][:2]
    _code_and_submit(three_coders, [first])
    for source in three_coders["sources"]:
        assignment_services.assignment_create(
            source=source, coder=second, assigned_by=three_coders["supervisor"]
        )
        assignment_services.assignment_submit(
            assignment=Assignment.objects.get(source=source, coder=second)
        )
    data = assessment_selectors.assessment(study=three_coders["study"])
    cell = data.get(
        three_coders["negotiation"].pk, 0, three_coders["zopa"].pk, three_coders["us"].pk
    )
    assert (cell.cell.n_for, cell.cell.unsettled, cell.computed) == (0, 2, INSUFFICIENT)
    page = clients["reader"].get(
        reverse(
            "negotiations:assessment_negotiation",
            args=[three_coders["study"].slug, three_coders["negotiation"].pk],
        )
    )
    assert "2 unsettled" in page.content.decode()


def test_assessment_csv_and_command_use_the_same_counts(case, clients):
    response = clients["reader"].get(
        reverse("negotiations:assessments", args=[case["study"].slug]), {"format": "csv"}
    )
    csv_rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    out = StringIO()
    call_command("assessment_table", "--study", case["study"].slug, "--format", "csv", stdout=out)
    command_rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert csv_rows == command_rows
    data = assessment_selectors.assessment(study=case["study"])
    for row in csv_rows:
        negotiation = next(n for n in data.negotiations if n.name == row["negotiation"])
        phase = next((p.pk for p in negotiation.phases.all() if p.name == row["phase"]), 0)
        code = next(c for c in data.codes if c.name == row["element"])
        party = next(p for p in data.parties[negotiation.pk] if p.code == row["party"])
        cell = data.get(negotiation.pk, phase, code.pk, party.pk).cell
        assert (int(row["n_for"]), int(row["n_against"]), int(row["n_sources"])) == (
            cell.n_for,
            cell.n_against,
            cell.n_sources,
        )
        assert float(row["weight_for"]) == cell.weight_for
        assert int(row["n_unsettled"]) == cell.unsettled


def test_robustness_says_what_a_verdict_becomes(three_coders, clients):
    """Present from the coders, insufficient on consensus only: the verdict does not hold."""
    _code_and_submit(three_coders, three_coders["coders"][:1])
    page = (
        clients["reader"]
        .get(
            reverse(
                "negotiations:assessment_robustness",
                args=[three_coders["study"].slug, three_coders["negotiation"].pk],
            )
        )
        .content.decode()
    )
    row = page[page.index("ZOPA · US") :].split("</tr>")[0]
    assert '<strong class="warn">no</strong>' in row
    assert "insufficient with settled consensus only" in row
    assert "yes where decided" not in page


def test_demo_verdicts_follow_from_the_downloaded_numbers(clients):
    """The assessment CSV of the demo study carries what its verdicts need: each row's verdict
    is the rule applied to that row's numbers."""
    from django.test import Client

    call_command("load_demo", stdout=StringIO())
    study = Study.objects.get(slug="demo")
    client = Client()
    client.force_login(study.memberships.filter(role="reader").first().user)
    response = client.get(reverse("negotiations:assessments", args=[study.slug]), {"format": "csv"})
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    rule = assessment_selectors.study_rule(study)
    decided = 0
    for row in rows:
        evidence = Evidence(
            int(row["n_for"]),
            int(row["n_against"]),
            float(row["weight_for"]),
            float(row["weight_against"]),
            int(row["n_sources"]),
        )
        assert verdict(evidence, rule) == row["verdict"]
        assert row["final_verdict"] == (row["override_verdict"] or row["verdict"])
        decided += row["verdict"] != INSUFFICIENT
    assert decided >= 3


def test_figures_are_labelled_and_strengths_shown_as_labels(case, clients):
    slug, n = case["study"].slug, case["negotiation"].pk
    matrix = (
        clients["reader"]
        .get(reverse("negotiations:assessment_negotiation", args=[slug, n]))
        .content.decode()
    )
    assert 'title="units (sentences) for"' in matrix
    assert 'title="weight for / weight against, by evidence strength"' in matrix
    assert " src · w " not in matrix
    cell = (
        clients["reader"]
        .get(cell_url(case, case["capacity"], case["us"], case["later"].pk))
        .content.decode()
    )
    assert "Smoking gun" in cell and "smoking_gun" not in cell
    assert "sentence 2" in cell  # numbered from 1
