"""E-mail in: replies to notifications land in the thread, an authority's new list becomes a draft case,
and everything else waits in quarantine for a T&S manager.

`ingest(raw)` is called by `manage.py ingest_email` (an MTA pipe or a Maildir poll) and by a Celery task.
Every message is stored whole (private storage, SHA-256 on its row) before anything is decided, each
decision is an audit event, and bad input never raises: it ends QUARANTINED with the reason. Only a
failure of the system itself (storage, database) raises, so the MTA or the Maildir keeps the message and
delivers it again; the same Message-ID delivered twice creates nothing twice.
"""

from __future__ import annotations

import codecs
import email
import email.policy
import hashlib
import io
import logging
import os
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from email.message import Message as MimePart
from email.utils import getaddresses, parseaddr
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

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

from . import actions, audit, intake, permissions
from .evidence import EvidenceRejected
from .models import Case, Category, InboundEmail, Notification, NotificationKind
from .notifications import REPLY_PATTERN, parse_reply_address

logger = logging.getLogger(__name__)

POLICY = email.policy.default
MAX_DEPTH = 20  # nested multiparts and forwarded messages; deeper is hostile, not mail
MAX_HTML_CHARS = 2_000_000
MAX_DESCRIPTION_CHARS = 10_000
SUBJECT_REFERENCE = re.compile(r"\[\s*Liaison\s+(?P<ref>[A-Z]{2}-\d{4}-\d{6})\s*\]", re.IGNORECASE)
SUBJECT_PREFIXES = re.compile(r"^\s*(?:(?:re|fwd?|fw|tr|rv|aw|wg|sv|vs|balas|terusan)\s*(?:\[\d+\])?\s*:\s*)+",
                              re.IGNORECASE)
AUTH_RESULT = re.compile(r"\b(dkim|spf|dmarc)\s*=\s*([a-z]+)", re.IGNORECASE)
CANDIDATE = re.compile(
    r"(?P<url>(?:https?://|(?<![\w@./-])(?:www\.)?(?:t\.me|telegram\.me|telegram\.dog)/)[^\s<>\"'`{}|\\^\[\]]+)"
    r"|(?P<handle>(?<![\w@./+-])@[A-Za-z0-9_]{5,32}(?![\w@-])(?!\.[A-Za-z0-9]))",
    re.IGNORECASE,
)
TRAILING_PUNCTUATION = ".,;:!?'\"»”’)*_"
# Signatures of the message itself (S/MIME, PGP): proof of origin for the stored original, not evidence.
SIGNATURE_TYPES = frozenset({"application/pkcs7-signature", "application/x-pkcs7-signature",
                             "application/pgp-signature", "application/pgp-keys"})
SPREADSHEET_TYPES = {"text/csv": "csv", "application/csv": "csv",
                     "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx"}


class Unprocessable(Exception):
    """The message cannot become a reply or a draft; `reason` says why, for the T&S manager reviewing it."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


# --- Reading a message ---------------------------------------------------------------------------


@dataclass
class Attachment:
    name: str
    content_type: str
    data: bytes
    inline: bool = False

    @property
    def spreadsheet_suffix(self) -> str:
        """The list format (csv, xlsx) when this attachment is a list of items to read, else empty."""
        suffix = self.name.rpartition(".")[2].lower() if "." in self.name else ""
        if suffix in ("csv", "xlsx"):
            return suffix
        return SPREADSHEET_TYPES.get(self.content_type, "")


@dataclass
class ParsedEmail:
    message_id: str = ""
    sender: str = ""
    sender_name: str = ""
    subject: str = ""
    date: str = ""
    recipients: list[str] = field(default_factory=list)
    auth_failures: list[str] = field(default_factory=list)
    automatic: str = ""
    text: str = ""
    html: str = ""
    attachments: list[Attachment] = field(default_factory=list)
    headers: list[tuple[str, str]] = field(default_factory=list)

    @property
    def sender_domain(self) -> str:
        return self.sender.rpartition("@")[2]


def _header_values(message: MimePart, name: str) -> list[str]:
    """Decoded values of a header (RFC 2047 words decoded); the raw text when decoding fails."""
    try:
        return [" ".join(str(value).split()) for value in message.get_all(name) or []]
    except Exception:  # a malformed header may fail to parse; its raw form still says something
        raw = [value for key, value in message.raw_items() if key.lower() == name.lower()]
        return [" ".join(str(value).split()) for value in raw]


def _header(message: MimePart, name: str) -> str:
    values = _header_values(message, name)
    return values[0] if values else ""


def message_id_of(message: MimePart | None, raw: bytes) -> str:
    """The Message-ID; without one, `sha256:<hash of the raw bytes>` so a redelivery is still recognised."""
    value = "".join(_header(message, "Message-ID").split()) if message is not None else ""
    if not value:
        return "sha256:" + hashlib.sha256(raw).hexdigest()
    if len(value) > 255:
        return "sha256:" + hashlib.sha256(value.encode("utf-8", "replace")).hexdigest()
    return value


def _addresses(values: Iterable[str]) -> list[str]:
    try:
        pairs = getaddresses(list(values))
    except Exception:
        return []
    return list(dict.fromkeys(address.strip().lower() for _name, address in pairs if "@" in address))


def _decode_text(part: MimePart) -> str:
    try:
        data = part.get_payload(decode=True)
    except Exception:
        data = None
    if not isinstance(data, bytes):
        payload = part.get_payload()
        data = payload.encode("utf-8", "replace") if isinstance(payload, str) else b""
    charset = (part.get_content_charset() or "utf-8").strip().lower()
    if charset in ("us-ascii", "ascii", "unknown-8bit", "x-unknown"):
        charset = "utf-8"  # mislabelled UTF-8 is far commoner than real 7-bit text with 8-bit bytes
    try:
        codecs.lookup(charset)
    except LookupError:
        charset = "utf-8"
    for candidate in (charset, "utf-8"):
        try:
            return data.decode(candidate)
        except (UnicodeDecodeError, LookupError):
            continue
    return data.decode("cp1252", errors="replace")


def _filename(part: MimePart) -> str:
    try:
        name = part.get_filename() or ""
    except Exception:
        name = ""
    name = "".join(ch for ch in str(name) if ch.isprintable()).replace("\\", "/").rsplit("/", 1)[-1].strip()
    return name[:255]


def _disposition(part: MimePart) -> str:
    try:
        return part.get_content_disposition() or ""
    except Exception:
        return ""


def _subparts(part: MimePart) -> list[MimePart]:
    payload = part.get_payload()
    if isinstance(payload, list):
        return [p for p in payload if isinstance(p, MimePart)]
    return []


def _is_body_text(part: MimePart) -> bool:
    return (
        part.get_content_type() in ("text/plain", "text/html")
        and _disposition(part) != "attachment"
        and not _filename(part)
    )


def _has_text(part: MimePart, content_type: str, depth: int = 0) -> bool:
    if depth > MAX_DEPTH:
        return False
    if part.is_multipart():
        return any(_has_text(sub, content_type, depth + 1) for sub in _subparts(part))
    return part.get_content_type() == content_type and _is_body_text(part) and bool(_decode_text(part).strip())


def _preferred_alternative(parts: list[MimePart]) -> MimePart | None:
    """Of multipart/alternative: the plain text if it says anything, else the HTML, else the richest."""
    for content_type in ("text/plain", "text/html"):
        for part in parts:
            if _has_text(part, content_type):
                return part
    return parts[-1] if parts else None


@dataclass
class _Collected:
    texts: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)


def _walk(part: MimePart, found: _Collected, depth: int, want_text: bool) -> None:
    if depth > MAX_DEPTH:
        raise ValueError(f"the message nests more than {MAX_DEPTH} levels deep")
    content_type = part.get_content_type()
    if content_type in ("message/rfc822", "message/global"):
        # A forwarded message counts as if it had been written here: its body and its attachments.
        inner = _subparts(part)
        if not inner:
            data = part.get_payload(decode=True)
            inner = [email.message_from_bytes(data, policy=POLICY)] if isinstance(data, bytes) and data else []
        for message in inner:
            if want_text:
                found.texts.append(_forwarded_banner(message))
            _walk(message, found, depth + 1, want_text)
        return
    if part.is_multipart():
        subparts = _subparts(part)
        if content_type == "multipart/alternative":
            preferred = _preferred_alternative(subparts)
            for sub in subparts:
                _walk(sub, found, depth + 1, want_text and sub is preferred)
        else:
            for sub in subparts:
                _walk(sub, found, depth + 1, want_text)
        return
    if content_type in SIGNATURE_TYPES:
        return
    if _is_body_text(part):
        if want_text:
            text = _decode_text(part)
            if content_type == "text/html":
                found.html.append(text)
                text = html_to_text(text)
            found.texts.append(text)
        return
    try:
        data = part.get_payload(decode=True)
    except Exception:
        data = None
    if not isinstance(data, bytes) or not data:
        return
    found.attachments.append(Attachment(
        name=_filename(part) or _unnamed(len(found.attachments) + 1, content_type),
        content_type=content_type, data=data, inline=_disposition(part) == "inline",
    ))


def _unnamed(number: int, content_type: str) -> str:
    import mimetypes

    extension = mimetypes.guess_extension(content_type) if content_type != "application/octet-stream" else None
    return f"attachment-{number}{extension or ''}"


def _forwarded_banner(message: MimePart) -> str:
    # Mail format, as mail clients write it; not translated (it is part of the message's text).
    return (f"---------- Forwarded message ----------\nFrom: {_header(message, 'From')}\n"
            f"Date: {_header(message, 'Date')}\nSubject: {_header(message, 'Subject')}")


def _auth_failures(message: MimePart) -> list[str]:
    failures = []
    for value in _header_values(message, "Authentication-Results"):
        for method, result in AUTH_RESULT.findall(value):
            if result.lower() == "fail":
                failures.append(f"{method.lower()}=fail")
    for value in _header_values(message, "Received-SPF"):
        if value.lower().startswith("fail"):
            failures.append("spf=fail")
    return sorted(set(failures))


def _automatic(message: MimePart) -> str:
    """Why this looks like an automatic message (out-of-office, bounce, our own confirmation), or ""."""
    auto_submitted = _header(message, "Auto-Submitted").lower()
    if auto_submitted and not auto_submitted.startswith("no"):
        return f"Auto-Submitted: {auto_submitted}"
    for name in ("X-Autoreply", "X-Autorespond"):
        if _header(message, name):
            return name
    if _header(message, "Precedence").lower() in ("auto_reply", "junk"):
        return "Precedence: " + _header(message, "Precedence").lower()
    return ""


def parse_email(raw: bytes) -> ParsedEmail:
    """Everything Liaison reads of a message. May raise on hostile structure; `ingest` quarantines then."""
    message = email.message_from_bytes(raw, policy=POLICY)
    found = _Collected()
    _walk(message, found, 0, True)
    name, sender = parseaddr(_header(message, "From"))
    recipients = _addresses(
        value for header in ("To", "Cc", "Delivered-To", "X-Original-To") for value in _header_values(message, header)
    )
    text = "\n\n".join(t.strip("\n") for t in found.texts if t.strip())
    return ParsedEmail(
        message_id=message_id_of(message, raw),
        sender=sender.strip().lower() if "@" in sender else "",
        sender_name=name.strip(),
        subject=_header(message, "Subject"),
        date=_header(message, "Date"),
        recipients=recipients,
        auth_failures=_auth_failures(message),
        automatic=_automatic(message),
        text=_normalise_newlines(text),
        html="\n".join(found.html)[:MAX_HTML_CHARS],
        attachments=found.attachments,
        headers=[(h, v) for h in ("From", "To", "Cc", "Date", "Subject", "Message-ID", "Authentication-Results")
                 for v in _header_values(message, h)],
    )


def _normalise_newlines(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return re.sub(r"\n{3,}", "\n\n", text).strip()


# --- HTML to text -------------------------------------------------------------------------------


class _TextFromHTML(HTMLParser):
    """Text of an HTML body with each link's address kept (``text <href>``), so listed URLs are found."""

    BLOCKS = frozenset({"p", "div", "br", "li", "tr", "table", "ul", "ol", "blockquote", "pre", "hr", "h1", "h2",
                        "h3", "h4", "h5", "h6", "section", "article", "header", "footer", "dt", "dd"})
    SKIPPED = frozenset({"script", "style", "head", "title", "template", "noscript", "svg"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0
        self.links: list[tuple[str, int]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIPPED:
            self.skipping += 1
            return
        if tag in self.BLOCKS:
            self.parts.append("\n")
        if tag == "li":
            self.parts.append("- ")
        if tag in ("td", "th"):
            self.parts.append(" ")
        if tag == "a":
            href = (dict(attrs).get("href") or "").strip()
            self.links.append((href, len(self.parts)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIPPED:
            self.skipping = max(self.skipping - 1, 0)
            return
        if tag == "a" and self.links:
            href, start = self.links.pop()
            shown = "".join(self.parts[start:]).strip()
            if href.lower().startswith(("http://", "https://", "tg:")) and href.rstrip("/") not in shown:
                self.parts.append(f" <{href}>")
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(re.sub(r"\s+", " ", data))

    def text(self) -> str:
        lines = (" ".join(line.split()) for line in "".join(self.parts).split("\n"))
        return _normalise_newlines("\n".join(lines))


def html_to_text(markup: str) -> str:
    parser = _TextFromHTML()
    parser.feed(markup[:MAX_HTML_CHARS])
    parser.close()
    return parser.text()


# --- Replies: what is new in them -----------------------------------------------------------------

_QUOTE_INTRO = re.compile(r"^\s*(?:on|pada)\s.*\b(?:wrote|menulis)\s*:\s*$", re.IGNORECASE | re.DOTALL)
_SEPARATOR = re.compile(r"^\s*-{2,}\s*(?:original message|pesan asli|forwarded message|pesan yang diteruskan)"
                        r"\s*-{2,}\s*$", re.IGNORECASE)
_OUTLOOK_FROM = re.compile(r"^\s*\*?(?:from|dari)\s*:\*?\s", re.IGNORECASE)
_OUTLOOK_NEXT = re.compile(r"^\s*\*?(?:sent|dikirim|date|tanggal|to|kepada)\s*:", re.IGNORECASE)


def _starts_quoted_history(lines: list[str], index: int) -> bool:
    line = lines[index]
    if _SEPARATOR.match(line):
        return True
    if re.match(r"^\s*(?:on|pada)\s", line, re.IGNORECASE):
        # Mail clients wrap a long "On <date>, <name> <address> wrote:" over two or three lines.
        for extra in range(3):
            if _QUOTE_INTRO.match(" ".join(lines[index:index + extra + 1])):
                return True
    if _OUTLOOK_FROM.match(line):
        return any(_OUTLOOK_NEXT.match(following) for following in lines[index + 1:index + 5])
    return False


def strip_quoted(text: str) -> str:
    """The new part of a reply: no "> " lines, nothing from "On … wrote:" / "Pada … menulis:" /
    "-----Original Message-----" on, and no signature after "-- "."""
    lines = text.replace("\r\n", "\n").split("\n")
    kept: list[str] = []
    for index, line in enumerate(lines):
        if _starts_quoted_history(lines, index):
            break
        if line.rstrip() == "--" or line == "-- ":
            break
        if line.lstrip().startswith(">"):
            continue
        kept.append(line)
    return _normalise_newlines("\n".join(kept))


# --- New messages: the items they list ------------------------------------------------------------


def _host_of(candidate: str) -> str:
    url = candidate if "://" in candidate else "//" + candidate
    try:
        host = (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""
    return host[4:] if host.startswith("www.") else host


def _own_hosts(parsed: ParsedEmail) -> set[str]:
    """Links to these are the sender's signature or Liaison itself, never reported items."""
    hosts = {_host_of(settings.SITE_URL), settings.LIAISON_REPLY_DOMAIN.lower()}
    if parsed.sender_domain:
        hosts.add(parsed.sender_domain)
    return {h for h in hosts if h}


def find_candidates(text: str, *, ignore_hosts: Iterable[str] = ()) -> list[str]:
    """http(s) URLs, t.me links and @handles in the order they appear, each once.

    E-mail addresses are not handles (the @ follows a letter); links to `ignore_hosts` (and their
    subdomains) are skipped; a signature after a "-- " line is not read.
    """
    body = _without_signatures(text)
    ignored = tuple(ignore_hosts)
    seen: set[str] = set()
    found: list[str] = []
    for match in CANDIDATE.finditer(body):
        candidate = match.group(0)
        if match.group("url"):
            candidate = _trim_url(candidate)
            host = _host_of(candidate)
            if any(host == h or host.endswith("." + h) for h in ignored):
                continue
        if candidate not in seen:
            seen.add(candidate)
            found.append(candidate)
    return found


def _without_signatures(text: str) -> str:
    """Drop each signature (a "-- " line up to the next forwarded or original message, or the end)."""
    kept, in_signature = [], False
    for line in text.split("\n"):
        if line.rstrip() == "--":
            in_signature = True
        elif _SEPARATOR.match(line):
            in_signature = False
        if not in_signature:
            kept.append(line)
    return "\n".join(kept)


def _trim_url(url: str) -> str:
    while url and url[-1] in TRAILING_PUNCTUATION:
        if url[-1] == ")" and url.count("(") >= url.count(")"):
            break
        url = url[:-1]
    return url


@dataclass
class _Items:
    rows: list[intake.AcceptedRow] = field(default_factory=list)
    rejected: int = 0
    notes: list[str] = field(default_factory=list)

    def add(self, parsed: intake.Intake) -> None:
        keys = {row.key for row in self.rows}
        self.rows.extend(row for row in parsed.accepted if row.key not in keys)
        self.rejected += len(parsed.rejected)


def _items_and_files(parsed: ParsedEmail) -> tuple[_Items, list[Attachment]]:
    items = _Items()
    candidates = find_candidates(parsed.text, ignore_hosts=_own_hosts(parsed))
    if candidates:
        # A tab ends each target, so parse_text never takes a comma inside a link for a note.
        items.add(intake.parse_text("\n".join(f"{c}\t" for c in candidates)))
    files = []
    for attachment in parsed.attachments:
        suffix = attachment.spreadsheet_suffix
        if not suffix:
            files.append(attachment)
            continue
        name = attachment.name if attachment.name.lower().endswith("." + suffix) else f"{attachment.name}.{suffix}"
        try:
            from_file = intake.parse_upload(name, attachment.data)
        except intake.IntakeFileError as exc:
            items.notes.append(_("%(name)s could not be read as a list (%(error)s); it is kept as evidence.")
                               % {"name": attachment.name, "error": exc.message})
            files.append(attachment)
            continue
        items.add(from_file)
        if from_file.rejected:
            items.notes.append(_("%(count)d row(s) of %(name)s could not be read.")
                               % {"count": len(from_file.rejected), "name": attachment.name})
    return items, files


# --- Decisions ------------------------------------------------------------------------------------


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
            result = actions.add_evidence(actor=actor, case=case, source=io.BytesIO(attachment.data),
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


def _draft_description(parsed: ParsedEmail, received_at: Any) -> str:
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
    items, files = _items_and_files(parsed)
    work.notes.extend(items.notes)
    if not items.rows and not parsed.text.strip() and not files:
        raise Unprocessable("no_content", _("The e-mail has no usable content: no links, no text, no files."))
    platform = _platform()
    if platform is None:
        raise Unprocessable("no_platform", _("No active platform organisation exists to address a case to."))
    category = Category.objects.filter(slug="other").first() or Category.objects.filter(is_active=True).first()
    if category is None:
        raise Unprocessable("no_category", _("No case category exists."))
    case = actions.create_case(actor=owner, title=_draft_title(parsed), category=category, responding_org=platform,
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
    limit = actions.MAX_MESSAGE_LENGTH - 200
    if len(body) > limit:
        body = body[:limit] + "\n\n" + _("(Shortened; the whole e-mail is kept by Liaison.)")
    message = actions.post_message(actor=user, case=case, body=body, evidence_ids=evidence_ids,
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


def _error_text(exc: BaseException) -> str:
    messages = getattr(exc, "messages", None)
    return " ".join(str(m) for m in messages) if messages else f"{type(exc).__name__}: {exc}"


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
        failure = _error_text(exc)
        parsed = _headers_only(raw)
    inbound = InboundEmail.objects.filter(message_id=parsed.message_id).first()
    if inbound is None:
        inbound = _store(raw, digest, parsed)
    if inbound.status != InboundEmail.Status.RECEIVED:
        logger.info("e-mail %s seen before (%s); nothing done", parsed.message_id, inbound.status)
        return inbound
    if failure:
        return _quarantine(inbound.pk, "unreadable", _("The message could not be read: %(error)s") % {"error": failure})
    return _process(inbound.pk, parsed)


def _headers_only(raw: bytes) -> ParsedEmail:
    """What can be said of a message whose body could not be read: who sent it, about what."""
    try:
        message = email.message_from_bytes(raw, policy=POLICY)
        sender = parseaddr(_header(message, "From"))[1]
        return ParsedEmail(message_id=message_id_of(message, raw), subject=_header(message, "Subject"),
                           sender=sender.strip().lower() if "@" in sender else "")
    except Exception:
        return ParsedEmail(message_id=message_id_of(None, raw))


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
        code, reason = "error", _("The message could not be processed: %(error)s") % {"error": _error_text(exc)}
    return _quarantine(pk, code, reason)


def read_stored(inbound: InboundEmail) -> bytes:
    with default_storage.open(inbound.raw_storage_name, "rb") as handle:
        data: bytes = handle.read()
    return data


def release(*, inbound: InboundEmail, owner: User, actor: User) -> Case:
    """A quarantined message made into a draft for `owner` (the path of a new message, without the sender and
    authentication checks). Called by actions.release_inbound_email inside its transaction."""
    raw = read_stored(inbound)
    if hashlib.sha256(raw).hexdigest() != inbound.raw_sha256:
        raise ValidationError(_("The stored message does not match its fingerprint; it cannot be released."))
    try:
        parsed = parse_email(raw)
    except Exception as exc:
        raise ValidationError(_("The message could not be read: %(error)s") % {"error": _error_text(exc)}) from exc
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


# --- For the review page ----------------------------------------------------------------------------


@dataclass
class Review:
    parsed: ParsedEmail | None
    error: str = ""

    @property
    def attachments(self) -> list[dict[str, Any]]:
        if self.parsed is None:
            return []
        return [{"name": a.name, "content_type": a.content_type, "size": len(a.data), "inline": a.inline,
                 "list": bool(a.spreadsheet_suffix)} for a in self.parsed.attachments]


def review(inbound: InboundEmail) -> Review:
    """The stored message as a T&S manager reads it (plain text; the HTML only as source)."""
    try:
        return Review(parse_email(read_stored(inbound)))
    except FileNotFoundError:
        return Review(None, _("The stored message is missing."))
    except Exception as exc:
        return Review(None, _("The message could not be read: %(error)s") % {"error": _error_text(exc)})


# --- Maildir ----------------------------------------------------------------------------------------


@dataclass
class PollResult:
    path: str
    ingested: list[InboundEmail] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def _flags(name: str, colon: str) -> str:
    info = name.split(colon, 1)[1] if colon in name else ""
    return info[2:] if info.startswith("2,") else ""


def poll_maildir(path: str | None = None) -> PollResult:
    """Ingest every message not yet seen (new/, and cur/ without the S flag), then move it to cur/ with S.

    A message is moved only after it is stored; one that fails for a system reason stays for the next poll.
    Seen messages are recognised by their file name, so old mail is never read again.
    """
    import mailbox

    root = Path(path or settings.LIAISON_INBOUND_MAILDIR)
    for subdir in ("tmp", "new", "cur"):
        (root / subdir).mkdir(parents=True, exist_ok=True)
    colon = mailbox.Maildir(str(root), factory=None, create=True).colon
    result = PollResult(path=str(root))
    for subdir in ("new", "cur"):
        for name in sorted(os.listdir(root / subdir)):
            if name.startswith(".") or "S" in _flags(name, colon):
                continue
            source = root / subdir / name
            try:
                raw = source.read_bytes()
            except FileNotFoundError:
                continue  # another poller took it
            try:
                result.ingested.append(ingest(raw))
            except Exception:
                logger.exception("could not ingest %s; it stays in the Maildir for the next poll", source)
                result.failed.append(name)
                continue
            key = name.split(colon, 1)[0]
            flags = "".join(sorted(set(_flags(name, colon)) | {"S"}))
            try:
                os.replace(source, root / "cur" / f"{key}{colon}2,{flags}")
            except FileNotFoundError:
                pass
    return result


def describe(inbound: InboundEmail) -> str:
    """One line for a command's output."""
    line = f"{inbound.message_id}: {inbound.status}"
    if inbound.case_id:
        line += f" {Case.objects.filter(pk=inbound.case_id).values_list('reference', flat=True).first()}"
    if inbound.reason:
        line += " — " + " ".join(inbound.reason.split())
    return line
