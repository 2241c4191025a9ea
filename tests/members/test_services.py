"""Invitations: single use, expiry, withdrawal, roles; owners' one-time reset links."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone

from negotiations.members import selectors, services
from negotiations.models import Invitation, Membership, Role
from negotiations.studies import services as study_services
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def invite(members, role=Role.CODER, **kwargs):
    return services.invitation_create(
        study=members.study,
        role=role,
        created_by=members.owner,
        actor_role=Role.OWNER,
        **kwargs,
    )


def test_only_the_hash_of_the_token_is_stored(members):
    invitation, token = invite(members)
    assert len(token) >= 40
    assert token not in invitation.token_sha256
    assert selectors.invitation_for_token(token=token) == invitation
    assert selectors.invitation_for_token(token=token + "x") is None


def test_accepting_makes_a_member_once(members):
    invitation, token = invite(members, role=Role.READER)
    newcomer = UserFactory(username="nina")
    membership = services.invitation_accept(token=token, user=newcomer)
    assert (membership.study, membership.role) == (members.study, Role.READER)
    invitation.refresh_from_db()
    assert invitation.accepted_by == newcomer
    assert invitation.state == "used"
    with pytest.raises(ValidationError, match="used already"):
        services.invitation_accept(token=token, user=UserFactory(username="other"))
    assert not Membership.objects.filter(user__username="other").exists()


def test_an_account_made_from_an_invitation_joins_with_its_role(members):
    _, token = invite(members, role=Role.CODER, email="new@example.org")
    membership = services.invitation_accept_with_account(
        token=token,
        username="newcoder",
        email="new@example.org",
        password="a long enough pass phrase",
        full_name="New Coder",
    )
    user = membership.user
    assert user.check_password("a long enough pass phrase")
    assert (user.first_name, user.last_name) == ("New", "Coder")
    assert membership.role == Role.CODER


def test_expired_and_withdrawn_invitations_are_refused(members):
    invitation, token = invite(members)
    Invitation.objects.filter(pk=invitation.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    with pytest.raises(ValidationError, match="expired"):
        services.invitation_accept(token=token, user=members.outsider)
    invitation2, token2 = invite(members)
    services.invitation_revoke(invitation=invitation2)
    with pytest.raises(ValidationError, match="withdrawn"):
        services.invitation_accept(token=token2, user=members.outsider)
    with pytest.raises(ValidationError, match="not valid"):
        services.invitation_accept(token="nonsense", user=members.outsider)
    assert not Membership.objects.filter(user=members.outsider).exists()


def test_a_used_invitation_cannot_be_withdrawn(members):
    invitation, token = invite(members)
    services.invitation_accept(token=token, user=members.outsider)
    with pytest.raises(ValidationError, match="used already"):
        services.invitation_revoke(invitation=invitation)


def test_a_member_cannot_accept_again(members):
    _, token = invite(members)
    with pytest.raises(ValidationError, match="already a member"):
        services.invitation_accept(token=token, user=members.coder)


def test_only_owners_invite_owners(members):
    with pytest.raises(ValidationError, match="Only an owner"):
        services.invitation_create(
            study=members.study,
            role=Role.OWNER,
            created_by=members.supervisor,
            actor_role=Role.SUPERVISOR,
        )
    invitation, _ = invite(members, role=Role.OWNER)
    assert invitation.role == Role.OWNER


def test_invitation_is_mailed_only_when_email_is_set_up(members, settings):
    invitation, _ = invite(members, email="guest@example.org")
    settings.TRUSTCODER_EMAIL_ENABLED = False
    assert services.invitation_send(invitation=invitation, link="http://x/inv/") is False
    assert mail.outbox == []
    settings.TRUSTCODER_EMAIL_ENABLED = True
    assert services.invitation_send(invitation=invitation, link="http://x/inv/") is True
    assert mail.outbox[0].to == ["guest@example.org"]
    assert "http://x/inv/" in mail.outbox[0].body
    invitation.refresh_from_db()
    assert invitation.sent_at is not None


def test_reset_link_for_a_member_of_the_owners_study_only(members):
    coder_membership = Membership.objects.get(study=members.study, user=members.coder)
    path = services.password_reset_link_for_member(membership=coder_membership, actor=members.owner)
    token = path.rstrip("/").rsplit("/", 1)[1]
    assert default_token_generator.check_token(members.coder, token)
    with pytest.raises(ValidationError, match="Only an owner"):
        services.password_reset_link_for_member(
            membership=coder_membership, actor=members.supervisor
        )
    # A member who is also in someone else's study keeps their account safe from this owner.
    other_owner = UserFactory(username="otto")
    other = study_services.study_create(name="Other", slug="other", created_by=other_owner)
    study_services.membership_add(
        study=other, identifier="cora", role=Role.CODER, actor_role=Role.OWNER
    )
    with pytest.raises(ValidationError, match="study you do not own"):
        services.password_reset_link_for_member(membership=coder_membership, actor=members.owner)
    own = Membership.objects.get(study=members.study, user=members.owner)
    with pytest.raises(ValidationError, match="your own password"):
        services.password_reset_link_for_member(membership=own, actor=members.owner)
