"""URLs of the consensus pages; names stay in the one ``negotiations`` namespace."""

from django.urls import path

from negotiations.consensus import views

study = "studies/<slug:slug>/"

urlpatterns = [
    path(study + "review/", views.review_queue, name="review_queue"),
    path(study + "review/history/", views.review_history, name="review_history"),
    path(study + "review/coders/", views.consensus_coders, name="consensus_coders"),
    path(
        study + "review/coders/matrix.csv",
        views.consensus_coders_matrix,
        name="consensus_coders_matrix",
    ),
    path(study + "review/<int:unit_id>/", views.review_unit, name="review_unit"),
    path(study + "review/<int:unit_id>/decide/", views.review_decide, name="review_decide"),
    path(study + "review/<int:unit_id>/reopen/", views.review_reopen, name="review_reopen"),
    path(study + "exports/consensus.csv", views.export_consensus, name="export_consensus"),
]
