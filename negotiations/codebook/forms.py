"""The form for a code of the codebook; choices are limited to one study."""

from __future__ import annotations

from typing import Any

from django import forms

from negotiations.form_helpers import StudyObjectsMixin
from negotiations.models import (
    Code,
    Study,
)
from negotiations.shortcuts import shortcut_taking


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

    def clean_key(self) -> str:
        key = self.cleaned_data.get("key", "")
        taken = shortcut_taking(key) if key else None
        if taken:
            raise forms.ValidationError(
                f"“{key}” is a shortcut of the coding page ({taken}); choose another key."
            )
        return key

    def validate_unique(self) -> None:
        # The service reports clashes (name, key) with the whole codebook in view.
        pass
