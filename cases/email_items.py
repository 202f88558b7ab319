"""What an e-mail asks for: the new part of a reply, and the links, handles and list files of a new message.

Pure: no database. Quoted history ("On … wrote:", "Pada … menulis:", Outlook headers, "> " lines) and
signatures are left out; links to Liaison itself and to the sender's own domain are never items; CSV/XLSX
attachments are read as lists (item_lists), other attachments stay files for evidence.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _

from . import item_lists
from .email_parsing import Attachment, ParsedEmail, normalise_newlines
from .link_identity import TargetError, normalise_target

_URL_CHAR = r"[^\s<>\"'`{}|\\^\[\]]"
CANDIDATE = re.compile(
    # http(s) links, and t.me links written without a scheme.
    r"(?P<url>(?:https?://|(?<![\w@./-])(?:www\.)?(?:t\.me|telegram\.me|telegram\.dog)/)" + _URL_CHAR + r"+)"
    # Telegram's app links: tg://resolve?domain=…, tg:join?invite=…, tg://privatepost?…
    r"|(?P<app>(?<![\w@./+-])tg:(?://)?[A-Za-z_]+(?:\?" + _URL_CHAR + r"*)?)"
    # @handles: a letter first, as in every Telegram username; never the @ of an e-mail address.
    r"|(?P<handle>(?<![\w@./+-])@[A-Za-z][A-Za-z0-9_]{4,31}(?![\w@-])(?!\.[A-Za-z0-9]))"
    # Other words with a dot (name.t.me, a look-alike host, but also "e.g." or "file.pdf"): find_candidates
    # keeps only Telegram subdomains and hosts the normaliser warns about. Never the name or domain of an
    # e-mail address: nothing right after an @, and no @ right after. Atomic, so a long dotted word that
    # fails is not retried at every split (linear time on hostile bodies).
    r"|(?P<bare>(?<![\w@./+:-])(?>(?:[\w-]+\.)+[\w-]+)(?![\w@:-]|\.[\w.-]*@)(?:[/?#]" + _URL_CHAR + r"*)?)",
    re.IGNORECASE,
)
TRAILING_PUNCTUATION = ".,;:!?'\"»”’)*_"


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
    return normalise_newlines("\n".join(kept))


# --- New messages: the items they list ------------------------------------------------------------


def _host_of(candidate: str) -> str:
    url = candidate if "://" in candidate else "//" + candidate
    try:
        host = (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""
    return host[4:] if host.startswith("www.") else host


def own_hosts(parsed: ParsedEmail) -> set[str]:
    """Links to these are the sender's signature or Liaison itself, never reported items."""
    hosts = {_host_of(settings.SITE_URL), settings.LIAISON_REPLY_DOMAIN.lower()}
    if parsed.sender_domain:
        hosts.add(parsed.sender_domain)
    return {h for h in hosts if h}


def find_candidates(text: str, *, ignore_hosts: Iterable[str] = ()) -> list[str]:
    """http(s) URLs, t.me links, tg:// links, name.t.me, look-alike hosts and @handles in the order they
    appear, each once.

    E-mail addresses are not handles (the @ follows a letter) nor hosts; links to `ignore_hosts` (and their
    subdomains) are skipped; a signature after a "-- " line is not read.
    """
    body = _without_signatures(text)
    ignored = tuple(ignore_hosts)
    seen: set[str] = set()
    found: list[str] = []
    for match in CANDIDATE.finditer(body):
        candidate = match.group(0)
        if not match.group("handle"):
            candidate = _trim_url(candidate)
        if match.group("bare") and not _worth_reading(candidate):
            continue
        if match.group("url") or match.group("bare"):
            host = _host_of(candidate)
            if any(host == h or host.endswith("." + h) for h in ignored):
                continue
        if candidate not in seen:
            seen.add(candidate)
            found.append(candidate)
    return found


def _worth_reading(candidate: str) -> bool:
    """A word with a dot is an item only as name.t.me (Telegram's subdomain form of t.me/name) or as a host
    the normaliser warns about (a look-alike such as t.ме/name): both are easy to miss and worth a look."""
    if _host_of(candidate).endswith(".t.me"):
        return True
    try:
        return bool(normalise_target(candidate).warning)
    except TargetError:
        return False


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
class ListedItems:
    rows: list[item_lists.AcceptedRow] = field(default_factory=list)
    rejected: int = 0
    notes: list[str] = field(default_factory=list)

    def add(self, parsed: item_lists.Intake) -> None:
        keys = {row.key for row in self.rows}
        self.rows.extend(row for row in parsed.accepted if row.key not in keys)
        self.rejected += len(parsed.rejected)


def items_and_files(parsed: ParsedEmail) -> tuple[ListedItems, list[Attachment]]:
    items = ListedItems()
    candidates = find_candidates(parsed.text, ignore_hosts=own_hosts(parsed))
    if candidates:
        # A tab ends each target, so parse_text never takes a comma inside a link for a note.
        items.add(item_lists.parse_text("\n".join(f"{c}\t" for c in candidates)))
    files = []
    for attachment in parsed.attachments:
        suffix = attachment.spreadsheet_suffix
        if not suffix:
            files.append(attachment)
            continue
        name = attachment.name if attachment.name.lower().endswith("." + suffix) else f"{attachment.name}.{suffix}"
        try:
            from_file = item_lists.parse_upload(name, attachment.data)
        except item_lists.IntakeFileError as exc:
            items.notes.append(_("%(name)s could not be read as a list (%(error)s); it is kept as evidence.")
                               % {"name": attachment.name, "error": exc.message})
            files.append(attachment)
            continue
        items.add(from_file)
        if from_file.rejected:
            items.notes.append(_("%(count)d row(s) of %(name)s could not be read.")
                               % {"count": len(from_file.rejected), "name": attachment.name})
    return items, files
