"""Property-based run of the served OpenAPI schema: generated requests (bounded in examples
and time) against every endpoint, by a reader's token; no 500, every answer valid against the
schema (status codes, content types, bodies)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from trustcoder.wsgi import application

pytestmark = pytest.mark.django_db

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)


@pytest.fixture
def reader_token(corpus) -> Iterator[str]:
    """A reader's token. Requests go through the real WSGI handler, which closes the database
    connection when a request ends; as Django's test client does, that is switched off here so
    the test's transaction (and its data) survives each call."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield corpus.tokens["reader"]
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_to_its_schema(case, reader_token):
    if "slug" in (case.path_parameters or {}):
        case.path_parameters["slug"] = "test-study"
    # Not checked: "schema-valid input is accepted". An opaque cursor that we did not issue, or
    # the id of a negotiation of another study, fits the schema and is rightly refused (400).
    case.call_and_validate(
        headers={"Authorization": f"Bearer {reader_token}"},
        excluded_checks=[positive_data_acceptance],
    )
