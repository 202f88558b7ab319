"""Reading an e-mail: RFC 5322 bytes to a ParsedEmail (sender, recipients, subject, text, attachments).

Pure: no database and no decisions (the inbound actions decide). Hostile structure is bounded (nesting depth,
HTML size); `parse_email` may raise on a message that cannot be read, and `headers_only` then says what can
still be said of it. HTML bodies become text with each link's address kept, so listed URLs are found.
"""

from __future__ import annotations

import codecs
import email
import email.policy
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from email import errors
from email.message import Message as MimePart
from email.utils import getaddresses
from html.parser import HTMLParser

POLICY = email.policy.default
MAX_DEPTH = 20  # nested multiparts and forwarded messages; deeper is hostile, not mail
MAX_HTML_CHARS = 2_000_000
# Something shaped like an e-mail address inside a display name ("ministry@gov.example <x@evil.example>").
ADDRESS_LIKE = re.compile(r"[^\s@<>\"]+@[^\s@<>\"]+\.[a-z]{2,}", re.IGNORECASE)
# Signatures of the message itself (S/MIME, PGP): proof of origin for the stored original, not evidence.
SIGNATURE_TYPES = frozenset({"application/pkcs7-signature", "application/x-pkcs7-signature",
                             "application/pgp-signature", "application/pgp-keys"})
SPREADSHEET_TYPES = {"text/csv": "csv", "application/csv": "csv",
                     "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx"}


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
    # Why the From header cannot name one sender for sure (a code of cases/inbound_reasons.py), or "".
    sender_problem: str = ""
    from_header: str = ""
    subject: str = ""
    date: str = ""
    recipients: list[str] = field(default_factory=list)
    # Authentication-Results header values, top (most recent) first; cases/email_authentication.py reads them.
    authentication_results: list[str] = field(default_factory=list)
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


@dataclass(frozen=True)
class Sender:
    address: str = ""
    name: str = ""
    problem: str = ""
    header: str = ""


def read_sender(message: MimePart) -> Sender:
    """The one address of the From header, read by the standard library's modern header parser.

    No address, several addresses, a header the parser finds invalid, or a display name that itself looks
    like an address ("ministry@gov.example <attacker@evil.example>") give a `problem` instead of a sender
    to trust; the legacy parser would have read some of these as the address in the display name.
    """
    raw = _header_values(message, "From")
    shown = " | ".join(raw)[:300]
    if not raw:
        return Sender(problem="no_sender")
    if len(raw) > 1:
        return Sender(problem="several_senders", header=shown)
    try:
        header = message["From"]
        addresses = list(getattr(header, "addresses", ()))
        defects = list(getattr(header, "defects", ()))
    except Exception:  # the parser gave up on it: not a header to trust
        return Sender(problem="malformed_from", header=shown)
    if any(isinstance(defect, errors.InvalidHeaderDefect) for defect in defects):
        return Sender(problem="malformed_from", header=shown)
    if not addresses:
        return Sender(problem="no_sender", header=shown)
    if len(addresses) > 1:
        return Sender(problem="several_senders", header=shown)
    address = addresses[0]
    name = " ".join(str(address.display_name).split())
    if not address.username or not address.domain or "@" in address.domain:
        return Sender(name=name, problem="no_sender", header=shown)
    spec = str(address.addr_spec).strip().lower()
    if ADDRESS_LIKE.search(name):
        return Sender(address=spec, name=name, problem="address_in_display_name", header=shown)
    return Sender(address=spec, name=name, header=shown)


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
    sender = read_sender(message)
    recipients = _addresses(
        value for header in ("To", "Cc", "Delivered-To", "X-Original-To") for value in _header_values(message, header)
    )
    text = "\n\n".join(t.strip("\n") for t in found.texts if t.strip())
    return ParsedEmail(
        message_id=message_id_of(message, raw),
        sender=sender.address,
        sender_name=sender.name,
        sender_problem=sender.problem,
        from_header=sender.header,
        subject=_header(message, "Subject"),
        date=_header(message, "Date"),
        recipients=recipients,
        authentication_results=_header_values(message, "Authentication-Results"),
        automatic=_automatic(message),
        text=normalise_newlines(text),
        html="\n".join(found.html)[:MAX_HTML_CHARS],
        attachments=found.attachments,
        headers=[(h, v) for h in ("From", "To", "Cc", "Date", "Subject", "Message-ID", "Authentication-Results")
                 for v in _header_values(message, h)],
    )


def normalise_newlines(text: str) -> str:
    # NUL is never text, and PostgreSQL refuses it in text columns.
    text = text.replace("\x00", "").replace("\r\n", "\n").replace("\r", "\n")
    return re.sub(r"\n{3,}", "\n\n", text).strip()


# Headers that servers add on the way (each route writes its own); the rest is what the sender sent.
TRACE_HEADERS = frozenset({"received", "return-path", "delivered-to", "x-original-to", "authentication-results",
                           "arc-seal", "arc-message-signature", "arc-authentication-results", "x-received",
                           "received-spf", "x-spam-status", "x-spam-score", "x-spam-flag"})


def content_fingerprint(raw: bytes) -> str:
    """SHA-256 of the message without the trace headers added on its way: the same for two deliveries of one
    message by different routes, different for any change by the sender."""
    head, separator, body = raw.replace(b"\r\n", b"\n").partition(b"\n\n")
    kept: list[bytes] = []
    skipping = False
    for line in head.split(b"\n"):
        if line[:1] in (b" ", b"\t"):
            if not skipping:
                kept.append(line)
            continue
        name = line.split(b":", 1)[0].strip().lower().decode("ascii", "replace")
        skipping = name in TRACE_HEADERS
        if not skipping:
            kept.append(line)
    return hashlib.sha256(b"\n".join(kept) + separator + body).hexdigest()


def headers_only(raw: bytes) -> ParsedEmail:
    """What can be said of a message whose body could not be read: who sent it, about what."""
    try:
        message = email.message_from_bytes(raw, policy=POLICY)
        sender = read_sender(message)
        return ParsedEmail(message_id=message_id_of(message, raw), subject=_header(message, "Subject"),
                           sender=sender.address, sender_name=sender.name, sender_problem=sender.problem,
                           from_header=sender.header)
    except Exception:
        return ParsedEmail(message_id=message_id_of(None, raw))


def error_text(exc: BaseException) -> str:
    messages = getattr(exc, "messages", None)
    return " ".join(str(m) for m in messages) if messages else f"{type(exc).__name__}: {exc}"


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
        return normalise_newlines("\n".join(lines))


def html_to_text(markup: str) -> str:
    parser = _TextFromHTML()
    parser.feed(markup[:MAX_HTML_CHARS])
    parser.close()
    return parser.text()
