"""The Django admin: every model's list, the sources import with its study, exports."""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from negotiations.models import Assignment, QdpxImport, Source, SourceImport
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
    """Every model's list opens and lists its rows, each linked to its change page."""
    coding = CodingFactory(source=SourceFactory(study=members.study))
    Assignment.objects.create(source=coding.source, coder=coding.coder)
    SourceImport.objects.create(study=members.study, filename="sources.csv", content=b"x")
    QdpxImport.objects.create(
        study=members.study, uploaded_by=members.owner, filename="p.qdpx", content=b"x"
    )
    model_class = apps.get_model("negotiations", model)
    rows = list(model_class.objects.order_by("-pk").values_list("pk", flat=True)[:5])
    assert rows
    response = admin_client.get(reverse(f"admin:negotiations_{model}_changelist"))
    assert response.status_code == 200
    html = response.content.decode()
    for pk in rows:
        assert reverse(f"admin:negotiations_{model}_change", args=[pk]) in html


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


@pytest.mark.parametrize(
    ("model", "column", "value"),
    [
        ("source", "title", "Exported statement"),
        ("coding", "memo", "exported memo"),
        ("code", "name", "ZOPA"),
    ],
)
def test_admin_exports_write_the_rows(admin_client, members, model, column, value):
    """The export form, sent as a browser would (every field ticked, CSV): a CSV with the row."""
    source = SourceFactory(study=members.study, title="Exported statement")
    CodingFactory(source=source, memo="exported memo")
    url = reverse(f"admin:negotiations_{model}_export")
    form = admin_client.get(url).content.decode()
    csv_format = re.search(r'<option value="(\d+)">\s*csv\s*</option>', form).group(1)
    fields = {name: "on" for name in re.findall(r'name="(\w+resource_\w+)"', form)}
    response = admin_client.post(url, {"format": csv_format, "resource": "0", **fields})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert value in [row[column] for row in rows]


def test_non_staff_cannot_open_the_admin(clients):
    response = clients["owner"].get(reverse("admin:negotiations_source_changelist"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
