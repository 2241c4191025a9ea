"""The one membership check every view calls: the right study, the right role, nothing leaked."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import Http404
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

from negotiations.access import (
    MANAGERS,
    READERS_AND_MANAGERS,
    membership_for,
    study_for_member,
)
from negotiations.models import Role
from tests.factories import MembershipFactory, StudyFactory, UserFactory

pytestmark = pytest.mark.django_db


def request_of(user):
    request = RequestFactory().get("/")
    request.user = user
    return request


def test_a_member_of_another_study_gets_404_not_their_own_study():
    person = UserFactory()
    mine, theirs = StudyFactory(slug="mine"), StudyFactory(slug="theirs")
    MembershipFactory(study=mine, user=person, role=Role.OWNER)
    with pytest.raises(Http404) as refused:
        study_for_member(request_of(person), "theirs")
    assert str(refused.value) == "No such study."
    study, membership = study_for_member(request_of(person), "mine")
    assert study == mine and membership.role == Role.OWNER
    assert theirs.pk != study.pk


def test_each_study_gives_the_role_held_there():
    person = UserFactory()
    first, second = StudyFactory(slug="first"), StudyFactory(slug="second")
    MembershipFactory(study=first, user=person, role=Role.CODER)
    MembershipFactory(study=second, user=person, role=Role.SUPERVISOR)
    assert membership_for(user=person, slug="first").role == Role.CODER
    assert membership_for(user=person, slug="second").role == Role.SUPERVISOR
    with pytest.raises(PermissionDenied) as refused:
        study_for_member(request_of(person), "first", MANAGERS)
    assert str(refused.value) == "Your role in this study does not allow this."
    study, _ = study_for_member(request_of(person), "second", MANAGERS)
    assert study == second


def test_anonymous_and_unknown_studies_are_404():
    with pytest.raises(Http404) as anonymous:
        membership_for(user=AnonymousUser(), slug="first")
    assert str(anonymous.value) == "No such study."
    with pytest.raises(Http404) as unknown:
        membership_for(user=UserFactory(), slug="no-such-study")
    assert str(unknown.value) == "No such study."


@pytest.mark.parametrize(
    ("role", "allowed"),
    [(Role.OWNER, True), (Role.SUPERVISOR, True), (Role.READER, True), (Role.CODER, False)],
)
def test_roles_are_checked_against_the_list(role, allowed):
    membership = MembershipFactory(role=role)
    request = request_of(membership.user)
    if allowed:
        assert study_for_member(request, membership.study.slug, READERS_AND_MANAGERS)[1] == (
            membership
        )
    else:
        with pytest.raises(PermissionDenied):
            study_for_member(request, membership.study.slug, READERS_AND_MANAGERS)
    # No list of roles: any member.
    assert study_for_member(request, membership.study.slug)[1] == membership


def test_one_query_gives_the_membership_and_its_study():
    membership = MembershipFactory(role=Role.READER)
    with CaptureQueriesContext(connection) as queries:
        study, found = study_for_member(request_of(membership.user), membership.study.slug)
        assert study.name == membership.study.name
    assert len(queries) == 1
    assert found.study_id == study.pk
