from django.urls import path

from negotiations import views

app_name = "negotiations"

study = "studies/<slug:slug>/"

urlpatterns = [
    path("studies/new/", views.study_create, name="study_create"),
    path(study, views.study_detail, name="study_detail"),
    path(study + "settings/", views.study_settings, name="study_settings"),
    path(study + "members/", views.member_list, name="member_list"),
    path(study + "members/add/", views.member_add, name="member_add"),
    path(study + "members/<int:member_id>/role/", views.member_update, name="member_update"),
    path(study + "members/<int:member_id>/remove/", views.member_remove, name="member_remove"),
    path(study + "parties/", views.party_list, name="party_list"),
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
    path(study + "sources/", views.source_list, name="source_list"),
    path(study + "sources/new/", views.source_create, name="source_create"),
    path(study + "sources/import/", views.source_import, name="source_import"),
    path(
        study + "sources/import/<int:import_id>/",
        views.source_import_preview,
        name="source_import_preview",
    ),
    path(study + "sources/<int:source_id>/", views.source_detail, name="source_detail"),
    path(study + "sources/<int:source_id>/edit/", views.source_edit, name="source_edit"),
    path(study + "sources/<int:source_id>/text/", views.source_text, name="source_text"),
    path(study + "sources/<int:source_id>/delete/", views.source_delete, name="source_delete"),
    path(study + "exports/", views.exports_page, name="exports"),
    path(study + "exports/sources.csv", views.export_sources, name="export_sources"),
    path(study + "exports/codings.csv", views.export_codings, name="export_codings"),
]

urlpatterns += [
    path(study + "my-work/", views.my_work, name="my_work"),
    path(study + "assignments/", views.assignments, name="assignments"),
    path(
        study + "assignments/<int:assignment_id>/reopen/",
        views.assignment_reopen,
        name="assignment_reopen",
    ),
    path(study + "sources/<int:source_id>/code/", views.coding_page, name="coding_page"),
    path(study + "sources/<int:source_id>/codings/", views.coding_create, name="coding_create"),
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
]

urlpatterns += [
    path(study + "reliability/", views.reliability, name="reliability"),
    path(study + "reliability/units.csv", views.reliability_matrix, name="reliability_matrix"),
    path(study + "sources/<int:source_id>/compare/", views.source_compare, name="source_compare"),
]

urlpatterns += [
    path(study + "review/", views.review_queue, name="review_queue"),
    path(study + "review/history/", views.review_history, name="review_history"),
    path(study + "review/coders/", views.consensus_coders, name="consensus_coders"),
    path(study + "review/<int:unit_id>/", views.review_unit, name="review_unit"),
    path(study + "review/<int:unit_id>/decide/", views.review_decide, name="review_decide"),
    path(study + "review/<int:unit_id>/reopen/", views.review_reopen, name="review_reopen"),
    path(study + "exports/consensus.csv", views.export_consensus, name="export_consensus"),
]

urlpatterns += [
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
