"""Forms of the REFI-QDA pages: an upload into a study, or into a new study."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_slug

from negotiations.models import Study

SUFFIXES = (".qdpx", ".qde")


def limit_text(limit: int) -> str:
    return f"{limit / (1024 * 1024):g} MB"


class QdpxUploadForm(forms.Form):
    file = forms.FileField(
        label="REFI-QDA project",
        help_text="A .qdpx project exported from NVivo, ATLAS.ti, MAXQDA, QualCoder or TrustCoder.",
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        limit = settings.TRUSTCODER_MAX_QDPX_BYTES
        if upload.size > limit:
            raise ValidationError(f"The file is larger than the {limit_text(limit)} limit.")
        if not upload.name.lower().endswith(SUFFIXES):
            raise ValidationError("Upload a .qdpx (or a bare .qde) file.")
        return upload


class QdpxNewStudyForm(QdpxUploadForm):
    name = forms.CharField(max_length=200, label="Name of the new study")
    slug = forms.CharField(
        max_length=60,
        validators=[validate_slug],
        help_text="Short name used in addresses and commands, e.g. nk-talks.",
    )

    def clean_slug(self) -> str:
        slug = self.cleaned_data["slug"]
        if Study.objects.filter(slug=slug).exists():
            raise ValidationError("A study with this slug exists already; pick another.")
        return slug
