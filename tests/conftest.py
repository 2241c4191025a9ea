"""Shared fixtures: a study with a member of every role, and clients logged in as each."""

from __future__ import annotations

import os
from dataclasses import dataclass

import pytest
from django.db import connection
from django.test import Client
from hypothesis import settings as hypothesis_settings

from negotiations.models import Role, Study
from negotiations.studies import services as study_services
from tests.factories import UserFactory

# Hypothesis's per-example deadline is a wall-clock check: on shared machines it fails tests whose
# property holds. Time stays out of tests (linear growth is checked by scaling, in test_text.py).
hypothesis_settings.register_profile("trustcoder", deadline=None)
hypothesis_settings.load_profile("trustcoder")


def _required(name: str) -> bool:
    return os.environ.get(name) == "1"


@pytest.fixture
def postgres_only(db):
    """Skip (or, in CI, fail) a test that needs PostgreSQL's real concurrency."""
    if connection.vendor != "postgresql":
        message = "needs PostgreSQL: set DATABASE_URL=postgres://... to run it"
        if _required("TRUSTCODER_REQUIRE_POSTGRES"):
            pytest.fail(message)
        pytest.skip(message)


@dataclass
class StudyWithMembers:
    study: Study
    owner: object
    supervisor: object
    coder: object
    coder2: object
    reader: object
    outsider: object


@pytest.fixture
def members(db) -> StudyWithMembers:
    """A study made through the service (with the default codebook) and one user per role."""
    owner = UserFactory(username="olivia")
    study = study_services.study_create(name="Test study", slug="test-study", created_by=owner)
    people = {}
    for name, role in [
        ("sam", Role.SUPERVISOR),
        ("cora", Role.CODER),
        ("cody", Role.CODER),
        ("rex", Role.READER),
    ]:
        people[name] = UserFactory(username=name)
        study_services.membership_add(
            study=study, identifier=name, role=role, actor_role=Role.OWNER
        )
    return StudyWithMembers(
        study=study,
        owner=owner,
        supervisor=people["sam"],
        coder=people["cora"],
        coder2=people["cody"],
        reader=people["rex"],
        outsider=UserFactory(username="nora"),
    )


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def clients(members):
    """A logged-in client per role, plus `anonymous` and `outsider` (not a member)."""
    return {
        "anonymous": Client(),
        "outsider": client_for(members.outsider),
        "reader": client_for(members.reader),
        "coder": client_for(members.coder),
        "supervisor": client_for(members.supervisor),
        "owner": client_for(members.owner),
    }
