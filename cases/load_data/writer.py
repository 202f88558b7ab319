"""Bulk writes for the load generator: rows buffered per model and written in large batches.

On PostgreSQL each batch is one COPY; elsewhere it is bulk_create. Measured on the 2-core machine at scale 0.05
(290,000 rows): the whole generation took 10.6 s with COPY and 27.8 s with bulk_create, which builds a model
instance and an INSERT parameter per field, so the default set would take about 20 minutes instead of 7.
Either way the table, its columns and the defaults of the columns a row leaves out come from the model, so a
field added later gets its default. Ids are given by the generator (rows refer to each other before they are
written) from the table's current maximum, and the sequences are moved past them at the end.
"""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from django.core.management.color import no_style
from django.db import connection, models
from django.db.models import Max


class Table:
    """The rows of one model waiting to be written, each a tuple in the order of `fields` (attribute names)."""

    def __init__(self, model: type[models.Model], fields: Sequence[str]) -> None:
        self.model = model
        self.fields = tuple(fields)
        by_attname = {f.attname: f for f in model._meta.concrete_fields}
        unknown = [name for name in self.fields if name not in by_attname]
        if unknown:
            raise ValueError(f"{model.__name__} has no field {unknown}")
        left_out = [f for f in model._meta.concrete_fields if f.attname not in self.fields]
        # Columns a row does not give: their defaults, the same for every row.
        self.default_fields = tuple(f.attname for f in left_out)
        self.defaults = tuple(f.get_default() for f in left_out)
        self.columns = [by_attname[name].column for name in (*self.fields, *self.default_fields)]
        self.json_positions = [i for i, name in enumerate((*self.fields, *self.default_fields))
                               if isinstance(by_attname[name], models.JSONField)]
        self.rows: list[tuple[Any, ...]] = []
        self.written = 0
        self.next_id = (model._default_manager.aggregate(top=Max("pk"))["top"] or 0) + 1

    def allocate(self) -> int:
        """The id of the next row of this table."""
        allocated = self.next_id
        self.next_id += 1
        return allocated


class Writer:
    """Buffers rows per model; at each case boundary (`settle`) writes the full buffers, the tables they refer to
    first, so foreign keys can be checked as rows arrive. On PostgreSQL a background thread runs the COPYs on the
    same connection and transaction while the generator goes on building rows: the server's work (indexes,
    foreign keys) overlaps with Python's."""

    def __init__(self, *, batch: int = 50_000, use_copy: bool | None = None) -> None:
        self.batch = batch
        self.use_copy = connection.vendor == "postgresql" if use_copy is None else use_copy
        self.tables: dict[type[models.Model], Table] = {}
        self._jobs: queue.Queue[tuple[Table, list[tuple[Any, ...]]] | None] = queue.Queue(maxsize=4)
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def table(self, model: type[models.Model], fields: Sequence[str]) -> Table:
        if model not in self.tables:
            self.tables[model] = Table(model, fields)
        return self.tables[model]

    def add(self, table: Table, row: tuple[Any, ...]) -> None:
        table.rows.append(row)

    def settle(self) -> None:
        """Write every buffer that is full. Call only when every row added refers to rows already added."""
        for table in list(self.tables.values()):
            if len(table.rows) >= self.batch:
                self._write(table)

    def finish(self) -> None:
        for table in list(self.tables.values()):
            self._write(table)
        self.stop()
        self._raise()
        models_written = [t.model for t in self.tables.values() if t.written]
        with connection.cursor() as cursor:
            for statement in connection.ops.sequence_reset_sql(no_style(), models_written):
                cursor.execute(statement)

    def stop(self, *, discard: bool = False) -> None:
        """End the COPY thread (after the writes queued, or dropping them): always before the transaction ends."""
        if self._thread is None:
            return
        if discard and self._error is None:
            self._error = RuntimeError("stopped")
        self._jobs.put(None)
        self._thread.join()
        self._thread = None

    def _write(self, table: Table) -> None:
        for parent in self._parents(table):
            self._write(parent)
        if not table.rows:
            return
        rows, table.rows = table.rows, []
        table.written += len(rows)
        if not self.use_copy:
            self._bulk_create(table, rows)
            return
        self._raise()
        if self._thread is None:
            self._thread = threading.Thread(target=self._copy_jobs, args=(connection.connection,), daemon=True,
                                            name="load-data-copy")
            self._thread.start()
        self._jobs.put((table, rows))

    def _parents(self, table: Table) -> list[Table]:
        related = {f.related_model for f in table.model._meta.concrete_fields if f.is_relation}
        return [t for model, t in self.tables.items() if model in related and t is not table]

    def _raise(self) -> None:
        if self._error is not None:
            raise RuntimeError(f"writing the generated rows failed: {self._error}") from self._error

    def _copy_jobs(self, raw_connection: Any) -> None:
        while (job := self._jobs.get()) is not None:
            if self._error is not None:
                continue  # drain: the main thread raises on its next write
            table, rows = job
            try:
                self._copy(raw_connection, table, rows)
            except BaseException as exc:  # noqa: BLE001 - handed to the main thread
                self._error = exc

    @staticmethod
    def _copy(raw_connection: Any, table: Table, rows: list[tuple[Any, ...]]) -> None:
        quote = connection.ops.quote_name
        sql = (f"COPY {quote(table.model._meta.db_table)} ({', '.join(quote(c) for c in table.columns)}) "
               "FROM STDIN")
        defaults = table.defaults
        json_positions = table.json_positions
        with raw_connection.cursor() as cursor, cursor.copy(sql) as copy:
            write = copy.write_row
            if json_positions:
                for row in rows:
                    full = list(row + defaults)
                    for i in json_positions:
                        full[i] = json.dumps(full[i], ensure_ascii=False)
                    write(full)
            else:
                for row in rows:
                    write(row + defaults)

    @staticmethod
    def _bulk_create(table: Table, rows: list[tuple[Any, ...]]) -> None:
        model = table.model
        names = table.fields
        with given_times(model):
            model._default_manager.bulk_create([model(**dict(zip(names, row, strict=True))) for row in rows],
                                               batch_size=2_000)


@contextmanager
def given_times(model: type[models.Model]) -> Iterator[None]:
    """bulk_create stamps auto_now / auto_now_add fields with the current time; generated history brings its own."""
    switched: list[tuple[Any, bool, bool]] = []
    for field in model._meta.concrete_fields:
        if isinstance(field, models.DateField) and (field.auto_now or field.auto_now_add):
            switched.append((field, field.auto_now, field.auto_now_add))
            field.auto_now = field.auto_now_add = False
    try:
        yield
    finally:
        for field, auto_now, auto_now_add in switched:
            field.auto_now, field.auto_now_add = auto_now, auto_now_add

