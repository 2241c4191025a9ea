"""Every study page against anonymous, non-member, reader, coder, supervisor and owner."""

from __future__ import annotations

from datetime import date

import pytest
from django.urls import reverse

from negotiations.members import services as member_services
from negotiations.models import (
    Assignment,
    Code,
    CodeSet,
    Event,
    Invitation,
    Job,
    JobKind,
    JobState,
    Membership,
    Negotiation,
    Party,
    Phase,
    Role,
    Source,
    Study,
)
from tests.factories import NegotiationFactory, PartyFactory, PhaseFactory, SourceFactory

pytestmark = pytest.mark.django_db

ROLES = ["anonymous", "outsider", "reader", "coder", "supervisor", "owner"]


@pytest.fixture
def objects(members):
    negotiation = NegotiationFactory(study=members.study)
    phase = PhaseFactory(negotiation=negotiation)
    event = Event.objects.create(negotiation=negotiation, date=date(1994, 10, 21), title="Signed")
    source = SourceFactory(study=members.study, negotiation=negotiation)
    code = Code.objects.filter(study=members.study).first()
    code_set = CodeSet.objects.filter(study=members.study).first()
    member = Membership.objects.get(study=members.study, user=members.coder2)
    invitation, _ = member_services.invitation_create(
        study=members.study, role=Role.CODER, created_by=members.owner, actor_role=Role.OWNER
    )
    job = Job.objects.create(study=members.study, kind=JobKind.IMPORT_CHECK)
    party, other_party = (
        PartyFactory(study=members.study, code="KEDO"),
        PartyFactory(study=members.study, code="EU2"),
    )
    return {
        "invitation_id": invitation.pk,
        "job_id": job.pk,
        "party_id": party.pk,
        "other_party_id": other_party.pk,
        "slug": members.study.slug,
        "negotiation_id": negotiation.pk,
        "phase_id": phase.pk,
        "event_id": event.pk,
        "source_id": source.pk,
        "code_id": code.pk,
        "code_set_id": code_set.pk,
        "member_id": member.pk,
    }


def url_names(namespace: str = "negotiations") -> list[str]:
    """The names of every URL pattern in one namespace of the URL configuration (the app's own,
    or "api-v1" for the read API), as Django resolves them: a new view appears here by itself."""
    from django.urls import get_resolver

    def names(patterns, current=None):
        for pattern in patterns:
            if hasattr(pattern, "url_patterns"):
                yield from names(pattern.url_patterns, pattern.namespace or current)
            elif pattern.name and current == namespace:
                yield pattern.name

    return sorted(set(names(get_resolver().url_patterns)))


def url(name: str, objects: dict, *keys: str) -> str:
    return reverse(f"negotiations:{name}", kwargs={k: objects[k] for k in ("slug", *keys)})


# Pages every member may read.
READ_PAGES = [
    ("study_detail", ()),
    ("member_list", ()),
    ("party_list", ()),
    ("negotiation_list", ()),
    ("codebook", ()),
    ("codebook_css", ()),
    ("codebook_versions", ()),
    ("source_list", ()),
    ("source_detail", ("source_id",)),
    ("exports", ()),
    ("numbers", ()),
    ("my_work", ()),
    ("export_sources", ()),
    ("export_codings", ()),
    ("passage_list", ()),
    ("passage_export_csv", ()),
    ("passage_export_xlsx", ()),
    ("job_list", ()),
    ("job_detail", ("job_id",)),
]

# Pages (GET) for readers, supervisors and owners (results, not coders' work in progress).
RESULT_PAGES = [
    ("reliability", ()),
    ("reliability_passages", ()),
]

# Pages (GET) only owners and supervisors may open.
MANAGE_PAGES = [
    ("study_settings", ()),
    ("negotiation_create", ()),
    ("negotiation_edit", ("negotiation_id",)),
    ("code_create", ()),
    ("code_edit", ("code_id",)),
    ("source_create", ()),
    ("source_edit", ("source_id",)),
    ("source_import", ()),
    ("interchange", ()),
    ("export_qdpx", ()),
    ("export_qdc", ()),
    ("party_edit", ("party_id",)),
    ("assignments", ()),
    ("review_queue", ()),
    ("review_history", ()),
]

# Writes only owners and supervisors may make; the data sent would be valid for them.
MANAGE_POSTS = [
    ("study_settings", (), {"name": "Renamed", "blind_coding": "on"}),
    ("member_add", (), {"identifier": "nora", "role": "reader"}),
    ("member_update", ("member_id",), {"role": "reader"}),
    ("member_remove", ("member_id",), {}),
    ("party_list", (), {"code": "EU", "name": "European Union"}),
    ("party_edit", ("party_id",), {"code": "KEDO2", "name": "KEDO"}),
    ("party_merge", ("party_id",), {"into": "other_party_id"}),
    ("negotiation_create", (), {"name": "New talks"}),
    ("negotiation_edit", ("negotiation_id",), {"name": "Renamed talks"}),
    ("phase_create", ("negotiation_id",), {"name": "Talks", "kind": "negotiation"}),
    ("phase_update", ("negotiation_id", "phase_id"), {"name": "X", "kind": "agreement"}),
    ("event_create", ("negotiation_id",), {"date": "1994-10-21", "title": "Signed"}),
    ("event_delete", ("negotiation_id", "event_id"), {}),
    (
        "code_create",
        (),
        {
            "code_set": "code_set_id",
            "name": "TIMING",
            "label": "Timing",
            "definition": "When.",
            "colour": "#a6cee3",
            "order": 9,
        },
    ),
    (
        "code_edit",
        ("code_id",),
        {
            **{
                "code_set": "code_set_id",
                "name": "TIMING",
                "label": "Timing",
                "definition": "When.",
                "colour": "#a6cee3",
                "order": 9,
            },
            "name": "ZOPA2",
        },
    ),
    ("code_remove", ("code_id",), {}),
    ("code_set_toggle", ("code_set_id",), {"enabled": "0"}),
    (
        "source_create",
        (),
        {
            "negotiation": "negotiation_id",
            "title": "Retitled",
            "text": "A new statement.",
            "source_type": "official_statement",
            "language": "en",
        },
    ),
    (
        "source_edit",
        ("source_id",),
        {
            "negotiation": "negotiation_id",
            "title": "Retitled",
            "text": "A new statement.",
            "source_type": "official_statement",
            "language": "en",
        },
    ),
    ("source_text", ("source_id",), {"text": "A new text."}),
    ("source_delete", ("source_id",), {}),
    ("source_import", (), {}),
    ("interchange", (), {}),
    ("qdpx_export_start", (), {}),
    ("assignments", (), {"coders": "member_id", "mode": "all", "share": 20, "seed": 1}),
    ("invitation_create", (), {"role": "coder", "email": "", "days": "7"}),
    ("invitation_revoke", ("invitation_id",), {}),
]


def resolve(data: dict, objects: dict) -> dict:
    """Post data naming a fixture object (e.g. "other_party_id") gets that object's id."""
    return {k: objects.get(v, v) if isinstance(v, str) else v for k, v in data.items()}


def expected_read(role: str) -> int:
    return {"anonymous": 302, "outsider": 404}.get(role, 200)


def expected_manage(role: str) -> set[int]:
    if role == "anonymous":
        return {302}
    if role == "outsider":
        return {404}
    if role in ("reader", "coder"):
        return {403}
    return {200, 302, 422}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("name", "keys"), READ_PAGES)
def test_read_pages(clients, objects, role, name, keys):
    response = clients[role].get(url(name, objects, *keys))
    assert response.status_code == expected_read(role)
    if role == "anonymous":
        assert response["Location"].startswith(reverse("login"))


def expected_result(role: str) -> int:
    return {"anonymous": 302, "outsider": 404, "coder": 403}.get(role, 200)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("name", "keys"), RESULT_PAGES)
def test_result_pages(clients, objects, role, name, keys):
    response = clients[role].get(url(name, objects, *keys))
    assert response.status_code == expected_result(role)
    if role == "anonymous":
        assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("name", "keys"), MANAGE_PAGES)
def test_manage_pages(clients, objects, role, name, keys):
    response = clients[role].get(url(name, objects, *keys))
    assert response.status_code in expected_manage(role)


SNAPSHOT_MODELS = (
    Study,
    Job,
    Membership,
    Party,
    Negotiation,
    Phase,
    Event,
    Code,
    CodeSet,
    Source,
    Assignment,
    Invitation,
)


def snapshot() -> dict[str, list]:
    """Every row of every table a study page writes, field by field."""
    return {
        m.__name__: sorted(map(repr, m.objects.order_by("pk").values())) for m in SNAPSHOT_MODELS
    }


def changed_tables(before: dict, after: dict) -> set[str]:
    return {name for name in before if before[name] != after[name]}


@pytest.mark.parametrize("role", ["anonymous", "outsider", "reader", "coder"])
@pytest.mark.parametrize(("name", "keys", "data"), MANAGE_POSTS)
def test_manage_posts_refused_and_nothing_changes(clients, objects, role, name, keys, data):
    before = snapshot()
    response = clients[role].post(url(name, objects, *keys), resolve(data, objects))
    assert response.status_code in expected_manage(role)
    assert changed_tables(before, snapshot()) == set()


# What each supervisor's write changes: the tables, and the row as it must be afterwards.
# `None` for a refusal: the data sent lacks a file, so the form comes back and nothing changes.
WRITES = {
    "study_settings": ({"Study"}, lambda o: Study.objects.get(slug=o["slug"]).name == "Renamed"),
    "member_add": (
        {"Membership"},
        lambda o: Membership.objects.filter(user__username="nora", role=Role.READER).exists(),
    ),
    "member_update": (
        {"Membership"},
        lambda o: Membership.objects.get(pk=o["member_id"]).role == Role.READER,
    ),
    "member_remove": (
        {"Membership"},
        lambda o: not Membership.objects.filter(pk=o["member_id"]).exists(),
    ),
    "party_list": ({"Party"}, lambda o: Party.objects.filter(code="EU").exists()),
    "party_edit": ({"Party"}, lambda o: Party.objects.get(pk=o["party_id"]).code == "KEDO2"),
    "party_merge": (
        {"Party", "Study"},
        lambda o: not Party.objects.filter(pk=o["party_id"]).exists(),
    ),
    "negotiation_create": (
        {"Negotiation"},
        lambda o: Negotiation.objects.filter(name="New talks").exists(),
    ),
    "negotiation_edit": (
        {"Negotiation"},
        lambda o: Negotiation.objects.get(pk=o["negotiation_id"]).name == "Renamed talks",
    ),
    "phase_create": (
        {"Phase"},
        lambda o: Phase.objects.filter(negotiation=o["negotiation_id"], name="Talks").exists(),
    ),
    "phase_update": ({"Phase"}, lambda o: Phase.objects.get(pk=o["phase_id"]).name == "X"),
    "event_create": (
        {"Event"},
        lambda o: (
            Event.objects.filter(negotiation=o["negotiation_id"], title="Signed").count() == 2
        ),
    ),
    "event_delete": ({"Event"}, lambda o: not Event.objects.filter(pk=o["event_id"]).exists()),
    "code_create": ({"Code"}, lambda o: Code.objects.filter(name="TIMING").exists()),
    "code_edit": ({"Code"}, lambda o: Code.objects.get(pk=o["code_id"]).name == "ZOPA2"),
    "code_remove": (
        {"Code"},
        lambda o: not Code.objects.filter(pk=o["code_id"], archived=False).exists(),
    ),
    "code_set_toggle": (
        {"CodeSet"},
        lambda o: not CodeSet.objects.get(pk=o["code_set_id"]).enabled,
    ),
    "source_create": ({"Source"}, lambda o: Source.objects.filter(title="Retitled").exists()),
    "source_edit": (
        {"Source"},
        lambda o: Source.objects.get(pk=o["source_id"]).title == "Retitled",
    ),
    "source_text": (
        {"Source"},
        lambda o: Source.objects.get(pk=o["source_id"]).text == "A new text.",
    ),
    "source_delete": ({"Source"}, lambda o: not Source.objects.filter(pk=o["source_id"]).exists()),
    "source_import": None,
    "interchange": None,
    "qdpx_export_start": (
        {"Job"},
        lambda o: Job.objects.filter(kind=JobKind.QDPX_EXPORT, state=JobState.SUCCEEDED).exists(),
    ),
    "assignments": (
        {"Assignment"},
        lambda o: Assignment.objects.filter(source=o["source_id"], coder__username="cody").exists(),
    ),
    "invitation_create": ({"Invitation"}, lambda o: Invitation.objects.count() == 2),
    "invitation_revoke": (
        {"Invitation"},
        lambda o: Invitation.objects.get(pk=o["invitation_id"]).revoked_at is not None,
    ),
}


@pytest.mark.parametrize(("name", "keys", "data"), MANAGE_POSTS)
def test_manage_posts_allowed_for_supervisor(clients, objects, name, keys, data):
    """The write happens (its row changed, no other table touched), or, where the data lacks a
    file, the form comes back and nothing changes."""
    before = snapshot()
    response = clients["supervisor"].post(url(name, objects, *keys), resolve(data, objects))
    changed = changed_tables(before, snapshot())
    if WRITES[name] is None:
        assert response.status_code in (200, 422)
        assert 'type="file"' in response.content.decode()
        assert changed == set()
    else:
        tables, check = WRITES[name]
        assert response.status_code == 302
        assert changed == tables
        assert check(objects)


def test_every_manage_post_has_its_expected_write():
    assert sorted(WRITES) == sorted(name for name, _keys, _data in MANAGE_POSTS)


def test_objects_of_another_study_are_404(clients, members, objects):
    other = SourceFactory()  # a source in a study nobody here belongs to
    response = clients["supervisor"].get(
        reverse("negotiations:source_detail", args=[members.study.slug, other.pk])
    )
    assert response.status_code == 404
    response = clients["supervisor"].post(
        reverse("negotiations:source_delete", args=[members.study.slug, other.pk])
    )
    assert response.status_code == 404
    assert Source.objects.filter(pk=other.pk).exists()


def test_htmx_partial_request_is_checked_too(clients, objects):
    """A client may ask for a partial directly: the view still checks the role."""
    response = clients["outsider"].get(url("source_list", objects), headers={"HX-Request": "true"})
    assert response.status_code == 404
    response = clients["coder"].post(
        url("member_update", objects, "member_id"),
        {"role": "owner"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 403


def test_refi_qda_import_as_a_new_study_needs_only_a_login(clients):
    assert clients["anonymous"].get(reverse("negotiations:qdpx_import_new")).status_code == 302
    assert clients["outsider"].get(reverse("negotiations:qdpx_import_new")).status_code == 200


def test_home_requires_login(clients):
    assert clients["anonymous"].get(reverse("home")).status_code == 302
    assert clients["outsider"].get(reverse("home")).status_code == 200


@pytest.mark.parametrize("role", ROLES)
def test_api_tokens_page_is_each_users_own(clients, members, role):
    """The account page's API tokens: any logged-in user, only their own tokens."""
    from negotiations.api import services as api_services

    theirs = api_services.api_token_create(user=members.owner, name="owner's token").token
    page = clients[role].get(reverse("negotiations:api_tokens"))
    revoke = clients[role].post(reverse("negotiations:api_token_revoke", args=[theirs.pk]))
    if role == "anonymous":
        assert page.status_code == 302 and revoke.status_code == 302
        assert "login" in revoke["Location"]
    elif role == "owner":
        assert page.status_code == 200 and "owner&#x27;s token" in page.content.decode()
        assert revoke.status_code == 302
    else:
        assert page.status_code == 200 and "owner&#x27;s token" not in page.content.decode()
        assert revoke.status_code == 404
    theirs.refresh_from_db()
    assert (theirs.revoked_at is not None) == (role == "owner")


@pytest.mark.parametrize("role", ROLES)
def test_replication_package_for_readers_and_managers(clients, objects, role):
    response = clients[role].get(url("replication_package", objects))
    expected = {"anonymous": 302, "outsider": 404, "coder": 403}.get(role, 200)
    assert response.status_code == expected


@pytest.mark.parametrize("role", ROLES)
def test_replication_package_job_for_readers_and_managers(clients, objects, role):
    response = clients[role].post(url("replication_package_start", objects))
    expected = {"anonymous": 302, "outsider": 404, "coder": 403}.get(role, 302)
    assert response.status_code == expected
    started = Job.objects.filter(kind=JobKind.REPLICATION)
    assert started.count() == (1 if expected == 302 and role != "anonymous" else 0)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    ("kind", "allowed"),
    [
        (JobKind.QDPX_EXPORT, {"supervisor", "owner"}),
        (JobKind.REPLICATION, {"reader", "supervisor", "owner"}),
    ],
)
def test_a_jobs_file_only_for_the_roles_that_may_start_it(
    clients, members, objects, role, kind, allowed
):
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    path = default_storage.save("jobs/permission-test.zip", ContentFile(b"PK\x05\x06" + b"\0" * 18))
    job = Job.objects.create(
        study=members.study,
        kind=kind,
        state=JobState.SUCCEEDED,
        output=path,
        output_name="test-study-20261202.zip",
    )
    response = clients[role].get(url("job_download", {**objects, "job_id": job.pk}, "job_id"))
    expected = {"anonymous": 302, "outsider": 404}.get(role, 200 if role in allowed else 403)
    assert response.status_code == expected


@pytest.mark.parametrize("role", ROLES)
def test_reset_links_are_for_owners_only(clients, objects, role):
    response = clients[role].post(url("member_reset_link", objects, "member_id"))
    expected = {"anonymous": 302, "outsider": 404, "owner": 302}.get(role, 403)
    assert response.status_code == expected


@pytest.mark.parametrize("role", ROLES)
def test_coder_consensus_matrix(clients, objects, members, role):
    """Like its page: supervisors and owners; coders their own row once released; not readers."""
    target = reverse("negotiations:consensus_coders_matrix", args=[objects["slug"]])
    response = clients[role].get(target, {"coder": members.coder2.pk})
    expected = {"anonymous": 302, "outsider": 404, "reader": 403, "coder": 403}.get(role, 200)
    assert response.status_code == expected
    if role == "coder":
        members.study.consensus_released = True
        members.study.save(update_fields=["consensus_released"])
        response = clients[role].get(target, {"coder": members.coder2.pk})
        assert response.status_code == 200
        # A coder gets their own row whatever coder they ask for.
        header = b"".join(response.streaming_content).decode().splitlines()[0]
        assert header == f"unit,{members.coder.username},consensus"


@pytest.mark.parametrize("role", ROLES)
def test_invitation_links_open_for_everyone(clients, role):
    response = clients[role].get(reverse("negotiations:invitation_accept", args=["no-such"]))
    assert response.status_code == 410


# URLs whose permissions are held by a test of their own feature (a coding needs an assignment,
# a consensus unit needs submitted work...): the module named here must exercise the URL.
COVERED_ELSEWHERE = {
    "study_create": "tests/studies/test_views.py",
    "coding_page": "tests/coding/test_views.py",
    "coding_data": "tests/coding/test_views.py",
    "coding_create": "tests/coding/test_views.py",
    "coding_sentences": "tests/coding/test_views.py",
    "coding_update": "tests/coding/test_views.py",
    "coding_delete": "tests/coding/test_views.py",
    "assignment_submit": "tests/coding/test_views.py",
    "assignment_reopen": "tests/coding/test_views.py",
    "assignment_unassign": "tests/coding/test_assignments.py",
    "source_import_preview": "tests/sources/test_import.py",
    "source_compare": "tests/reliability/test_report.py",
    "reliability_matrix": "tests/reliability/test_report.py",
    "review_unit": "tests/consensus/test_consensus.py",
    "review_decide": "tests/consensus/test_consensus.py",
    "review_reopen": "tests/consensus/test_consensus.py",
    "consensus_coders": "tests/consensus/test_consensus.py",
    "export_consensus": "tests/consensus/test_consensus.py",
    "assessments": "tests/assessments/test_assessments.py",
    "assessment_negotiation": "tests/assessments/test_assessments.py",
    "assessment_cell": "tests/assessments/test_assessments.py",
    "assessment_timeline": "tests/assessments/test_assessments.py",
    "assessment_robustness": "tests/assessments/test_assessments.py",
    "assessment_rule": "tests/assessments/test_assessments.py",
    "qdpx_import_preview": "tests/interchange/test_views.py",
    "qdpx_import_confirm": "tests/interchange/test_views.py",
}


def test_every_url_of_the_app_has_its_permissions_tested():
    """A new view fails here until it is listed above or in the matrix of this module."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    here = Path(__file__).read_text(encoding="utf-8")
    here = here[: here.index("COVERED_ELSEWHERE = {")]
    in_matrix = set(re.findall(r'"([a-z_]+)"', here)) | set(
        re.findall(r"negotiations:([a-z_]+)", here)
    )
    missing = []
    for name in url_names():
        if name in in_matrix:
            continue
        module = COVERED_ELSEWHERE.get(name)
        text = (root / module).read_text(encoding="utf-8") if module else ""
        if f'"negotiations:{name}"' not in text and f'"{name}"' not in text:
            missing.append(name)
    assert missing == []
