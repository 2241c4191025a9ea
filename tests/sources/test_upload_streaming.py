"""A large upload is streamed to a temporary file on disk, not gathered in memory."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.files import uploadedfile

from negotiations.models import ImportStatus, SourceImport
from tests.sources.test_import import HEADER, case, statement, upload, write  # noqa: F401

pytestmark = pytest.mark.django_db

DUMMY_TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}


@pytest.mark.usefixtures("case")
def test_an_upload_above_the_memory_size_goes_to_disk_and_is_stored_whole(
    clients, tmp_path, monkeypatch, settings
):
    settings.TASKS = DUMMY_TASKS  # the check waits in the queue: only the upload is tested
    kinds: list[str] = []
    for cls in (uploadedfile.InMemoryUploadedFile, uploadedfile.TemporaryUploadedFile):
        original = cls.__init__

        def spy(self, *args, _original=original, **kwargs):
            kinds.append(type(self).__name__)
            _original(self, *args, **kwargs)

        monkeypatch.setattr(cls, "__init__", spy)
    rows = [statement(n, text="The envoy notes the fuel schedule. " * 6) for n in range(12_000)]
    path = write(tmp_path, [HEADER, *rows])
    assert path.stat().st_size > settings.FILE_UPLOAD_MAX_MEMORY_SIZE
    assert path.stat().st_size < settings.TRUSTCODER_MAX_UPLOAD_BYTES

    response = upload(clients["supervisor"], path)

    assert response.status_code == 302
    assert kinds == ["TemporaryUploadedFile"]
    staged = SourceImport.objects.get()
    assert staged.status == ImportStatus.CHECKING
    assert bytes(staged.content) == path.read_bytes()


def test_the_memory_size_is_well_below_the_upload_limit():
    assert settings.FILE_UPLOAD_MAX_MEMORY_SIZE <= settings.TRUSTCODER_MAX_UPLOAD_BYTES // 2
