"""Celery tasks of the webhooks app: each takes ids and calls an action."""

from __future__ import annotations

from celery import shared_task

from outbox.receipts import OutboxTask

from .actions import send_delivery, send_due_deliveries


@shared_task(base=OutboxTask, ignore_result=True)
def send_delivery_task(*, delivery_id: int, attempt: int, redelivery: bool = False,
                       outbox_id: int | None = None) -> str:
    """One attempt of a delivery. Never raises for the receiver's failure: the delivery records it and the retry
    sweep sends the next attempt after its pause. Run twice, it posts once (the attempt is claimed on the row)."""
    return send_delivery(delivery_id=delivery_id, attempt=attempt, redelivery=redelivery)


@shared_task(ignore_result=True)
def send_due_deliveries_task() -> int:
    """Every LIAISON_WEBHOOKS_RETRY_SWEEP_SECONDS: queue the deliveries whose next attempt is due."""
    return send_due_deliveries()
