"""Lists of reported items: pasted text, CSV and XLSX uploads turned into reviewable rows.

Pure functions, no database. Every target gets a normalised key so that two authorities reporting the
same channel in different spellings (``https://telegram.me/s/Foo``, ``t.me/foo``, ``@foo``) are
recognised as reporting the same thing. Bad rows are kept with their line number and reason so the
author can fix them before anything is saved.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import ipaddress
import re
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time
from functools import lru_cache
from itertools import chain, islice
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, quote, unquote_plus, urlsplit

from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

KINDS = ("channel", "group", "message", "account", "post", "file", "other")
MAX_TARGET_LENGTH = 2048
MAX_KEY_LENGTH = 2048
MAX_NOTE_LENGTH = 1000
MAX_ROWS = 20000
# Rows read (blank ones included) before giving up: bounds the work on sheets padded with empty rows.
MAX_PHYSICAL_ROWS = 5 * MAX_ROWS
# An XLSX is a zip; refuse archives that inflate beyond this before openpyxl reads them.
MAX_XLSX_UNCOMPRESSED_BYTES = 200 * 1024 * 1024
# A header may sit under a few title rows ("LAMPIRAN SURAT NOMOR ..."); look this far for it.
HEADER_SEARCH_ROWS = 10
# Rejected rows echo what was given; enough to recognise it, never a whole 2 KB blob.
MAX_RAW_DISPLAY = 200

TELEGRAM_HOSTS = frozenset({"t.me", "telegram.me", "telegram.dog"})
TRACKING_PARAMETERS = frozenset(
    {"fbclid", "gclid", "igshid", "si", "ref", "ref_src", "mc_cid", "mc_eid", "yclid", "_ga"}
)
FILE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".gif", ".webp", ".mp4", ".mov", ".webm", ".pdf", ".zip")
FORMULA_PREFIXES = ("=", "+", "-", "@")

# Header cells, matched as whole words; earlier groups win when several columns match.
TARGET_HEADER_WORDS = (("url", "urls"), ("link", "links", "tautan"), ("target", "targets"), ("handle", "handles"))
NOTE_HEADER_WORDS = frozenset(
    {"note", "notes", "comment", "comments", "keterangan", "catatan", "remark", "remarks"}
)

_HANDLE = re.compile(r"[A-Za-z0-9_]{5,32}")
_INVITE = re.compile(r"[A-Za-z0-9_\-]{1,64}")
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):(.*)", re.DOTALL)
_PORT_THEN_PATH = re.compile(r"\d+(?:[/?#].*)?", re.DOTALL)
_BLANK_OR_CONTROL = re.compile(r"[\s\x00-\x1f\x7f]")
_HOST_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_\-]{0,61}[a-z0-9_])?")
_PERCENT_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_PATH_SAFE = "/%:@!$&'()*+,;="
_QUERY_SAFE = "/%:@!$'()*+,;=?"
# Copy-paste from web pages and Word leaves these around links; they are never part of one.
_INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff"
# The key carries no scheme, so http on 443 and https on 80 fold too.
_DEFAULT_PORTS = (80, 443)


def _format_lazy(message: StrOrPromise, **params: object) -> StrOrPromise:
    """%-format a lazy message when it is rendered, in the language active then."""
    return lazy(lambda: str(message) % params, str)()


@dataclass(frozen=True)
class Normalised:
    key: str
    kind: str
    target: str


class TargetError(ValueError):
    """A target that cannot be an item: ``code`` is stable for callers, ``message`` is for people."""

    def __init__(self, code: str, message: StrOrPromise) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class IntakeFileError(ValueError):
    """A whole list refused: unsupported type, unreadable file, or too many rows."""

    def __init__(self, code: str, message: StrOrPromise) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class AcceptedRow:
    line: int
    target: str
    note: str
    key: str
    kind: str


@dataclass
class RejectedRow:
    line: int
    raw: str
    code: str
    reason: str


@dataclass
class DuplicateRow:
    line: int
    target: str
    key: str
    first_line: int


@dataclass
class Intake:
    accepted: list[AcceptedRow] = field(default_factory=list)
    rejected: list[RejectedRow] = field(default_factory=list)
    duplicates: list[DuplicateRow] = field(default_factory=list)

    @property
    def keys(self) -> list[str]:
        return [row.key for row in self.accepted]


# --- One target -------------------------------------------------------------------------------


def _not_a_target(message: StrOrPromise | None = None) -> TargetError:
    return TargetError("not_a_target", message or _("This is not a web link or an @handle."))


def normalise_target(raw: str) -> Normalised:
    """Return the key and a best-guess kind for one target, or raise TargetError.

    Keys are ASCII and at most MAX_KEY_LENGTH characters: percent-encoding can make a key several times
    longer than its target, so a longer key keeps its start and ends in "#" and the SHA-256 of the whole.
    """
    normalised = _normalise(raw)
    if len(normalised.key) <= MAX_KEY_LENGTH:
        return normalised
    digest = hashlib.sha256(normalised.key.encode("ascii")).hexdigest()
    return replace(normalised, key=normalised.key[: MAX_KEY_LENGTH - len(digest) - 1] + "#" + digest)


def _normalise(raw: str) -> Normalised:
    target = (raw or "").strip().strip(_INVISIBLE).strip()
    if not target:
        raise TargetError("empty", _("The target is empty."))
    if len(target) > MAX_TARGET_LENGTH:
        raise TargetError(
            "too_long",
            _format_lazy(_("The target is longer than %(limit)s characters."), limit=MAX_TARGET_LENGTH),
        )
    if target.startswith("@"):
        return _normalise_handle(target)
    if target.startswith(FORMULA_PREFIXES):
        raise _not_a_target(_("This looks like a spreadsheet formula, not a link."))
    if _BLANK_OR_CONTROL.search(target):
        raise _not_a_target(_("A link or handle cannot contain spaces."))

    scheme = ""
    match = _SCHEME.fullmatch(target)
    if match:
        candidate, rest = match.group(1).lower(), match.group(2)
        # "example.com:8080/x" and "t.me:443" are a host and a port, not a scheme.
        host_and_port = not rest.startswith("//") and (
            "." in candidate or _PORT_THEN_PATH.fullmatch(rest) is not None
        )
        if not host_and_port:
            scheme = candidate
    if scheme == "tg":
        return _normalise_tg(target)
    if scheme not in ("", "http", "https"):
        raise TargetError("unsupported_scheme", _("Only web (http, https) and Telegram links are accepted."))

    url = target if scheme or target.startswith("//") else "//" + target
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise _not_a_target() from exc
    if not parts.hostname:
        raise _not_a_target()
    host = _normalise_host(parts.hostname)
    segments = _path_segments(parts.path)
    query = _normalise_query(parts.query)
    if host in TELEGRAM_HOSTS:
        return _telegram(target, segments, query)
    if port is not None and port not in _DEFAULT_PORTS:
        host = f"{host}:{port}"

    if segments and segments[-1].lower().endswith(FILE_EXTENSIONS):
        kind = "file"
    elif not segments:
        kind = "other"
    elif len(segments) == 1:
        kind = "account"
    else:
        kind = "post"
    return Normalised(key=_key(host, segments, query), kind=kind, target=target)


def _normalise_handle(target: str) -> Normalised:
    name = target[1:]
    if not _HANDLE.fullmatch(name):
        raise _not_a_target(_("A handle is @ followed by 5 to 32 letters, digits or underscores."))
    return Normalised(key=f"t.me/{name.lower()}", kind="channel", target=target)


def _normalise_tg(target: str) -> Normalised:
    """Telegram's app links: tg://resolve?domain=x[&post=n], tg://join?invite=h, tg://privatepost."""
    parts = urlsplit(target)
    action = (parts.netloc or parts.path).strip("/").lower()
    params = dict(parse_qsl(parts.query))
    if action == "resolve":
        name = params.get("domain", "")
        post = params.get("post", "")
        if not _HANDLE.fullmatch(name) or (post and not post.isdigit()):
            raise _not_a_target()
        if post:
            return Normalised(key=f"t.me/{name.lower()}/{post}", kind="message", target=target)
        return Normalised(key=f"t.me/{name.lower()}", kind="channel", target=target)
    if action == "join":
        invite = params.get("invite", "")
        if not _INVITE.fullmatch(invite):
            raise _not_a_target()
        return Normalised(key=f"t.me/+{invite}", kind="group", target=target)
    if action == "privatepost":
        channel, post = params.get("channel", ""), params.get("post", "")
        if not (channel.isdigit() and post.isdigit()):
            raise _not_a_target()
        return Normalised(key=f"t.me/c/{channel}/{post}", kind="message", target=target)
    raise _not_a_target()


@lru_cache(maxsize=4096)
def _normalise_host(hostname: str) -> str:
    """Lowercase, IDNA-encode and validate a host; drop a leading www. or m."""
    host = hostname.rstrip(".")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return f"[{address.compressed}]" if address.version == 6 else address.compressed
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError as exc:
            raise _not_a_target() from exc
    host = host.lower()
    labels = host.split(".")
    if len(labels) < 2 or labels[-1].isdigit() or not all(_HOST_LABEL.fullmatch(label) for label in labels):
        raise _not_a_target()
    while host.startswith(("www.", "m.")) and host.count(".") > 1:
        host = host.split(".", 1)[1]
    return host


def _path_segments(path: str) -> list[str]:
    """Non-empty segments with dot segments resolved; empty and trailing slashes carry no meaning here."""
    segments: list[str] = []
    for segment in path.split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if segments:
                segments.pop()
            continue
        segments.append(segment)
    return segments


def _normalise_percent(text: str, safe: str) -> str:
    """RFC 3986 normalisation: encode what must be, decode unreserved escapes, uppercase the rest."""
    text = quote(text, safe=safe)

    def fold(match: re.Match[str]) -> str:
        char = chr(int(match.group(1), 16))
        return char if char in _UNRESERVED else "%" + match.group(1).upper()

    return _PERCENT_ESCAPE.sub(fold, text)


def _normalise_query(query: str) -> str:
    """Drop tracking parameters and sort the rest; "?single" stays "single", not "single="."""
    parameters = []
    for part in query.split("&"):
        if not part:
            continue
        name, equals, value = part.partition("=")
        if unquote_plus(name).lower() in TRACKING_PARAMETERS or unquote_plus(name).lower().startswith("utm_"):
            continue
        parameters.append((_normalise_percent(name, _QUERY_SAFE), equals, _normalise_percent(value, _QUERY_SAFE)))
    return "&".join(name + equals + value for name, equals, value in sorted(parameters))


def _key(host: str, segments: Sequence[str], query: str) -> str:
    key = host
    if segments:
        key += "/" + "/".join(_normalise_percent(segment, _PATH_SAFE) for segment in segments)
    if query:
        key += "?" + query
    return key


def _telegram(target: str, segments: list[str], query: str) -> Normalised:
    if segments and segments[0].lower() == "s" and len(segments) > 1:
        segments = segments[1:]  # t.me/s/name is the web preview of t.me/name
    if not segments:
        kind = "other"
    elif segments[0].startswith("+"):
        # t.me/+<digits> opens a chat with a phone number; anything else is an invite hash.
        kind = "account" if segments[0][1:].isdigit() else "group"
    elif segments[0].lower() == "joinchat" and len(segments) > 1:
        # The old spelling of the same invite; hashes are case-sensitive so the case stays.
        segments = ["+" + segments[1], *segments[2:]]
        kind = "group"
    elif segments[0].lower() == "c" and len(segments) > 1:
        segments = ["c", *segments[1:]]
        kind = "message" if len(segments) > 2 else "channel"
    else:
        segments = [segments[0].lower(), *segments[1:]]
        if len(segments) == 1:
            kind = "channel"
        elif segments[-1].isdigit():
            kind = "message"
        else:
            kind = "other"
    return Normalised(key=_key("t.me", segments, query), kind=kind, target=target)


# --- Notes ------------------------------------------------------------------------------------


def escape_formula(text: str) -> str:
    """Prefix a ' to text a spreadsheet would evaluate (=, +, -, @), so exporting it stays inert."""
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def clean_note(raw: str) -> str:
    note = (raw or "").strip()
    return escape_formula(note)[:MAX_NOTE_LENGTH]


# --- Lists ------------------------------------------------------------------------------------


class _Collector:
    """Sorts rows into accepted, rejected and duplicates as they arrive."""

    def __init__(self) -> None:
        self.intake = Intake()
        self._first_line: dict[str, int] = {}
        self._rows = 0

    def add(self, *, line: int, target: str, note: str, raw: str) -> None:
        self._rows += 1
        if self._rows > MAX_ROWS:
            raise _too_many_rows()
        try:
            normalised = normalise_target(target)
        except TargetError as error:
            # Rendered now, in the author's language, so the result can be stored (session, JSON) as is.
            self.intake.rejected.append(
                RejectedRow(line=line, raw=_shorten(raw), code=error.code, reason=str(error.message))
            )
            return
        first_line = self._first_line.get(normalised.key)
        if first_line is not None:
            self.intake.duplicates.append(
                DuplicateRow(line=line, target=normalised.target, key=normalised.key, first_line=first_line)
            )
            return
        self._first_line[normalised.key] = line
        self.intake.accepted.append(
            AcceptedRow(line=line, target=normalised.target, note=clean_note(note),
                        key=normalised.key, kind=normalised.kind)
        )


def _too_many_rows() -> IntakeFileError:
    return IntakeFileError(
        "too_many_rows",
        _format_lazy(_("The list has more than %(limit)s rows; split it into smaller lists."), limit=MAX_ROWS),
    )


def _shorten(text: str) -> str:
    return text if len(text) <= MAX_RAW_DISPLAY else text[: MAX_RAW_DISPLAY - 1] + "…"


def parse_text(text: str) -> Intake:
    """A pasted list: one target per line, an optional note after a tab or else after the first comma.

    Blank lines are skipped; line numbers count them. Raises IntakeFileError beyond MAX_ROWS lines.
    """
    collector = _Collector()
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    for line_number, line in enumerate(text.split("\n"), start=1):
        line = line.strip()
        if not line:
            continue
        separator = "\t" if "\t" in line else ","
        target, _separator, note = line.partition(separator)
        target = target.strip()
        collector.add(line=line_number, target=target, note=note, raw=target or line)
    return collector.intake


def _decode(data: bytes) -> str:
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        # Excel's "Unicode text" export.
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise _unreadable() from exc
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = data.decode("cp1252", errors="replace")
    if "\x00" in text:
        raise _unreadable()
    return text


def _unreadable() -> IntakeFileError:
    return IntakeFileError("unreadable", _("The file could not be read. Upload a CSV, a text file or an XLSX."))


def _sniff_delimiter(text: str) -> str:
    """Pick ; , or tab: the one on most of the first lines, and on each of them equally often."""
    sample = list(islice((line for line in io.StringIO(text) if line.strip()), 20))
    if not sample:
        return ","
    candidates = ("\t", ";", ",")
    in_first = [d for d in candidates if d in sample[0]]
    if len(in_first) == 1:
        return in_first[0]

    def score(delimiter: str) -> tuple[int, int]:
        counts = [line.count(delimiter) for line in sample]
        present = [count for count in counts if count]
        if not present:
            return (0, 0)
        modal = max(set(present), key=present.count)
        return (len(present), present.count(modal))

    best = max(candidates, key=score)  # max keeps the first of equals: tab, then ;, then ,
    return best if score(best) != (0, 0) else ","


def parse_csv(data: bytes) -> Intake:
    """A CSV upload: UTF-8 (with or without BOM), UTF-16 with BOM, else cp1252; ; , or tab separated."""
    text = _decode(data)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_sniff_delimiter(text))
    try:
        return _parse_rows([cell.strip() for cell in row] for row in reader)
    except csv.Error as exc:
        raise _unreadable() from exc


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value).strip()


def parse_xlsx(data: bytes) -> Intake:
    """An XLSX upload: the first sheet, cached values of formulas (never their text)."""
    # openpyxl ships no type information.
    from openpyxl import load_workbook  # type: ignore[import-untyped]

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            inflated = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise _unreadable() from exc
    if inflated > MAX_XLSX_UNCOMPRESSED_BYTES:
        raise _unreadable()
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types on a damaged file
        raise _unreadable() from exc
    try:
        if not workbook.worksheets:
            return Intake()
        sheet = workbook.worksheets[0]
        if hasattr(sheet, "reset_dimensions"):
            # The stored dimension may be wrong; without this openpyxl cuts rows beyond it.
            sheet.reset_dimensions()
        rows = ([_cell_text(value) for value in row] for row in sheet.iter_rows(values_only=True))
        return _parse_rows(rows)
    except IntakeFileError:
        raise
    except Exception as exc:  # damage may show only when the sheet is read
        raise _unreadable() from exc
    finally:
        workbook.close()


def parse_upload(name: str, data: bytes) -> Intake:
    """Dispatch an uploaded file by its extension: .csv, .txt (like pasted text) or .xlsx."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    suffix = base.rpartition(".")[2].lower() if "." in base else ""
    if suffix == "csv":
        return parse_csv(data)
    if suffix == "txt":
        return parse_text(_decode(data))
    if suffix == "xlsx":
        return parse_xlsx(data)
    raise IntakeFileError("unsupported_type", _("Upload the list as a CSV, a text file or an XLSX workbook."))


# --- Rows of a file ---------------------------------------------------------------------------


def _looks_like_target(cell: str) -> bool:
    try:
        normalise_target(cell)
    except TargetError:
        return False
    return True


def _header_words(cell: str) -> set[str]:
    words = re.findall(r"[a-z]+", cell.lower())
    return set(words) if 0 < len(words) <= 3 else set()


def _header_columns(cells: Sequence[str]) -> tuple[int, int | None] | None:
    """(target column, note column) if these cells are a header naming a target column.

    A lone cell must be exactly a header word ("URL"), so a title row such as "Daftar link" is not
    mistaken for one; beside other cells, "Link akun" or "URL konten" will do.
    """
    filled = [cell for cell in cells if cell]
    words = [_header_words(cell) for cell in cells]
    target_column = None
    for group in TARGET_HEADER_WORDS:
        target_column = next((i for i, cell_words in enumerate(words) if cell_words & set(group)), None)
        if target_column is not None:
            break
    if target_column is None:
        return None
    if len(filled) == 1 and len(re.findall(r"[a-z]+", cells[target_column].lower())) != 1:
        return None
    note_column = next(
        (i for i, cell_words in enumerate(words) if i != target_column and cell_words & NOTE_HEADER_WORDS), None
    )
    return target_column, note_column


def _parse_rows(rows: Iterable[list[str]]) -> Intake:
    """Rows of cells (strings, stripped) from a file; the first row is line 1."""
    iterator: Iterator[list[str]] = iter(rows)
    head = list(islice(iterator, HEADER_SEARCH_ROWS))
    target_column: int = 0
    note_column: int | None = 1
    first_data_line = 1
    for index, cells in enumerate(head):
        if any(_looks_like_target(cell) for cell in cells if cell):
            break  # data has started: no header, and nothing above it is skipped
        columns = _header_columns(cells)
        if columns is not None:
            # Rows above the header are titles ("Daftar akun ..."), not items.
            target_column, note_column = columns
            first_data_line = index + 2
            break

    collector = _Collector()
    for line, cells in enumerate(chain(head, iterator), start=1):
        if line > MAX_PHYSICAL_ROWS:
            raise _too_many_rows()
        if line < first_data_line or not any(cells):
            continue
        target = cells[target_column] if target_column < len(cells) else ""
        note = cells[note_column] if note_column is not None and note_column < len(cells) else ""
        raw = target or " | ".join(cell for cell in cells if cell)
        collector.add(line=line, target=target, note=note, raw=raw)
    return collector.intake
