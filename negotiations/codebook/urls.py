"""URLs of the codebook pages; names stay in the one ``negotiations`` namespace."""

from django.urls import path

from negotiations.codebook import views

study = "studies/<slug:slug>/"

urlpatterns = [
    path(study + "codebook/", views.codebook, name="codebook"),
    path(study + "codebook.css", views.codebook_css, name="codebook_css"),
    path(study + "codebook/versions/", views.codebook_versions, name="codebook_versions"),
    path(study + "codebook/codes/new/", views.code_create, name="code_create"),
    path(study + "codebook/codes/<int:code_id>/", views.code_edit, name="code_edit"),
    path(study + "codebook/codes/<int:code_id>/remove/", views.code_remove, name="code_remove"),
    path(
        study + "codebook/sets/<int:code_set_id>/toggle/",
        views.code_set_toggle,
        name="code_set_toggle",
    ),
]
