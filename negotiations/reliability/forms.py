"""The filter form of the reliability report (scope, unit, level, coders)."""

from __future__ import annotations

from django import forms

from negotiations.form_helpers import ScopeFilterForm
from negotiations.models import (
    Membership,
)
from negotiations.reliability import selectors


class ReliabilityFilterForm(ScopeFilterForm):
    coders = forms.ModelMultipleChoiceField(
        queryset=Membership.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every coder.",
    )
    unit = forms.ChoiceField(
        choices=[
            ("segment", "Sentence"),
            ("source", "Source"),
            ("passage", "Passages (unitizing)"),
        ],
        required=False,
        label="Unit",
    )
    level = forms.ChoiceField(
        choices=[("nominal", "Nominal"), ("ordinal", "Ordinal"), ("interval", "Interval")],
        required=False,
        label="Level of measurement",
    )

    categories = forms.ChoiceField(
        choices=[("stance", "Stance"), ("stance_party", "Stance and party")],
        required=False,
        label="Passage categories",
        help_text="For passages (unitizing): compare stances, or stance and party together.",
    )

    def filters(self) -> selectors.ReliabilityFilters:
        if not self.is_valid():
            return selectors.ReliabilityFilters()
        data = self.cleaned_data
        return selectors.ReliabilityFilters(
            **self.scope(),
            coders=tuple(sorted(m.user_id for m in data.get("coders") or [])),
            unit=data.get("unit") or "segment",
            level=data.get("level") or "nominal",
            categories=data.get("categories") or "stance",
        )
