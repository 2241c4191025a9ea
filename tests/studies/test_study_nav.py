"""The study's navigation (`study_nav`): each role's links, the current section, and a slug the
stand-in could be confused with."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from negotiations.studies import services as study_services
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

EVERYONE = ["Sources", "Negotiations", "Codebook", "Passages", "Members", "Exports", "Jobs"]


def _nav(html: str) -> list[tuple[str, str, bool]]:
    nav = html.split('<nav class="study-nav"', 1)[1].split("</nav>", 1)[0]
    return [
        (href, label, bool(current))
        for href, current, label in re.findall(
            r'<a href="([^"]+)"( aria-current="page")?>([^<]+)</a>', nav
        )
    ]


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("coder", ["My work", *EVERYONE]),
        ("reader", [*EVERYONE[:4], "Assessments", "Reliability", *EVERYONE[4:]]),
        (
            "supervisor",
            [
                *EVERYONE[:4],
                "Assessments",
                "Reliability",
                *EVERYONE[4:],
                "Review",
                "Assignments",
                "Settings",
            ],
        ),
        (
            "owner",
            [
                *EVERYONE[:4],
                "Assessments",
                "Reliability",
                *EVERYONE[4:],
                "Review",
                "Assignments",
                "Settings",
            ],
        ),
    ],
)
def test_each_role_sees_its_links_with_the_current_section_marked(members, clients, role, expected):
    slug = members.study.slug
    html = clients[role].get(reverse("negotiations:source_list", args=[slug])).content.decode()
    links = _nav(html)
    assert [label for _, label, _ in links] == expected
    assert [label for _, label, current in links if current] == ["Sources"]
    names = {
        "My work": "my_work", "Sources": "source_list", "Negotiations": "negotiation_list",
        "Codebook": "codebook", "Passages": "passage_list", "Assessments": "assessments",
        "Reliability": "reliability", "Members": "member_list", "Exports": "exports",
        "Jobs": "job_list", "Review": "review_queue", "Assignments": "assignments",
        "Settings": "study_settings",
    }  # fmt: skip
    for href, label, _ in links:
        assert href == reverse(f"negotiations:{names[label]}", args=[slug])
    home = reverse("negotiations:study_detail", args=[slug])
    assert f'<a class="study-name" href="{home}">Test study</a>' in html


def test_a_coder_sees_their_agreement_once_released(members, clients):
    study = members.study
    study.consensus_released = True
    study.save()
    html = clients["coder"].get(reverse("negotiations:my_work", args=[study.slug])).content.decode()
    links = _nav(html)
    assert ("My agreement" in [label for _, label, _ in links]) is True
    assert [label for _, label, current in links if current] == ["My work"]


def test_a_slug_holding_the_stand_in_and_a_name_with_markup(db, client):
    owner = UserFactory()
    study = study_services.study_create(
        name="<b>Talks</b> & more", slug="study-slug-stand-in-2", created_by=owner
    )
    client.force_login(owner)
    html = client.get(reverse("negotiations:codebook", args=[study.slug])).content.decode()
    links = _nav(html)
    assert links and all(f"/studies/{study.slug}/" in href for href, _, _ in links)
    assert [label for _, label, current in links if current] == ["Codebook"]
    assert "&lt;b&gt;Talks&lt;/b&gt; &amp; more</a>" in html
