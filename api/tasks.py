"""The API's periodic work."""

from __future__ import annotations

from celery import shared_task

from . import actions


@shared_task(ignore_result=True)
def prune_idempotency_records_task() -> int:
    """Daily: forget Idempotency-Key answers past their keeping time."""
    return actions.prune_idempotency_records()
