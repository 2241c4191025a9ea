"""URLs of the reliability pages; names stay in the one ``negotiations`` namespace."""

from django.urls import path

from negotiations.reliability import views

study = "studies/<slug:slug>/"

urlpatterns = [
    path(study + "reliability/", views.reliability, name="reliability"),
    path(
        study + "reliability/passages.csv", views.reliability_passages, name="reliability_passages"
    ),
    path(study + "reliability/units.csv", views.reliability_matrix, name="reliability_matrix"),
    path(study + "sources/<int:source_id>/compare/", views.source_compare, name="source_compare"),
]
