"""Form building blocks shared by several features: date inputs, study-scoped choices, scope."""

from __future__ import annotations

from typing import Any

from django import forms

from negotiations.models import (
    Code,
    CodeSet,
    Membership,
    Negotiation,
    Party,
    Phase,
    Role,
    Study,
)


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%d", **kwargs)


class StudyObjectsMixin:
    """Limits every related-object field to the study given to the form."""

    def limit_to_study(self, study: Study) -> None:
        fields = self.fields  # type: ignore[attr-defined]
        if "negotiation" in fields:
            fields["negotiation"].queryset = Negotiation.objects.filter(study=study)
        if "phase" in fields:
            fields["phase"].queryset = Phase.objects.filter(
                negotiation__study=study
            ).select_related("negotiation")
            fields["phase"].label_from_instance = lambda p: f"{p.negotiation.name}: {p.name}"
        for name in ("speaker_party", "parties", "principal_parties", "party"):
            if name in fields:
                fields[name].queryset = Party.objects.filter(study=study)
        if "code_set" in fields:
            fields["code_set"].queryset = CodeSet.objects.filter(study=study)


class ErrorTextMixin:
    def error_text(self) -> str:
        parts = []
        for field, errors in self.errors.items():  # type: ignore[attr-defined]
            label = "" if field == "__all__" else f"{field}: "
            parts.append(label + " ".join(errors))
        return "; ".join(parts)


class ScopeFilterForm(StudyObjectsMixin, forms.Form):
    """Negotiation, phase, element and party filters shared by the reliability and review pages."""

    negotiation = forms.ModelChoiceField(
        queryset=Negotiation.objects.none(), required=False, empty_label="All negotiations"
    )
    phase = forms.ModelChoiceField(
        queryset=Phase.objects.none(), required=False, empty_label="All phases"
    )
    code = forms.ModelChoiceField(
        queryset=Code.objects.none(), required=False, empty_label="All elements", label="Element"
    )
    party = forms.ModelChoiceField(
        queryset=Party.objects.none(), required=False, empty_label="All parties"
    )

    def __init__(self, *args: Any, study: Study, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limit_to_study(study)
        self.fields["code"].queryset = Code.objects.filter(
            study=study, archived=False, code_set__enabled=True
        )
        if "coders" in self.fields or "coder" in self.fields:
            coders = Membership.objects.filter(study=study, role=Role.CODER).select_related("user")
            for name in ("coders", "coder"):
                if name in self.fields:
                    self.fields[name].queryset = coders
                    self.fields[name].label_from_instance = lambda m: m.user.username

    def scope(self) -> dict[str, int | None]:
        data = self.cleaned_data
        return {
            name: data[name].pk if data.get(name) else None
            for name in ("negotiation", "phase", "code", "party")
        }
