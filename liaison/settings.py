"""Liaison settings, driven by the environment (Liaison's own values in liaison/domain_settings.py).

Defaults serve development on embedded parts (SQLite, local files, a broker
that needs no server). Production changes values, never code paths; with
DEBUG off, the secrets and hosts it needs fail loudly when missing.
"""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _
from whitenoise.compress import Compressor as WhiteNoiseCompressor  # type: ignore[import-untyped]  # no type hints

from .environment import BASE_DIR, VAR_DIR, env, secret  # noqa: E402

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

# Keys that encrypt webhook signing secrets at rest (webhooks/secret_encryption.py): Fernet keys separated by commas,
# the first encrypts, every one decrypts (rotation). Development and tests: one generated into var/ on first use.
LIAISON_WEBHOOK_SECRET_KEYS = (secret("LIAISON_WEBHOOK_SECRET_KEY", default="") or "").replace(",", " ").split()
LIAISON_WEBHOOK_DEV_KEY_FILE = str(VAR_DIR / "webhook_secret_key") if DEBUG or TESTING else ""
if not LIAISON_WEBHOOK_SECRET_KEYS and not LIAISON_WEBHOOK_DEV_KEY_FILE:
    raise ImproperlyConfigured("LIAISON_WEBHOOK_SECRET_KEY (or LIAISON_WEBHOOK_SECRET_KEY_FILE) must be set when "
                               "DEBUG is off: a Fernet key that encrypts webhook signing secrets (docs/webhooks.md).")

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
    # A body nothing read is read to its end before the answer (a streamed upload behind the proxy): input_policy.py.
    "liaison.input_policy.ReadWholeBodyMiddleware",
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
        "OPTIONS": {
            # Django's cached loader, one compiled copy per language with each fixed {% translate %} already in it
            # (liaison/template_loaders.py): the project's templates, then each app's.
            "loaders": [("liaison.template_loaders.Loader", ["django.template.loaders.filesystem.Loader",
                                                             "django.template.loaders.app_directories.Loader"])],
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
# Each process (each thread under gthread) keeps its connection for a minute, checked before a request reuses it (a
# restarted server costs no failed page). A connection opened per request cost every page about 4 ms of Python and
# a new PostgreSQL backend (started, authenticated, its catalogue caches filled again): 2 to 10 ms of its CPU.
# CONN_MAX_AGE=0 opens one per request.
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", env.bool("CONN_HEALTH_CHECKS", default=True))
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
    # Parameters bound by the server, and a statement run a second time on a connection prepared there: PostgreSQL
    # then plans it once per connection, not on every request (planning was 6 of the case page's 10 ms of database
    # time, and 2 of the inbox's). Off (POSTGRES_PREPARED_STATEMENTS=false) behind a pooler in transaction mode,
    # such as PgBouncer without max_prepared_statements, which cannot keep a statement on a connection.
    if env.bool("POSTGRES_PREPARED_STATEMENTS", default=True):
        options.setdefault("server_side_binding", True)
        options.setdefault("prepare_threshold", 2)
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
    # One name per choice set that several fields share or whose field names collide (a case's and a webhook
    # delivery's status; an endpoint's events and a delivery's event).
    "ENUM_NAME_OVERRIDES": {
        "StatusEnum": "cases.choices.Status",
        "CaseEventEnum": "cases.case_events.CaseEvent",
        "WebhookDeliveryStatusEnum": "webhooks.models.Delivery.Status",
    },
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

# Liaison's own settings (cases, evidence, periodic jobs, outbox, webhooks, exports, threads, deadlines, reports).
from .domain_settings import *  # noqa: E402, F403

# SQLite cannot enforce "NULLS NOT DISTINCT" on the SLA policy uniqueness; PostgreSQL (production) does.
# W040: covering indexes (INCLUDE) serve PostgreSQL; SQLite (the demo) builds them without the extra columns.
SILENCED_SYSTEM_CHECKS = ["models.W047", "models.W040"]
# WeasyPrint logs every layout step at INFO; keep its warnings only.
LOGGING["loggers"].update({"weasyprint": {"level": "WARNING"}, "fontTools": {"level": "WARNING"}})  # type: ignore[attr-defined]
FORMAT_MODULE_PATH = ["liaison.formats"]
