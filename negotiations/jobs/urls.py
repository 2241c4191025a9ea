"""URLs of the job pages; names stay in the one ``negotiations`` namespace."""

from django.urls import path

from negotiations.jobs import views

study = "studies/<slug:slug>/"

urlpatterns = [
    path(study + "jobs/", views.job_list, name="job_list"),
    path(study + "jobs/<int:job_id>/", views.job_detail, name="job_detail"),
    path(study + "jobs/<int:job_id>/download/", views.job_download, name="job_download"),
]
