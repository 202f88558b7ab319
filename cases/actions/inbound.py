"""E-mail in: replies to notifications land in the thread, an authority's new list becomes a draft case, and
everything else waits in quarantine for a T&S manager, who releases or rejects it.

`ingest(raw)` is called by `manage.py ingest_email` (an MTA pipe), the Maildir poll and a task. Every message
is stored whole (private storage, SHA-256 on its row) before anything is decided, each decision is an audit
event, and bad input never raises: it ends QUARANTINED with the reason. Only a failure of the system itself
(storage, database) raises, so the MTA or the Maildir keeps the message and delivers it again; the same
Message-ID delivered twice creates nothing twice.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.mail import EmailMessage as OutgoingEmail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import Organization, User
from accounts.permissions import membership_of
from accounts.roles import OrgKind

from .. import audit, permissions, queries
from ..choices import Side
from ..email_items import items_and_files, strip_quoted
from ..email_parsing import Attachment, ParsedEmail, error_text, headers_only, parse_email
from ..evidence_files import EvidenceRejected
from ..models import Case, Category, InboundEmail, Notification, NotificationKind
from ..reply_addresses import REPLY_PATTERN, parse_reply_address
from .cases import create_case
from .evidence import add_evidence
from .thread import MAX_MESSAGE_LENGTH, post_message

logger = logging.getLogger(__name__)

MAX_DESCRIPTION_CHARS = 10_000
SUBJECT_REFERENCE = re.compile(r"\[\s*Liaison\s+(?P<ref>[A-Z]{2}-\d{4}-\d{6})\s*\]", re.IGNORECASE)
SUBJECT_PREFIXES = re.compile(r"^\s*(?:(?:re|fwd?|fw|tr|rv|aw|wg|sv|vs|balas|terusan)\s*(?:\[\d+\])?\s*:\s*)+",
                              re.IGNORECASE)


class Unprocessable(Exception):
    """The message cannot become a reply or a draft; `reason` says why, for the T&S manager reviewing it."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass
class _Work:
    """Files written to storage while deciding, removed again if the decision is rolled back."""

    stored: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def discard_files(self) -> None:
        for name in self.stored:
            try:
                default_storage.delete(name)
            except OSError:
                logger.warning("could not remove %s after a failed e-mail decision", name)


def _add_files(*, work: _Work, actor: User, case: Case, files: list[Attachment], parsed: ParsedEmail) -> list[int]:
    ids = []
    description = _("Attached to the e-mail “%(subject)s” from %(sender)s.") % {
        "subject": parsed.subject[:200], "sender": parsed.sender}
    for attachment in files:
        try:
            result = add_evidence(actor=actor, case=case, source=io.BytesIO(attachment.data),
                                          original_name=attachment.name, description=description)
        except (EvidenceRejected, ValidationError, PermissionDenied) as exc:
            work.notes.append(_("Attachment %(name)s was not added: %(error)s")
                              % {"name": attachment.name, "error": " ".join(getattr(exc, "messages", [str(exc)]))})
            continue
        if result.created:
            work.stored.append(result.evidence.storage_name)
        ids.append(result.evidence.pk)
    return ids


def _platform() -> Organization | None:
    return Organization.objects.filter(kind=OrgKind.PLATFORM, is_active=True).order_by("pk").first()


def _draft_title(parsed: ParsedEmail) -> str:
    title = SUBJECT_REFERENCE.sub("", parsed.subject)
    title = " ".join(SUBJECT_PREFIXES.sub("", title).split())
    if not title:
        title = _("E-mail from %(sender)s") % {"sender": parsed.sender or _("an unknown sender")}
    return title[:200]


def _draft_description(parsed: ParsedEmail, received_at: datetime) -> str:
    intro = _("Created from an e-mail from %(sender)s received on %(date)s.") % {
        "sender": parsed.sender, "date": timezone.localtime(received_at).strftime("%Y-%m-%d %H:%M %Z")}
    body = parsed.text
    if len(body) > MAX_DESCRIPTION_CHARS:
        body = body[:MAX_DESCRIPTION_CHARS] + "\n…\n" + _("(Shortened; the whole e-mail is kept with the case.)")
    return f"{intro}\n\n{body}".strip()


def create_draft(*, work: _Work, inbound: InboundEmail, parsed: ParsedEmail, owner: User,
                 released_by: User | None = None) -> Case:
    """A draft case for `owner`'s authority: items from the body and CSV/XLSX attachments, other files as
    evidence; the owner is told by e-mail (after commit) that it awaits their confirmation."""
    items, files = items_and_files(parsed)
    work.notes.extend(items.notes)
    if not items.rows and not parsed.text.strip() and not files:
        raise Unprocessable("no_content", _("The e-mail has no usable content: no links, no text, no files."))
    platform = _platform()
    if platform is None:
        raise Unprocessable("no_platform", _("No active platform organisation exists to address a case to."))
    category = Category.objects.filter(slug="other").first() or Category.objects.filter(is_active=True).first()
    if category is None:
        raise Unprocessable("no_category", _("No case category exists."))
    case = create_case(actor=owner, title=_draft_title(parsed), category=category, responding_org=platform,
                               description=_draft_description(parsed, inbound.received_at), items=items.rows)
    evidence_ids = _add_files(work=work, actor=owner, case=case, files=files, parsed=parsed)
    if items.rejected:
        work.notes.append(_("%(count)d link(s) could not be read as items.") % {"count": items.rejected})
    audit.record(actor=owner, action="email.draft_created", case=case, obj=inbound,
                 data={"message_id": inbound.message_id, "sender": parsed.sender, "items": len(items.rows),
                       "evidence": evidence_ids, "notes": work.notes,
                       "released_by": released_by.email if released_by else None})
    _tell_owner(inbound=inbound, case=case, owner=owner, items=len(items.rows), files=len(evidence_ids),
                notes=list(work.notes))
    return case


def _tell_owner(*, inbound: InboundEmail, case: Case, owner: User, items: int, files: int, notes: list[str]) -> None:
    link = settings.SITE_URL + case.get_absolute_url()
    with translation.override(owner.preferred_language):
        title = _("Draft %(reference)s created from your e-mail") % {"reference": case.reference}
        body = render_to_string("cases/email/inbound_draft.txt", {
            "user": owner, "case": case, "inbound": inbound, "items": items, "files": files, "notes": notes,
            "link": link,
        })
    Notification.objects.get_or_create(
        user=owner, kind=NotificationKind.EMAIL_DRAFT, source_key=f"inbound:{inbound.pk}",
        defaults={"case": case, "title": title[:300], "url": case.get_absolute_url(), "emailed_at": timezone.now()},
    )
    headers = {"Auto-Submitted": "auto-replied", "X-Liaison-Case": case.reference}
    if not inbound.message_id.startswith("sha256:"):
        headers.update({"In-Reply-To": inbound.message_id, "References": inbound.message_id})
    message = OutgoingEmail(subject=f"[Liaison {case.reference}] {title}", body=body, to=[owner.email],
                            headers=headers)
    transaction.on_commit(message.send)


def _reply_target(parsed: ParsedEmail) -> tuple[str, str] | None:
    """(case reference, how it was found) if this answers a notification."""
    forged = False
    for address in parsed.recipients:
        found = parse_reply_address(address)
        if found is not None:
            return found[0], "reply_address"
        if REPLY_PATTERN.match(address) and address.endswith("@" + settings.LIAISON_REPLY_DOMAIN.lower()):
            forged = True
    match = SUBJECT_REFERENCE.search(parsed.subject)
    if match:
        return match.group("ref").upper(), "subject"
    if forged:
        raise Unprocessable("bad_reply_address", _("The reply address is not one Liaison issued (bad signature)."))
    return None


def _post_reply(*, work: _Work, inbound: InboundEmail, parsed: ParsedEmail, user: User, case: Case,
                via: str) -> None:
    body = strip_quoted(parsed.text)
    if not body and not parsed.attachments:
        raise Unprocessable("no_content", _("The reply has no new text and no files."))
    evidence_ids = _add_files(work=work, actor=user, case=case, files=parsed.attachments, parsed=parsed)
    if not body and not evidence_ids:
        raise Unprocessable("no_content", _("The reply has no new text, and none of its files could be added. %s")
                            % " ".join(work.notes))
    if not body:
        body = _("(Files sent by e-mail.)")
    limit = MAX_MESSAGE_LENGTH - 200
    if len(body) > limit:
        body = body[:limit] + "\n\n" + _("(Shortened; the whole e-mail is kept by Liaison.)")
    message = post_message(actor=user, case=case, body=body, evidence_ids=evidence_ids,
                                   email_message_id=inbound.message_id)
    audit.record(actor=user, action="email.reply_added", case=case, obj=inbound,
                 data={"message_id": inbound.message_id, "message": message.pk, "evidence": evidence_ids,
                       "via": via, "notes": work.notes})


def _decide(*, work: _Work, inbound: InboundEmail, parsed: ParsedEmail) -> None:
    """Set the outcome of a RECEIVED message, or raise Unprocessable."""
    if parsed.auth_failures:
        raise Unprocessable("authentication_failed", _("Sender authentication failed (%(results)s): the From "
                                                       "address may be forged.")
                            % {"results": ", ".join(parsed.auth_failures)})
    if parsed.automatic:
        raise Unprocessable("automatic", _("An automatic message (%(why)s), not written by a person.")
                            % {"why": parsed.automatic})
    if not parsed.sender:
        raise Unprocessable("no_sender", _("The message has no sender address."))
    user = User.objects.select_related("membership__organization").filter(email__iexact=parsed.sender).first()
    if user is None:
        raise Unprocessable("unknown_sender", _("Unknown sender: %(sender)s has no Liaison account.")
                            % {"sender": parsed.sender})
    membership = membership_of(user)
    if membership is None or not membership.organization.is_active:
        raise Unprocessable("inactive_sender", _("The sender's account (%(sender)s) is inactive.")
                            % {"sender": parsed.sender})
    target = _reply_target(parsed)
    if target is not None:
        reference, via = target
        case = Case.objects.filter(reference=reference).first()
        if case is None or not permissions.can_view_case(user, case):
            raise Unprocessable("case_not_visible", _("A reply to case %(reference)s, which the sender cannot see.")
                                % {"reference": reference})
        if not permissions.can_post_message(user, case):
            raise Unprocessable("may_not_post", _("The sender may not post messages in case %(reference)s.")
                                % {"reference": reference})
        _post_reply(work=work, inbound=inbound, parsed=parsed, user=user, case=case, via=via)
        inbound.status, inbound.case = InboundEmail.Status.REPLY, case
    else:
        if membership.organization.kind != OrgKind.AUTHORITY:
            raise Unprocessable("platform_new_message", _("A platform user wrote a new message, not a reply to a "
                                                          "case notification."))
        if not permissions.can_create_case(user):
            raise Unprocessable("may_not_create", _("The sender's role does not open cases."))
        inbound.case = create_draft(work=work, inbound=inbound, parsed=parsed, owner=user)
        inbound.status = InboundEmail.Status.DRAFT
    inbound.reason = "\n".join(work.notes)
    inbound.save(update_fields=["status", "case", "reason"])


# --- Ingesting -------------------------------------------------------------------------------------


def _store(raw: bytes, digest: str, parsed: ParsedEmail) -> InboundEmail:
    """The message kept whole before anything is decided; the existing row if it was stored already."""
    message_id = parsed.message_id
    name = default_storage.save(f"inbound/{timezone.now():%Y/%m}/{uuid.uuid4().hex}.eml", ContentFile(raw))
    try:
        with transaction.atomic():
            inbound = InboundEmail.objects.create(
                message_id=message_id,
                sender=parsed.sender[:320],
                subject=parsed.subject[:500],
                raw_storage_name=name, raw_sha256=digest, size=len(raw),
            )
            audit.record(action="email.received", obj=inbound,
                         data={"message_id": message_id, "sender": inbound.sender, "subject": inbound.subject,
                               "sha256": digest, "size": len(raw)})
    except IntegrityError:
        default_storage.delete(name)  # delivered twice at the same moment: the other copy won
        return InboundEmail.objects.get(message_id=message_id)
    except BaseException:
        default_storage.delete(name)
        raise
    return inbound


def _quarantine(pk: int, code: str, reason: str) -> InboundEmail:
    with transaction.atomic():
        inbound = InboundEmail.objects.select_for_update().get(pk=pk)
        if inbound.status != InboundEmail.Status.RECEIVED:
            return inbound
        inbound.status, inbound.reason, inbound.case = InboundEmail.Status.QUARANTINED, reason, None
        inbound.save(update_fields=["status", "reason", "case"])
        audit.record(action="email.quarantined", obj=inbound,
                     data={"message_id": inbound.message_id, "sender": inbound.sender, "code": code,
                           "reason": reason})
    return inbound


def ingest(raw: bytes) -> InboundEmail:
    """Store, deduplicate and decide one RFC 5322 message. Returns its InboundEmail (the existing one for a
    message seen before). Raises only when the system itself fails (storage, database)."""
    raw = bytes(raw)
    digest = hashlib.sha256(raw).hexdigest()
    failure = ""
    try:
        parsed = parse_email(raw)
    except Exception as exc:  # hostile or broken input: keep it, quarantine it
        failure = error_text(exc)
        parsed = headers_only(raw)
    inbound = InboundEmail.objects.filter(message_id=parsed.message_id).first()
    if inbound is None:
        inbound = _store(raw, digest, parsed)
    if inbound.status != InboundEmail.Status.RECEIVED:
        logger.info("e-mail %s seen before (%s); nothing done", parsed.message_id, inbound.status)
        return inbound
    if failure:
        return _quarantine(inbound.pk, "unreadable", _("The message could not be read: %(error)s") % {"error": failure})
    return _process(inbound.pk, parsed)


def _process(pk: int, parsed: ParsedEmail) -> InboundEmail:
    work = _Work()
    try:
        with transaction.atomic():
            # The row lock makes a second delivery arriving meanwhile wait, then find the decision made.
            inbound = InboundEmail.objects.select_for_update().get(pk=pk)
            if inbound.status != InboundEmail.Status.RECEIVED:
                return inbound
            _decide(work=work, inbound=inbound, parsed=parsed)
            return inbound
    except Unprocessable as exc:
        work.discard_files()
        code, reason = exc.code, exc.reason
    except Exception as exc:
        work.discard_files()
        logger.exception("e-mail %s could not be processed", pk)
        code, reason = "error", _("The message could not be processed: %(error)s") % {"error": error_text(exc)}
    return _quarantine(pk, code, reason)


def _release(*, inbound: InboundEmail, owner: User, actor: User) -> Case:
    """A quarantined message made into a draft for `owner` (the path of a new message, without the sender and
    authentication checks). Called by actions.release_inbound_email inside its transaction."""
    raw = queries.read_stored_email(inbound)
    if hashlib.sha256(raw).hexdigest() != inbound.raw_sha256:
        raise ValidationError(_("The stored message does not match its fingerprint; it cannot be released."))
    try:
        parsed = parse_email(raw)
    except Exception as exc:
        raise ValidationError(_("The message could not be read: %(error)s") % {"error": error_text(exc)}) from exc
    work = _Work()
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


# --- The quarantine, reviewed by T&S managers ------------------------------------------------------


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
    case = _release(inbound=inbound, owner=owner, actor=actor)
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
