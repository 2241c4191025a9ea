"""Settings for the test suite: the real settings with a throwaway key and fast password hashing."""

import os
import tempfile
from pathlib import Path

os.environ.setdefault("DJANGO_SECRET_KEY", "test-suite-only-key-6f1d0c9e8b7a4d3c2b1a0f9e8d7c6b5a")

from trustcoder.settings import *  # noqa: F403
from trustcoder.settings import DATABASES, STORAGES

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
# The browser tests fetch static files from the live server without collectstatic.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Tests run each job inside the test's transaction, so its progress goes through that connection
# too (the PostgreSQL worker tests start real workers with the real settings).
DATABASES = {"default": DATABASES["default"]}
TRUSTCODER_PROGRESS_DATABASE = "default"
# Tasks run inside the request that enqueues them; the PostgreSQL worker tests start real workers.
TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
# Files made by jobs go to a throwaway folder.
MEDIA_ROOT = Path(tempfile.mkdtemp(prefix="trustcoder-media-"))
# The tests that turn e-mail on send through a configured mailer, as production does with
# EMAIL_HOST set (Django's test runner keeps every message in `mail.outbox`).
MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
