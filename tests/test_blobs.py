"""Staged uploads are stored byte for byte by `blob_write`, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from negotiations.blobs import blob_write
from negotiations.interchange import services as interchange_services
from negotiations.models import QdpxImport, SourceImport
from negotiations.sources import imports as source_imports

pytestmark = pytest.mark.django_db

EVERY_BYTE = bytes(range(256)) * 4096  # 1 MB, NUL and quote characters included


def test_blob_write_stores_every_byte_and_sets_the_object(members):
    staged = source_imports.source_import_stage(
        study=members.study,
        filename="x.csv",
        content=b"a,b\n",
        actor=members.supervisor,
        create_missing=False,
        check=False,
    )
    blob_write(instance=staged, field="content", content=EVERY_BYTE)
    assert staged.content == EVERY_BYTE
    assert bytes(SourceImport.objects.get(pk=staged.pk).content) == EVERY_BYTE


def test_staged_uploads_keep_their_content(members):
    staged = source_imports.source_import_stage(
        study=members.study,
        filename="x.csv",
        content=EVERY_BYTE,
        actor=members.supervisor,
        create_missing=False,
        check=False,
    )
    assert bytes(SourceImport.objects.get(pk=staged.pk).content) == EVERY_BYTE
    assert SourceImport.objects.get(pk=staged.pk).size == len(EVERY_BYTE)
    upload, _ = interchange_services.qdpx_import_stage(
        content=EVERY_BYTE,
        filename="x.qdpx",
        uploaded_by=members.supervisor,
        study=members.study,
        check=False,
    )
    assert bytes(QdpxImport.objects.get(pk=upload.pk).content) == EVERY_BYTE
