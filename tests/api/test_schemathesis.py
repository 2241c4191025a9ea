"""Property-based run of the served OpenAPI schema: generated requests (bounded in examples
and time) against every endpoint, by a reader's token; no 500, every answer valid against the
schema (status codes, content types, bodies)."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from trustcoder.wsgi import application

pytestmark = pytest.mark.django_db

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)


@pytest.fixture
def reader_token(corpus) -> str:
    return corpus.tokens["reader"]


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
