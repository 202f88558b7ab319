"""Outcome reports: a T&S manager approves one; a worker renders, signs, stores and issues it exactly once.

Versions are immutable: version N+1 supersedes N, never overwrites it. Every download is audited.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Max, Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.models import Membership, User

from .. import audit, case_events, evidence_files, jobs, permissions
from ..choices import Side
from ..models import AuditCheckpoint, Case, OutcomeReport
from ..report_rendering import render_outcome_report
from ..report_signing import sign_pdf
from ..signing_identity import SigningIdentityError, load_signing_identity
from .checkpoints import make_checkpoint
from .notifications import notify
from .thread import add_system_entry

logger = logging.getLogger(__name__)

IN_FLIGHT = (OutcomeReport.Status.QUEUED, OutcomeReport.Status.RENDERING, OutcomeReport.Status.SIGNING)
WORKING = (OutcomeReport.Status.RENDERING, OutcomeReport.Status.SIGNING)


def claim_stale_after() -> timedelta:
    """A worker's claim on a report older than this is a dead worker's (the task's hard time limit is shorter), and
    a report queued this long lost its task: either goes back to the queue (`requeue_stale_reports`)."""
    return timedelta(seconds=settings.LIAISON_REPORT_CLAIM_STALE_SECONDS)


@transaction.atomic
def request_report(*, actor: User, case: Case, language: str, include_thread: bool,
                   enqueue: bool = True) -> OutcomeReport:
    """A T&S manager approves an outcome report of a resolved or closed case; a worker renders and signs it.

    The next version number is fixed now, under the case's row lock; only one report of a case is in flight.
    """
    case = Case.objects.select_for_update(of=("self",)).select_related("requesting_org", "responding_org").get(pk=case.pk)
    permissions.ensure_can_view(actor, case)
    if not permissions.can_request_report(actor, case):
        raise PermissionDenied(_("Only a T&S manager of the platform approves an outcome report, once the case is "
                                 "resolved or closed."))
    if language not in dict(settings.LANGUAGES):
        raise ValidationError(_("Choose English or Bahasa Indonesia."))
    # A report stuck with a dead worker or a lost task is sent again now rather than blocking this case for good.
    requeue_stale_reports(case=case)
    if case.reports.filter(status__in=IN_FLIGHT).exists():
        raise ValidationError(_("A report of this case is being prepared; wait until it is ready or has failed."))
    last = case.reports.exclude(status=OutcomeReport.Status.FAILED).aggregate(v=Max("version"))["v"] or 0
    report = OutcomeReport.objects.create(case=case, version=last + 1, language=language,
                                          include_thread=bool(include_thread), requested_by=actor, approved_by=actor)
    audit.record(actor=actor, action="report.requested", case=case, obj=report, side=Side.PLATFORM,
                 data={"version": report.version, "language": language, "include_thread": report.include_thread})
    if enqueue:
        jobs.enqueue("cases.tasks.generate_report_task", report_id=report.pk)
    return report


def _claim_report(report_id: int) -> tuple[OutcomeReport, datetime] | None:
    """Take the report for this worker (row lock + status check): a second delivery of the task finds it taken
    or done and does nothing. Returns (report, claim time) or None."""
    with transaction.atomic():
        report = OutcomeReport.objects.select_for_update().filter(pk=report_id).first()
        if report is None:
            return None
        now = timezone.now()
        stale = report.status in WORKING and (report.started_at is None
                                               or report.started_at < now - claim_stale_after())
        if report.status != OutcomeReport.Status.QUEUED and not stale:
            return None
        if stale and report.attempts >= settings.LIAISON_REPORT_MAX_ATTEMPTS:
            _give_up(report)
            return None
        report.status, report.started_at, report.status_reason = OutcomeReport.Status.RENDERING, now, ""
        report.attempts += 1
        report.save(update_fields=["status", "started_at", "status_reason", "attempts"])
    return report, now


def requeue_stale_reports(*, case: Case | None = None) -> int:
    """Send again every report whose worker died (claimed longer ago than LIAISON_REPORT_CLAIM_STALE_SECONDS) or
    whose task was lost (queued that long), each back in the queue through the outbox; a report whose workers died
    LIAISON_REPORT_MAX_ATTEMPTS times fails with the reason instead, so a new one can be requested. The beat job's
    work, and done for a case when someone asks for its report. Returns how many reports it moved."""
    now = timezone.now()
    cutoff = now - claim_stale_after()
    stale = OutcomeReport.objects.filter(
        Q(status__in=WORKING) & (Q(started_at__lt=cutoff) | Q(started_at__isnull=True))
        | Q(status=OutcomeReport.Status.QUEUED, queued_at__lt=cutoff))
    if case is not None:
        stale = stale.filter(case=case)
    moved = 0
    for report_id in stale.values_list("pk", flat=True):
        with transaction.atomic():
            report = OutcomeReport.objects.select_for_update().filter(pk=report_id).first()
            if report is None:
                continue
            working_stale = report.status in WORKING and (report.started_at is None or report.started_at < cutoff)
            queued_stale = report.status == OutcomeReport.Status.QUEUED and report.queued_at < cutoff
            if not (working_stale or queued_stale):
                continue  # finished or claimed meanwhile
            moved += 1
            if working_stale and report.attempts >= settings.LIAISON_REPORT_MAX_ATTEMPTS:
                _give_up(report)
                continue
            previous = report.status
            report.status, report.started_at, report.queued_at = OutcomeReport.Status.QUEUED, None, now
            report.save(update_fields=["status", "started_at", "queued_at"])
            audit.record(action="report.requeued", case=report.case, obj=report, side=Side.PLATFORM,
                         data={"version": report.version, "from": previous, "attempts": report.attempts})
            jobs.enqueue("cases.tasks.generate_report_task", report_id=report.pk)
    return moved


def _give_up(report: OutcomeReport) -> None:
    """A report whose every worker died fails, with the reason, under the caller's row lock."""
    reason = ngettext("The worker preparing this report stopped before finishing, %(count)d time; request the "
                      "report again.",
                      "The worker preparing this report stopped before finishing, %(count)d times; request the "
                      "report again.", report.attempts) % {"count": report.attempts}
    report.status, report.status_reason = OutcomeReport.Status.FAILED, reason
    report.save(update_fields=["status", "status_reason"])
    audit.record(actor=report.approved_by, action="report.failed", case=report.case, obj=report, side=Side.PLATFORM,
                 data={"version": report.version, "reason": reason})


def _report_step(report: OutcomeReport, claimed_at: datetime, status: str, reason: str = "") -> bool:
    """Move a claimed report on; False if another worker took it over meanwhile."""
    updated = OutcomeReport.objects.filter(pk=report.pk, started_at=claimed_at).exclude(
        status__in=[OutcomeReport.Status.READY, OutcomeReport.Status.FAILED]).update(status=status,
                                                                                     status_reason=reason)
    return bool(updated)


def generate_report(*, report_id: int) -> OutcomeReport | None:
    """Render, sign, store and issue a requested report; idempotent (see _claim_report). Called by the task.

    Returns the report, or None when there was nothing to do (already issued, failed, or being worked on).
    """
    claim = _claim_report(report_id)
    if claim is None:
        return None
    report, claimed_at = claim
    report = OutcomeReport.objects.select_related(
        "case", "case__requesting_org", "case__responding_org", "case__category", "approved_by__membership",
        "approved_by__membership__organization").get(pk=report.pk)
    case = report.case
    try:
        identity = load_signing_identity()
        # The report prints the checkpoint it is issued under: one signed now, covering the case's record up to
        # the approval, so each report its readers hold is also a copy of the chain's head kept outside.
        checkpoint = make_checkpoint(reason=AuditCheckpoint.Reason.REPORT, identity=identity,
                                     data={"report": report.pk, "reference": case.reference,
                                           "version": report.version})
        issued_at = timezone.now()
        pdf = render_outcome_report(case, language=report.language, include_thread=report.include_thread,
                                    approver=report.approved_by, version=report.version, issued_at=issued_at,
                                    checkpoint=checkpoint)
        if not _report_step(report, claimed_at, OutcomeReport.Status.SIGNING):
            return None
        with translation.override(report.language):
            membership = getattr(report.approved_by, "membership", None)
            signed = sign_pdf(pdf, identity, approver_name=report.approved_by.full_name,
                              approver_role=str(membership.get_role_display()) if membership else "",
                              location=case.responding_org.name,
                              time_zone=case.requesting_org.time_zone or "UTC")
    except SigningIdentityError as exc:
        return _fail_report(report, claimed_at, str(exc))
    except Exception as exc:  # the reason is shown to the manager; the worker keeps running
        logger.exception("outcome report %s failed", report.pk)
        return _fail_report(report, claimed_at, _("Rendering or signing failed: %(error)s")
                            % {"error": f"{type(exc).__name__}: {exc}"[:500]})
    return _issue_report(report, claimed_at, signed, issued_at)


def _fail_report(report: OutcomeReport, claimed_at: datetime, reason: str) -> OutcomeReport:
    with transaction.atomic():
        if _report_step(report, claimed_at, OutcomeReport.Status.FAILED, reason):
            audit.record(actor=report.approved_by, action="report.failed", case=report.case, obj=report,
                         side=Side.PLATFORM, data={"version": report.version, "reason": reason})
    report.refresh_from_db()
    return report


def _issue_report(report: OutcomeReport, claimed_at: datetime, signed: bytes,
                  issued_at: datetime) -> OutcomeReport | None:
    case = report.case
    storage = evidence_files.storage()
    name = storage.save(f"reports/{case.pk}/{case.reference}-v{report.version}-{uuid.uuid4().hex}.pdf",
                        ContentFile(signed))
    try:
        with transaction.atomic():
            Case.objects.select_for_update().filter(pk=case.pk).first()
            locked = OutcomeReport.objects.select_for_update().get(pk=report.pk)
            if locked.started_at != claimed_at or locked.status not in (OutcomeReport.Status.RENDERING,
                                                                          OutcomeReport.Status.SIGNING):
                storage.delete(name)
                return None
            locked.status, locked.status_reason, locked.issued_at = OutcomeReport.Status.READY, "", issued_at
            locked.storage_name, locked.sha256, locked.size = name, hashlib.sha256(signed).hexdigest(), len(signed)
            locked.save(update_fields=["status", "status_reason", "issued_at", "storage_name", "sha256", "size"])
            previous = list(OutcomeReport.objects.select_for_update().filter(
                case=case, status=OutcomeReport.Status.READY, superseded_at__isnull=True,
                version__lt=locked.version))
            for older in previous:
                older.superseded_by, older.superseded_at = locked, issued_at
                older.save(update_fields=["superseded_by", "superseded_at"])
            approver = locked.approved_by
            audit.record(actor=approver, action="report.issued", case=case, obj=locked,
                         data={"version": locked.version, "sha256": locked.sha256, "size": locked.size,
                               "language": locked.language, "include_thread": locked.include_thread,
                               "supersedes": [o.version for o in previous]})
            add_system_entry(case=case, action="report.issued", actor=approver,
                             params={"report": locked.pk, "version": locked.version, "sha256": locked.sha256,
                                     "supersedes": [o.version for o in previous]})
            jobs.enqueue("cases.tasks.notify_report_issued_task", report_id=locked.pk)
            case_events.announce(case=case, event=case_events.CaseEvent.REPORT_ISSUED,
                                 data={"report": locked.pk, "version": locked.version})
    except BaseException:
        storage.delete(name)
        raise
    return locked


def notify_report_issued(*, report_id: int) -> int:
    """The requesting authority's people hear of a new report, each in their language (once each: a delivery
    twice notifies nobody twice). Called by the task the issue queued."""
    report = OutcomeReport.objects.select_related("case", "case__requesting_org", "case__responding_org").filter(
        pk=report_id, status=OutcomeReport.Status.READY).first()
    if report is None:
        return 0
    case = report.case
    members = Membership.objects.filter(organization=case.requesting_org, deactivated_at__isnull=True,
                                        user__is_active=True).select_related("user", "organization")
    users = [m.user for m in members if permissions.can_view_reports(m.user, case)]
    event = {"action": "report.issued", "reference": case.reference, "version": report.version,
             "platform": case.responding_org.name, "url": settings.SITE_URL + "/reports/verify/"}
    return len(notify(users=users, kind="report", source_key=f"report:{report.pk}", case=case, event=event,
                      title=f"Outcome report {case.reference}, version {report.version}, is ready",
                      url=reverse("cases:detail", args=[case.reference]) + "#reports"))


def record_report_download(*, actor: User, report: OutcomeReport) -> None:
    """Every download of a report is a sensitive read."""
    audit.record(actor=actor, action="report.downloaded", case=report.case, obj=report,
                 data={"version": report.version, "sha256": report.sha256})
