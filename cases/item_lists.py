"""Lists of reported items: pasted text, CSV and XLSX uploads turned into reviewable rows.

Pure functions, no database. Every target gets its normalised key (link_identity). Bad rows are kept
with their line number and reason so the author can fix them before anything is saved; duplicates within
the list are reported with the line they repeat.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from itertools import chain, islice
from typing import TYPE_CHECKING

from django.utils.translation import gettext_lazy as _

from .link_identity import FORMULA_PREFIXES, TargetError, format_lazy, normalise_target

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

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

# Header cells, matched as whole words; earlier groups win when several columns match.
TARGET_HEADER_WORDS = (("url", "urls"), ("link", "links", "tautan"), ("target", "targets"), ("handle", "handles"))
NOTE_HEADER_WORDS = frozenset(
    {"note", "notes", "comment", "comments", "keterangan", "catatan", "remark", "remarks"}
)


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
    # Why the target deserves a second look (link_identity: a look-alike host); "" when nothing is odd.
    warning: str = ""


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
                        key=normalised.key, kind=normalised.kind, warning=normalised.warning)
        )


def _too_many_rows() -> IntakeFileError:
    return IntakeFileError(
        "too_many_rows",
        format_lazy(_("The list has more than %(limit)s rows; split it into smaller lists."), limit=MAX_ROWS),
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


def parse_pairs(pairs: Iterable[tuple[str, str]]) -> Intake:
    """Targets given one by one with their notes (the API's rows), numbered from 1 in the order given."""
    collector = _Collector()
    for line_number, (target, note) in enumerate(pairs, start=1):
        target = (target or "").strip()
        collector.add(line=line_number, target=target, note=note or "", raw=target)
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
    from openpyxl import load_workbook

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
