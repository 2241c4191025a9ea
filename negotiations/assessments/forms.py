"""Forms of the assessment pages: a supervisor's judgement on a cell and the study's rule."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from negotiations.models import (
    Study,
    Verdict,
)


class JudgementForm(forms.Form):
    judgement = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), required=False, label="Judgement"
    )
    override_verdict = forms.ChoiceField(
        choices=[("", "Keep the computed verdict"), *Verdict.choices],
        required=False,
        label="Verdict",
    )
    rationale = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        help_text="Required when you override the computed verdict.",
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not data.get("judgement") and not data.get("override_verdict"):
            raise ValidationError("Write a judgement or choose a verdict.")
        return data


class AssessmentRuleForm(forms.ModelForm):
    class Meta:
        model = Study
        fields = [
            "rule_min_sources",
            "rule_use_strength",
            "rule_contested_min_weight",
            "rule_contested_ratio",
        ]
        labels = {
            "rule_min_sources": "Minimum sources",
            "rule_use_strength": "Weigh by evidence strength",
            "rule_contested_min_weight": "Contested: minimum weight of each side",
            "rule_contested_ratio": "Contested: at most this ratio between the sides",
        }
