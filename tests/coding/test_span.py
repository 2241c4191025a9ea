"""A saved coding's span changed from the coding page (Shift+Alt+arrows post the new span to the
coding's edit URL): checked like a new coding, the coder's own only, and a response that carries
only the changed coding."""

from __future__ import annotations

import pytest
from django.urls import reverse

from negotiations.coding import services as coding_services
from negotiations.models import Assignment, AssignmentStatus, Coding
from tests.coding.test_views import HTMX, coding_data, create_url, event, setup  # noqa: F401

pytestmark = pytest.mark.django_db


def saved(clients, setup, passage: str) -> Coding:  # noqa: F811
    response = clients["coder"].post(create_url(setup), coding_data(setup, passage), headers=HTMX)
    assert response.status_code == 200
    return Coding.objects.get(quote=passage)


def span_post(setup, coding: Coding, passage: str | None = None, **overrides) -> dict:  # noqa: F811
    """The fields coding.js sends: the coding's own fields and the new span with its quote."""
    text = setup["source"].text
    data = {
        "code": coding.code_id,
        "stance": coding.stance,
        "demonstrating_party": coding.demonstrating_party_id,
        "strength": coding.strength,
        "memo": coding.memo,
    }
    if passage is not None:
        start = text.index(passage)
        data |= {"start": start, "end": start + len(passage), "quote": passage}
    return data | overrides


def update_url(setup, coding: Coding) -> str:  # noqa: F811
    return reverse("negotiations:coding_update", args=[setup["study"].slug, coding.pk])


def test_a_span_extended_past_an_emoji_is_saved_in_code_points(clients, setup):  # noqa: F811
    coding = saved(clients, setup, "welcomed the delegation")
    wider = "welcomed the delegation 🇺🇸 warmly"
    response = clients["coder"].post(
        update_url(setup, coding), span_post(setup, coding, wider), headers=HTMX
    )
    assert response.status_code == 200
    coding.refresh_from_db()
    text = setup["source"].text
    assert (coding.start, coding.end, coding.quote) == (
        text.index(wider),
        text.index(wider) + len(wider),
        wider,
    )
    assert coding.quote == text[coding.start : coding.end]
    changed = event(response, "coding-changed")["coding"]
    assert changed[:3] == [coding.pk, coding.start, coding.end]
    # Only the one coding travels back, as after a new one.
    assert "coding-item" not in response.content.decode()


def test_a_shrunk_span_keeps_the_other_fields(clients, setup):  # noqa: F811
    coding = saved(clients, setup, "fuel deliveries would resume")
    response = clients["coder"].post(
        update_url(setup, coding), span_post(setup, coding, "fuel deliveries"), headers=HTMX
    )
    assert response.status_code == 200
    coding.refresh_from_db()
    assert (coding.quote, coding.code, coding.stance, coding.strength) == (
        "fuel deliveries",
        setup["zopa"],
        "for",
        "hoop",
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"start": 5, "end": 5, "quote": ""}, "empty or outside the text"),
        ({"start": 0, "end": 100_000, "quote": "x"}, "empty or outside the text"),
        ({"quote": "not the text"}, "does not match the source"),
        ({"end": ""}, "needs both its start and its end"),
    ],
)
def test_a_bad_span_is_refused_like_a_new_coding(clients, setup, change, message):  # noqa: F811
    coding = saved(clients, setup, "warmly")
    before = (coding.start, coding.end, coding.quote)
    data = span_post(setup, coding, "the delegation 🇺🇸 warmly") | change
    response = clients["coder"].post(update_url(setup, coding), data, headers=HTMX)
    assert response.status_code == 422
    assert message in response.content.decode()
    assert "HX-Trigger" not in response
    coding.refresh_from_db()
    assert (coding.start, coding.end, coding.quote) == before


def test_a_span_that_makes_a_duplicate_is_refused(clients, setup):  # noqa: F811
    saved(clients, setup, "warmly")
    coding = saved(clients, setup, "delegation 🇺🇸 warmly")
    response = clients["coder"].post(
        update_url(setup, coding), span_post(setup, coding, "warmly"), headers=HTMX
    )
    assert response.status_code == 422
    assert "already coded this passage" in response.content.decode()


def test_only_the_coder_changes_a_span_and_only_before_submitting(clients, setup, members):  # noqa: F811
    coding = saved(clients, setup, "warmly")
    data = span_post(setup, coding, "delegation 🇺🇸 warmly")
    # Another coder (blind coding: they do not even see it) and a supervisor may not.
    other = {"coder": members.coder2}
    from tests.conftest import client_for

    assert client_for(other["coder"]).post(update_url(setup, coding), data).status_code == 403
    assert clients["supervisor"].post(update_url(setup, coding), data).status_code == 403
    assert clients["reader"].post(update_url(setup, coding), data).status_code == 403
    Assignment.objects.filter(coder=members.coder).update(status=AssignmentStatus.SUBMITTED)
    response = clients["coder"].post(update_url(setup, coding), data, headers=HTMX)
    assert response.status_code == 422
    assert "submitted" in response.content.decode()
    coding.refresh_from_db()
    assert coding.quote == "warmly"


def test_the_service_without_a_span_keeps_it(setup, members):  # noqa: F811
    start = setup["source"].text.index("warmly")
    coding = coding_services.coding_create(
        source=setup["source"],
        coder=members.coder,
        code=setup["zopa"],
        start=start,
        end=start + 6,
        quote="warmly",
        stance="for",
        demonstrating_party=setup["us"],
    )
    coding_services.coding_update(
        coding=coding,
        coder=members.coder,
        code=setup["capacity"],
        stance="against",
        demonstrating_party=setup["us"],
    )
    coding.refresh_from_db()
    assert (coding.start, coding.end, coding.quote, coding.code) == (
        start,
        start + 6,
        "warmly",
        setup["capacity"],
    )
