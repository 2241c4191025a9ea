"""Forms of the coding page and of bulk assignment."""

from __future__ import annotations

from typing import Any

from django import forms

from negotiations.form_helpers import ErrorTextMixin
from negotiations.models import (
    Code,
    Membership,
    Party,
    Role,
    Stance,
    Strength,
    Study,
)
from negotiations.sources import selectors as source_selectors
from negotiations.sources.forms import SourceFilterForm


class CodingEditForm(ErrorTextMixin, forms.Form):
    code = forms.ModelChoiceField(queryset=Code.objects.none())
    stance = forms.ChoiceField(choices=Stance.choices)
    demonstrating_party = forms.ModelChoiceField(queryset=Party.objects.none())
    strength = forms.ChoiceField(choices=[("", "—"), *Strength.choices], required=False)
    memo = forms.CharField(required=False, max_length=5000)
    # A changed span (coding.js: Shift+Alt+arrows); without them the span stays.
    start = forms.IntegerField(min_value=0, required=False)
    end = forms.IntegerField(min_value=1, required=False)
    quote = forms.CharField(strip=False, max_length=2_000_000, required=False)

    def __init__(self, *args: Any, study: Study, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["code"].queryset = Code.objects.filter(study=study).select_related("code_set")
        self.fields["demonstrating_party"].queryset = Party.objects.filter(study=study)


class CodingForm(CodingEditForm):
    start = forms.IntegerField(min_value=0)
    end = forms.IntegerField(min_value=1)
    # Not stripped: the quote must equal the source text exactly, whitespace included.
    quote = forms.CharField(strip=False, max_length=2_000_000)


class CodingSentencesForm(CodingEditForm):
    segments = forms.TypedMultipleChoiceField(coerce=int, choices=[])
    # Whole sentences carry their own spans.
    start = None
    end = None
    quote = None

    def __init__(self, *args: Any, study: Study, **kwargs: Any) -> None:
        super().__init__(*args, study=study, **kwargs)
        # Any index is accepted here; the service checks it against the source's segments.
        submitted = self.data.getlist("segments") if hasattr(self.data, "getlist") else []
        self.fields["segments"].choices = [(v, v) for v in submitted]


class AssignmentFilterForm(SourceFilterForm):
    """The filter part of the bulk assignment form alone: it counts the sources it matches."""

    def __init__(self, *args: Any, study: Study, **kwargs: Any) -> None:
        super().__init__(*args, study=study, **kwargs)
        del self.fields["sort"]


class AssignmentBulkForm(SourceFilterForm):
    coders = forms.ModelMultipleChoiceField(
        queryset=Membership.objects.none(), widget=forms.CheckboxSelectMultiple
    )
    mode = forms.ChoiceField(
        choices=[
            ("share", "Each source to one coder, a share double-coded by a second"),
            ("all", "Every source to every chosen coder"),
        ],
        initial="share",
        widget=forms.RadioSelect,
    )
    share = forms.IntegerField(
        min_value=0, max_value=100, initial=20, label="Double-coded share (%)"
    )
    seed = forms.IntegerField(
        initial=1, help_text="The same seed and sources give the same assignment."
    )

    def __init__(self, *args: Any, study: Study, **kwargs: Any) -> None:
        super().__init__(*args, study=study, **kwargs)
        self.fields["coders"].queryset = Membership.objects.filter(
            study=study, role=Role.CODER
        ).select_related("user")
        self.fields["coders"].label_from_instance = lambda m: m.user.username
        del self.fields["sort"]

    def filters(self) -> source_selectors.SourceFilters:
        data = self.cleaned_data
        return source_selectors.SourceFilters(
            negotiation=data["negotiation"].pk if data.get("negotiation") else None,
            phase=data["phase"].pk if data.get("phase") else None,
            party=data["party"].pk if data.get("party") else None,
            source_type=data.get("source_type") or "",
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            q=data.get("q") or "",
        )
