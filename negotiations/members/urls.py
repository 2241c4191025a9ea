"""URLs of the members pages and invitation links; names stay in the ``negotiations`` namespace."""

from django.urls import path

from negotiations.members import views

study = "studies/<slug:slug>/"

urlpatterns = [
    path(study + "members/", views.member_list, name="member_list"),
    path(study + "members/add/", views.member_add, name="member_add"),
    path(study + "members/<int:member_id>/role/", views.member_update, name="member_update"),
    path(study + "members/<int:member_id>/remove/", views.member_remove, name="member_remove"),
    path(
        study + "members/<int:member_id>/reset-link/",
        views.member_reset_link,
        name="member_reset_link",
    ),
    path(study + "invitations/", views.invitation_create, name="invitation_create"),
    path(
        study + "invitations/<int:invitation_id>/revoke/",
        views.invitation_revoke,
        name="invitation_revoke",
    ),
    path("invitations/<str:token>/", views.invitation_accept, name="invitation_accept"),
]
