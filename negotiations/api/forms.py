"""The form of the account page's API tokens."""

from __future__ import annotations

from django import forms

from negotiations.form_helpers import DateInput


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        max_length=100, help_text="What the token is for, e.g. “R scripts on my laptop”."
    )
    expires_on = forms.DateField(
        required=False,
        widget=DateInput(),
        label="Expires on",
        help_text="Optional: the token stops working at the start of this day (UTC).",
    )
