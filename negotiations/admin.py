"""The Django admin, with import-export buttons. Data changes made here skip the services' rules,
so the admin is for staff who know the model; study members use the pages."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from import_export import fields, resources
from import_export.admin import ExportMixin, ImportExportMixin
from import_export.forms import ConfirmImportForm, ImportForm

from negotiations.models import (
    Assignment,
    Code,
    CodebookVersion,
    CodeSet,
    Coding,
    Event,
    Membership,
    Negotiation,
    NegotiationParty,
    Party,
    Phase,
    QdpxImport,
    Segment,
    Source,
    SourceImport,
    Study,
)
from negotiations.sources.resources import CodeResource, CodingResource, SourceResource


class StudyChoiceMixin(forms.Form):
    study = forms.ModelChoiceField(queryset=Study.objects.all())
    create_missing = forms.BooleanField(
        required=False, help_text="Create negotiations, phases and parties that the file names."
    )


class SourceImportAdminForm(StudyChoiceMixin, ImportForm):
    pass


class SourceConfirmAdminForm(StudyChoiceMixin, ConfirmImportForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Chosen on the previous step; carried through the confirmation unchanged.
        self.fields["study"].widget = forms.HiddenInput()
        self.fields["create_missing"].widget = forms.HiddenInput()


class SourceExportResource(resources.ModelResource):
    study = fields.Field(attribute="study__slug", column_name="study")
    negotiation = fields.Field(attribute="negotiation__name", column_name="negotiation")
    phase = fields.Field(attribute="phase__name", column_name="phase")
    speaker_party = fields.Field(attribute="speaker_party__code", column_name="speaker_party")

    class Meta:
        model = Source
        fields = (
            "id",
            "study",
            "negotiation",
            "phase",
            "title",
            "date",
            "speaker",
            "speaker_party",
            "source_type",
            "citation",
            "url",
            "language",
            "text",
        )


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Study)
class StudyAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "blind_coding", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["study", "user", "role"]
    list_filter = ["role", "study"]
    search_fields = ["user__username", "user__email", "study__name"]


@admin.register(Party)
class PartyAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "study"]
    list_filter = ["study"]
    search_fields = ["code", "name"]


class PhaseInline(admin.TabularInline):
    model = Phase
    extra = 0


class EventInline(admin.TabularInline):
    model = Event
    extra = 0


class NegotiationPartyInline(admin.TabularInline):
    model = NegotiationParty
    extra = 0


@admin.register(Negotiation)
class NegotiationAdmin(admin.ModelAdmin):
    list_display = ["name", "study", "start_date", "end_date"]
    list_filter = ["study"]
    inlines = [NegotiationPartyInline, PhaseInline, EventInline]


class CodeInline(admin.TabularInline):
    model = Code
    extra = 0
    fields = ["name", "label", "colour", "key", "order", "archived"]


@admin.register(CodeSet)
class CodeSetAdmin(admin.ModelAdmin):
    list_display = ["name", "study", "enabled"]
    list_filter = ["study"]
    inlines = [CodeInline]


@admin.register(Code)
class CodeAdmin(ExportMixin, admin.ModelAdmin):
    resource_classes = [CodeResource]
    list_display = ["name", "label", "code_set", "study", "key", "archived"]
    list_filter = ["study", "code_set", "archived"]
    search_fields = ["name", "label", "definition"]


@admin.register(CodebookVersion)
class CodebookVersionAdmin(admin.ModelAdmin):
    list_display = ["study", "number", "note", "created_by", "created_at"]
    list_filter = ["study"]
    readonly_fields = ["study", "number", "snapshot", "note", "created_by", "created_at"]


@admin.register(Source)
class SourceAdmin(ImportExportMixin, admin.ModelAdmin):
    """Sources import through the same resource as the study's import page."""

    resource_classes = [SourceResource]
    import_form_class = SourceImportAdminForm
    confirm_form_class = SourceConfirmAdminForm
    list_display = ["title", "study", "negotiation", "phase", "date", "speaker", "version"]
    list_filter = ["study", "negotiation", "source_type"]
    search_fields = ["title", "speaker", "text"]
    date_hierarchy = "date"
    readonly_fields = ["text_sha256", "guid", "created_at", "updated_at"]
    list_select_related = ["study", "negotiation", "phase"]
    raw_id_fields = ["supersedes"]

    def get_export_resource_classes(self, request: Any) -> list[type]:
        return [SourceExportResource]

    def get_import_resource_kwargs(self, request: Any, **kwargs: Any) -> dict[str, Any]:
        form = kwargs.get("form")
        data = getattr(form, "cleaned_data", {}) or {}
        return {
            "study": data.get("study"),
            "actor": request.user,
            "create_missing": bool(data.get("create_missing")),
        }

    def get_export_resource_kwargs(self, request: Any, **kwargs: Any) -> dict[str, Any]:
        return {}

    def get_confirm_form_initial(self, request: Any, import_form: Any) -> dict[str, Any]:
        initial = super().get_confirm_form_initial(request, import_form)
        if import_form is not None:
            initial["study"] = import_form.cleaned_data["study"].pk
            initial["create_missing"] = import_form.cleaned_data.get("create_missing")
        return initial


@admin.register(Segment)
class SegmentAdmin(admin.ModelAdmin):
    list_display = ["source", "index", "start", "end"]
    raw_id_fields = ["source"]


@admin.register(Assignment)
class AssignmentAdmin(admin.ModelAdmin):
    list_display = ["source", "coder", "status", "submitted_at"]
    list_filter = ["status", "source__study"]
    raw_id_fields = ["source"]


@admin.register(Coding)
class CodingAdmin(ExportMixin, admin.ModelAdmin):
    resource_classes = [CodingResource]
    list_display = ["source", "coder", "code", "stance", "demonstrating_party", "start", "end"]
    list_filter = ["source__study", "code", "stance"]
    search_fields = ["quote", "memo"]
    raw_id_fields = ["source"]
    list_select_related = ["source", "coder", "code", "demonstrating_party"]


@admin.register(SourceImport)
class SourceImportAdmin(admin.ModelAdmin):
    list_display = ["filename", "study", "status", "n_rows", "n_imported", "created_at"]
    list_filter = ["status", "study"]
    exclude = ["content"]


@admin.register(QdpxImport)
class QdpxImportAdmin(admin.ModelAdmin):
    list_display = ["filename", "study", "uploaded_by", "status", "n_sources", "n_codings"]
    list_filter = ["status"]
    exclude = ["content"]
