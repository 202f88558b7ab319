"""The worker's side of the outbox: a task started through it knows its row (`outbox_id`), skips a delivery whose
work is done, and marks the row done when it finishes.

Delivery is at least once (the fast path and a relay may both send, a broker gives a killed worker's message to
another), so every such task is idempotent: by its own effects (one notification per person and source, a
report claimed under a row lock) or, for effects that cannot be taken back such as an e-mail, by `exclusive`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from celery import Task
from django.db import transaction
from django.utils import timezone

from .models import OutboxMessage

logger = logging.getLogger(__name__)


class OutboxTask(Task):
    """Base class of every task the outbox starts. Its `outbox_id` keyword argument (None when called some other
    way) names its row: a delivery whose row is done (or already forgotten) does nothing, a run that returns
    marks it done. A run that raises leaves it to Celery's retries and then to the relay's redelivery."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        outbox_id = kwargs.get("outbox_id")
        if outbox_id is not None and not is_pending(outbox_id):
            logger.info("outbox: %s for #%s was done already; skipped", self.name, outbox_id)
            return None
        result = super().__call__(*args, **kwargs)
        if outbox_id is not None:
            mark_done(outbox_id)
        return result


def is_pending(outbox_id: int) -> bool:
    """The row's work is still to do. A row that no longer exists was done and pruned: nothing is sent before its
    row is committed."""
    return OutboxMessage.objects.filter(pk=outbox_id, done_at__isnull=True).exists()


def mark_done(outbox_id: int) -> None:
    OutboxMessage.objects.filter(pk=outbox_id, done_at__isnull=True).update(
        done_at=timezone.now(), kwargs={}, claim="", last_error="")


@contextmanager
def exclusive(outbox_id: int | None) -> Iterator[bool]:
    """Do a block at most once per outbox row, even when two deliveries run at the same moment: the row is locked,
    the block learns whether its work is still to do, and the row is marked done in the block's transaction (an
    exception rolls the mark back, so a retry does the work). Without an `outbox_id` the block always runs."""
    if outbox_id is None:
        yield True
        return
    with transaction.atomic():
        pending = OutboxMessage.objects.select_for_update().filter(
            pk=outbox_id, done_at__isnull=True).values_list("pk", flat=True).first() is not None
        yield pending
        if pending:
            mark_done(outbox_id)
