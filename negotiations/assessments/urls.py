"""URLs of the assessments pages; names stay in the one ``negotiations`` namespace."""

from django.urls import path

from negotiations.assessments import views

study = "studies/<slug:slug>/"

urlpatterns = [
    path(study + "assessments/", views.assessments, name="assessments"),
    path(study + "assessments/rule/", views.assessment_rule, name="assessment_rule"),
    path(
        study + "assessments/<int:negotiation_id>/",
        views.assessment_negotiation,
        name="assessment_negotiation",
    ),
    path(
        study + "assessments/<int:negotiation_id>/cell/",
        views.assessment_cell,
        name="assessment_cell",
    ),
    path(
        study + "assessments/<int:negotiation_id>/timeline/",
        views.assessment_timeline,
        name="assessment_timeline",
    ),
    path(
        study + "assessments/<int:negotiation_id>/robustness/",
        views.assessment_robustness,
        name="assessment_robustness",
    ),
]
