"""An export's bytes from its rows: the table of its kind in its format, in the requester's language."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any

from django.utils import timezone, translation

from . import columns, writers
from .models import ExportJob

# What may be asked for: cases and items as spreadsheets, statements of reasons as CSV or JSON.
FORMATS = {
    ExportJob.Kind.CASES: (ExportJob.Format.CSV, ExportJob.Format.XLSX),
    ExportJob.Kind.ITEMS: (ExportJob.Format.CSV, ExportJob.Format.XLSX),
    ExportJob.Kind.DECISIONS: (ExportJob.Format.CSV, ExportJob.Format.JSON),
}
CONTENT_TYPES = {
    ExportJob.Format.CSV: "text/csv; charset=utf-8",
    ExportJob.Format.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ExportJob.Format.JSON: "application/json",
}


def is_offered(kind: str, fmt: str) -> bool:
    return fmt in FORMATS.get(kind, ())  # type: ignore[call-overload]


def _table(kind: str) -> tuple[tuple[columns.Column, ...], Callable[[Any], Any]]:
    if kind == ExportJob.Kind.CASES:
        return columns.CASE_COLUMNS, lambda row: row
    if kind == ExportJob.Kind.ITEMS:
        return columns.ITEM_COLUMNS, lambda row: row
    return columns.STATEMENT_COLUMNS, columns.statement_of_reasons


def _counted(rows: Iterable[Any], on_row: Callable[[int], None] | None) -> Iterator[Any]:
    for number, row in enumerate(rows, start=1):
        yield row
        if on_row is not None:
            on_row(number)


def _sheet_title(kind: str) -> str:
    return str(ExportJob.Kind(kind).label)


def chunks(kind: str, fmt: str, rows: Iterable[Any], language: str,
           on_row: Callable[[int], None] | None = None) -> Iterator[bytes]:
    """The file in pieces, written as they are read (CSV and JSON stream; XLSX comes as one piece at the end)."""
    with translation.override(language):
        table, shape = _table(kind)
        shaped = (shape(row) for row in _counted(rows, on_row))
        if fmt == ExportJob.Format.JSON:
            preamble = {"generated_at": columns.iso(timezone.now()),
                        "times": "UTC, ISO 8601",
                        "schema": "DSA Transparency Database statement of reasons (Art. 17, 24(5) DSA)"}
            yield from writers.json_chunks(preamble, "statements", shaped)
        elif fmt == ExportJob.Format.XLSX:
            yield writers.xlsx_bytes(columns.headers(table), (columns.values(table, r) for r in shaped),
                                     title=_sheet_title(kind))
        else:
            yield from writers.csv_chunks(columns.headers(table), (columns.values(table, r) for r in shaped))


def write(kind: str, fmt: str, rows: Iterable[Any], language: str, target: IO[bytes],
          on_row: Callable[[int], None] | None = None) -> None:
    """The file written to `target` (an XLSX straight into it, without holding it in memory)."""
    if fmt == ExportJob.Format.XLSX:
        with translation.override(language):
            table, shape = _table(kind)
            shaped = (shape(row) for row in _counted(rows, on_row))
            writers.write_xlsx(columns.headers(table), (columns.values(table, r) for r in shaped), target,
                               title=_sheet_title(kind))
        return
    for piece in chunks(kind, fmt, rows, language, on_row):
        target.write(piece)


def file_name(kind: str, fmt: str) -> str:
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    return f"liaison-{kind}-{stamp}Z.{fmt}"
