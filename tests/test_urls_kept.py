"""URLs worked out once per process (http.url_template, the `fixed_url` tag): each must be what
`reverse` gives now, under whatever script prefix the site is served."""

from __future__ import annotations

import pytest
from django.template import Context, Template
from django.urls import clear_script_prefix, reverse, set_script_prefix

from negotiations.http import url_template


@pytest.fixture
def prefix():
    yield set_script_prefix
    clear_script_prefix()


@pytest.mark.parametrize("slug", ["0", "study-1", "1"])
def test_url_template_is_reverses_with_the_placeholder(slug, prefix):
    for script_prefix in ("/", "/trustcoder/", "/"):
        prefix(script_prefix)
        for _ in range(2):  # the second answer is the kept one
            made = url_template("negotiations:coding_update", slug)
            assert made.replace("{id}", "42") == reverse(
                "negotiations:coding_update", args=[slug, 42]
            )
        assert made.startswith(script_prefix)


def test_fixed_url_is_the_url_tags(prefix):
    template = Template(
        "{% load trustcoder %}{% fixed_url 'home' %}|{% fixed_url 'negotiations:api_tokens' %}"
    )
    expected = Template("{% url 'home' %}|{% url 'negotiations:api_tokens' %}")
    for script_prefix in ("/", "/under/", "/"):
        prefix(script_prefix)
        for _ in range(2):
            assert template.render(Context()) == expected.render(Context())
        assert template.render(Context()).startswith(script_prefix)
