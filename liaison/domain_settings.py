"""Liaison's own settings: cases, evidence, periodic jobs, the outbox, webhooks, exports, threads and e-mail,
deadlines, outcome reports. Imported at the end of liaison/settings.py (which holds Django's and the services');
every value comes from the environment with the default written here, as `.env.example` lists them."""

from __future__ import annotations

from celery.schedules import crontab

from .environment import VAR_DIR, env, secret

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
