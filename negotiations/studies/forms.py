"""Forms for a study, its parties, negotiations, phases and key events."""

from __future__ import annotations

from typing import Any

from django import forms

from negotiations.form_helpers import DateInput, StudyObjectsMixin
from negotiations.models import (
    Negotiation,
    Party,
    Phase,
    Study,
)


class StudyForm(forms.ModelForm):
    class Meta:
        model = Study
        fields = ["name", "slug", "description"]
        help_texts = {"slug": "Short name used in addresses and commands, e.g. nk-talks."}
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}


class StudySettingsForm(forms.ModelForm):
    class Meta:
        model = Study
        fields = ["name", "description", "blind_coding", "snap_to_words"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}


class PartyForm(forms.ModelForm):
    class Meta:
        model = Party
        fields = ["code", "name"]


class PartyMergeForm(forms.Form):
    into = forms.ModelChoiceField(
        queryset=Party.objects.none(),
        label="Merge into",
        help_text="Its codings, sources and negotiations move there; this party is removed.",
    )

    def __init__(self, *args: Any, party: Party, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["into"].queryset = Party.objects.filter(study=party.study_id).exclude(
            pk=party.pk
        )


class NegotiationForm(StudyObjectsMixin, forms.ModelForm):
    parties = forms.ModelMultipleChoiceField(
        queryset=Party.objects.none(), required=False, widget=forms.CheckboxSelectMultiple
    )
    principal_parties = forms.ModelMultipleChoiceField(
        queryset=Party.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Strategic trust needs every element present for both principal parties.",
    )

    class Meta:
        model = Negotiation
        fields = ["name", "description", "start_date", "end_date"]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 3}),
            "start_date": DateInput(),
            "end_date": DateInput(),
        }

    def __init__(self, *args: Any, study: Study, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.instance.study = study
        self.limit_to_study(study)
        if self.instance.pk:
            links = list(self.instance.negotiationparty_set.all())
            self.initial.setdefault("parties", [link.party_id for link in links])
            self.initial.setdefault(
                "principal_parties", [link.party_id for link in links if link.is_principal]
            )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        parties = set(data.get("parties") or [])
        principal = set(data.get("principal_parties") or [])
        if principal - parties:
            self.add_error("principal_parties", "A principal party must also be a party.")
        return data


class PhaseForm(forms.ModelForm):
    class Meta:
        model = Phase
        fields = ["name", "kind", "start_date", "end_date"]
        widgets = {"start_date": DateInput(), "end_date": DateInput()}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Its own ids: it shares the negotiation page with the negotiation's form.
        kwargs.setdefault("auto_id", "phase_%s")
        super().__init__(*args, **kwargs)


class EventForm(forms.Form):
    date = forms.DateField(widget=DateInput())
    end_date = forms.DateField(widget=DateInput(), required=False)
    title = forms.CharField(max_length=300)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "event_%s")
        super().__init__(*args, **kwargs)
