"""Evidence: fingerprinted uploads, the chain of custody, withdrawal, legal holds, retention and integrity."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import IO

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.roles import OrgKind

from .. import audit, evidence_files, permissions
from ..choices import Side
from ..models import Case, Evidence, LegalHold, ReportedItem


@dataclass
class EvidenceResult:
    evidence: Evidence
    created: bool


def add_evidence(
    *,
    actor: User,
    case: Case,
    source: IO[bytes],
    original_name: str,
    item: ReportedItem | None = None,
    description: str = "",
    documents_url: str = "",
    captured_at: datetime | None = None,
    internal: bool = False,
) -> EvidenceResult:
    """Stream a file to private storage with its fingerprint; the same bytes twice on a case are one record.

    `source` is any file-like object, read and hashed here, or an upload our upload handler already fingerprinted
    as it arrived (evidence_files.FingerprintedUpload): its SHA-256, size and type were computed by our code over
    exactly the bytes of the file that is moved into storage, and are checked again against the limits. The file
    is in storage before the row; if anything fails after, the stored file is removed, so a failed or cancelled
    upload leaves nothing behind.
    """
    permissions.ensure_can_view(actor, case)
    if not permissions.can_upload_evidence(actor, case):
        raise PermissionDenied(_("You may not add evidence to this case now."))
    if item is not None and item.case_id != case.pk:
        raise ValidationError(_("That item belongs to another case."))
    # PostgreSQL text and jsonb cannot hold NUL; the rest of the name is kept as given.
    original_name = original_name.replace("\x00", "")
    side = permissions.side_of(actor)
    with evidence_files.stream_to_temp(source, original_name=original_name) as streamed:
        existing = _same_evidence(case, streamed.sha256, side, internal)
        if existing is not None:
            return EvidenceResult(existing, False)
        stored_name = evidence_files.save_to_storage(streamed, case.pk)
    try:
        with transaction.atomic():
            Case.objects.select_for_update().filter(pk=case.pk).first()
            existing = _same_evidence(case, streamed.sha256, side, internal)
            if existing is not None:
                evidence_files.storage().delete(stored_name)
                return EvidenceResult(existing, False)
            evidence = Evidence.objects.create(
                case=case, item=item, sha256=streamed.sha256, size=streamed.size,
                content_type=streamed.content_type, original_name=original_name[:255],
                storage_name=stored_name, description=description.strip(), documents_url=documents_url.strip(),
                captured_at=captured_at, uploaded_by=actor, side=side,
                internal=bool(internal and side == OrgKind.PLATFORM),
            )
            audit.record(actor=actor, action="evidence.uploaded", case=case, obj=evidence,
                         side=side if evidence.internal else "",
                         data={"sha256": evidence.sha256, "size": evidence.size, "type": evidence.content_type,
                               "name": evidence.original_name, "item": item.pk if item else None})
    except BaseException:
        evidence_files.storage().delete(stored_name)
        raise
    return EvidenceResult(evidence, True)


def _same_evidence(case: Case, sha256: str, side: str, internal: bool) -> Evidence | None:
    """An earlier record of the same bytes that the uploader's audience can already see."""
    internal = bool(internal and side == OrgKind.PLATFORM)
    candidates = Evidence.objects.filter(case=case, sha256=sha256)
    if internal:
        return candidates.filter(Q(internal=False) | Q(internal=True, side=side)).order_by("internal", "id").first()
    return candidates.filter(internal=False).order_by("id").first()


def record_evidence_access(*, actor: User, evidence: Evidence, action: str) -> None:
    """Every view and download is part of the chain of custody."""
    audit.record(actor=actor, action=action, case=evidence.case, obj=evidence,
                 side=evidence.side if evidence.internal else "",
                 data={"sha256": evidence.sha256, "name": evidence.original_name})


@transaction.atomic
def withdraw_evidence(*, actor: User, evidence: Evidence, reason: str) -> Evidence:
    evidence = Evidence.objects.select_for_update().select_related("case").get(pk=evidence.pk)
    if not permissions.can_view_evidence(actor, evidence):
        raise Http404
    if not permissions.can_withdraw_evidence(actor, evidence):
        raise PermissionDenied(_("Only the side that added this evidence withdraws it."))
    if not reason.strip():
        raise ValidationError(_("Say why the evidence is withdrawn."))
    evidence.withdrawn_at, evidence.withdrawn_by, evidence.withdrawn_reason = timezone.now(), actor, reason.strip()
    evidence.save(update_fields=["withdrawn_at", "withdrawn_by", "withdrawn_reason"])
    audit.record(actor=actor, action="evidence.withdrawn", case=evidence.case, obj=evidence,
                 side=evidence.side if evidence.internal else "",
                 data={"sha256": evidence.sha256, "reason": evidence.withdrawn_reason})
    return evidence


@transaction.atomic
def place_legal_hold(*, actor: User, case: Case, reason: str) -> LegalHold:
    case = Case.objects.select_for_update().get(pk=case.pk)
    permissions.ensure_can_view(actor, case)
    if not permissions.can_manage_legal_hold(actor, case):
        raise PermissionDenied(_("Only the platform's legal team places legal holds."))
    if not reason.strip():
        raise ValidationError(_("Say why the hold is needed."))
    hold = LegalHold.objects.create(case=case, reason=reason.strip(), placed_by=actor)
    audit.record(actor=actor, action="legal_hold.placed", case=case, obj=hold, side=Side.PLATFORM,
                 data={"reason": hold.reason})
    return hold


@transaction.atomic
def lift_legal_hold(*, actor: User, hold: LegalHold) -> LegalHold:
    hold = LegalHold.objects.select_for_update().select_related("case").get(pk=hold.pk)
    permissions.ensure_can_view(actor, hold.case)
    if not permissions.can_manage_legal_hold(actor, hold.case):
        raise PermissionDenied(_("Only the platform's legal team lifts legal holds."))
    if hold.lifted_at is None:
        hold.lifted_at, hold.lifted_by = timezone.now(), actor
        hold.save(update_fields=["lifted_at", "lifted_by"])
        audit.record(actor=actor, action="legal_hold.lifted", case=hold.case, obj=hold, side=Side.PLATFORM,
                     data={"reason": hold.reason})
    return hold


def purge_evidence(*, evidence: Evidence) -> bool:
    """Delete the file, keep the metadata and hash with a purged mark. System action, audited."""
    with transaction.atomic():
        evidence = Evidence.objects.select_for_update().select_related("case").get(pk=evidence.pk)
        if evidence.purged_at is not None:
            return False
        if LegalHold.objects.filter(case_id=evidence.case_id, lifted_at__isnull=True).exists():
            return False
        evidence.purged_at = timezone.now()
        evidence.save(update_fields=["purged_at"])
        audit.record(action="evidence.purged", case=evidence.case, obj=evidence,
                     data={"sha256": evidence.sha256, "retention_days": settings.LIAISON_EVIDENCE_RETENTION_DAYS})
        transaction.on_commit(lambda: evidence_files.storage().delete(evidence.storage_name))
    return True


def verify_evidence_integrity(*, evidence: Evidence) -> bool:
    """Re-hash the stored bytes; a mismatch is recorded in the chain."""
    try:
        sha256, size = evidence_files.hash_stored(evidence.storage_name)
        ok = sha256 == evidence.sha256 and size == evidence.size
    except FileNotFoundError:
        sha256, ok = "", False
    Evidence.objects.filter(pk=evidence.pk).update(last_verified_at=timezone.now(), integrity_ok=ok)
    if not ok:
        audit.record(action="evidence.integrity_failed", case=evidence.case, obj=evidence,
                     data={"expected": evidence.sha256, "found": sha256})
    return ok
