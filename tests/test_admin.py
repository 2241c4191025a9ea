"""The Django admin: every model's list, the sources import with its study, exports."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from negotiations.models import Source
from tests.factories import CodingFactory, NegotiationFactory, SourceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, members):
    user = get_user_model().objects.create_superuser("admin", "admin@example.org", "pw-admin-123")
    client.force_login(user)
    return client


@pytest.mark.parametrize(
    "model",
    [
        "study",
        "membership",
        "party",
        "negotiation",
        "codeset",
        "code",
        "codebookversion",
        "source",
        "segment",
        "assignment",
        "coding",
        "sourceimport",
        "qdpximport",
    ],
)
def test_admin_changelists_open(admin_client, members, model):
    CodingFactory(source=SourceFactory(study=members.study))
    response = admin_client.get(reverse(f"admin:negotiations_{model}_changelist"))
    assert response.status_code == 200


def test_admin_import_of_sources_uses_the_study_resource(admin_client, members):
    NegotiationFactory(study=members.study, name="Agreed Framework")
    csv = "negotiation,title,text\nAgreed Framework,From the admin,The admin imported this text.\n"
    response = admin_client.post(
        reverse("admin:negotiations_source_import"),
        {
            "study": members.study.pk,
            "format": "0",
            "import_file": SimpleUploadedFile("s.csv", csv.encode(), content_type="text/csv"),
            "resource": "0",
        },
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert not Source.objects.filter(title="From the admin").exists()  # a dry run so far
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', html))
    assert "import_file_name" in fields
    fields.pop("csrfmiddlewaretoken", None)
    response = admin_client.post(reverse("admin:negotiations_source_process_import"), fields)
    assert response.status_code == 302
    source = Source.objects.get(title="From the admin")
    assert source.study == members.study
    assert source.segments.count() == 1


def test_admin_export_buttons(admin_client, members):
    CodingFactory(source=SourceFactory(study=members.study))
    for model in ("source", "coding", "code"):
        response = admin_client.get(reverse(f"admin:negotiations_{model}_export"))
        assert response.status_code == 200


def test_non_staff_cannot_open_the_admin(clients):
    response = clients["owner"].get(reverse("admin:negotiations_source_changelist"))
    assert response.status_code == 302
