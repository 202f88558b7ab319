"""Celery tasks: each takes ids, loads what it needs and calls an action; nothing below imports this module.

Actions start tasks by name through cases.jobs. Tasks are idempotent: a task delivered twice does its work once.
"""

from __future__ import annotations

from typing import Any

from celery import shared_task
from celery.signals import worker_init
from django.core.management import call_command

from accounts.models import User
from outbox.receipts import OutboxTask

from . import report_rendering, report_signing
from .actions.checkpoints import make_checkpoint
from .actions.deadline_sweep import sweep_deadlines
from .actions.evidence import verify_evidence_integrity
from .actions.notifications import notify_case_event, notify_message, send_digests
from .actions.reports import generate_report, notify_report_issued, requeue_stale_reports
from .maildir import poll_maildir
from .models import AuditCheckpoint, Case, Evidence, Message


@worker_init.connect
def load_report_libraries(**kwargs: Any) -> None:
    """A worker imports what reports are made with as it starts (before a prefork pool forks), not in its first
    report: 0.7 CPU s of it (tests/perf/test_report_speed.py, the worker's first report)."""
    report_rendering.load_libraries()
    report_signing.load_libraries()


@shared_task
def verify_evidence_task() -> None:
    """Nightly: re-hash stored evidence; mismatches are written to the audit chain."""
    for evidence in Evidence.objects.filter(purged_at__isnull=True).select_related("case").iterator():
        verify_evidence_integrity(evidence=evidence)


@shared_task
def purge_expired_evidence_task() -> None:
    call_command("purge_evidence")


@shared_task(base=OutboxTask, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def notify_message_task(*, message_id: int, outbox_id: int | None = None) -> int:
    message = Message.objects.select_related("case", "case__created_by", "case__assignee", "author").filter(
        pk=message_id).first()
    return notify_message(message) if message is not None else 0


@shared_task(base=OutboxTask, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def notify_case_event_task(*, case_id: int, kind: str, source_key: str, title: str, actor_id: int | None,
                           side: str = "", user_ids: list[int] | None = None,
                           event: dict[str, object] | None = None, outbox_id: int | None = None) -> int:
    """`event` is what the notification says, as data (cases/event_text.py); `title` its English form, the fallback
    for a task queued before events were data."""
    case = Case.objects.select_related("created_by", "assignee").filter(pk=case_id).first()
    if case is None:
        return 0
    users = list(User.objects.filter(pk__in=user_ids, is_active=True)) if user_ids is not None else None
    return notify_case_event(case=case, kind=kind, source_key=source_key, title=title, actor_id=actor_id, side=side,
                             users=users, event=event)


@shared_task
def send_digests_task() -> int:
    return send_digests()


@shared_task
def sweep_deadlines_task() -> dict[str, int]:
    """Every minute: reminders and breaches, exactly once each."""
    return sweep_deadlines()


@shared_task
def poll_inbound_maildir_task() -> int:
    """Every minute: ingest the e-mail delivered to the inbound Maildir (replies, authorities' lists)."""
    return len(poll_maildir().ingested)


# Acknowledged only when done, so a killed worker's message goes back to the queue (after the broker's visibility
# timeout); the hard limit stays below LIAISON_REPORT_CLAIM_STALE_SECONDS, so a claim that old is a dead worker's.
@shared_task(base=OutboxTask, acks_late=True, soft_time_limit=240, time_limit=270)
def generate_report_task(report_id: int, outbox_id: int | None = None) -> str:
    """Render, sign and issue a requested outcome report. Delivered twice, it issues once (row lock + status)."""
    report = generate_report(report_id=report_id)
    return report.status if report is not None else "skipped"


@shared_task(base=OutboxTask, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def notify_report_issued_task(*, report_id: int, outbox_id: int | None = None) -> int:
    """The requesting authority's people hear of an issued report, once each."""
    return notify_report_issued(report_id=report_id)


@shared_task
def requeue_stale_reports_task() -> int:
    """Every LIAISON_REPORT_SWEEP_SECONDS: reports whose worker died, or whose task was lost, are sent again."""
    return requeue_stale_reports()


@shared_task
def make_audit_checkpoint_task() -> str:
    """Every LIAISON_CHECKPOINT_MINUTES: sign the audit chain's head, if events were added since the last
    checkpoint (run twice, it signs once)."""
    checkpoint = make_checkpoint(reason=AuditCheckpoint.Reason.SCHEDULED, only_if_changed=True)
    return f"checkpoint #{checkpoint.sequence}" if checkpoint is not None else "unchanged"
