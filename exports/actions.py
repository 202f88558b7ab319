"""Exports as changes: asking for one (recorded in the audit chain, handed to a worker through the outbox when it
is long) and writing a long one's file, once, however often its task is delivered."""

from __future__ import annotations

import logging
import math
import tempfile
from dataclasses import asdict
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from cases import audit, permissions
from cases.queries import CaseFilters
from outbox import relay

from . import building, queries
from .models import ExportJob

logger = logging.getLogger(__name__)

BUILD_TASK = "exports.tasks.build_export_task"
# A running export writes its progress this many times at most, whatever its size.
PROGRESS_STEPS = 20


def ensure_can_export(user: User, kind: str) -> None:
    allowed = permissions.can_export_decisions(user) if kind == ExportJob.Kind.DECISIONS \
        else permissions.can_export_cases(user)
    if not allowed:
        raise PermissionDenied(_("Your role does not allow this export."))


def record_streamed_export(*, user: User, kind: str, fmt: str, filters: CaseFilters, rows: int) -> None:
    """A short export, sent as it is read: a sensitive read, in the audit chain."""
    ensure_can_export(user, kind)
    with transaction.atomic():
        audit.record(action="export.streamed", actor=user,
                     data={"kind": kind, "format": fmt, "filters": asdict(filters), "rows": rows})


@transaction.atomic
def start_export(*, user: User, kind: str, fmt: str, filters: CaseFilters, language: str) -> ExportJob:
    """A long export: its job row, the audit event and its task, in one transaction (the task is sent once this
    commits, through the outbox)."""
    ensure_can_export(user, kind)
    if not building.is_offered(kind, fmt):
        raise ValueError(f"{kind} cannot be exported as {fmt}")
    job = ExportJob.objects.create(requester=user, kind=kind, format=fmt, filters=asdict(filters),
                                   language=language)
    audit.record(action="export.requested", actor=user, obj=job,
                 data={"kind": kind, "format": fmt, "filters": asdict(filters), "export": str(job.token)})
    relay.enqueue(BUILD_TASK, job_id=job.pk)
    return job


def _claim(job_id: int) -> ExportJob | None:
    """Take the job for this run, under its row lock: a queued job, or a running one whose worker has been silent
    longer than LIAISON_EXPORT_STALE_SECONDS (killed). None when another run has it or it is finished."""
    stale = timezone.now() - timedelta(seconds=settings.LIAISON_EXPORT_STALE_SECONDS)
    with transaction.atomic():
        job = ExportJob.objects.select_for_update().filter(pk=job_id).select_related("requester").first()
        if job is None:
            return None
        if job.status == ExportJob.Status.RUNNING and job.started_at is not None and job.started_at > stale:
            return None
        if job.status not in (ExportJob.Status.QUEUED, ExportJob.Status.RUNNING):
            return None
        job.status = ExportJob.Status.RUNNING
        job.started_at = timezone.now()
        job.done = 0
        job.save(update_fields=["status", "started_at", "done"])
        return job


def build_export(*, job_id: int) -> ExportJob | None:
    """Write a long export's file into storage and mark it ready (expiring after LIAISON_EXPORT_KEEP_HOURS). A
    delivery of a job another run has, or has finished, does nothing. The rows are read again now, through the
    requester's current access: someone who lost access since asking gets no rows they may no longer see."""
    job = _claim(job_id)
    if job is None:
        return None
    user = job.requester
    try:
        ensure_can_export(user, job.kind)
        if not user.is_active:
            raise PermissionDenied(_("This account is deactivated."))
        qs = queries.rows_for_export(user, job.kind, CaseFilters(**job.filters))
        total = qs.count()
        ExportJob.objects.filter(pk=job.pk).update(total=total)
        step = max(1, math.ceil(total / PROGRESS_STEPS))

        def progress(done: int) -> None:
            if done % step == 0:
                ExportJob.objects.filter(pk=job.pk, status=ExportJob.Status.RUNNING).update(
                    done=done, started_at=timezone.now())

        name = f"exports/{job.token}.{job.format}"
        with tempfile.TemporaryFile() as spool:
            building.write(job.kind, job.format, queries.iterate(qs), job.language, spool, on_row=progress)
            size = spool.tell()
            spool.seek(0)
            if default_storage.exists(name):
                default_storage.delete(name)  # a run before this one died after writing
            stored = default_storage.save(name, File(spool, name=name))
    except Exception as exc:
        logger.exception("export %s failed", job.pk)
        ExportJob.objects.filter(pk=job.pk).update(status=ExportJob.Status.FAILED, error=str(exc)[:2000],
                                                   finished_at=timezone.now())
        return job  # final: the page says it failed and the person may ask again
    now = timezone.now()
    ExportJob.objects.filter(pk=job.pk).update(
        status=ExportJob.Status.READY, done=total, total=total, file_name=stored, size=size, finished_at=now,
        expires_at=now + timedelta(hours=settings.LIAISON_EXPORT_KEEP_HOURS))
    job.refresh_from_db()
    return job


def record_export_download(*, user: User, job: ExportJob) -> None:
    with transaction.atomic():
        audit.record(action="export.downloaded", actor=user, obj=job,
                     data={"kind": job.kind, "format": job.format, "export": str(job.token)})


def purge_expired_exports(*, now: object = None) -> int:
    """Delete the files of exports past their expiry; the rows stay, marked expired."""
    moment = now or timezone.now()
    purged = 0
    for job in ExportJob.objects.filter(status=ExportJob.Status.READY, expires_at__lte=moment):
        if job.file_name and default_storage.exists(job.file_name):
            default_storage.delete(job.file_name)
        ExportJob.objects.filter(pk=job.pk, status=ExportJob.Status.READY).update(
            status=ExportJob.Status.EXPIRED, file_name="")
        purged += 1
    return purged
