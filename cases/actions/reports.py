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
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import Membership, User

from .. import audit, evidence_files, jobs, permissions
from ..choices import Side
from ..models import AuditCheckpoint, Case, OutcomeReport
from ..report_rendering import render_outcome_report
from ..report_signing import sign_pdf
from ..signing_identity import SigningIdentityError, load_signing_identity
from .checkpoints import make_checkpoint
from .notifications import notify
from .thread import add_system_entry

logger = logging.getLogger(__name__)

# A worker's claim on a report older than this is taken to be a crashed worker's, and may be taken over.
REPORT_CLAIM_STALE_AFTER = timedelta(minutes=10)
IN_FLIGHT = (OutcomeReport.Status.QUEUED, OutcomeReport.Status.RENDERING, OutcomeReport.Status.SIGNING)


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
        working = (OutcomeReport.Status.RENDERING, OutcomeReport.Status.SIGNING)
        stale = report.status in working and (report.started_at is None
                                               or report.started_at < now - REPORT_CLAIM_STALE_AFTER)
        if report.status != OutcomeReport.Status.QUEUED and not stale:
            return None
        report.status, report.started_at, report.status_reason = OutcomeReport.Status.RENDERING, now, ""
        report.save(update_fields=["status", "started_at", "status_reason"])
    return report, now


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
            body = _("%(who)s approved outcome report version %(version)d; it was signed and issued "
                     "(SHA-256 %(sha)s).") % {"who": approver.full_name, "version": locked.version,
                                               "sha": locked.sha256}
            if previous:
                body += " " + _("It supersedes version %(old)s.") % {
                    "old": ", ".join(str(o.version) for o in previous)}
            add_system_entry(case=case, action="report.issued", body=body, actor=approver)
            transaction.on_commit(lambda: _notify_report_issued(locked))
    except BaseException:
        storage.delete(name)
        raise
    return locked


def _notify_report_issued(report: OutcomeReport) -> None:
    """The requesting authority's people hear of a new report, each in their language."""
    case = report.case
    members = Membership.objects.filter(organization=case.requesting_org, deactivated_at__isnull=True,
                                        user__is_active=True).select_related("user", "organization")
    by_language: dict[str, list[User]] = {}
    for membership in members:
        if permissions.can_view_reports(membership.user, case):
            by_language.setdefault(membership.user.preferred_language or "en", []).append(membership.user)
    url = reverse("cases:detail", args=[case.reference]) + "#reports"
    for language, users in by_language.items():
        with translation.override(language):
            title = _("Outcome report %(reference)s, version %(version)d, is ready") % {
                "reference": case.reference, "version": report.version}
            body = _("%(platform)s issued a signed outcome report of %(reference)s. Download it from the case page; "
                     "anyone holding it can verify it at %(url)s.") % {
                "platform": case.responding_org.name, "reference": case.reference,
                "url": settings.SITE_URL + "/reports/verify/"}
            notify(users=users, kind="report", source_key=f"report:{report.pk}", case=case, title=title, body=body,
                   url=url)


def record_report_download(*, actor: User, report: OutcomeReport) -> None:
    """Every download of a report is a sensitive read."""
    audit.record(actor=actor, action="report.downloaded", case=report.case, obj=report,
                 data={"version": report.version, "sha256": report.sha256})
