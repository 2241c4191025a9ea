"""URLs of the sources pages; names stay in the one ``negotiations`` namespace."""

from django.urls import path

from negotiations.sources import views

study = "studies/<slug:slug>/"

urlpatterns = [
    path(study + "sources/", views.source_list, name="source_list"),
    path(study + "sources/new/", views.source_create, name="source_create"),
    path(study + "sources/import/", views.source_import, name="source_import"),
    path(
        study + "sources/import/<int:import_id>/",
        views.source_import_preview,
        name="source_import_preview",
    ),
    path(study + "sources/<int:source_id>/", views.source_detail, name="source_detail"),
    path(study + "sources/<int:source_id>/edit/", views.source_edit, name="source_edit"),
    path(study + "sources/<int:source_id>/text/", views.source_text, name="source_text"),
    path(study + "sources/<int:source_id>/delete/", views.source_delete, name="source_delete"),
    path(study + "exports/sources.csv", views.export_sources, name="export_sources"),
]
