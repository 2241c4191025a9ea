"""URLs of the REFI-QDA pages; names stay in the one ``negotiations`` namespace."""

from django.urls import path

from negotiations.interchange import views

study = "studies/<slug:slug>/"

urlpatterns = [
    path(study + "refi-qda/", views.interchange, name="interchange"),
    path(study + "refi-qda/export.qdpx", views.export_qdpx, name="export_qdpx"),
    path(study + "refi-qda/export/", views.qdpx_export_start, name="qdpx_export_start"),
    path(study + "refi-qda/codebook.qdc", views.export_qdc, name="export_qdc"),
    path("refi-qda/import/", views.qdpx_import_new, name="qdpx_import_new"),
    path("refi-qda/import/<int:import_id>/", views.qdpx_import_preview, name="qdpx_import_preview"),
    path(
        "refi-qda/import/<int:import_id>/confirm/",
        views.qdpx_import_confirm,
        name="qdpx_import_confirm",
    ),
]
