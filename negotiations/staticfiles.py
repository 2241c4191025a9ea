"""The static files storage: whitenoise's, each file's URL worked out once per process.

Every page asks for the URLs of its stylesheet and scripts (`{% static %}`), and working one out
(the manifest's hashed name, quoting, joining to STATIC_URL) cost a page about 0.1 ms. The
manifest is read when the process starts and does not change while it runs, so a name's URL
does not either; only URLs of files the manifest holds are kept (a missing file still raises).
"""

from __future__ import annotations

from whitenoise.storage import CompressedManifestStaticFilesStorage

# Far more than the static files the templates name; a name outside them is not kept.
URLS_KEPT_MAX = 512


class ManifestStaticFilesStorage(CompressedManifestStaticFilesStorage):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._urls: dict[str, str] = {}

    def url(self, name, force=False):
        if force:
            return super().url(name, force)
        url = self._urls.get(name)
        if url is None:
            url = super().url(name)
            if len(self._urls) < URLS_KEPT_MAX:
                self._urls[name] = url
        return url
