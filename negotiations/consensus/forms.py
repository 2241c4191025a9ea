"""Forms of the review queue and of a supervisor's decision on a unit."""

from __future__ import annotations

from typing import Any

from django import forms

from negotiations.consensus import selectors
from negotiations.form_helpers import ErrorTextMixin, ScopeFilterForm
from negotiations.models import (
    Code,
    Membership,
    Party,
    Stance,
    Strength,
    Study,
)


class ConsensusFilterForm(ScopeFilterForm):
    coder = forms.ModelChoiceField(
        queryset=Membership.objects.none(), required=False, empty_label="Any coder"
    )
    status = forms.ChoiceField(
        choices=[
            ("", "All disagreements"),
            ("open", "Open"),
            ("flagged", "Flagged for review"),
            ("settled", "Settled"),
            ("unanimous", "Unanimous"),
        ],
        required=False,
    )
    order = forms.ChoiceField(
        choices=[("impact", "Closest to changing a verdict first"), ("source", "Source order")],
        required=False,
    )

    def filters(self) -> selectors.ConsensusFilters:
        if not self.is_valid():
            return selectors.ConsensusFilters()
        data = self.cleaned_data
        return selectors.ConsensusFilters(
            **self.scope(),
            coder=data["coder"].user_id if data.get("coder") else None,
            status=data.get("status") or "",
            order=data.get("order") or "impact",
        )


class ConsensusDecisionForm(ErrorTextMixin, forms.Form):
    decision = forms.ChoiceField(
        choices=[("coder", "coder"), ("none", "none"), ("custom", "custom")]
    )
    version = forms.IntegerField(min_value=0)
    coder = forms.IntegerField(required=False)
    rationale = forms.CharField(required=False, max_length=5000)
    start = forms.IntegerField(required=False, min_value=0)
    end = forms.IntegerField(required=False, min_value=1)
    quote = forms.CharField(required=False, strip=False, max_length=2_000_000)
    code = forms.ModelChoiceField(queryset=Code.objects.none(), required=False)
    stance = forms.ChoiceField(choices=Stance.choices, required=False)
    demonstrating_party = forms.ModelChoiceField(queryset=Party.objects.none(), required=False)
    strength = forms.ChoiceField(choices=[("", "—"), *Strength.choices], required=False)

    def __init__(self, *args: Any, study: Study, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["code"].queryset = Code.objects.filter(study=study).select_related("code_set")
        self.fields["demonstrating_party"].queryset = Party.objects.filter(study=study)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("decision") == "custom":
            for name in ("start", "end", "quote", "code", "stance", "demonstrating_party"):
                if data.get(name) in (None, ""):
                    self.add_error(name, "Needed for a consensus coding.")
        if data.get("decision") == "coder" and data.get("coder") is None:
            self.add_error("coder", "Choose the coder whose reading you accept.")
        return data
