"""Writes that bring people into a study: invitations, accounts made from them, and one-time
password reset links that an owner hands to a member.

Services take keyword-only arguments, validate with `full_clean()` and run in one transaction."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from negotiations.members.tokens import new_token, token_hash
from negotiations.models import Invitation, Membership, Role, Study

INVITATION_DAYS = (1, 7, 14, 30)


@transaction.atomic
def invitation_create(
    *,
    study: Study,
    role: str,
    email: str = "",
    days: int = 7,
    created_by: User,
    actor_role: str,
) -> tuple[Invitation, str]:
    """A new invitation and its secret token (shown once: only its hash is stored)."""
    if role == Role.OWNER and actor_role != Role.OWNER:
        raise ValidationError({"role": "Only an owner can invite an owner."})
    if days not in INVITATION_DAYS:
        raise ValidationError({"days": "Choose how long the link stays valid."})
    email = email.strip()
    if email and Membership.objects.filter(study=study, user__email__iexact=email).exists():
        raise ValidationError({"email": f"Someone with the e-mail {email} is already a member."})
    token = new_token()
    invitation = Invitation(
        study=study,
        role=role,
        email=email,
        token_sha256=token_hash(token),
        expires_at=timezone.now() + timedelta(days=days),
        created_by=created_by,
    )
    invitation.full_clean()
    invitation.save()
    return invitation, token


def email_enabled() -> bool:
    return bool(getattr(settings, "TRUSTCODER_EMAIL_ENABLED", False))


def invitation_send(*, invitation: Invitation, link: str) -> bool:
    """E-mail the link when the invitation names an address and e-mail is set up; else False."""
    if not (invitation.email and email_enabled()):
        return False
    inviter = invitation.created_by.get_username() if invitation.created_by else "A member"
    send_mail(
        subject=f"Invitation to {invitation.study.name} on TrustCoder",
        message=(
            f"{inviter} invites you to the study {invitation.study.name} on TrustCoder as "
            f"{invitation.get_role_display().lower()}.\n\n"
            f"Open this link to create your account or to join with the one you have:\n{link}\n\n"
            f"The link works once and until {invitation.expires_at:%Y-%m-%d %H:%M} UTC."
        ),
        from_email=None,
        recipient_list=[invitation.email],
    )
    Invitation.objects.filter(pk=invitation.pk).update(sent_at=timezone.now())
    return True


@transaction.atomic
def invitation_revoke(*, invitation: Invitation) -> Invitation:
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.accepted_at is not None:
        raise ValidationError("This invitation has been used already.")
    if invitation.revoked_at is None:
        invitation.revoked_at = timezone.now()
        invitation.save(update_fields=["revoked_at"])
    return invitation


def invitation_problem(invitation: Invitation | None) -> str:
    """Why a link cannot be used, in words for the person holding it; "" when it can."""
    if invitation is None:
        return "This invitation link is not valid. Check that you copied all of it."
    if invitation.revoked_at is not None:
        return "This invitation has been withdrawn. Ask whoever sent it for a new one."
    if invitation.accepted_at is not None:
        return "This invitation has been used already. Each link works once."
    if invitation.expires_at <= timezone.now():
        return "This invitation has expired. Ask whoever sent it for a new one."
    return ""


def _lock_usable(token: str) -> Invitation:
    invitation = (
        Invitation.objects.select_for_update().filter(token_sha256=token_hash(token)).first()
    )
    problem = invitation_problem(invitation)
    if problem:
        raise ValidationError(problem)
    return invitation


@transaction.atomic
def invitation_accept(*, token: str, user: User) -> Membership:
    """Make a logged-in user a member with the invitation's role and use the invitation up."""
    invitation = _lock_usable(token)
    if Membership.objects.filter(study=invitation.study, user=user).exists():
        raise ValidationError(f"You are already a member of {invitation.study.name}.")
    membership = Membership(study=invitation.study, user=user, role=invitation.role)
    membership.full_clean()
    membership.save()
    invitation.accepted_by = user
    invitation.accepted_at = timezone.now()
    invitation.save(update_fields=["accepted_by", "accepted_at"])
    return membership


@transaction.atomic
def invitation_accept_with_account(
    *, token: str, username: str, email: str, password: str, full_name: str = ""
) -> Membership:
    """Create an account (already validated by the sign-up form) and accept the invitation."""
    _lock_usable(token)
    user_model = get_user_model()
    first, _, last = full_name.strip().partition(" ")
    user = user_model(username=username, email=email, first_name=first, last_name=last)
    user.set_password(password)
    user.full_clean(exclude=["password"])
    user.save()
    return invitation_accept(token=token, user=user)


def password_reset_link_for_member(*, membership: Membership, actor: User) -> str:
    """A one-time password reset path for a member, for an owner to hand over.

    Refused when the member belongs to any study the owner does not own: a reset link is the
    key to the member's whole account, not only to this study. Django's token stops working once
    the password is set (or the member logs in), and after PASSWORD_RESET_TIMEOUT."""
    target = membership.user
    if not Membership.objects.filter(study=membership.study, user=actor, role=Role.OWNER).exists():
        raise ValidationError("Only an owner of the study can issue a reset link.")
    if target.pk == actor.pk:
        raise ValidationError("Change your own password from the Password page.")
    if target.is_staff or target.is_superuser:
        raise ValidationError("Administrators reset their passwords through the administration.")
    owned = Membership.objects.filter(user=actor, role=Role.OWNER).values("study")
    if Membership.objects.filter(user=target).exclude(study__in=owned).exists():
        raise ValidationError(
            f"{target.get_username()} is also in a study you do not own; only they (or an "
            "administrator) can reset their password."
        )
    return reverse(
        "password_reset_confirm",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(target.pk)),
            "token": default_token_generator.make_token(target),
        },
    )
