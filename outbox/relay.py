"""Writing work to the outbox, and offering it to the broker.

`enqueue` adds a row inside the caller's transaction and, once that commits, offers it to the broker at once (the
fast path). The fast path never raises into the request: if the broker does not answer, the row stays pending
with the reason, and `relay_due` (the beat job, or `manage.py relay_outbox`) offers it again later, waiting
longer after each failure. A row is marked sent only after the broker took it; a row sent but not done in time
(its message lost with a broker, its worker killed) is offered again, up to LIAISON_OUTBOX_MAX_DELIVERIES times.
"""

from __future__ import annotations

import importlib
import logging
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from celery import current_app
from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from kombu.exceptions import OperationalError

from .models import OutboxMessage

logger = logging.getLogger(__name__)

# A sender holds the rows it is offering for this long; after that another relay may take them (a sender that
# died mid-way loses nothing). The fast path holds a new row from its creation, so no relay races it.
HOLD = timedelta(seconds=60)
FIRST_RETRY_SECONDS = 5
# After a failed fast path the process leaves the broker alone for a few seconds: during an outage a request
# pays for at most one refused connection, not one per task.
QUIET_SECONDS = 5.0
_quiet_until = 0.0

EMAIL_TASK = "outbox.tasks.send_email_task"


@dataclass(frozen=True)
class Relayed:
    """What one relay pass did."""

    sent: int = 0
    failed: int = 0

    def __add__(self, other: Relayed) -> Relayed:
        return Relayed(self.sent + other.sent, self.failed + other.failed)


def enqueue(task: str, /, **kwargs: Any) -> OutboxMessage:
    """Write `task` with its keyword arguments to the outbox in the current transaction (at once outside one);
    it is offered to the broker when the transaction commits, with `outbox_id` added to the arguments."""
    claim = uuid.uuid4().hex
    message = OutboxMessage.objects.create(task=task, kwargs=kwargs, claim=claim, due_at=timezone.now() + HOLD)
    transaction.on_commit(lambda: _offer_new(message, claim))
    return message


def enqueue_email(email: EmailMessage) -> OutboxMessage:
    """Send `email` through the outbox: written now, handed to the mail server by a worker (at most once per row,
    see `outbox.tasks.send_email_task`). Outgoing mail of Liaison carries no attachments."""
    if email.attachments:
        raise ValueError("e-mails sent through the outbox carry no attachments")
    alternatives = [[str(content), str(mimetype)] for content, mimetype in getattr(email, "alternatives", [])]
    return enqueue(EMAIL_TASK, subject=str(email.subject), body=str(email.body), from_email=email.from_email,
                   to=list(email.to), cc=list(email.cc), bcc=list(email.bcc), reply_to=list(email.reply_to),
                   headers={str(k): str(v) for k, v in email.extra_headers.items()}, alternatives=alternatives)


def relay_due(*, limit: int = 200) -> Relayed:
    """Offer up to `limit` due rows to the broker: pending ones, ones whose last attempt failed and whose pause
    is over, and ones sent long ago but never done. Safe to run in several processes at once (claims)."""
    now = timezone.now()
    due = OutboxMessage.objects.filter(done_at__isnull=True, due_at__lte=now, sends__lt=_max_deliveries())
    ids = list(due.order_by("due_at", "id").values_list("pk", flat=True)[:limit])
    if not ids:
        return Relayed()
    claim = uuid.uuid4().hex
    OutboxMessage.objects.filter(pk__in=ids, done_at__isnull=True, due_at__lte=now).update(
        claim=claim, due_at=now + HOLD)
    messages = list(OutboxMessage.objects.filter(pk__in=ids, claim=claim).order_by("id"))
    return _deliver(messages, claim)


def relay_all_due(*, limit: int = 200, batches: int = 10) -> Relayed:
    """`relay_due` until nothing is due, the broker fails, or `batches` batches went (the next run goes on)."""
    total = Relayed()
    for _batch in range(batches):
        result = relay_due(limit=limit)
        total += result
        if result.failed or result.sent < limit:
            break
    return total


def prune(*, now: Any = None) -> int:
    """Forget rows done more than LIAISON_OUTBOX_KEEP_DAYS ago; rows never done stay for someone to look at."""
    cutoff = (now or timezone.now()) - timedelta(days=getattr(settings, "LIAISON_OUTBOX_KEEP_DAYS", 7))
    deleted, _by_model = OutboxMessage.objects.filter(done_at__lt=cutoff).delete()
    return deleted


def retry_delay(attempts: int) -> timedelta:
    """The pause before the next offer after `attempts` failed ones: 5 s, 10 s, 20 s, … up to the cap."""
    cap = getattr(settings, "LIAISON_OUTBOX_RETRY_MAX_SECONDS", 300)
    return timedelta(seconds=min(cap, FIRST_RETRY_SECONDS * 2 ** max(attempts - 1, 0)))


def _offer_new(message: OutboxMessage, claim: str) -> None:
    """The fast path, right after the commit that wrote the row. Never raises (outside eager test runs)."""
    if not _eager() and time.monotonic() < _quiet_until:
        # The broker failed a moment ago: leave the row to the periodic relay, due at once. Kept held, it would
        # wait out the whole hold (a minute) after the broker is back.
        OutboxMessage.objects.filter(pk=message.pk, claim=claim).update(claim="", due_at=timezone.now())
        return
    try:
        _deliver([message], claim)
    except Exception:
        if _eager():
            raise  # tests run tasks in-process: their errors are the test's to see
        logger.exception("outbox: offering %s failed; the relay will try again", message)


def _deliver(messages: Sequence[OutboxMessage], claim: str) -> Relayed:
    """Send each held row's task with its `outbox_id`; mark what the broker took as sent and the rest failed."""
    global _quiet_until
    app = current_app
    sent: list[int] = []
    failed = 0
    connection = app.connection_for_write(
        connect_timeout=getattr(settings, "LIAISON_OUTBOX_CONNECT_TIMEOUT", 3.0),
        transport_options={"max_retries": 0})  # one try: the next relay pass is the retry
    broker_errors = (OperationalError, OSError, *connection.connection_errors, *connection.channel_errors)
    try:
        with connection:
            for index, message in enumerate(messages):
                try:
                    _task(message.task).apply_async(kwargs={**message.kwargs, "outbox_id": message.pk},
                                                    connection=connection, retry=False)
                except broker_errors as exc:
                    if _eager():
                        raise
                    _quiet_until = time.monotonic() + QUIET_SECONDS
                    logger.warning("outbox: the broker did not take %s: %s", message, exc)
                    failed += _failed(messages[index:], claim, exc)
                    break
                except Exception as exc:
                    if _eager():
                        raise
                    logger.exception("outbox: %s cannot be sent", message)  # this row's problem; go on
                    failed += _failed([message], claim, exc)
                else:
                    sent.append(message.pk)
    finally:
        _sent(sent, claim)
    return Relayed(sent=len(sent), failed=failed)


def _sent(ids: list[int], claim: str) -> None:
    if not ids:
        return
    now = timezone.now()
    redeliver = timedelta(seconds=getattr(settings, "LIAISON_OUTBOX_REDELIVER_SECONDS", 900))
    OutboxMessage.objects.filter(pk__in=ids, claim=claim).update(
        sent_at=now, sends=F("sends") + 1, claim="", last_error="", due_at=now + redeliver)


def _failed(messages: Sequence[OutboxMessage], claim: str, error: BaseException) -> int:
    now = timezone.now()
    reason = f"{type(error).__name__}: {error}"[:2000]
    for message in messages:
        OutboxMessage.objects.filter(pk=message.pk, claim=claim).update(
            attempts=F("attempts") + 1, claim="", last_error=reason,
            due_at=now + retry_delay(message.attempts + 1))
    return len(messages)


def _max_deliveries() -> int:
    return int(getattr(settings, "LIAISON_OUTBOX_MAX_DELIVERIES", 5))


def _eager() -> bool:
    return bool(current_app.conf.task_always_eager)


def _task(name: str) -> Any:
    # Imported by name at send time, so nothing below the tasks imports them.
    module, _dot, attribute = name.rpartition(".")
    return getattr(importlib.import_module(module), attribute)
