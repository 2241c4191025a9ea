"""Forms for sources: metadata, text, upload and bulk import."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError

from negotiations.form_helpers import DateInput, StudyObjectsMixin
from negotiations.models import Negotiation, Party, Phase, Source, SourceType, Study
from negotiations.sources import selectors, services


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


def refile_confirmation_field() -> forms.BooleanField:
    return forms.BooleanField(
        required=False,
        label="Yes, re-file this coded source and its codings as listed above",
    )


class SourceEditForm(SourceMetadataForm):
    """The details of an existing source; the confirmation box appears once a change would
    re-file coded data (the service says what it would affect)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.data.get("confirm_refile"):
            self.ask_confirmation()

    def ask_confirmation(self) -> None:
        self.fields["confirm_refile"] = refile_confirmation_field()


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
            limit = services.size_limit_text(settings.TRUSTCODER_MAX_UPLOAD_BYTES)
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
            limit = services.size_limit_text(settings.TRUSTCODER_MAX_UPLOAD_BYTES)
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

    def filters(self) -> selectors.SourceFilters:
        if not self.is_valid():
            return selectors.SourceFilters()
        data = self.cleaned_data
        sort = data.get("sort") or "date"
        return selectors.SourceFilters(
            negotiation=data["negotiation"].pk if data.get("negotiation") else None,
            phase=data["phase"].pk if data.get("phase") else None,
            party=data["party"].pk if data.get("party") else None,
            source_type=data.get("source_type") or "",
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            q=data.get("q") or "",
            sort=sort if sort in selectors.SOURCE_SORTS else "date",
        )
