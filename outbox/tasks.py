"""The relay's periodic job, its housekeeping, and the e-mail task every outbox e-mail goes through."""

from __future__ import annotations

from celery import shared_task
from django.core.mail import EmailMultiAlternatives

from . import relay
from .receipts import OutboxTask, exclusive


@shared_task(ignore_result=True)
def relay_outbox_task() -> dict[str, int]:
    """Every LIAISON_OUTBOX_RELAY_SECONDS: offer the broker what the fast path could not hand over, and what was
    sent but never done."""
    result = relay.relay_all_due()
    return {"sent": result.sent, "failed": result.failed}


@shared_task(ignore_result=True)
def prune_outbox_task() -> int:
    """Daily: forget rows done more than LIAISON_OUTBOX_KEEP_DAYS ago."""
    return relay.prune()


@shared_task(base=OutboxTask, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_email_task(*, subject: str, body: str, to: list[str], from_email: str | None = None,
                    cc: list[str] | None = None, bcc: list[str] | None = None, reply_to: list[str] | None = None,
                    headers: dict[str, str] | None = None, alternatives: list[list[str]] | None = None,
                    outbox_id: int | None = None) -> bool:
    """Hand one e-mail written by `relay.enqueue_email` to the mail server, once per outbox row. A mail server
    that refuses (OSError, SMTPException) is retried here, then by the relay's redelivery."""
    with exclusive(outbox_id) as pending:
        if not pending:
            return False
        email = EmailMultiAlternatives(subject=subject, body=body, from_email=from_email, to=to, cc=cc, bcc=bcc,
                                       reply_to=reply_to, headers=headers)
        for content, mimetype in alternatives or []:
            email.attach_alternative(content, mimetype)
        email.send()
    return True
