"""form_helpers (from forms)."""

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
    PhaseKind,
    Role,
    SourceType,
    Study,
)
from negotiations.sources import selectors as source_selectors


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


class SourceFilterForm(StudyObjectsMixin, forms.Form):
    q = forms.CharField(required=False, label="Search")
    negotiation = forms.ModelChoiceField(queryset=Negotiation.objects.none(), required=False)
    phase = forms.ModelChoiceField(queryset=Phase.objects.none(), required=False)
    party = forms.ModelChoiceField(
        queryset=Party.objects.none(), required=False, label="Speaking party"
    )
    source_type = forms.ChoiceField(
        choices=[("", "Any type"), *SourceType.choices], required=False, label="Type"
    )
    date_from = forms.DateField(required=False, widget=DateInput(), label="From")
    date_to = forms.DateField(required=False, widget=DateInput(), label="To")
    sort = forms.ChoiceField(
        choices=[
            ("date", "Date, oldest first"),
            ("-date", "Date, newest first"),
            ("title", "Title"),
            ("speaker", "Speaker"),
            ("negotiation", "Negotiation"),
            ("-created", "Recently added"),
        ],
        required=False,
    )

    def __init__(self, *args: Any, study: Study, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limit_to_study(study)
        self.fields["negotiation"].empty_label = "Any negotiation"
        self.fields["phase"].empty_label = "Any phase"
        self.fields["party"].empty_label = "Any party"

    def filters(self) -> source_selectors.SourceFilters:
        if not self.is_valid():
            return source_selectors.SourceFilters()
        data = self.cleaned_data
        sort = data.get("sort") or "date"
        return source_selectors.SourceFilters(
            negotiation=data["negotiation"].pk if data.get("negotiation") else None,
            phase=data["phase"].pk if data.get("phase") else None,
            party=data["party"].pk if data.get("party") else None,
            source_type=data.get("source_type") or "",
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            q=data.get("q") or "",
            sort=sort if sort in source_selectors.SOURCE_SORTS else "date",
        )


PHASE_KIND_CHOICES = PhaseKind.choices


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
