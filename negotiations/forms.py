"""Forms for TrustCoder's pages. Choices of related objects are always limited to one study."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError

from negotiations.models import (
    Code,
    CodeSet,
    Membership,
    Negotiation,
    Party,
    Phase,
    PhaseKind,
    Role,
    Source,
    SourceType,
    Stance,
    Strength,
    Study,
    Verdict,
)
from negotiations.selectors import (
    SOURCE_SORTS,
    ConsensusFilters,
    ReliabilityFilters,
    SourceFilters,
)
from negotiations.services import size_limit_text


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%d", **kwargs)


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


class MemberAddForm(forms.Form):
    identifier = forms.CharField(label="Username or e-mail", max_length=254)
    role = forms.ChoiceField(choices=Role.choices, initial=Role.CODER)


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class PartyForm(forms.ModelForm):
    class Meta:
        model = Party
        fields = ["code", "name"]


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


class EventForm(forms.Form):
    date = forms.DateField(widget=DateInput())
    end_date = forms.DateField(widget=DateInput(), required=False)
    title = forms.CharField(max_length=300)


class CodeForm(StudyObjectsMixin, forms.ModelForm):
    class Meta:
        model = Code
        fields = [
            "code_set",
            "name",
            "label",
            "definition",
            "when_to_use",
            "when_not_to_use",
            "example",
            "colour",
            "key",
            "order",
        ]
        widgets = {
            "colour": forms.TextInput(attrs={"type": "color"}),
            "when_to_use": forms.Textarea(attrs={"rows": 2}),
            "when_not_to_use": forms.Textarea(attrs={"rows": 2}),
            "example": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args: Any, study: Study, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.instance.study = study
        self.limit_to_study(study)

    def validate_unique(self) -> None:
        # The service reports clashes (name, key) with the whole codebook in view.
        pass


class SourceMetadataForm(StudyObjectsMixin, forms.ModelForm):
    class Meta:
        model = Source
        fields = [
            "negotiation",
            "phase",
            "title",
            "speaker",
            "speaker_party",
            "date",
            "source_type",
            "citation",
            "url",
            "language",
        ]
        widgets = {"date": DateInput(), "citation": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args: Any, study: Study, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.instance.study = study
        self.limit_to_study(study)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        phase, negotiation = data.get("phase"), data.get("negotiation")
        if phase and negotiation and phase.negotiation_id != negotiation.pk:
            self.add_error("phase", "This phase belongs to another negotiation.")
        return data


class SourceCreateForm(SourceMetadataForm):
    text = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 12}),
        required=False,
        help_text="Paste the statement, or upload a file below.",
    )
    file = forms.FileField(
        required=False,
        help_text="A .txt, .md, .html, .docx or .pdf file; its encoding is detected.",
    )

    class Meta(SourceMetadataForm.Meta):
        fields = [*SourceMetadataForm.Meta.fields]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not data.get("text", "").strip() and not data.get("file"):
            raise ValidationError("Paste the text or choose a file.")
        if data.get("text", "").strip() and data.get("file"):
            raise ValidationError("Paste the text or choose a file, not both.")
        upload = data.get("file")
        if upload is not None and upload.size > settings.TRUSTCODER_MAX_UPLOAD_BYTES:
            limit = size_limit_text(settings.TRUSTCODER_MAX_UPLOAD_BYTES)
            self.add_error("file", f"The file is larger than the {limit} limit.")
        return data


class SourceTextForm(forms.Form):
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 16}))


class SourceImportForm(forms.Form):
    file = forms.FileField(help_text="A .csv (UTF-8, or another common encoding) or .xlsx file.")
    create_missing = forms.BooleanField(
        required=False,
        label="Create negotiations, phases and parties that the file names but the study lacks",
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > settings.TRUSTCODER_MAX_UPLOAD_BYTES:
            limit = size_limit_text(settings.TRUSTCODER_MAX_UPLOAD_BYTES)
            raise ValidationError(f"The file is larger than the {limit} limit.")
        if not upload.name.lower().endswith((".csv", ".xlsx")):
            raise ValidationError("Upload a .csv or .xlsx file.")
        return upload


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

    def filters(self) -> SourceFilters:
        if not self.is_valid():
            return SourceFilters()
        data = self.cleaned_data
        sort = data.get("sort") or "date"
        return SourceFilters(
            negotiation=data["negotiation"].pk if data.get("negotiation") else None,
            phase=data["phase"].pk if data.get("phase") else None,
            party=data["party"].pk if data.get("party") else None,
            source_type=data.get("source_type") or "",
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            q=data.get("q") or "",
            sort=sort if sort in SOURCE_SORTS else "date",
        )


PHASE_KIND_CHOICES = PhaseKind.choices


class ErrorTextMixin:
    def error_text(self) -> str:
        parts = []
        for field, errors in self.errors.items():  # type: ignore[attr-defined]
            label = "" if field == "__all__" else f"{field}: "
            parts.append(label + " ".join(errors))
        return "; ".join(parts)


class CodingEditForm(ErrorTextMixin, forms.Form):
    code = forms.ModelChoiceField(queryset=Code.objects.none())
    stance = forms.ChoiceField(choices=Stance.choices)
    demonstrating_party = forms.ModelChoiceField(queryset=Party.objects.none())
    strength = forms.ChoiceField(choices=[("", "—"), *Strength.choices], required=False)
    memo = forms.CharField(required=False, max_length=5000)

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

    def __init__(self, *args: Any, study: Study, **kwargs: Any) -> None:
        super().__init__(*args, study=study, **kwargs)
        # Any index is accepted here; the service checks it against the source's segments.
        submitted = self.data.getlist("segments") if hasattr(self.data, "getlist") else []
        self.fields["segments"].choices = [(v, v) for v in submitted]


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

    def filters(self) -> SourceFilters:
        data = self.cleaned_data
        return SourceFilters(
            negotiation=data["negotiation"].pk if data.get("negotiation") else None,
            phase=data["phase"].pk if data.get("phase") else None,
            party=data["party"].pk if data.get("party") else None,
            source_type=data.get("source_type") or "",
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            q=data.get("q") or "",
        )


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


class ReliabilityFilterForm(ScopeFilterForm):
    coders = forms.ModelMultipleChoiceField(
        queryset=Membership.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every coder.",
    )
    unit = forms.ChoiceField(
        choices=[("segment", "Sentence"), ("source", "Source")], required=False, label="Unit"
    )
    level = forms.ChoiceField(
        choices=[("nominal", "Nominal"), ("ordinal", "Ordinal"), ("interval", "Interval")],
        required=False,
        label="Level of measurement",
    )

    def filters(self) -> ReliabilityFilters:
        if not self.is_valid():
            return ReliabilityFilters()
        data = self.cleaned_data
        return ReliabilityFilters(
            **self.scope(),
            coders=tuple(sorted(m.user_id for m in data.get("coders") or [])),
            unit=data.get("unit") or "segment",
            level=data.get("level") or "nominal",
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

    def filters(self) -> ConsensusFilters:
        if not self.is_valid():
            return ConsensusFilters()
        data = self.cleaned_data
        return ConsensusFilters(
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
