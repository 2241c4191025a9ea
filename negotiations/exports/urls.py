"""URLs of the exports pages; names stay in the one ``negotiations`` namespace."""

from django.urls import path

from negotiations.exports import views

study = "studies/<slug:slug>/"

urlpatterns = [
    path(study + "exports/", views.exports_page, name="exports"),
    path(study + "numbers/", views.numbers_page, name="numbers"),
]
