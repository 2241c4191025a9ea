"""The REFI-QDA pages: export downloads, upload with preview, confirmation, refusals."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from negotiations.interchange.qdpx import read_qdc, read_qdpx
from negotiations.models import Coding, ImportStatus, QdpxImport, Role, Source, Study
from tests.interchange.test_qdpx import MINIMAL_QDE, NVIVO_PASSAGES, make_qdpx, nvivo_project

pytestmark = pytest.mark.django_db


def upload(content: bytes, name: str = "talks.qdpx") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/zip")


def test_interchange_page_full_and_partial(clients, members):
    url = reverse("negotiations:interchange", args=[members.study.slug])
    page = clients["supervisor"].get(url)
    assert page.status_code == 200
    body = page.content.decode()
    assert "<html" in body and "Project (.qdpx)" in body and 'id="upload"' in body
    partial = clients["supervisor"].get(url, headers={"HX-Request": "true"})
    text = partial.content.decode()
    assert partial.status_code == 200
    assert text.lstrip().startswith('<div id="upload">') and "<html" not in text


def test_export_downloads_are_readable(clients, members):
    response = clients["owner"].get(reverse("negotiations:export_qdpx", args=[members.study.slug]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert ".qdpx" in response["Content-Disposition"]
    project = read_qdpx(response.content)
    assert {"ZOPA", "CAPACITY", "WILLINGNESS"} <= {c.name for c in project.codes}
    response = clients["supervisor"].get(
        reverse("negotiations:export_qdc", args=[members.study.slug])
    )
    assert response.status_code == 200
    assert "ZOPA" in {c.name for c in read_qdc(response.content)}


def test_upload_preview_then_import_into_the_study(clients, members):
    url = reverse("negotiations:interchange", args=[members.study.slug])
    response = clients["supervisor"].post(url, {"file": upload(nvivo_project())})
    assert response.status_code == 302
    staged = QdpxImport.objects.get()
    assert response["Location"] == staged.get_preview_url()
    assert staged.get_preview_url() == reverse("negotiations:qdpx_import_preview", args=[staged.pk])
    preview = clients["supervisor"].get(staged.get_preview_url())
    body = preview.content.decode()
    assert preview.status_code == 200
    assert "No problems" in body and "TRUST_CAPACITY" in body and "new user, no password" in body
    assert not Source.objects.filter(study=members.study).exists()
    # Someone else, even the study's owner, cannot see or confirm another person's upload.
    assert clients["owner"].get(staged.get_preview_url()).status_code == 404
    confirm = reverse("negotiations:qdpx_import_confirm", args=[staged.pk])
    assert clients["owner"].post(confirm).status_code == 404
    response = clients["supervisor"].post(confirm)
    assert response.status_code == 302
    assert Coding.objects.filter(source__study=members.study).count() == len(NVIVO_PASSAGES)
    staged.refresh_from_db()
    assert staged.status == ImportStatus.IMPORTED
    again = clients["supervisor"].post(confirm)
    assert again.status_code == 302
    assert Coding.objects.filter(source__study=members.study).count() == len(NVIVO_PASSAGES)


def test_htmx_upload_redirects_the_client_and_errors_return_the_partial(clients, members):
    url = reverse("negotiations:interchange", args=[members.study.slug])
    response = clients["supervisor"].post(
        url, {"file": upload(nvivo_project())}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert response["HX-Redirect"] == QdpxImport.objects.get().get_preview_url()
    response = clients["supervisor"].post(
        url, {"file": upload(b"abc", "notes.txt")}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 422
    text = response.content.decode()
    assert "Upload a .qdpx" in text and "<html" not in text


def test_a_broken_file_shows_its_problem_and_cannot_be_confirmed(clients, members):
    broken = make_qdpx(MINIMAL_QDE.replace('endPosition="3"', 'endPosition="99"'), {"s.txt": b"ab"})
    url = reverse("negotiations:interchange", args=[members.study.slug])
    clients["supervisor"].post(url, {"file": upload(broken)})
    staged = QdpxImport.objects.get()
    assert staged.status == ImportStatus.FAILED
    page = clients["supervisor"].get(staged.get_preview_url())
    assert "lies outside the text" in page.content.decode()
    clients["supervisor"].post(reverse("negotiations:qdpx_import_confirm", args=[staged.pk]))
    assert not Source.objects.filter(study=members.study).exists()


def test_a_body_over_the_limit_is_refused_before_it_is_read(clients, members, settings):
    settings.TRUSTCODER_MAX_QDPX_BYTES = 1000
    url = reverse("negotiations:interchange", args=[members.study.slug])
    response = clients["supervisor"].post(url, {"file": upload(b"x" * 200_000)})
    assert response.status_code == 413
    assert "larger than the" in response.content.decode()
    assert not QdpxImport.objects.exists()


def test_user_text_from_the_file_is_escaped(clients, members):
    with zipfile.ZipFile(io.BytesIO(nvivo_project())) as archive:
        files = {i.filename: archive.read(i) for i in archive.infolist()}
    qde = files.pop("project.qde").decode().replace('name="Capacity"', 'name="&lt;script&gt;x"')
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("project.qde", qde)
        for name, data in files.items():
            archive.writestr(name, data)
    clients["supervisor"].post(
        reverse("negotiations:interchange", args=[members.study.slug]),
        {"file": upload(buffer.getvalue())},
    )
    page = clients["supervisor"].get(QdpxImport.objects.get().get_preview_url())
    body = page.content.decode()
    assert "<script>x" not in body and "&lt;script&gt;x" in body


def test_import_as_a_new_study_makes_the_uploader_its_owner(clients, members):
    url = reverse("negotiations:qdpx_import_new")
    page = clients["outsider"].get(url)
    assert page.status_code == 200 and "<html" in page.content.decode()
    partial = clients["outsider"].get(url, headers={"HX-Request": "true"})
    assert partial.content.decode().lstrip().startswith('<div id="upload">')
    taken = clients["outsider"].post(
        url, {"file": upload(nvivo_project()), "name": "Talks", "slug": members.study.slug}
    )
    assert taken.status_code == 422 and "exists already" in taken.content.decode()
    response = clients["outsider"].post(
        url, {"file": upload(nvivo_project()), "name": "Talks", "slug": "talks"}
    )
    staged = QdpxImport.objects.get()
    assert response["Location"] == staged.get_preview_url()
    assert "a new study" in clients["outsider"].get(staged.get_preview_url()).content.decode()
    response = clients["outsider"].post(
        reverse("negotiations:qdpx_import_confirm", args=[staged.pk])
    )
    assert response.status_code == 302
    study = Study.objects.get(slug="talks")
    assert response["Location"] == reverse("negotiations:study_detail", args=["talks"])
    assert study.name == "Talks"
    assert study.memberships.get(user=members.outsider).role == Role.OWNER
    assert Coding.objects.filter(source__study=study).count() == len(NVIVO_PASSAGES)


def test_an_upload_into_a_study_needs_the_uploader_to_still_manage_it(clients, members):
    url = reverse("negotiations:interchange", args=[members.study.slug])
    clients["supervisor"].post(url, {"file": upload(nvivo_project())})
    staged = QdpxImport.objects.get()
    members.study.memberships.filter(user=members.supervisor).update(role=Role.READER)
    assert clients["supervisor"].get(staged.get_preview_url()).status_code == 403
    confirm = reverse("negotiations:qdpx_import_confirm", args=[staged.pk])
    assert clients["supervisor"].post(confirm).status_code == 403
    assert not Source.objects.filter(study=members.study).exists()
