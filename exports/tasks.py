"""Celery tasks of the exports: each takes ids and calls an action; delivered twice, each does its work once."""

from __future__ import annotations

from celery import shared_task

from outbox.receipts import OutboxTask

from .actions import build_export, purge_expired_exports


# Acknowledged only when done, so a killed worker's export goes back to the queue; its claim goes stale after
# LIAISON_EXPORT_STALE_SECONDS without progress, above the hard limit here.
@shared_task(base=OutboxTask, acks_late=True, soft_time_limit=1500, time_limit=1560)
def build_export_task(*, job_id: int, outbox_id: int | None = None) -> str:
    job = build_export(job_id=job_id)
    return job.status if job is not None else "skipped"


@shared_task(ignore_result=True)
def purge_expired_exports_task() -> int:
    """Hourly: delete the files of expired exports."""
    return purge_expired_exports()
