"""Liaison settings: one file, driven by the environment.

Defaults serve development on embedded parts (SQLite, local files, a broker
that needs no server). Production changes values, never code paths; with
DEBUG off, the secrets and hosts it needs fail loudly when missing.
"""

from __future__ import annotations

import os
import sys
from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _
from whitenoise.compress import Compressor as WhiteNoiseCompressor  # type: ignore[import-untyped]  # no type hints

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("LIAISON_VAR_DIR", BASE_DIR / "var"))

env = environ.Env()
env.smart_cast = False
if (BASE_DIR / ".env").exists():
    env.read_env(str(BASE_DIR / ".env"))


def secret(name: str, default: str | None = None) -> str | None:
    """Read NAME, or the contents of the file named by NAME_FILE (for container secrets)."""
    file_name = env.str(f"{name}_FILE", default="")
    if file_name:
        return Path(file_name).read_text().strip()
    return env.str(name, default=default)


TESTING = "pytest" in sys.modules or (len(sys.argv) > 1 and sys.argv[1] == "test")
DEBUG = env.bool("DEBUG", default=False)

SECRET_KEY = secret("SECRET_KEY")
if not SECRET_KEY:
    if DEBUG or TESTING:
        SECRET_KEY = "insecure-development-key-do-not-use-in-production"  # noqa: S105 (dev only)
    else:
        raise ImproperlyConfigured("SECRET_KEY (or SECRET_KEY_FILE) must be set when DEBUG is off.")

# Served over plain HTTP on this machine only (the `make run` demo, DEBUG or not): no TLS redirect, no secure-only
# cookies, no HSTS, http:// links. Never in production.
LOCAL_HTTP = env.bool("LIAISON_LOCAL_HTTP", default=DEBUG)

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"] if DEBUG or TESTING else [])
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must be set when DEBUG is off.")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# The public address of the site, used in e-mailed links (invitations, notifications).
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.forms",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "guardian",
    "django_celery_beat",
    "django_htmx",
    "csp",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "outbox",
    "exports",
    "accounts",
    "cases",
    "api",
    "stats",
    "webhooks",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Pages that need the cache server (signing in) answer 503 with a Retry-After while it does not answer.
    "liaison.cache_outage.CacheOutageMiddleware",
    # Pages' headers (static files were answered above): liaison/security_headers.py, django-csp.
    "csp.middleware.CSPMiddleware",
    "liaison.security_headers.PermissionsPolicyMiddleware",
    # Before the session is read: a cookie holding a NUL byte must not reach the session table.
    "liaison.input_policy.UnstorableInputMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Cache-Control: no-store, private for a signed-in person's responses and for every download.
    "liaison.security_headers.PrivateResponseMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "cases.audit.AuditContextMiddleware",
    # Signs out a session idle for LIAISON_SESSION_IDLE_MINUTES, before anything else acts for its person.
    "accounts.middleware.IdleSessionMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "accounts.middleware.UserPreferencesMiddleware",
    "accounts.middleware.RequireMFAMiddleware",
]

ROOT_URLCONF = "liaison.urls"
WSGI_APPLICATION = "liaison.wsgi.application"
ASGI_APPLICATION = "liaison.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.tz",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.membership",
                "cases.context_processors.unread",
                "cases.context_processors.audit_checkpoints",
            ],
        },
    },
]

# --- Data -----------------------------------------------------------------

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'liaison.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=0))
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # WAL and a busy timeout let the web server and the worker share the file.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
elif DATABASES["default"]["ENGINE"].startswith("django.db.backends.postgresql"):
    # Short queries over many rows (the inbox counts) cross PostgreSQL's JIT cost threshold and then spend more
    # time compiling than running; the portal's queries are all short, so JIT stays off unless asked for.
    options = DATABASES["default"].setdefault("OPTIONS", {})
    if not env.bool("POSTGRES_JIT", default=False):
        options["options"] = (options.get("options", "") + " -c jit=off").strip()
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://liaison")}


def object_storage() -> dict[str, object] | None:
    """Evidence, stored e-mail and reports in an S3-compatible bucket (django-storages) when LIAISON_S3_BUCKET is
    set, so that every web and worker process reads and writes the same files; None: local files under var/.

    The bucket stays private: no ACL is ever sent (objects are the bucket owner's, readable with its credentials
    only), and files are served only through the portal's permission-checked views, streamed; `url()` would sign
    its link for a minute, never give a public one. No credentials: boto3's own chain (instance or task role).
    """
    bucket = env.str("LIAISON_S3_BUCKET", default="")
    if not bucket:
        return None
    options: dict[str, object] = {
        "bucket_name": bucket,
        "location": env.str("LIAISON_S3_PREFIX", default="").strip("/"),
        "endpoint_url": env.str("AWS_S3_ENDPOINT_URL", default="") or None,
        "region_name": env.str("AWS_S3_REGION_NAME", default="") or None,
        "addressing_style": env.str("AWS_S3_ADDRESSING_STYLE", default="") or None,
        "signature_version": "s3v4",
        "default_acl": None,
        "querystring_auth": True,
        "querystring_expire": 60,
        "file_overwrite": False,
        # Files read whole by the code (stored e-mail) are held in memory up to this size, then on disk.
        "max_memory_size": 2 * 1024 * 1024,
    }
    encryption = env.str("LIAISON_S3_SERVER_SIDE_ENCRYPTION", default="")  # "AES256" or "aws:kms"
    if encryption:
        parameters = {"ServerSideEncryption": encryption}
        if kms_key := env.str("LIAISON_S3_KMS_KEY_ID", default=""):
            parameters["SSEKMSKeyId"] = kms_key
        options["object_parameters"] = parameters
    access_key = secret("AWS_ACCESS_KEY_ID", default="")
    if access_key:
        options["access_key"] = access_key
        options["secret_key"] = secret("AWS_SECRET_ACCESS_KEY", default="")
    return {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": options}


STORAGES = {
    "default": object_storage() or {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(VAR_DIR / "files"), "base_url": None},
    },
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG or TESTING
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        ),
    },
}
# Uploaded files are private: there is no public media URL.
MEDIA_ROOT = str(VAR_DIR / "files")
MEDIA_URL = None
STATIC_URL = "/static/"
STATIC_ROOT = env.str("STATIC_ROOT", default=str(VAR_DIR / "static"))
# Source maps are fetched by developer tools only; compressing them (gzip and brotli, both copies of each) was half of
# collectstatic's time.
WHITENOISE_SKIP_COMPRESS_EXTENSIONS = [*WhiteNoiseCompressor.SKIP_COMPRESS_EXTENSIONS, "map"]
STATICFILES_DIRS = [BASE_DIR / "static"]

# --- Accounts ----------------------------------------------------------------

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    # Django's and allauth's backends, loading the person with their membership and organisation.
    "accounts.backends.ModelBackend",
    "accounts.backends.AuthenticationBackend",
    "guardian.backends.ObjectPermissionBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
if TESTING and not env.bool("LIAISON_REAL_PASSWORD_HASHING", default=False):
    # Argon2 is deliberately slow; tests exercise it in test_passwords.py only.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *PASSWORD_HASHERS]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "account_login"

ACCOUNT_ADAPTER = "accounts.adapters.AccountAdapter"
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_LOGIN_ON_PASSWORD_RESET = False
ACCOUNT_SESSION_REMEMBER = False
ACCOUNT_PRESERVE_USERNAME_CASING = False
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Liaison] "
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "http" if LOCAL_HTTP else "https"
# Wrong passwords (signing in, re-authenticating): accounts/login_throttle.py. Per client address and per (address,
# account) pair, a number of failures, then pauses that double from the first to the longest; per account, a count
# that makes failing addresses wait after each failure but never stops an address that has not failed. Counts live
# in the cache (CACHE_URL: Redis in production, so every web process sees them) and are forgotten
# LIAISON_LOGIN_FORGET_SECONDS after their latest failure.
LIAISON_LOGIN_ADDRESS_FAILURES = env.int("LIAISON_LOGIN_ADDRESS_FAILURES", default=30)
LIAISON_LOGIN_PAIR_FAILURES = env.int("LIAISON_LOGIN_PAIR_FAILURES", default=5)
LIAISON_LOGIN_ACCOUNT_FAILURES = env.int("LIAISON_LOGIN_ACCOUNT_FAILURES", default=20)
LIAISON_LOGIN_FIRST_PAUSE_SECONDS = env.int("LIAISON_LOGIN_FIRST_PAUSE_SECONDS", default=60)
LIAISON_LOGIN_MAX_PAUSE_SECONDS = env.int("LIAISON_LOGIN_MAX_PAUSE_SECONDS", default=3600)
LIAISON_LOGIN_FORGET_SECONDS = env.int("LIAISON_LOGIN_FORGET_SECONDS", default=86400)
# Proxies whose X-Forwarded-For is believed (addresses or networks, e.g. 10.0.0.5,10.1.0.0/24): the client address
# of sign-in limits and the audit log. Empty: the header is ignored and the peer address counts.
LIAISON_TRUSTED_PROXIES = env.list("LIAISON_TRUSTED_PROXIES", default=[])
# allauth's own limit on failed logins now guards the second-factor step (wrong codes per IP and per account; only
# someone holding the password reaches it); passwords are limited above.
ACCOUNT_RATE_LIMITS = {
    "login_failed": env.str("LIAISON_LOGIN_FAILED_LIMIT", default="10/m/ip,5/5m/key"),
    # Sign-in attempts per client address, right or wrong (allauth's own default); a load test from one address
    # raises it rather than going around it.
    "login": env.str("LIAISON_LOGIN_LIMIT", default="30/m/ip"),
}
# Approving a report or changing a member's access asks for the password again unless the person signed in or
# re-authenticated within this many seconds (accounts/reauthentication.py); allauth's second-factor pages use the
# same window after a re-authentication.
ACCOUNT_REAUTHENTICATION_TIMEOUT = env.int("LIAISON_REAUTHENTICATION_SECONDS", default=300)
# A session unused for this many minutes is signed out (0: never); the session's overall age is SESSION_COOKIE_AGE.
LIAISON_SESSION_IDLE_MINUTES = env.int("LIAISON_SESSION_IDLE_MINUTES", default=30)
# Views that open pages poll in the background; they neither count as activity nor keep a session alive.
LIAISON_SESSION_BACKGROUND_VIEWS = ["cases:bell", "cases:thread", "cases:reports", "exports:progress"]

MFA_ADAPTER = "accounts.adapters.MFAAdapter"
MFA_SUPPORTED_TYPES = ["totp", "webauthn", "recovery_codes"]
MFA_TOTP_ISSUER = "Liaison"
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = LOCAL_HTTP or TESTING
LIAISON_REQUIRE_MFA = env.bool("LIAISON_REQUIRE_MFA", default=True)
LIAISON_INVITATION_DAYS = env.int("LIAISON_INVITATION_DAYS", default=7)

# --- Languages and time --------------------------------------------------------

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("id", _("Bahasa Indonesia"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "UTC"
USE_TZ = True

# --- Mail ----------------------------------------------------------------------

EMAIL_BACKEND = env.str(
    "EMAIL_BACKEND",
    default="django.core.mail.backends.locmem.EmailBackend"
    if TESTING
    else "django.core.mail.backends.filebased.EmailBackend",
)
EMAIL_FILE_PATH = str(VAR_DIR / "mail")
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = secret("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Liaison <liaison@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Celery ----------------------------------------------------------------------

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=env.str("REDIS_URL", default="filesystem://"))
if CELERY_BROKER_URL == "filesystem://":
    # kombu's filesystem transport: a broker that needs no server, for `make run`.
    _queue_dir = VAR_DIR / "celery" / "queue"
    for _folder in (_queue_dir, VAR_DIR / "celery" / "control"):
        _folder.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        "control_folder": str(VAR_DIR / "celery" / "control"),
        "store_processed": False,
    }
elif CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # A message a worker took but did not acknowledge (acks_late: the worker died) goes back to the queue after
    # this long. Longer than any task may run (the report task's hard limit is 270 s) and than any retry's
    # countdown (at most 600 s), or a running task would be handed to a second worker.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env.int("LIAISON_BROKER_VISIBILITY_TIMEOUT", default=900),
        "socket_connect_timeout": 5,
    }
# The queue tasks go to and workers read (one broker may serve several installations, or test runs).
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", default="celery")
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = "UTC"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# --- Security -------------------------------------------------------------------

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("BEHIND_TLS_PROXY", default=False) else None
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not LOCAL_HTTP and not TESTING)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not LOCAL_HTTP and not TESTING)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not LOCAL_HTTP and not TESTING)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=int(timedelta(hours=12).total_seconds()))
# Sessions live in the database and are read through the cache (written through on every change, so the cache
# is never ahead of or behind the table): a page costs no session query once the session is cached. Django's
# cached_db, made to go on from the database alone while the cache server is down (accounts/sessions.py).
SESSION_ENGINE = "accounts.sessions"
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if LOCAL_HTTP or TESTING else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Scripts and styles only from static files (no inline code, no eval: htmx's eval is off in base.html); images
# also as data: URIs (Bootstrap's form icons, the TOTP QR code). Evidence previews send their own, stricter policy.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}
# Browser features no page uses, off for the portal and anything it frames (liaison/security_headers.py). WebAuthn
# (publickey-credentials-get/create) keeps its default, this origin: second factors use it.
LIAISON_PERMISSIONS_POLICY: dict[str, list[str]] = {
    feature: [] for feature in (
        "accelerometer", "autoplay", "camera", "display-capture", "encrypted-media", "geolocation", "gyroscope",
        "hid", "idle-detection", "magnetometer", "microphone", "midi", "payment", "screen-wake-lock", "serial",
        "usb", "xr-spatial-tracking",
    )
}

# --- API --------------------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Liaison API",
    "VERSION": "1",
    "DESCRIPTION": "Cases, items, evidence, threads, deadlines and outcome reports, under the same rules as the portal's pages. docs/api.md has a worked example.",
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI from drf-spectacular-sidecar's static files: the docs page loads nothing from the internet.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}
# Personal API tokens (api/): days until a new token expires; requests per token (N/s, N/m, N/h or N/d, counted in
# the shared cache); hours an Idempotency-Key's answer is kept for replays.
LIAISON_API_TOKEN_DAYS = env.int("LIAISON_API_TOKEN_DAYS", default=90)
LIAISON_API_RATE = env.str("LIAISON_API_RATE", default="1200/m")
LIAISON_API_IDEMPOTENCY_HOURS = env.int("LIAISON_API_IDEMPOTENCY_HOURS", default=24)

# --- Logging -----------------------------------------------------------------------

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

# Forms render with Bootstrap classes from templates/django/forms/ and templates/includes/field.html.
FORM_RENDERER = "liaison.forms.FormRenderer"

# --- Cases ---------------------------------------------------------------------------
LIAISON_APPEAL_WINDOW_DAYS = env.int("LIAISON_APPEAL_WINDOW_DAYS", default=14)
LIAISON_INTAKE_MAX_UPLOAD_BYTES = env.int("LIAISON_INTAKE_MAX_UPLOAD_BYTES", default=10 * 1024 * 1024)
LIAISON_CASES_PER_PAGE = env.int("LIAISON_CASES_PER_PAGE", default=50)

# --- Evidence --------------------------------------------------------------------------
LIAISON_EVIDENCE_MAX_BYTES = env.int("LIAISON_EVIDENCE_MAX_BYTES", default=512 * 1024 * 1024)
LIAISON_EVIDENCE_RETENTION_DAYS = env.int("LIAISON_EVIDENCE_RETENTION_DAYS", default=183)
LIAISON_EVIDENCE_ALLOWED_TYPES = env.list("LIAISON_EVIDENCE_ALLOWED_TYPES", default=[
    "image/png", "image/jpeg", "image/gif", "image/webp", "image/heic", "image/tiff",
    "application/pdf",
    "video/mp4", "video/quicktime", "video/webm", "video/x-matroska", "video/x-msvideo", "video/mpeg",
    "text/plain", "text/csv", "message/rfc822",
    "application/zip",
    "application/msword", "application/vnd.ms-excel", "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.oasis.opendocument.text", "application/vnd.oasis.opendocument.spreadsheet",
])
# Uploads larger than this go to a temporary file while they arrive, so memory stays flat.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
# Where uploads are written as they arrive (default: the system's temporary directory). Evidence is then renamed
# into storage: on the same filesystem as the evidence files that is a rename, elsewhere a copy.
FILE_UPLOAD_TEMP_DIR = env.str("FILE_UPLOAD_TEMP_DIR", default="") or None

# Periodic jobs; django-celery-beat's database scheduler picks these up (and T&S staff can see them in the admin).
from celery.schedules import crontab  # noqa: E402

# Minutes between signed checkpoints of the audit chain's head (only when events were added since the last one).
LIAISON_CHECKPOINT_MINUTES = env.int("LIAISON_CHECKPOINT_MINUTES", default=10)

# The outbox (outbox/relay.py): work an action starts is written in its transaction and relayed to the broker.
# Seconds between relay passes (the beat job); the longest pause between two offers of a row the broker refused;
# how long a sent row may stay not done before it is sent again (a lost message, a killed worker), and how many
# times; a done row's days of keeping; the broker connection's timeout while offering.
LIAISON_OUTBOX_RELAY_SECONDS = env.int("LIAISON_OUTBOX_RELAY_SECONDS", default=10)
LIAISON_OUTBOX_RETRY_MAX_SECONDS = env.int("LIAISON_OUTBOX_RETRY_MAX_SECONDS", default=300)
LIAISON_OUTBOX_REDELIVER_SECONDS = env.int("LIAISON_OUTBOX_REDELIVER_SECONDS", default=900)
LIAISON_OUTBOX_MAX_DELIVERIES = env.int("LIAISON_OUTBOX_MAX_DELIVERIES", default=5)
LIAISON_OUTBOX_KEEP_DAYS = env.int("LIAISON_OUTBOX_KEEP_DAYS", default=7)
LIAISON_OUTBOX_CONNECT_TIMEOUT = env.float("LIAISON_OUTBOX_CONNECT_TIMEOUT", default=3.0)
# Outcome reports: a worker's claim older than this is a dead worker's; the report goes back to the queue (it must
# stay above the report task's hard time limit, 270 s). Seconds between sweeps; claims before a report fails.
LIAISON_REPORT_CLAIM_STALE_SECONDS = env.int("LIAISON_REPORT_CLAIM_STALE_SECONDS", default=300)
LIAISON_REPORT_SWEEP_SECONDS = env.int("LIAISON_REPORT_SWEEP_SECONDS", default=60)
LIAISON_REPORT_MAX_ATTEMPTS = env.int("LIAISON_REPORT_MAX_ATTEMPTS", default=3)

# Webhooks (webhooks/, docs/webhooks.md): a POST's timeout; the pause after the first failed attempt, doubled after
# each further one up to the cap; attempts before a delivery is marked failed; seconds between retry sweeps; hours
# the previous secret still signs after a rotation. Plain http:// to 127.0.0.1/localhost only when allowed (tests,
# the demo's own receiver); everything else must be https:// to a public address.
LIAISON_WEBHOOKS_TIMEOUT_SECONDS = env.float("LIAISON_WEBHOOKS_TIMEOUT_SECONDS", default=10.0)
LIAISON_WEBHOOKS_RETRY_BASE_SECONDS = env.float("LIAISON_WEBHOOKS_RETRY_BASE_SECONDS", default=30.0)
LIAISON_WEBHOOKS_RETRY_MAX_SECONDS = env.float("LIAISON_WEBHOOKS_RETRY_MAX_SECONDS", default=6 * 3600.0)
LIAISON_WEBHOOKS_MAX_ATTEMPTS = env.int("LIAISON_WEBHOOKS_MAX_ATTEMPTS", default=10)
LIAISON_WEBHOOKS_RETRY_SWEEP_SECONDS = env.int("LIAISON_WEBHOOKS_RETRY_SWEEP_SECONDS", default=15)
LIAISON_WEBHOOKS_ROTATION_HOURS = env.float("LIAISON_WEBHOOKS_ROTATION_HOURS", default=24.0)
LIAISON_WEBHOOKS_ALLOW_LOCAL_HTTP = env.bool("LIAISON_WEBHOOKS_ALLOW_LOCAL_HTTP", default=False)

CELERY_BEAT_SCHEDULE = {
    "verify-evidence-nightly": {"task": "cases.tasks.verify_evidence_task", "schedule": crontab(hour=2, minute=15)},
    "purge-expired-evidence-nightly": {"task": "cases.tasks.purge_expired_evidence_task",
                                       "schedule": crontab(hour=3, minute=0)},
    "notification-digest-daily": {"task": "cases.tasks.send_digests_task", "schedule": crontab(hour=1, minute=0)},
    "sweep-deadlines": {"task": "cases.tasks.sweep_deadlines_task", "schedule": 60.0},
    # The figures' summary follows the audit chain (stats/summary.py).
    "refresh-figures": {"task": "stats.tasks.refresh_case_figures_task", "schedule": 60.0,
                        "options": {"expire_seconds": 60}},
    "poll-inbound-maildir": {"task": "cases.tasks.poll_inbound_maildir_task", "schedule": 60.0},
    "audit-checkpoint": {"task": "cases.tasks.make_audit_checkpoint_task",
                         "schedule": 60.0 * LIAISON_CHECKPOINT_MINUTES},
    # The outbox's relay (outbox/relay.py); a relay message nobody ran within a minute is dropped, not piled up.
    "relay-outbox": {"task": "outbox.tasks.relay_outbox_task", "schedule": float(LIAISON_OUTBOX_RELAY_SECONDS),
                     "options": {"expire_seconds": 60}},
    "purge-expired-exports": {"task": "exports.tasks.purge_expired_exports_task", "schedule": crontab(minute=20)},
    "prune-outbox-daily": {"task": "outbox.tasks.prune_outbox_task", "schedule": crontab(hour=3, minute=30)},
    "prune-api-idempotency-daily": {"task": "api.tasks.prune_idempotency_records_task",
                                    "schedule": crontab(hour=3, minute=45)},
    "requeue-stale-reports": {"task": "cases.tasks.requeue_stale_reports_task",
                              "schedule": float(LIAISON_REPORT_SWEEP_SECONDS), "options": {"expire_seconds": 60}},
    "webhook-retries": {"task": "webhooks.tasks.send_due_deliveries_task",
                        "schedule": float(LIAISON_WEBHOOKS_RETRY_SWEEP_SECONDS), "options": {"expire_seconds": 60}},
}

# --- Exports ---------------------------------------------------------------------------------------------
# Up to this many rows an export is sent as it is read, a longer one is written by a worker (its file kept this many
# hours, for its requester only; a worker silent this many seconds is taken for dead).
LIAISON_EXPORT_STREAM_MAX_ROWS = env.int("LIAISON_EXPORT_STREAM_MAX_ROWS", default=5000)
LIAISON_EXPORT_KEEP_HOURS = env.int("LIAISON_EXPORT_KEEP_HOURS", default=24)
LIAISON_EXPORT_STALE_SECONDS = env.int("LIAISON_EXPORT_STALE_SECONDS", default=1800)

# --- Threads and e-mail ------------------------------------------------------------------------
# Replies to notifications go to <prefix>+<reference>.<user>.<issued>.<signature>@<domain>; route that
# domain to `manage.py ingest_email` (an MTA pipe) or to the Maildir below. A token expires after
# LIAISON_REPLY_TOKEN_DAYS days.
LIAISON_REPLY_PREFIX = env.str("LIAISON_REPLY_PREFIX", default="reply")
LIAISON_REPLY_DOMAIN = env.str("LIAISON_REPLY_DOMAIN", default="reply.liaison.localhost")
LIAISON_REPLY_TOKEN_DAYS = env.int("LIAISON_REPLY_TOKEN_DAYS", default=30)
LIAISON_INBOUND_MAILDIR = env.str("LIAISON_INBOUND_MAILDIR", default=str(VAR_DIR / "inbound"))
# Inbound mail counts as a member's only on a DMARC pass aligned with From, as recorded in an
# Authentication-Results header by the receiving server named here (its authserv-id). Empty: nobody is
# authenticated and every message waits in the quarantine.
LIAISON_TRUSTED_AUTHSERV_ID = env.str("LIAISON_TRUSTED_AUTHSERV_ID", default="")
# Also require a verified DKIM signature aligned with the From domain (not only SPF-based DMARC).
LIAISON_INBOUND_REQUIRE_DKIM_ALIGNMENT = env.bool("LIAISON_INBOUND_REQUIRE_DKIM_ALIGNMENT", default=False)
LIAISON_MESSAGE_EDIT_MINUTES = 15

# --- Deadlines -------------------------------------------------------------------------------------
LIAISON_REMINDER_FRACTION = env.float("LIAISON_REMINDER_FRACTION", default=0.5)
LIAISON_REMINDER_BEFORE_MINUTES = env.int("LIAISON_REMINDER_BEFORE_MINUTES", default=60)
LIAISON_SHORT_DEADLINE_MINUTES = env.int("LIAISON_SHORT_DEADLINE_MINUTES", default=120)
LIAISON_SHORT_REMINDER_MINUTES = env.int("LIAISON_SHORT_REMINDER_MINUTES", default=15)
LIAISON_DUE_SOON_MINUTES = env.int("LIAISON_DUE_SOON_MINUTES", default=120)
# The public transparency page and files show a count below this as "<N" (stats/transparency.py).
LIAISON_TRANSPARENCY_MIN_COUNT = env.int("LIAISON_TRANSPARENCY_MIN_COUNT", default=10)

# --- Outcome reports ---------------------------------------------------------------------------------
# The platform's signing identity (PKCS#12). `manage.py create_signing_identity` makes a development one under
# var/signing/ with a random passphrase in var/signing/passphrase.txt, read only when no passphrase is set.
# Production: a PKCS#12 from the platform's CA, its passphrase in LIAISON_SIGNING_PASSPHRASE(_FILE).
LIAISON_SIGNING_P12 = env.str("LIAISON_SIGNING_P12", default=str(VAR_DIR / "signing" / "liaison-signer.p12"))
LIAISON_SIGNING_PASSPHRASE = secret("LIAISON_SIGNING_PASSPHRASE", default="") or ""
LIAISON_SIGNING_DEV_PASSPHRASE_FILE = env.str("LIAISON_SIGNING_DEV_PASSPHRASE_FILE",
                                              default=str(VAR_DIR / "signing" / "passphrase.txt"))
# The CA certificate (PEM) readers trust; served at /reports/ca.pem and used by the verification page.
LIAISON_SIGNING_CA = env.str("LIAISON_SIGNING_CA", default=str(VAR_DIR / "signing" / "liaison-ca.pem"))
# An RFC 3161 time-stamping authority (e.g. http://timestamp.example/tsa); empty: no timestamp.
LIAISON_TSA_URL = env.str("LIAISON_TSA_URL", default="")
# The public verification page: uploads per client IP (N/s, N/m or N/h) and the largest file accepted.
LIAISON_VERIFY_RATE = env.str("LIAISON_VERIFY_RATE", default="20/m")
LIAISON_VERIFY_MAX_BYTES = env.int("LIAISON_VERIFY_MAX_BYTES", default=20 * 1024 * 1024)

# SQLite cannot enforce "NULLS NOT DISTINCT" on the SLA policy uniqueness; PostgreSQL (production) does.
# W040: covering indexes (INCLUDE) serve PostgreSQL; SQLite (the demo) builds them without the extra columns.
SILENCED_SYSTEM_CHECKS = ["models.W047", "models.W040"]
# WeasyPrint logs every layout step at INFO; keep its warnings only.
LOGGING["loggers"].update({"weasyprint": {"level": "WARNING"}, "fontTools": {"level": "WARNING"}})  # type: ignore[attr-defined]
FORMAT_MODULE_PATH = ["liaison.formats"]
