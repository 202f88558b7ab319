"""The quarantine, reviewed by T&S managers: release a message as a draft case, release a likely reply into its
thread in the sender's name, or reject it with a reason. Every decision is audited; a decided message stays."""

from __future__ import annotations

import hashlib

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Organization, User
from accounts.roles import OrgKind

from .. import audit, permissions, queries
from ..choices import Side
from ..email_parsing import error_text, parse_email
from ..models import Case, InboundEmail
from .inbound import DecisionWork, Unprocessable, create_draft, post_reply


def _release_as_draft(*, inbound: InboundEmail, owner: User, actor: User) -> Case:
    """A quarantined message made into a draft for `owner` (the path of a new message, without the sender and
    authentication checks). Called by actions.release_inbound_email inside its transaction."""
    raw = queries.read_stored_email(inbound)
    if hashlib.sha256(raw).hexdigest() != inbound.raw_sha256:
        raise ValidationError(_("The stored message does not match its fingerprint; it cannot be released."))
    try:
        parsed = parse_email(raw)
    except Exception as exc:
        raise ValidationError(_("The message could not be read: %(error)s") % {"error": error_text(exc)}) from exc
    work = DecisionWork()
    try:
        with transaction.atomic():
            case = create_draft(work=work, inbound=inbound, parsed=parsed, owner=owner, released_by=actor)
    except Unprocessable as exc:
        work.discard_files()
        raise ValidationError(exc.reason) from exc
    except BaseException:
        work.discard_files()
        raise
    return case


def _locked_quarantined_email(*, actor: User, inbound: InboundEmail) -> InboundEmail:
    if not permissions.can_review_inbound_email(actor):
        raise PermissionDenied(_("Only T&S managers review inbound e-mail."))
    inbound = InboundEmail.objects.select_for_update().get(pk=inbound.pk)
    if inbound.status != InboundEmail.Status.QUARANTINED:
        raise ValidationError(_("This e-mail is %(status)s, not quarantined; someone may have decided it already.")
                              % {"status": inbound.get_status_display().lower()})
    return inbound


@transaction.atomic
def release_inbound_email(*, actor: User, inbound: InboundEmail, organization: Organization,
                          owner: User) -> InboundEmail:
    """A T&S manager releases a quarantined e-mail: it becomes a draft case of `owner` (a liaison or lead of
    `organization`) through the same path as an authority's own e-mail, without the sender checks."""
    inbound = _locked_quarantined_email(actor=actor, inbound=inbound)
    owner_membership = permissions.membership_of(owner)
    if organization.kind != OrgKind.AUTHORITY or not organization.is_active:
        raise ValidationError(_("Choose an active authority."))
    if owner_membership is None or owner_membership.organization_id != organization.pk \
            or not permissions.can_create_case(owner):
        raise ValidationError(_("Choose an active liaison or lead of %(org)s as the owner.") % {"org": organization})
    case = _release_as_draft(inbound=inbound, owner=owner, actor=actor)
    now = timezone.now()
    released = _("Released by %(who)s as draft %(reference)s for %(owner)s (%(org)s).") % {
        "who": actor.full_name, "reference": case.reference, "owner": owner.full_name, "org": organization.name}
    inbound.status, inbound.case, inbound.decided_by, inbound.decided_at = (
        InboundEmail.Status.RELEASED, case, actor, now)
    inbound.reason = f"{inbound.reason}\n{released}".strip()
    inbound.save(update_fields=["status", "case", "decided_by", "decided_at", "reason"])
    audit.record(actor=actor, action="email.released", case=case, obj=inbound,
                 data={"message_id": inbound.message_id, "sender": inbound.sender, "owner": owner.email,
                       "organization": organization.pk, "reference": case.reference})
    return inbound


@transaction.atomic
def release_inbound_reply(*, actor: User, inbound: InboundEmail, case: Case) -> InboundEmail:
    """A T&S manager vouches for a quarantined reply: it is posted in `case`'s thread as its sender wrote it.

    The sender must have an active account that may post in the case; the release and who made it are audited.
    """
    inbound = _locked_quarantined_email(actor=actor, inbound=inbound)
    case = Case.objects.select_for_update().get(pk=case.pk)
    permissions.ensure_can_view(actor, case)
    raw = queries.read_stored_email(inbound)
    if hashlib.sha256(raw).hexdigest() != inbound.raw_sha256:
        raise ValidationError(_("The stored message does not match its fingerprint; it cannot be released."))
    try:
        parsed = parse_email(raw)
    except Exception as exc:
        raise ValidationError(_("The message could not be read: %(error)s") % {"error": error_text(exc)}) from exc
    sender = User.objects.filter(email__iexact=parsed.sender, is_active=True).first() if parsed.sender else None
    if sender is None or not permissions.can_post_message(sender, case):
        raise ValidationError(_("The sender %(sender)s has no account that may post in %(reference)s; reject the "
                                "e-mail, or release it as a draft instead.")
                              % {"sender": parsed.sender or "?", "reference": case.reference})
    work = DecisionWork()
    try:
        with transaction.atomic():
            message = post_reply(work=work, inbound=inbound, parsed=parsed, user=sender, case=case,
                                  released_by=actor)
    except Unprocessable as exc:
        work.discard_files()
        raise ValidationError(exc.reason) from exc
    except BaseException:
        work.discard_files()
        raise
    released = _("Released by %(who)s into the thread of %(reference)s.") % {
        "who": actor.full_name, "reference": case.reference}
    inbound.status, inbound.case, inbound.decided_by, inbound.decided_at = (
        InboundEmail.Status.RELEASED, case, actor, timezone.now())
    inbound.reason = f"{inbound.reason}\n{released}".strip()
    inbound.save(update_fields=["status", "case", "decided_by", "decided_at", "reason"])
    audit.record(actor=actor, action="email.released_to_thread", case=case, obj=inbound,
                 data={"message_id": inbound.message_id, "sender": parsed.sender, "message": message.pk,
                       "reference": case.reference, "was_quarantined_for": inbound.reason_code})
    return inbound


@transaction.atomic
def reject_inbound_email(*, actor: User, inbound: InboundEmail, reason: str) -> InboundEmail:
    """A T&S manager rejects a quarantined e-mail with a reason; it stays on record."""
    inbound = _locked_quarantined_email(actor=actor, inbound=inbound)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("Say why the e-mail is rejected."))
    rejected = _("Rejected by %(who)s: %(reason)s") % {"who": actor.full_name, "reason": reason}
    inbound.status, inbound.decided_by, inbound.decided_at = InboundEmail.Status.REJECTED, actor, timezone.now()
    inbound.reason = f"{inbound.reason}\n{rejected}".strip()
    inbound.save(update_fields=["status", "decided_by", "decided_at", "reason"])
    audit.record(actor=actor, action="email.rejected", obj=inbound, side=Side.PLATFORM,
                 data={"message_id": inbound.message_id, "sender": inbound.sender, "reason": reason})
    return inbound


def record_inbound_email_download(*, actor: User, inbound: InboundEmail) -> None:
    """Downloading the original message is a sensitive read."""
    audit.record(actor=actor, action="email.downloaded", obj=inbound, side=Side.PLATFORM,
                 data={"message_id": inbound.message_id, "sha256": inbound.raw_sha256})
