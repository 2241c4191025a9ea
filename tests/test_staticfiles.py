"""The static files storage (negotiations/staticfiles.py): whitenoise's URLs, kept per name."""

from __future__ import annotations

import json

import pytest
from whitenoise.storage import CompressedManifestStaticFilesStorage

from negotiations import staticfiles


@pytest.fixture
def manifest(tmp_path):
    paths = {"js/coding.js": "js/coding.0123456789ab.js", "css/a b.css": "css/a b.ba9876543210.css"}
    (tmp_path / "staticfiles.json").write_text(
        json.dumps({"version": "1.1", "paths": paths, "hash": "0"})
    )
    return tmp_path


def test_each_url_is_whitenoises_and_is_kept(manifest, settings):
    settings.DEBUG = False
    ours = staticfiles.ManifestStaticFilesStorage(location=manifest, base_url="/static/")
    theirs = CompressedManifestStaticFilesStorage(location=manifest, base_url="/static/")
    for name in ("js/coding.js", "css/a b.css"):
        assert ours.url(name) == theirs.url(name)
        assert ours.url(name) == ours._urls[name]  # the second answer is the kept one
    assert ours.url("js/coding.js") == "/static/js/coding.0123456789ab.js"


def test_a_file_missing_from_the_manifest_still_raises_and_is_not_kept(manifest, settings):
    settings.DEBUG = False
    ours = staticfiles.ManifestStaticFilesStorage(location=manifest, base_url="/static/")
    for _ in range(2):
        with pytest.raises(ValueError, match=r"js/missing\.js"):
            ours.url("js/missing.js")
    assert "js/missing.js" not in ours._urls


def test_no_more_than_the_bound_is_kept(manifest, settings, monkeypatch):
    settings.DEBUG = False
    monkeypatch.setattr(staticfiles, "URLS_KEPT_MAX", 1)
    ours = staticfiles.ManifestStaticFilesStorage(location=manifest, base_url="/static/")
    first, second = ours.url("js/coding.js"), ours.url("css/a b.css")
    assert list(ours._urls) == ["js/coding.js"]
    assert (ours.url("js/coding.js"), ours.url("css/a b.css")) == (first, second)
