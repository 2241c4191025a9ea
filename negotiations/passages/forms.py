"""The Passages page's filters."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.models import User

from negotiations.form_helpers import DateInput, StudyObjectsMixin
from negotiations.models import (
    Code,
    Membership,
    Negotiation,
    Party,
    Phase,
    Role,
    SourceType,
    Stance,
    Study,
)
from negotiations.passages import selectors


class PassageFilterForm(StudyObjectsMixin, forms.Form):
    layer = forms.ChoiceField(label="Layer", required=False)
    code = forms.ModelChoiceField(
        queryset=Code.objects.none(), required=False, empty_label="Any code"
    )
    stance = forms.ChoiceField(choices=[("", "Any stance"), *Stance.choices], required=False)
    party = forms.ModelChoiceField(
        queryset=Party.objects.none(),
        required=False,
        empty_label="Any party",
        label="Demonstrating party",
    )
    negotiation = forms.ModelChoiceField(
        queryset=Negotiation.objects.none(), required=False, empty_label="Any negotiation"
    )
    phase = forms.ModelChoiceField(
        queryset=Phase.objects.none(), required=False, empty_label="Any phase"
    )
    speaker = forms.CharField(required=False, max_length=200)
    speaker_party = forms.ModelChoiceField(
        queryset=Party.objects.none(),
        required=False,
        empty_label="Any party",
        label="Speaking party",
    )
    source_type = forms.ChoiceField(
        choices=[("", "Any type"), *SourceType.choices], required=False, label="Source type"
    )
    date_from = forms.DateField(required=False, widget=DateInput(), label="From")
    date_to = forms.DateField(required=False, widget=DateInput(), label="To")
    text = forms.CharField(required=False, max_length=200, label="Words in the passage")

    def __init__(self, *args: Any, study: Study, user: User, role: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limit_to_study(study)
        self.fields["code"].queryset = Code.objects.filter(study=study).order_by(
            "code_set__order", "order", "pk"
        )
        layers = [
            (selectors.CODERS, "All coders I may see" if role == Role.CODER else "All coders")
        ]
        if role == Role.CODER:
            layers.append((str(user.pk), "My codings"))
        else:
            coders = Membership.objects.filter(study=study, role=Role.CODER).select_related("user")
            layers += [(str(m.user_id), f"Coder: {m.user.username}") for m in coders]
        if selectors.can_see_consensus(role=role):
            layers.append((selectors.CONSENSUS, "Consensus layer (settled)"))
        self.fields["layer"].choices = layers

    def filters(self) -> selectors.PassageFilters:
        if not self.is_bound or not self.is_valid():
            return selectors.PassageFilters()
        data = self.cleaned_data

        def pk(name: str) -> int | None:
            return data[name].pk if data.get(name) else None

        return selectors.PassageFilters(
            layer=data.get("layer") or selectors.CODERS,
            code=pk("code"),
            stance=data.get("stance") or "",
            party=pk("party"),
            negotiation=pk("negotiation"),
            phase=pk("phase"),
            speaker=data.get("speaker") or "",
            speaker_party=pk("speaker_party"),
            source_type=data.get("source_type") or "",
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            text=data.get("text") or "",
        )
