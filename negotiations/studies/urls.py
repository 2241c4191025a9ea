"""URLs of the studies pages; names stay in the one ``negotiations`` namespace."""

from django.urls import path

from negotiations.studies import views

study = "studies/<slug:slug>/"

urlpatterns = [
    path("studies/new/", views.study_create, name="study_create"),
    path(study, views.study_detail, name="study_detail"),
    path(study + "settings/", views.study_settings, name="study_settings"),
    path(study + "parties/", views.party_list, name="party_list"),
    path(study + "parties/<int:party_id>/", views.party_edit, name="party_edit"),
    path(study + "parties/<int:party_id>/merge/", views.party_merge, name="party_merge"),
    path(study + "negotiations/", views.negotiation_list, name="negotiation_list"),
    path(study + "negotiations/new/", views.negotiation_create, name="negotiation_create"),
    path(
        study + "negotiations/<int:negotiation_id>/",
        views.negotiation_edit,
        name="negotiation_edit",
    ),
    path(
        study + "negotiations/<int:negotiation_id>/phases/",
        views.phase_create,
        name="phase_create",
    ),
    path(
        study + "negotiations/<int:negotiation_id>/phases/<int:phase_id>/",
        views.phase_update,
        name="phase_update",
    ),
    path(
        study + "negotiations/<int:negotiation_id>/events/",
        views.event_create,
        name="event_create",
    ),
    path(
        study + "negotiations/<int:negotiation_id>/events/<int:event_id>/delete/",
        views.event_delete,
        name="event_delete",
    ),
]
