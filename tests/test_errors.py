"""Errors a person understands: 403, 404 and 500 in the site's layout, htmx without a session."""

from __future__ import annotations

import pytest
from django.test import RequestFactory
from django.urls import reverse
from django.views.defaults import server_error

pytestmark = pytest.mark.django_db


def test_404_is_in_the_layout_with_a_way_back(clients, members):
    response = clients["outsider"].get(
        reverse("negotiations:study_detail", args=[members.study.slug])
    )
    assert response.status_code == 404
    html = response.content.decode()
    assert "This page does not exist" in html
    assert 'class="site-header"' in html
    assert f'href="{reverse("home")}"' in html


def test_403_says_why_in_the_layout(clients, members):
    response = clients["coder"].get(
        reverse("negotiations:study_settings", args=[members.study.slug])
    )
    assert response.status_code == 403
    html = response.content.decode()
    assert "Your role does not allow this" in html
    assert "Your role in this study does not allow this." in html
    assert 'class="site-header"' in html


def test_500_page_renders_without_a_request_context():
    response = server_error(RequestFactory().get("/"))
    assert response.status_code == 500
    html = response.content.decode()
    assert "Something went wrong on our side" in html
    assert 'class="site-header"' in html


def test_htmx_request_without_a_session_gets_401_and_the_way_back(clients, members):
    page = f"/studies/{members.study.slug}/sources/?q=fuel"
    response = clients["anonymous"].get(
        reverse("negotiations:source_list", args=[members.study.slug]),
        headers={"HX-Request": "true", "HX-Current-URL": "http://testserver" + page},
    )
    assert response.status_code == 401
    assert (
        response["X-Login-URL"]
        == "/accounts/login/?next=%2Fstudies%2Ftest-study%2Fsources%2F%3Fq%3Dfuel"
    )


def test_htmx_401_never_leads_to_another_site(clients, members):
    response = clients["anonymous"].get(
        reverse("negotiations:source_list", args=[members.study.slug]),
        headers={"HX-Request": "true", "HX-Current-URL": "https://evil.example/x"},
    )
    assert response["X-Login-URL"] == "/accounts/login/?next=%2F"


def test_plain_request_without_a_session_still_redirects_to_login(clients, members):
    url = reverse("negotiations:source_list", args=[members.study.slug])
    response = clients["anonymous"].get(url)
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={url}"
