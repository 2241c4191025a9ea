"""URLs of the Passages page and its downloads; names in the ``negotiations`` namespace."""

from django.urls import path

from negotiations.passages import views

study = "studies/<slug:slug>/"

urlpatterns = [
    path(study + "passages/", views.passage_list, name="passage_list"),
    path(study + "passages/passages.csv", views.passage_export_csv, name="passage_export_csv"),
    path(study + "passages/passages.xlsx", views.passage_export_xlsx, name="passage_export_xlsx"),
]
