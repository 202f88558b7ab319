"""Rows written as CSV, XLSX or JSON. Pure: no request, no model; the rows come already as values.

A spreadsheet runs a cell that begins with `=`, `+`, `-` or `@` (and, in some, a tab or carriage return) as a
formula, so a title or a link typed by someone else could compute or fetch on the reader's machine (CSV
injection). Every text cell of a CSV or XLSX file that begins so is written with a leading apostrophe, the
spreadsheets' own mark for "this is text". Numbers stay numbers. JSON is data for programs and keeps values as
they are.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from typing import IO, Any

import orjson

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
# What a CSV row or a JSON record is gathered into before it is handed on: big enough to keep the number of
# writes low, small enough that a streamed response starts at once.
CHUNK_BYTES = 64 * 1024

Cell = str | int | float | None


def neutralise(value: Cell) -> Cell:
    """A text cell that a spreadsheet would run as a formula, made plain text; anything else as it is."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def neutralised(row: Sequence[Cell]) -> list[Cell]:
    return [neutralise(value) for value in row]


class _Buffer:
    """A file-like object for csv.writer whose written text is taken out in pieces."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.size = 0

    def write(self, text: str) -> int:
        self.parts.append(text)
        self.size += len(text)
        return len(text)

    def take(self) -> bytes:
        data = "".join(self.parts).encode("utf-8")
        self.parts.clear()
        self.size = 0
        return data


def csv_chunks(header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> Iterator[bytes]:
    """UTF-8 CSV with a byte-order mark (so spreadsheets read Indonesian and other non-ASCII text right), in
    chunks of about CHUNK_BYTES; every cell neutralised."""
    buffer = _Buffer()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write("\ufeff")
    writer.writerow(neutralised(header))
    for row in rows:
        writer.writerow(neutralised(row))
        if buffer.size >= CHUNK_BYTES:
            yield buffer.take()
    yield buffer.take()


def write_xlsx(header: Sequence[str], rows: Iterable[Sequence[Cell]], target: IO[bytes], *,
               title: str = "Export") -> None:
    """An XLSX workbook of one sheet, written row by row (openpyxl's write-only mode keeps memory flat). Text
    cells are neutralised and stored as text, never as formulas."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title[:31])

    def cells(values: Sequence[Cell], *, bold: bool = False) -> list[Any]:
        out = []
        for value in neutralised(values):
            cell = WriteOnlyCell(sheet, value=value)
            if isinstance(value, str):
                cell.data_type = "s"  # openpyxl would otherwise take a leading "=" as a formula
            if bold:
                cell.font = _bold()
            out.append(cell)
        return out

    sheet.append(cells(header, bold=True))
    for row in rows:
        sheet.append(cells(row))
    workbook.save(target)


def _bold() -> Any:
    from openpyxl.styles import Font

    return Font(bold=True)


def xlsx_bytes(header: Sequence[str], rows: Iterable[Sequence[Cell]], *, title: str = "Export") -> bytes:
    target = io.BytesIO()
    write_xlsx(header, rows, target, title=title)
    return target.getvalue()


def json_chunks(preamble: dict[str, Any], key: str, records: Iterable[dict[str, Any]]) -> Iterator[bytes]:
    """One JSON object: the preamble's members, then `key` holding the records as an array, written record by
    record in chunks of about CHUNK_BYTES."""
    head = orjson.dumps({**preamble, key: []})
    # `{..., "key":[]}` opened after its "[" so the records stream in.
    yield head[:-2]
    parts: list[bytes] = []
    size = 0
    first = True
    for record in records:
        data = orjson.dumps(record)
        parts.append(data if first else b"," + data)
        first = False
        size += len(data) + 1
        if size >= CHUNK_BYTES:
            yield b"".join(parts)
            parts.clear()
            size = 0
    parts.append(b"]}")
    yield b"".join(parts)
