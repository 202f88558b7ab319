"""Reads of the record: the evidence and legal holds of the case page, evidence past retention, stored inbound e-mail,
issued outcome reports and their verification."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.files.storage import default_storage
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User

from .. import permissions
from ..choices import Status
from ..email_parsing import ParsedEmail, error_text, parse_email
from ..kept_statements import run_prepared
from ..models import (
    Case,
    Evidence,
    InboundEmail,
    LegalHold,
    OutcomeReport,
)
from ..report_verification import IssuedReport, Verification, verify_report_bytes


@dataclass(frozen=True)
class EvidenceRow:
    """A file of the case page's evidence panel, read as values (neither its uploader nor its item is built as an
    object): the uploader by name, the item by its number (None when the file documents the whole case)."""

    pk: int
    original_name: str
    content_type: str
    size: int
    sha256: str
    item_position: int | None
    internal: bool
    uploaded_by_name: str
    uploaded_at: datetime
    withdrawn_at: datetime | None
    purged_at: datetime | None


def case_evidence(user: User, case: Case) -> list[EvidenceRow]:
    """The files of the case this person may see (the rows of permissions.evidence_visible_to), in the evidence's
    order; the statement prepared once per process for the reader's side (permissions.evidence_side_of)."""
    side = permissions.evidence_side_of(user, case)
    if side is None:
        return []
    return [EvidenceRow(*row) for row in run_prepared(_evidence_query, (side,), case.pk)]


def _evidence_query(key: tuple[str], case_id: int) -> QuerySet[Evidence, tuple[Any, ...]]:
    # The evidence's own order (case, uploaded_at, id): the case is one.
    return Evidence.objects.filter(case_id=case_id).filter(permissions.evidence_visibility_of(key[0])) \
        .order_by("uploaded_at", "id").values_list(
            "pk", "original_name", "content_type", "size", "sha256", "item__position", "internal",
            "uploaded_by__full_name", "uploaded_at", "withdrawn_at", "purged_at")


@dataclass(frozen=True)
class HoldRow:
    """A legal hold of the case as the evidence panel shows it, read as values: who placed it by name."""

    pk: int
    reason: str
    placed_by_name: str
    placed_at: datetime
    lifted_at: datetime | None

    @property
    def is_active(self) -> bool:
        return self.lifted_at is None


def legal_holds(case: Case) -> list[HoldRow]:
    """The case's legal holds, newest first (the statement prepared once per process; the case is bound)."""
    return [HoldRow(*row) for row in run_prepared(_holds_query, (), case.pk)]


def _holds_query(key: tuple[()], case_id: int) -> QuerySet[LegalHold, tuple[Any, ...]]:
    return LegalHold.objects.filter(case_id=case_id).order_by("-placed_at", "-id").values_list(
        "pk", "reason", "placed_by__full_name", "placed_at", "lifted_at")


def expired_evidence() -> QuerySet[Evidence]:
    """Evidence of cases finished longer ago than the retention period, not under a legal hold."""
    cutoff = timezone.now() - timedelta(days=settings.LIAISON_EVIDENCE_RETENTION_DAYS)
    held = LegalHold.objects.filter(lifted_at__isnull=True).values("case_id")
    return (
        Evidence.objects.filter(purged_at__isnull=True)
        .filter(Q(case__status=Status.CLOSED, case__closed_at__lt=cutoff)
                | Q(case__status=Status.WITHDRAWN, case__withdrawn_at__lt=cutoff))
        .exclude(case_id__in=held)
        .select_related("case")
    )


# --- Inbound e-mail -----------------------------------------------------------------------------------


def read_stored_email(inbound: InboundEmail) -> bytes:
    with default_storage.open(inbound.raw_storage_name, "rb") as handle:
        data: bytes = handle.read()
    return data


@dataclass
class EmailReview:
    parsed: ParsedEmail | None
    error: str = ""

    @property
    def attachments(self) -> list[dict[str, Any]]:
        if self.parsed is None:
            return []
        return [{"name": a.name, "content_type": a.content_type, "size": len(a.data), "inline": a.inline,
                 "list": bool(a.spreadsheet_suffix)} for a in self.parsed.attachments]


def email_review(inbound: InboundEmail) -> EmailReview:
    """The stored message as a T&S manager reads it (plain text; the HTML only as source)."""
    try:
        return EmailReview(parse_email(read_stored_email(inbound)))
    except FileNotFoundError:
        return EmailReview(None, _("The stored message is missing."))
    except Exception as exc:
        return EmailReview(None, _("The message could not be read: %(error)s") % {"error": error_text(exc)})


# --- Outcome reports ----------------------------------------------------------------------------------


def issued_report(sha256: str) -> IssuedReport | None:
    """The issued report with exactly these bytes, and the latest version of its case."""
    report = (OutcomeReport.objects.filter(sha256=sha256, status=OutcomeReport.Status.READY)
              .select_related("case").first())
    if report is None:
        return None
    latest = (OutcomeReport.objects.filter(case_id=report.case_id, status=OutcomeReport.Status.READY)
              .order_by("-version").first()) or report
    return IssuedReport(reference=report.case.reference, version=report.version, issued_at=report.issued_at,
                        superseded=report.superseded_at is not None or latest.version > report.version,
                        latest_version=latest.version, latest_issued_at=latest.issued_at)


def verify_report(data: bytes) -> Verification:
    """What anyone may learn of a file they hold: is it a genuine, current outcome report?"""
    return verify_report_bytes(data, find_issued=issued_report)
