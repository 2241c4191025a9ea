"""The coding page and its writes: permissions, blind coding, offsets, undo, assignments."""

from __future__ import annotations

import json
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from negotiations.coding import assignments as assignment_services
from negotiations.models import (
    Assignment,
    AssignmentStatus,
    Code,
    CodeSet,
    Coding,
    Party,
)
from negotiations.sources import services as source_services
from tests.conftest import client_for
from tests.factories import CodingFactory, NegotiationFactory, PartyFactory, SourceFactory

pytestmark = pytest.mark.django_db


def page_codings(html: str) -> dict:
    """The compact codings data of a coding page (its `codings-data` JSON script)."""
    data = html.split('<script id="codings-data" type="application/json">')[1].split("</script>")[0]
    return json.loads(data)


def event(response, name: str) -> dict:
    return json.loads(response["HX-Trigger"])[name]


HTMX = {"HX-Request": "true"}
TEXT = (
    "Kim Jong Un (김정은) welcomed the delegation 🇺🇸 warmly.\r\n"
    "The U.S. side said fuel deliveries would resume.\r\n\r\n"
    "Cafe\u0301 talks ended late."
)


@pytest.fixture
def setup(members):
    study = members.study
    us = PartyFactory(study=study, code="US")
    dprk = PartyFactory(study=study, code="DPRK")
    negotiation = NegotiationFactory(study=study)
    negotiation.parties.add(us, dprk)
    source = source_services.source_create(
        study=study,
        metadata=source_services.SourceMetadata(
            negotiation=negotiation, title="Talks", speaker_party=dprk
        ),
        text=TEXT,
        created_by=members.supervisor,
    )
    for coder in (members.coder, members.coder2):
        assignment_services.assignment_create(
            source=source, coder=coder, assigned_by=members.supervisor
        )
    zopa = Code.objects.get(study=study, name="ZOPA")
    capacity = Code.objects.get(study=study, name="CAPACITY")
    return {
        "study": study,
        "source": source,
        "us": us,
        "dprk": dprk,
        "zopa": zopa,
        "capacity": capacity,
    }


def page_url(setup, **query):
    url = reverse("negotiations:coding_page", args=[setup["study"].slug, setup["source"].pk])
    if query:
        url += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    return url


def create_url(setup):
    return reverse("negotiations:coding_create", args=[setup["study"].slug, setup["source"].pk])


def coding_data(setup, passage, **overrides):
    text = setup["source"].text
    quote = passage
    start = text.index(quote)
    data = {
        "start": start,
        "end": start + len(quote),
        "quote": quote,
        "code": setup["zopa"].pk,
        "stance": "for",
        "demonstrating_party": setup["us"].pk,
        "strength": "hoop",
        "memo": "",
    }
    data.update(overrides)
    return data


def test_text_is_stored_normalised_and_offsets_are_code_points(setup):
    text = setup["source"].text
    assert "\r" not in text and "Caf\u00e9" in text
    assert text.index("welcomed") == 18  # the Hangul name counts three code points


def test_coder_saves_a_coding_with_htmx_and_sees_it_highlighted(clients, setup, members):
    data = coding_data(setup, "welcomed the delegation 🇺🇸 warmly")
    response = clients["coder"].post(create_url(setup), data, headers=HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    coding = Coding.objects.get()
    # Only the message and the undo slot travel, out of band; the coding comes in an event.
    assert html.lstrip().startswith('<div id="messages"')
    assert "Saved ZOPA (for, US)." in html
    assert "coding-item" not in html and "data-o=" not in html
    saved = event(response, "coding-saved")
    assert saved == {
        "coding": [
            coding.pk,
            18,
            coding.end,
            setup["zopa"].pk,
            "for",
            "US",
            "hoop",
            members.coder.pk,
            "",
        ],
        "code": "ZOPA",
        "coder": members.coder.username,
    }
    assert coding.coder == members.coder
    assert coding.quote == setup["source"].text[coding.start : coding.end]
    assert coding.start == 18
    page = page_codings(clients["coder"].get(page_url(setup)).content.decode())
    assert page["codings"] == [saved["coding"]]
    assert page["codes"] == {str(setup["zopa"].pk): "ZOPA"}
    assignment = Assignment.objects.get(source=setup["source"], coder=members.coder)
    assert assignment.status == AssignmentStatus.IN_PROGRESS


def test_refused_save_with_htmx_is_422_with_the_reason(clients, setup):
    data = coding_data(setup, "warmly", quote="warmlY")
    response = clients["coder"].post(create_url(setup), data, headers=HTMX)
    assert response.status_code == 422
    assert "does not match the source" in response.content.decode()
    assert "HX-Trigger" not in response
    assert Coding.objects.count() == 0


def test_plain_post_redirects_back_to_the_page(clients, setup):
    response = clients["coder"].post(create_url(setup), coding_data(setup, "warmly"))
    assert response.status_code == 302
    assert response["Location"] == page_url(setup)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"quote": "warmlY"}, "does not match the source"),
        ({"start": 10_000, "end": 10_005}, "outside the text"),
        ({"end": 0}, "greater than or equal to 1"),
        ({"stance": "maybe"}, "stance"),
        ({"strength": "huge"}, "strength"),
    ],
)
def test_bad_codings_are_refused_with_a_message(clients, setup, change, message):
    data = coding_data(setup, "warmly", **change)
    response = clients["coder"].post(create_url(setup), data, headers=HTMX)
    assert response.status_code == 422
    assert message in response.content.decode()
    assert Coding.objects.count() == 0


def test_code_and_party_of_another_study_are_refused(clients, setup):
    other = PartyFactory(code="XX")
    other_code = Code.objects.create(
        study=other.study,
        code_set=CodeSet.objects.create(study=other.study, slug="s", name="s"),
        name="OTHER",
        label="x",
        definition="y",
    )
    for change in ({"code": other_code.pk}, {"demonstrating_party": other.pk}):
        response = clients["coder"].post(
            create_url(setup), coding_data(setup, "warmly", **change), headers=HTMX
        )
        assert response.status_code == 422
    assert Coding.objects.count() == 0


def test_switched_off_code_set_cannot_be_used(clients, setup):
    power = Code.objects.get(study=setup["study"], name="POWER_ALTERNATIVES")
    response = clients["coder"].post(
        create_url(setup), coding_data(setup, "warmly", code=power.pk), headers=HTMX
    )
    assert response.status_code == 422
    assert "not in use" in response.content.decode()


@pytest.mark.parametrize("role", ["reader", "supervisor", "owner"])
def test_only_coders_code(clients, setup, role):
    response = clients[role].post(create_url(setup), coding_data(setup, "warmly"))
    assert response.status_code == 403
    assert Coding.objects.count() == 0


def test_unassigned_coder_cannot_code_or_open(clients, setup, members):
    Assignment.objects.filter(coder=members.coder2).delete()
    from tests.conftest import client_for

    client = client_for(members.coder2)
    assert client.get(page_url(setup)).status_code == 403
    assert client.post(create_url(setup), coding_data(setup, "warmly")).status_code == 403
    assert Coding.objects.count() == 0


def test_outsider_and_anonymous(clients, setup):
    assert clients["outsider"].get(page_url(setup)).status_code == 404
    assert (
        clients["outsider"].post(create_url(setup), coding_data(setup, "warmly")).status_code == 404
    )
    assert clients["anonymous"].get(page_url(setup)).status_code == 302


def data_url(setup, **query):
    url = reverse("negotiations:coding_data", args=[setup["study"].slug, setup["source"].pk])
    if query:
        url += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    return url


def test_full_page_and_the_layer_data(clients, setup, members):
    html = clients["coder"].get(page_url(setup)).content.decode()
    assert "<html" in html and 'id="coding-form"' in html and "js/coding.js" in html
    # The text as sentence runs with code-point offsets; highlights are painted by coding.js.
    assert 'data-o="0" data-s="0"' in html and 'class="hl ' not in html
    assert page_codings(html)["canCode"] is True
    reader = clients["reader"].get(page_url(setup)).content.decode()
    assert 'id="coding-form"' not in reader  # readers see, never code
    assert page_codings(reader)["canCode"] is False
    response = clients["supervisor"].get(data_url(setup, layer="all"))
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    assert response.json()["layer"] == "all" and response.json()["codings"] == []
    assert clients["outsider"].get(data_url(setup)).status_code == 404
    Assignment.objects.filter(coder=members.coder2).delete()
    assert client_for(members.coder2).get(data_url(setup)).status_code == 403


def test_blind_coding_hides_other_coders_until_submitted(clients, setup, members):
    other = CodingFactory(
        source=setup["source"],
        coder=members.coder2,
        code=setup["capacity"],
        start=0,
        end=3,
        demonstrating_party=setup["us"],
        memo="coder two's secret memo",
    )
    for url in (
        page_url(setup),
        page_url(setup, layer="all"),
        page_url(setup, layer=members.coder2.pk),
    ):
        html = clients["coder"].get(url).content.decode()
        assert "secret memo" not in html
        assert page_codings(html)["codings"] == []
        assert not re.search(r"\bcody\b", html)  # the other coder's name, not a token's letters
    for layer in ("all", members.coder2.pk):
        data = clients["coder"].get(data_url(setup, layer=layer)).json()
        assert data["codings"] == [] and data["layer"] == "mine"
    sentences = clients["coder"].get(page_url(setup, mode="sentences", layer="all")).content
    assert b"secret memo" not in sentences
    assignment = Assignment.objects.get(source=setup["source"], coder=members.coder)
    assignment_services.assignment_submit(assignment=assignment)
    html = clients["coder"].get(page_url(setup, layer="all")).content.decode()
    assert "secret memo" in html and [row[0] for row in page_codings(html)["codings"]] == [other.pk]
    assert clients["coder"].get(data_url(setup, layer="all")).json()["codings"][0][0] == other.pk
    supervisor = (
        clients["supervisor"].get(page_url(setup, layer=members.coder2.pk)).content.decode()
    )
    assert "secret memo" in supervisor


def test_blind_coding_off_shows_everything(clients, setup, members):
    setup["study"].blind_coding = False
    setup["study"].save()
    CodingFactory(
        source=setup["source"],
        coder=members.coder2,
        code=setup["capacity"],
        start=0,
        end=3,
        demonstrating_party=setup["us"],
        memo="visible memo",
    )
    html = clients["coder"].get(page_url(setup, layer="all")).content.decode()
    assert "visible memo" in html


def test_hostile_memo_and_text_are_escaped(clients, setup, members):
    data = coding_data(
        setup, "warmly", memo="<script>alert(1)</script><img src=x onerror=alert(2)>"
    )
    clients["coder"].post(create_url(setup), data)
    html = clients["coder"].get(page_url(setup)).content.decode()
    assert "<script>alert(1)" not in html and "<img src=x" not in html
    assert page_codings(html)["codings"][0][-1] == data["memo"]
    listed = clients["coder"].get(page_url(setup, mode="sentences")).content.decode()
    assert "<script>alert(1)" not in listed and "&lt;script&gt;alert(1)&lt;/script&gt;" in listed


def test_edit_and_delete_own_coding_with_undo(clients, setup, members):
    clients["coder"].post(create_url(setup), coding_data(setup, "warmly", memo="first"))
    coding = Coding.objects.get()
    update = reverse("negotiations:coding_update", args=[setup["study"].slug, coding.pk])
    response = clients["coder"].post(
        update,
        {
            "code": setup["capacity"].pk,
            "stance": "against",
            "demonstrating_party": setup["dprk"].pk,
            "strength": "",
            "memo": "changed",
        },
        headers=HTMX,
    )
    assert response.status_code == 200
    assert event(response, "coding-changed")["coding"][3:5] == [setup["capacity"].pk, "against"]
    coding.refresh_from_db()
    assert (coding.code, coding.stance, coding.demonstrating_party, coding.memo) == (
        setup["capacity"],
        "against",
        setup["dprk"],
        "changed",
    )
    delete = reverse("negotiations:coding_delete", args=[setup["study"].slug, coding.pk])
    response = clients["coder"].post(delete, headers=HTMX)
    html = response.content.decode()
    assert Coding.objects.count() == 0
    assert 'id="undo-form"' in html
    assert event(response, "coding-removed") == {"id": coding.pk}
    # The undo form re-creates the same coding.
    import re

    fields = dict(
        re.findall(
            r'<input type="hidden" name="(\w+)" value="([^"]*)">',
            html.split('id="undo-form"')[1].split("</form>")[0],
        )
    )
    fields.pop("csrfmiddlewaretoken", None)
    from html import unescape

    fields = {k: unescape(v) for k, v in fields.items()}
    response = clients["coder"].post(create_url(setup), fields, headers=HTMX)
    assert response.status_code == 200
    restored = Coding.objects.get()
    assert (restored.start, restored.end, restored.code, restored.stance, restored.memo) == (
        coding.start,
        coding.end,
        setup["capacity"],
        "against",
        "changed",
    )


def test_cannot_edit_or_delete_another_coders_coding(clients, setup, members):
    other = CodingFactory(
        source=setup["source"],
        coder=members.coder2,
        code=setup["zopa"],
        start=0,
        end=3,
        demonstrating_party=setup["us"],
    )
    update = reverse("negotiations:coding_update", args=[setup["study"].slug, other.pk])
    delete = reverse("negotiations:coding_delete", args=[setup["study"].slug, other.pk])
    data = {
        "code": setup["capacity"].pk,
        "stance": "against",
        "demonstrating_party": setup["us"].pk,
    }
    assert clients["coder"].post(update, data).status_code == 403
    assert clients["coder"].post(delete).status_code == 403
    assert clients["supervisor"].post(delete).status_code == 403
    other.refresh_from_db()
    assert other.code == setup["zopa"]


def test_submit_needs_confirmation_then_locks_and_reopen(clients, setup, members):
    submit = reverse(
        "negotiations:assignment_submit", args=[setup["study"].slug, setup["source"].pk]
    )
    clients["coder"].post(submit)
    assignment = Assignment.objects.get(source=setup["source"], coder=members.coder)
    assert assignment.status != AssignmentStatus.SUBMITTED
    clients["coder"].post(submit, {"confirm": "yes"})
    assignment.refresh_from_db()
    assert assignment.status == AssignmentStatus.SUBMITTED and assignment.submitted_at
    response = clients["coder"].post(create_url(setup), coding_data(setup, "warmly"), headers=HTMX)
    assert response.status_code == 422 and "a supervisor can reopen it" in response.content.decode()
    reopen = reverse("negotiations:assignment_reopen", args=[setup["study"].slug, assignment.pk])
    assert clients["coder"].post(reopen).status_code == 403
    assert clients["supervisor"].post(reopen).status_code == 302
    assignment.refresh_from_db()
    assert assignment.status == AssignmentStatus.IN_PROGRESS


def test_code_whole_sentences_without_javascript(clients, setup):
    url = reverse("negotiations:coding_sentences", args=[setup["study"].slug, setup["source"].pk])
    page = clients["coder"].get(page_url(setup, mode="sentences")).content.decode()
    assert 'name="segments" value="0"' in page and 'name="segments" value="2"' in page
    response = clients["coder"].post(
        url,
        {
            "segments": ["0", "2"],
            "code": setup["zopa"].pk,
            "stance": "for",
            "demonstrating_party": setup["us"].pk,
        },
    )
    assert response.status_code == 302
    codings = list(Coding.objects.order_by("start"))
    segments = list(setup["source"].segments.order_by("index"))
    assert [(c.start, c.end) for c in codings] == [
        (segments[0].start, segments[0].end),
        (segments[2].start, segments[2].end),
    ]
    clients["coder"].post(
        url,
        {
            "segments": ["1", "2"],
            "code": setup["capacity"].pk,
            "stance": "against",
            "demonstrating_party": setup["us"].pk,
        },
    )
    merged = Coding.objects.get(code=setup["capacity"])
    assert (merged.start, merged.end) == (segments[1].start, segments[2].end)
    assert all(c.quote == setup["source"].text[c.start : c.end] for c in codings)


def test_my_work_lists_assignments_and_progress(clients, setup, members):
    html = (
        clients["coder"]
        .get(reverse("negotiations:my_work", args=[setup["study"].slug]))
        .content.decode()
    )
    assert "Talks" in html and "Open next" in html
    assert "0 of 1 submitted" in html and "0 of 2 submitted" in html
    assert "<progress" in html


def test_bulk_assignments_balanced_and_reproducible(clients, members):
    study = members.study
    negotiation = NegotiationFactory(study=study)

    SourceFactory.create_batch(20, study=study, negotiation=negotiation)
    from negotiations.models import Membership

    coders = Membership.objects.filter(study=study, role="coder")
    url = reverse("negotiations:assignments", args=[study.slug])
    data = {"coders": [m.pk for m in coders], "mode": "share", "share": 20, "seed": 7}
    assert clients["coder"].post(url, data).status_code == 403
    response = clients["supervisor"].post(url, data)
    assert response.status_code == 302
    per_coder = {m.user_id: Assignment.objects.filter(coder=m.user).count() for m in coders}
    assert sum(per_coder.values()) == 24  # 20 sources, 4 of them double-coded
    assert max(per_coder.values()) - min(per_coder.values()) <= 1
    first = set(Assignment.objects.values_list("source_id", "coder_id"))
    Assignment.objects.all().delete()
    clients["supervisor"].post(url, data)
    assert set(Assignment.objects.values_list("source_id", "coder_id")) == first
    clients["supervisor"].post(url, {**data, "mode": "all"})
    assert Assignment.objects.count() == 40
    html = clients["supervisor"].get(url).content.decode()
    assert "<progress" in html and "cora" in html


def test_plan_assignments_is_balanced_for_any_share():
    for n_sources in (1, 7, 50):
        for share in (0, 0.2, 0.5, 1):
            pairs = assignment_services.plan_assignments(
                source_ids=list(range(n_sources)),
                coder_ids=[1, 2, 3],
                mode="share",
                share=share,
                seed=3,
            )
            loads = [sum(1 for _, c in pairs if c == coder) for coder in (1, 2, 3)]
            assert max(loads) - min(loads) <= 1
            assert len(pairs) == n_sources + round(share * n_sources)
            assert len(set(pairs)) == len(pairs)  # never the same coder twice on a source


def test_save_query_count_is_small_and_fixed(clients, setup, django_assert_max_num_queries):
    # Session, user, membership, source, code, party, savepoint, source lock, assignment lock,
    # party of the negotiation, duplicate check, insert, status update, release.
    with django_assert_max_num_queries(14):
        response = clients["coder"].post(create_url(setup), coding_data(setup, "warmly"))
    assert response.status_code == 302
    with CaptureQueriesContext(connection) as first:
        clients["coder"].post(create_url(setup), coding_data(setup, "delegation"))
    with CaptureQueriesContext(connection) as second:
        clients["coder"].post(create_url(setup), coding_data(setup, "fuel deliveries"))
    assert len(first) == len(second)


def big_source(members, n_codings: int):
    study = members.study
    sentence = "The delegation reviewed the freeze and the fuel schedule in detail. "
    text = sentence * (100_000 // len(sentence))
    negotiation = NegotiationFactory(study=study)
    source = source_services.source_create(
        study=study,
        metadata=source_services.SourceMetadata(negotiation=negotiation, title=f"Long {n_codings}"),
        text=text + str(n_codings),
        created_by=members.supervisor,
    )
    party = Party.objects.get_or_create(study=study, code="US", defaults={"name": "US"})[0]
    negotiation.parties.add(party)
    code = Code.objects.get(study=study, name="ZOPA")
    coders = [members.coder, members.coder2, members.owner]
    for coder in coders[:2]:
        Assignment.objects.create(source=source, coder=coder, status=AssignmentStatus.SUBMITTED)
    codings = []
    for i in range(n_codings):
        start = (i * 47) % (len(source.text) - 200)
        end = start + 20 + (i % 90)
        codings.append(
            Coding(
                source=source,
                coder=coders[i % 3],
                code=code,
                start=start,
                end=end,
                quote=source.text[start:end],
                stance="for" if i % 2 else "against",
                demonstrating_party=party,
            )
        )
    Coding.objects.bulk_create(codings)
    return source


def test_coding_page_queries_do_not_grow_with_codings(clients, members):
    small = big_source(members, 20)
    large = big_source(members, 2000)
    counts = []
    for source in (small, large):
        url = (
            reverse("negotiations:coding_page", args=[members.study.slug, source.pk]) + "?layer=all"
        )
        with CaptureQueriesContext(connection) as ctx:
            response = clients["supervisor"].get(url)
        assert response.status_code == 200
        counts.append(len(ctx))
    assert counts[0] == counts[1]
    assert len(page_codings(response.content.decode())["codings"]) == 2000


def test_a_save_does_not_grow_with_the_codings_on_the_source(clients, members):
    """Same queries and same response at 0 and 4,000 codings (ids normalised)."""
    results = []
    for n in (0, 4000):
        source = big_source(members, n)
        Assignment.objects.filter(source=source, coder=members.coder).update(
            status=AssignmentStatus.IN_PROGRESS
        )
        start = source.text.index("freeze")
        data = {
            "start": start,
            "end": start + 6,
            "quote": "freeze",
            "code": Code.objects.get(study=members.study, name="CAPACITY").pk,
            "stance": "for",
            "demonstrating_party": Party.objects.get(study=members.study, code="US").pk,
            "strength": "",
            "memo": "",
        }
        url = reverse("negotiations:coding_create", args=[members.study.slug, source.pk])
        with CaptureQueriesContext(connection) as ctx:
            response = clients["coder"].post(url, data, headers=HTMX)
        assert response.status_code == 200
        saved = event(response, "coding-saved")
        saved["coding"][0] = 0
        results.append((len(ctx), len(response.content), len(json.dumps(saved))))
    assert results[0] == results[1]


def test_text_html_is_rendered_once_and_shared(clients, setup, members):
    from django.core.cache import cache

    from negotiations.coding import selectors

    cache.clear()
    selectors._TEXT_HTML_KEPT.clear()
    with CaptureQueriesContext(connection) as first:
        html = clients["coder"].get(page_url(setup)).content.decode()
    # Another worker process: nothing kept in this one, the shared cache has it.
    selectors._TEXT_HTML_KEPT.clear()
    with CaptureQueriesContext(connection) as second:
        again = client_for(members.coder2).get(page_url(setup)).content.decode()
    text = html.split('tabindex="0"')[1].split("</div>")[0]
    assert text == again.split('tabindex="0"')[1].split("</div>")[0]
    # A cache hit reads neither the segments nor the text.
    assert not any("segment" in q["sql"] for q in second.captured_queries)
    assert any("segment" in q["sql"] for q in first.captured_queries)
    key = selectors.coding_text_key(source=setup["source"])
    assert cache.get(key) == selectors._TEXT_HTML_KEPT[key]


def test_a_worker_keeps_only_the_last_few_texts(setup, monkeypatch):
    from negotiations.coding import selectors

    monkeypatch.setattr(selectors, "TEXT_HTML_KEPT_MAX", 2)
    selectors._TEXT_HTML_KEPT.clear()
    sources = [
        SourceFactory(study=setup["study"], text=f"Text number {n}. It has two sentences.")
        for n in range(3)
    ]
    for source in sources:
        assert f"Text number {source.text[12]}" in selectors.coding_text_html(source=source)
    kept = list(selectors._TEXT_HTML_KEPT)
    assert kept == [selectors.coding_text_key(source=s) for s in sources[1:]]


def test_an_unchanged_page_is_not_sent_again(clients, setup):
    response = clients["coder"].get(page_url(setup))
    etag = response["ETag"]
    again = clients["coder"].get(page_url(setup), headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    clients["coder"].post(create_url(setup), coding_data(setup, "warmly"))
    # The redirect's message is shown once; then the page has a coding more.
    clients["coder"].get(page_url(setup))
    changed = clients["coder"].get(page_url(setup), headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed["ETag"] != etag


def test_a_study_with_slug_zero_gets_working_edit_and_delete_links(clients, setup, members):
    study = setup["study"]
    study.slug = "0"
    study.save()
    data = coding_data(setup, "warmly")
    clients["coder"].post(
        reverse("negotiations:coding_create", args=["0", setup["source"].pk]), data
    )
    coding = Coding.objects.get()
    html = (
        clients["coder"]
        .get(reverse("negotiations:coding_page", args=["0", setup["source"].pk]))
        .content.decode()
    )
    # The page's script fills each coding's id into these templates (coding.js).
    edit = html.split('data-edit-url="')[1].split('"')[0]
    delete = html.split('data-delete-url="')[1].split('"')[0]
    assert edit.replace("{id}", str(coding.pk)) == reverse(
        "negotiations:coding_update", args=["0", coding.pk]
    )
    assert delete.replace("{id}", str(coding.pk)) == reverse(
        "negotiations:coding_delete", args=["0", coding.pk]
    )


def _style_hashes(response) -> list[str]:
    policy = response["Content-Security-Policy"]
    style_src = next(part for part in policy.split(";") if part.strip().startswith("style-src"))
    return [token for token in style_src.split() if token.startswith("'sha256-")]


def test_the_code_colours_come_in_the_page_allowed_by_their_hash(clients, setup, members):
    import base64
    import hashlib

    code = setup["zopa"]
    code.colour = "#123abc"
    code.save()
    response = clients["coder"].get(page_url(setup))
    html = response.content.decode()
    css = html.split("<style>", 1)[1].split("</style>", 1)[0]
    assert f".code-{code.pk} {{ --code-colour: #123abc; }}" in css
    assert f"::highlight(c{code.pk}-against)" in css
    # No second request for the colours, and the policy allows exactly this stylesheet.
    assert "codebook.css" not in html
    digest = base64.b64encode(hashlib.sha256(css.encode()).digest()).decode()
    assert _style_hashes(response) == [f"'sha256-{digest}'"]
    # A revalidation keeps the same policy: a browser updates the page's headers from the 304.
    again = clients["coder"].get(page_url(setup), headers={"If-None-Match": response["ETag"]})
    assert again.status_code == 304
    assert _style_hashes(again) == [f"'sha256-{digest}'"]
    # The text is in the page, in place of its slot.
    assert "<!--source-text-->" not in html and setup["source"].text[:20] in html
    # Other pages keep the site's policy and link the stylesheet.
    other = clients["coder"].get(reverse("negotiations:my_work", args=[members.study.slug]))
    assert _style_hashes(other) == [] and "codebook.css" in other.content.decode()


def test_a_title_that_looks_like_the_text_slot_stays_text(clients, setup):
    source = setup["source"]
    source.title = "<!--source-text--> title"
    source.save()
    html = clients["coder"].get(page_url(setup)).content.decode()
    assert "&lt;!--source-text--&gt; title" in html
    assert html.count(source.text[:20]) == 1
