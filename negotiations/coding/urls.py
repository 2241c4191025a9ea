"""URLs of the coding pages; names stay in the one ``negotiations`` namespace."""

from django.urls import path

from negotiations.coding import views

study = "studies/<slug:slug>/"

urlpatterns = [
    path(study + "my-work/", views.my_work, name="my_work"),
    path(study + "assignments/", views.assignments, name="assignments"),
    path(
        study + "assignments/<int:assignment_id>/reopen/",
        views.assignment_reopen,
        name="assignment_reopen",
    ),
    path(
        study + "assignments/<int:assignment_id>/unassign/",
        views.assignment_unassign,
        name="assignment_unassign",
    ),
    path(study + "sources/<int:source_id>/code/", views.coding_page, name="coding_page"),
    path(study + "sources/<int:source_id>/codings/", views.coding_create, name="coding_create"),
    path(study + "sources/<int:source_id>/codings.json", views.coding_data, name="coding_data"),
    path(
        study + "sources/<int:source_id>/codings/sentences/",
        views.coding_sentences,
        name="coding_sentences",
    ),
    path(
        study + "sources/<int:source_id>/submit/", views.assignment_submit, name="assignment_submit"
    ),
    path(study + "codings/<int:coding_id>/", views.coding_update, name="coding_update"),
    path(study + "codings/<int:coding_id>/delete/", views.coding_delete, name="coding_delete"),
    path(study + "exports/codings.csv", views.export_codings, name="export_codings"),
]
