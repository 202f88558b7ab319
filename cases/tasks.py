from __future__ import annotations

from celery import shared_task
from django.core.management import call_command


@shared_task
def verify_evidence_task() -> None:
    """Nightly: re-hash stored evidence; mismatches are written to the audit chain."""
    from .actions import verify_evidence_integrity
    from .models import Evidence

    for evidence in Evidence.objects.filter(purged_at__isnull=True).select_related("case").iterator():
        verify_evidence_integrity(evidence=evidence)


@shared_task
def purge_expired_evidence_task() -> None:
    call_command("purge_evidence")
