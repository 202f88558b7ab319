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
from datetime import UTC, datetime, tzinfo

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

from .. import audit, jobs, permissions, queries
from ..email_authentication import assess
from ..email_items import items_and_files, strip_quoted
from ..email_parsing import (
    Attachment,
    ParsedEmail,
    content_fingerprint,
    error_text,
    headers_only,
    parse_email,
)
from ..evidence_files import EvidenceRejected
from ..inbound_reasons import describe
from ..instants import format_instant, zone_named
from ..models import Case, Category, InboundEmail, Message, Notification, NotificationKind
from ..reply_addresses import ReplyToken, read_reply_address
from .cases import create_case
from .evidence import add_evidence
from .thread import MAX_MESSAGE_LENGTH, post_message

logger = logging.getLogger(__name__)

MAX_DESCRIPTION_CHARS = 10_000
SUBJECT_REFERENCE = re.compile(r"\[\s*Liaison\s+(?P<ref>[A-Z]{2}-\d{4}-\d{6})\s*\]", re.IGNORECASE)
SUBJECT_PREFIXES = re.compile(r"^\s*(?:(?:re|fwd?|fw|tr|rv|aw|wg|sv|vs|balas|terusan)\s*(?:\[\d+\])?\s*:\s*)+",
                              re.IGNORECASE)


class Unprocessable(Exception):
    """The message cannot become a reply or a draft: `code` (cases/inbound_reasons.py) says why, with `params`."""

    def __init__(self, code: str, **params: object) -> None:
        super().__init__(code)
        self.code = code
        self.params = params

    @property
    def reason(self) -> str:
        return describe(self.code, self.params)


@dataclass
class DecisionWork:
    """Files written to storage while deciding, removed again if the decision is rolled back."""

    stored: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def discard_files(self) -> None:
        for name in self.stored:
            try:
                default_storage.delete(name)
            except OSError:
                logger.warning("could not remove %s after a failed e-mail decision", name)


def _add_files(*, work: DecisionWork, actor: User, case: Case, files: list[Attachment], parsed: ParsedEmail) -> list[int]:
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


def _draft_description(parsed: ParsedEmail, received_at: datetime, zone: tzinfo) -> str:
    """The draft's description: stored text both sides read, so its time carries its UTC offset (in the zone of the
    person the draft is for)."""
    intro = _("Created from an e-mail from %(sender)s received on %(date)s.") % {
        "sender": parsed.sender, "date": format_instant(received_at, zone)}
    body = parsed.text
    if len(body) > MAX_DESCRIPTION_CHARS:
        body = body[:MAX_DESCRIPTION_CHARS] + "\n…\n" + _("(Shortened; the whole e-mail is kept with the case.)")
    return f"{intro}\n\n{body}".strip()


def create_draft(*, work: DecisionWork, inbound: InboundEmail, parsed: ParsedEmail, owner: User,
                 released_by: User | None = None) -> Case:
    """A draft case for `owner`'s authority: items from the body and CSV/XLSX attachments, other files as
    evidence; the owner is told by e-mail (after commit) that it awaits their confirmation."""
    items, files = items_and_files(parsed)
    work.notes.extend(items.notes)
    if not items.rows and not parsed.text.strip() and not files:
        raise Unprocessable("no_content")
    platform = _platform()
    if platform is None:
        raise Unprocessable("no_platform")
    category = Category.objects.filter(slug="other").first() or Category.objects.filter(is_active=True).first()
    if category is None:
        raise Unprocessable("no_category")
    case = create_case(actor=owner, title=_draft_title(parsed), category=category, responding_org=platform,
                       description=_draft_description(parsed, inbound.received_at, zone_named(owner.time_zone)),
                       items=items.rows)
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
        defaults={"case": case, "title": title[:300], "url": case.get_absolute_url(), "emailed_at": timezone.now(),
                  "event": {"action": "email.draft_created", "reference": case.reference}},
    )
    headers = {"Auto-Submitted": "auto-replied", "X-Liaison-Case": case.reference}
    if not inbound.message_id.startswith("sha256:"):
        headers.update({"In-Reply-To": inbound.message_id, "References": inbound.message_id})
    message = OutgoingEmail(subject=f"[Liaison {case.reference}] {title}", body=body, to=[owner.email],
                            headers=headers)
    jobs.enqueue_email(message)  # in this transaction; a mail server that is down delays it, never loses it


@dataclass(frozen=True)
class _ReplyClaim:
    """What the message says it answers: a reply token it was sent to, or only a reference in its subject."""

    token: ReplyToken | None
    reference: str

    @property
    def case(self) -> Case | None:
        return Case.objects.filter(reference=self.reference).first() if self.reference else None


def _reply_claim(parsed: ParsedEmail) -> _ReplyClaim | None:
    tokens = [t for t in (read_reply_address(a) for a in parsed.recipients) if t is not None]
    ranked = sorted(tokens, key=lambda t: ("valid", "expired", "forged").index(t.status))
    token = ranked[0] if ranked else None
    match = SUBJECT_REFERENCE.search(parsed.subject)
    reference = token.reference if token is not None and token.reference else (
        match.group("ref").upper() if match else "")
    if token is None and not reference:
        return None
    return _ReplyClaim(token, reference)


def post_reply(*, work: DecisionWork, inbound: InboundEmail, parsed: ParsedEmail, user: User, case: Case,
                released_by: User | None = None) -> Message:
    body = strip_quoted(parsed.text)
    if not body and not parsed.attachments:
        raise Unprocessable("no_reply_content")
    evidence_ids = _add_files(work=work, actor=user, case=case, files=parsed.attachments, parsed=parsed)
    if not body and not evidence_ids:
        raise Unprocessable("no_reply_content")
    if not body:
        body = _("(Files sent by e-mail.)")
    limit = MAX_MESSAGE_LENGTH - 200
    if len(body) > limit:
        body = body[:limit] + "\n\n" + _("(Shortened; the whole e-mail is kept by Liaison.)")
    # A clash may share its Message-ID with a message already posted; the row's own id is unique.
    email_id = inbound.message_id if not Message.objects.filter(email_message_id=inbound.message_id).exists() \
        else f"inbound:{inbound.pk}"
    message = post_message(actor=user, case=case, body=body, evidence_ids=evidence_ids, email_message_id=email_id)
    audit.record(actor=released_by or user, action="email.reply_added", case=case, obj=inbound,
                 data={"message_id": inbound.message_id, "message": message.pk, "evidence": evidence_ids,
                       "sender": user.email, "via": "released" if released_by else "reply_address",
                       "released_by": released_by.email if released_by else None,
                       "notes": work.notes})
    return message


def _check_sender(parsed: ParsedEmail, inbound: InboundEmail) -> User:
    """The authenticated member who wrote the message, or Unprocessable saying why not."""
    if parsed.sender_problem:
        raise Unprocessable(parsed.sender_problem, header=parsed.from_header, name=parsed.sender_name,
                            sender=parsed.sender)
    if parsed.automatic:
        raise Unprocessable("automatic", why=parsed.automatic)
    verdict = assess(parsed.authentication_results, from_domain=parsed.sender_domain,
                     authserv_id=settings.LIAISON_TRUSTED_AUTHSERV_ID,
                     require_dkim=settings.LIAISON_INBOUND_REQUIRE_DKIM_ALIGNMENT)
    inbound.authentication = verdict.as_dict()
    if not verdict.authenticated:
        raise Unprocessable(verdict.problem, server=verdict.authserv_id or settings.LIAISON_TRUSTED_AUTHSERV_ID,
                            sender=parsed.sender, domain=verdict.from_domain, header_from=verdict.header_from,
                            **verdict.details)
    user = User.objects.select_related("membership__organization").filter(email__iexact=parsed.sender).first()
    if user is None:
        raise Unprocessable("unknown_sender", sender=parsed.sender)
    membership = membership_of(user)
    if membership is None or not membership.organization.is_active:
        raise Unprocessable("inactive_sender", sender=parsed.sender)
    return user


def _decide(*, work: DecisionWork, inbound: InboundEmail, parsed: ParsedEmail) -> None:
    """Set the outcome of a RECEIVED message, or raise Unprocessable. Fails closed: only an authenticated
    member's reply with a valid token of their own posts, and only an authenticated authority member's new
    message becomes a draft."""
    claim = _reply_claim(parsed)
    if claim is not None:
        inbound.reply_case = claim.case
    user = _check_sender(parsed, inbound)
    if claim is not None:
        token = claim.token
        if token is None:
            raise Unprocessable("subject_reference_only", reference=claim.reference)
        if token.status == "forged":
            raise Unprocessable("forged_token", address=token.address)
        if token.status == "expired":
            raise Unprocessable("expired_token", reference=claim.reference,
                                issued=token.issued.isoformat() if token.issued else "")
        if token.user_id != user.pk:
            raise Unprocessable("token_other_recipient", sender=parsed.sender, reference=claim.reference)
        case = claim.case
        if case is None or not permissions.can_view_case(user, case):
            raise Unprocessable("case_not_visible", reference=claim.reference)
        if not permissions.can_post_message(user, case):
            raise Unprocessable("may_not_post", reference=claim.reference)
        post_reply(work=work, inbound=inbound, parsed=parsed, user=user, case=case)
        inbound.status, inbound.case = InboundEmail.Status.REPLY, case
    else:
        membership = membership_of(user)
        if membership is None or membership.organization.kind != OrgKind.AUTHORITY:
            raise Unprocessable("platform_new_message")
        if not permissions.can_create_case(user):
            raise Unprocessable("may_not_create")
        inbound.case = create_draft(work=work, inbound=inbound, parsed=parsed, owner=user)
        inbound.status = InboundEmail.Status.DRAFT
    inbound.reason = "\n".join(work.notes)
    inbound.save(update_fields=["status", "case", "reason", "authentication", "reply_case"])


# --- Ingesting -------------------------------------------------------------------------------------


def _store(raw: bytes, digest: str, parsed: ParsedEmail) -> tuple[InboundEmail, bool]:
    """The message kept whole before anything is decided. Returns (row, created); the existing row when these
    exact bytes were stored already (delivered twice, perhaps at the same moment)."""
    name = default_storage.save(f"inbound/{timezone.now():%Y/%m}/{uuid.uuid4().hex}.eml", ContentFile(raw))
    try:
        with transaction.atomic():
            inbound = InboundEmail.objects.create(
                message_id=parsed.message_id,
                sender=parsed.sender[:320],
                subject=parsed.subject[:500],
                raw_storage_name=name, raw_sha256=digest, size=len(raw),
            )
            audit.record(action="email.received", obj=inbound,
                         data={"message_id": parsed.message_id, "sender": inbound.sender,
                               "subject": inbound.subject, "sha256": digest, "size": len(raw)})
    except IntegrityError:
        default_storage.delete(name)  # the same bytes, stored by a delivery running at the same moment
        return InboundEmail.objects.get(raw_sha256=digest), False
    except BaseException:
        default_storage.delete(name)
        raise
    return inbound, True


def _quarantine(pk: int, code: str, reason: str, *, authentication: dict[str, object] | None = None,
                reply_case: Case | None = None) -> InboundEmail:
    with transaction.atomic():
        inbound = InboundEmail.objects.select_for_update().get(pk=pk)
        if inbound.status != InboundEmail.Status.RECEIVED:
            return inbound
        inbound.status, inbound.reason_code, inbound.case = InboundEmail.Status.QUARANTINED, code, None
        inbound.reason = "\n".join(line for line in (reason, inbound.reason) if line)
        if authentication is not None:
            inbound.authentication = authentication
        if reply_case is not None:
            inbound.reply_case = reply_case
        inbound.save(update_fields=["status", "reason", "reason_code", "case", "authentication", "reply_case"])
        audit.record(action="email.quarantined", obj=inbound,
                     data={"message_id": inbound.message_id, "sender": inbound.sender, "code": code,
                           "reason": reason, "authentication": inbound.authentication,
                           "looks_like_reply_to": inbound.reply_case.reference if inbound.reply_case else None})
    return inbound


def ingest(raw: bytes) -> InboundEmail:
    """Store, deduplicate and decide one RFC 5322 message. Returns its InboundEmail (the existing one for bytes
    seen before). Raises only when the system itself fails (storage, database)."""
    raw = bytes(raw)
    digest = hashlib.sha256(raw).hexdigest()
    failure = ""
    try:
        parsed = parse_email(raw)
    except Exception as exc:  # hostile or broken input: keep it, quarantine it
        failure = error_text(exc)
        parsed = headers_only(raw)
    inbound = InboundEmail.objects.filter(raw_sha256=digest).first()
    if inbound is None:
        inbound, _created = _store(raw, digest, parsed)
    if inbound.status != InboundEmail.Status.RECEIVED:
        logger.info("e-mail %s (sha256 %s) seen before (%s); nothing done", parsed.message_id, digest,
                    inbound.status)
        return inbound
    if failure:
        return _quarantine(inbound.pk, "unreadable", describe("unreadable", {"error": failure}))
    first = (InboundEmail.objects.filter(message_id=inbound.message_id).exclude(pk=inbound.pk)
             .order_by("received_at", "pk").first())
    if first is not None:
        params = {"message_id": inbound.message_id, "first_id": first.pk,
                  "first": format_instant(first.received_at, UTC)}
        code = "redelivered" if _same_content(raw, first) else "message_id_clash"
        return _quarantine(inbound.pk, code, describe(code, params))
    return _process(inbound.pk, parsed)


def _same_content(raw: bytes, first: InboundEmail) -> bool:
    try:
        earlier = queries.read_stored_email(first)
    except OSError:
        return False
    return content_fingerprint(earlier) == content_fingerprint(raw)


def _process(pk: int, parsed: ParsedEmail) -> InboundEmail:
    work = DecisionWork()
    seen = InboundEmail(pk=pk)
    try:
        with transaction.atomic():
            # The row lock makes a second delivery arriving meanwhile wait, then find the decision made.
            inbound = InboundEmail.objects.select_for_update().get(pk=pk)
            if inbound.status != InboundEmail.Status.RECEIVED:
                return inbound
            seen = inbound
            _decide(work=work, inbound=inbound, parsed=parsed)
            return inbound
    except Unprocessable as exc:
        work.discard_files()
        code, reason = exc.code, exc.reason
    except Exception as exc:
        work.discard_files()
        logger.exception("e-mail %s could not be processed", pk)
        code, reason = "error", describe("error", {"error": error_text(exc)})
    # What was learnt before the decision failed (the verdict, the case it claims to answer) is kept.
    return _quarantine(pk, code, reason, authentication=seen.authentication or None, reply_case=seen.reply_case)
