"""TrustCoder settings. Everything that differs between machines comes from the environment."""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG", False)
# A fixed development key is only acceptable while DEBUG is on; production must set its own.
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if DEBUG or os.environ.get("TRUSTCODER_ALLOW_INSECURE_KEY") == "1":
        SECRET_KEY = "insecure-development-key-do-not-use-in-production"  # noqa: S105
    else:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(
            "Set DJANGO_SECRET_KEY (or DJANGO_DEBUG=1 for local development)."
        )

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "import_export",
    "django_tasks_db",
    "axes",
    "negotiations",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Before anything reads the body (sessions, CSRF): a request declaring more than the upload
    # limit is refused from its headers.
    "negotiations.middleware.RequestSizeLimitMiddleware",
    "negotiations.middleware.NullCharacterQueryMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Django's LoginRequiredMiddleware, answering htmx requests with 401 instead of a redirect.
    "negotiations.middleware.HtmxLoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "trustcoder.urls"
WSGI_APPLICATION = "trustcoder.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.csp",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("DJANGO_CONN_MAX_AGE", "60")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and a busy timeout let the development server read while a long import writes.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }

# The prepared reads (negotiations/prepared.py) are prepared on the PostgreSQL server too. Off for
# a connection pooler in transaction mode that does not keep prepared statements.
TRUSTCODER_SERVER_PREPARED_STATEMENTS = env_bool("TRUSTCODER_SERVER_PREPARED_STATEMENTS", True)

if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and (
    TRUSTCODER_SERVER_PREPARED_STATEMENTS
):
    # psycopg prepares only what asks for it (`prepare=True`): a threshold no query reaches.
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = 2**62

# Shared by every worker process: the coding page keeps the rendered HTML of source texts here.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": os.environ.get("TRUSTCODER_CACHE_DIR", str(BASE_DIR / "cache")),
        "OPTIONS": {"MAX_ENTRIES": 5000},
    }
}

# Background jobs write their progress and heartbeat through a second connection to the same
# database, so that the figures are committed (and seen by the web) while the job's own work is
# still inside its one transaction.
DATABASES["jobs"] = {**DATABASES["default"], "TEST": {"MIRROR": "default"}}
TRUSTCODER_PROGRESS_DATABASE = "jobs"
if DATABASES["jobs"]["ENGINE"] == "django.db.backends.sqlite3":
    # SQLite has one writer: while an import holds it, a progress write gives up at once
    # rather than slow the import down (the figures catch up when the import commits).
    DATABASES["jobs"]["OPTIONS"] = {**DATABASES["default"]["OPTIONS"], "timeout": 0.05}

# Django's Tasks framework defers all long work. The default backend keeps the queue in the
# database (django-tasks-db), so the demo needs nothing installed and workers on several machines
# share one PostgreSQL queue; `manage.py db_worker` runs a worker. See docs/decisions.md.
TASKS = {
    "default": {
        "BACKEND": os.environ.get("TRUSTCODER_TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default"],
    }
}
# Uploads larger than this are checked and imported by a worker, not in the web request.
TRUSTCODER_BACKGROUND_IMPORT_BYTES = int(
    os.environ.get("TRUSTCODER_BACKGROUND_IMPORT_BYTES", 256 * 1024)
)
# A study whose exports (REFI-QDA project, replication package) would hold more than this many
# characters of text, sources and codings (see `study_export_chars`) is exported by a worker;
# smaller ones are downloaded at once.
TRUSTCODER_BACKGROUND_EXPORT_CHARS = int(
    os.environ.get("TRUSTCODER_BACKGROUND_EXPORT_CHARS", 2_000_000)
)
# A reliability report over more than this many units x coders is computed by a worker.
TRUSTCODER_BACKGROUND_REPORT_CELLS = int(
    os.environ.get("TRUSTCODER_BACKGROUND_REPORT_CELLS", 100_000)
)
# A running job whose heartbeat is older than this is taken for dead (its worker was killed).
TRUSTCODER_JOB_STALE_SECONDS = int(os.environ.get("TRUSTCODER_JOB_STALE_SECONDS", 120))
# Files that export jobs made (REFI-QDA projects, replication packages) are kept this many days.
TRUSTCODER_JOB_FILE_DAYS = int(os.environ.get("TRUSTCODER_JOB_FILE_DAYS", 7))

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# django-axes' lock-out first; then Django's backend, reading the request's user prepared.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "negotiations.authentication.ModelBackend",
]

# Login throttling (django-axes): after AXES_FAILURE_LIMIT failures for one username, or from
# one address, further attempts are refused for the cool-off time, even with the right password.
AXES_FAILURE_LIMIT = int(os.environ.get("TRUSTCODER_LOGIN_FAILURE_LIMIT", 5))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("TRUSTCODER_LOGIN_COOLOFF_MINUTES", 15)))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked.html"
AXES_VERBOSE = False

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Files the jobs make (exports) are kept here under random names; nothing serves this folder:
# each file is sent by its job's download view, to the members allowed to see it.
MEDIA_ROOT = Path(os.environ.get("TRUSTCODER_MEDIA_ROOT", str(BASE_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "negotiations.staticfiles.ManifestStaticFilesStorage"
        )
    },
}

# Uploads are refused above this size.
TRUSTCODER_MAX_UPLOAD_BYTES = int(os.environ.get("TRUSTCODER_MAX_UPLOAD_BYTES", 10 * 1024 * 1024))
TRUSTCODER_MAX_TEXT_CHARS = int(os.environ.get("TRUSTCODER_MAX_TEXT_CHARS", 2_000_000))
# REFI-QDA projects hold whole texts; larger than a single upload, still bounded before reading.
TRUSTCODER_MAX_QDPX_BYTES = int(os.environ.get("TRUSTCODER_MAX_QDPX_BYTES", 50 * 1024 * 1024))
# An upload larger than this is streamed to a temporary file on disk, 64 KB at a time, instead of
# being gathered in memory (Django's default, 2.5 MB); the limits above still refuse large ones.
FILE_UPLOAD_MAX_MEMORY_SIZE = int(os.environ.get("TRUSTCODER_UPLOAD_MEMORY_BYTES", 2_621_440))
DATA_UPLOAD_MAX_MEMORY_SIZE = TRUSTCODER_MAX_UPLOAD_BYTES + 1024 * 1024
# The largest request body accepted at all (one file at the limit plus the form around it); a
# request declaring more is refused before its body is read. A proxy in front should refuse the
# same (nginx: client_max_body_size 11m).
TRUSTCODER_MAX_REQUEST_BYTES = TRUSTCODER_MAX_UPLOAD_BYTES + 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 5000

# No inline script or style anywhere; colours come from a per-study stylesheet.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
}

SESSION_COOKIE_HTTPONLY = True
# Django's database sessions, each request's read prepared once (negotiations/sessions.py).
SESSION_ENGINE = "negotiations.sessions"
CSRF_COOKIE_HTTPONLY = False  # htmx reads no cookie; the token travels in hx-headers.
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", True)
    CSRF_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", True)
    SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_HSTS_SECONDS", 60 * 60 * 24 * 365))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", True)

# Behind a reverse proxy (DJANGO_BEHIND_PROXY=1) that sets X-Forwarded-Proto and appends the
# client's address to X-Forwarded-For, and strips both from what clients send. Without it, both
# headers are the client's own words and are ignored: HTTPS is judged by the connection, and login
# throttling counts the connecting address.
BEHIND_PROXY = env_bool("DJANGO_BEHIND_PROXY", False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BEHIND_PROXY else None
AXES_IPWARE_PROXY_COUNT = int(os.environ.get("DJANGO_PROXY_COUNT", 1)) if BEHIND_PROXY else None
AXES_IPWARE_META_PRECEDENCE_ORDER = (
    ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"] if BEHIND_PROXY else ["REMOTE_ADDR"]
)

IMPORT_EXPORT_SKIP_ADMIN_LOG = True

# E-mail is optional: with EMAIL_HOST set TrustCoder sends invitations and password resets;
# without it both work by links that owners and supervisors copy and hand over.
_EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
if _EMAIL_HOST:
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": _EMAIL_HOST,
                "port": int(os.environ.get("EMAIL_PORT", 587)),
                "username": os.environ.get("EMAIL_HOST_USER", ""),
                "password": os.environ.get("EMAIL_HOST_PASSWORD", ""),
                "use_tls": env_bool("EMAIL_USE_TLS", True),
            },
        }
    }
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "trustcoder@localhost")
TRUSTCODER_EMAIL_ENABLED = bool(_EMAIL_HOST)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("DJANGO_LOG_LEVEL", "WARNING")},
}
