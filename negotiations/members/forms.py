"""Forms for members, invitations and for the account a person makes from one."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import UserCreationForm

from negotiations.members.services import INVITATION_DAYS
from negotiations.models import Role
from negotiations.wording import counted


class MemberAddForm(forms.Form):
    identifier = forms.CharField(label="Username or e-mail", max_length=254)
    role = forms.ChoiceField(choices=Role.choices, initial=Role.CODER)


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class InvitationForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices, initial=Role.CODER)
    email = forms.EmailField(
        label="E-mail (optional)",
        required=False,
        help_text="Sent the link when TrustCoder can send e-mail; otherwise only noted.",
    )
    days = forms.TypedChoiceField(
        label="Valid for",
        coerce=int,
        choices=[(d, counted(d, "day")) for d in INVITATION_DAYS],
        initial=7,
    )

    def __init__(self, *args, **kwargs) -> None:
        # Its own ids: it shares the members page with the form that adds a member.
        kwargs.setdefault("auto_id", "invite_%s")
        super().__init__(*args, **kwargs)


class SignupForm(UserCreationForm):
    full_name = forms.CharField(label="Your name", max_length=150, required=False)
    email = forms.EmailField(label="E-mail", required=False)

    class Meta(UserCreationForm.Meta):
        model = get_user_model()
        fields = ("username", "full_name", "email")

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip()
        if email and get_user_model().objects.filter(email__iexact=email).exists():
            raise forms.ValidationError(
                "An account with this e-mail exists already: log in with it to join instead."
            )
        return email
