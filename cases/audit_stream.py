"""Reading the audit chain from PostgreSQL as COPY text, checked in blocks by `cases.audit_hash.check_copy_rows`, for
`cases.audit.verify_chain` to walk in id order.

Two ways of reading, the same blocks and the same answers:

- own streams (a long chain, several cores): worker processes each read ranges of ids with COPY over their own
  connection and check the rows where they read them. Neither the rows nor their bytes pass through this process,
  and the database writes the rows on as many backends as there are workers, so both its work and the hashing
  use every core; only each block's small `CopyCheck` comes back. The link across the border of two ranges is
  the walk's, as between any two blocks.
- one stream: this process reads the chain a COPY statement at a time on its own connection and checks the blocks
  itself, or hands them to worker processes. Used for a short chain, with `workers` 0 or 1, and whenever this
  connection has written in its open transaction (what it wrote, no other connection sees).

Why the workers' connections see the chain this one sees: this connection has written nothing in its transaction
(checked: no transaction id is assigned), so it reads only what is committed, as theirs do; appends are serialised
by a lock held until their commit, so what is committed is always the chain up to some event, and an event, once
committed, is never changed (the table refuses UPDATE). A worker may see events appended after this process read
the checkpoints; the last range has no upper bound, so they are verified too, as a single COPY would have.
"""

from __future__ import annotations

import bisect
import ctypes
import gc
import multiprocessing
import os
from collections.abc import Generator, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing.util import Finalize
from typing import Any

import psycopg
import psycopg.sql
from django.db import DatabaseError, connection
from django.db.models import Max, Min
from psycopg import pq

from .audit_hash import COPY_COLUMNS, CopyCheck, check_copy_rows
from .models import AuditEvent

# Rows per block of hashing: a block is split into one list and checked a column at a time, which stays in the
# processor's caches at this size (reading and checking 400,000 events of liaison_bench in one process, CPU per event
# at best of 5: 2.5-2.7 us at 250 or 500 rows, 2.8-3.1 us at 1,000, 2.9-3.3 us at 2,000).
BLOCK_ROWS = 500
# Rows per COPY statement on this process's connection (read whole before any other query runs on it).
COPY_ROWS = 30_000
# Below this many events, starting worker processes costs more than it saves.
PARALLEL_FROM = 150_000
# Ranges of ids per worker process: the workers take them in turn, so a worker slowed by other work on the machine
# does not leave the other waiting at the end.
RANGES_PER_WORKER = 4


@dataclass(frozen=True)
class Checked:
    """A block of the chain: the ids after `after` up to `last_id`, and what `check_copy_rows` found in it (None: an
    unusual row, so the walk reads those rows through the ORM)."""

    check: CopyCheck | None
    after: int
    last_id: int


def checked_blocks(*, workers: int | None, heads: Sequence[int]) -> Generator[Checked, None, None]:
    """The chain's blocks in id order, each checked (`heads`: the sorted checkpoint heads the walk asks about).
    `workers`: processes (None: one per core when the chain is long; 0 or 1: this process alone)."""
    if "fork" not in multiprocessing.get_all_start_methods():
        workers = 0
    if workers is not None and workers <= 1:
        yield from _one_stream(0, heads)
        return
    bounds = AuditEvent.objects.aggregate(low=Min("id"), high=Max("id"))
    low, high = bounds["low"], bounds["high"]
    if low is None:
        return
    if workers is None:
        workers = (os.cpu_count() or 1) if high - low + 1 >= PARALLEL_FROM else 0
    if workers > 1 and _sees_what_others_see():
        yield from _own_streams(workers, heads, low, high)
    else:
        yield from _one_stream(workers, heads)


def _sees_what_others_see() -> bool:
    """This connection has written nothing in an open transaction: it sees what a new connection sees."""
    if not connection.in_atomic_block:
        return True
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_current_xact_id_if_assigned() IS NULL")
        row = cursor.fetchone()
    return bool(row and row[0])


def _copy_statement(after: int, last: int | None = None, limit: int | None = None) -> str:
    columns, table = ", ".join(COPY_COLUMNS), AuditEvent._meta.db_table
    # Only constants and integers in the statement (COPY takes no parameters).
    rows = (f"SELECT {columns} FROM {table} WHERE id > {int(after)}"  # noqa: S608
            + (f" AND id <= {int(last)}" if last is not None else "") + " ORDER BY id"
            + (f" LIMIT {int(limit)}" if limit is not None else ""))
    return f"COPY ({rows}) TO STDOUT WITH (FORMAT text, NULL '')"


def _copy_blocks(cursor: Any, statement: str) -> Iterator[tuple[bytes, int, int]]:
    """The rows of a COPY statement as blocks of BLOCK_ROWS lines: (the lines, the last row's id, how many)."""
    with cursor.copy(statement) as copy:
        # libpq hands COPY data over a row at a time; read straight from it (blocking), not through psycopg's per-row
        # machinery, which costs more than hashing the row. Then the statement's result, as libpq requires, which
        # leaves the connection as psycopg expects it.
        pgconn = copy.connection.pgconn
        read = pgconn.get_copy_data
        lines: list[Any] = []
        while True:
            size, line = read(0)
            if size < 0:
                break
            lines.append(line)
            if len(lines) == BLOCK_ROWS:
                yield _block(lines)
                lines = []
        result = pgconn.get_result()
        while pgconn.get_result() is not None:
            pass
        if result is None or result.status != pq.ExecStatus.COMMAND_OK:
            message = result.error_message.decode(errors="replace") if result is not None else ""
            raise DatabaseError(f"reading the audit chain failed: {message}")
    if lines:
        yield _block(lines)


def _block(lines: list[Any]) -> tuple[bytes, int, int]:
    last = bytes(lines[-1])
    return b"".join(lines), int(last[:last.index(b"\t")]), len(lines)


def _asked(heads: Sequence[int], after: int, last: int | None) -> list[int]:
    """The heads after `after` up to `last` (no end: None)."""
    end = len(heads) if last is None else bisect.bisect_right(heads, last)
    return list(heads[bisect.bisect_right(heads, after):end])


# --- One stream, on this connection --------------------------------------------------------------------------------


def _one_stream(workers: int, heads: Sequence[int]) -> Iterator[Checked]:
    # Forked, not spawned: a spawned worker imports the parent's main module again (a script without a
    # `__name__` guard would run twice). The workers never touch the inherited connection (they get bytes, return
    # answers, and leave without running its finalizers).
    pool = (ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork"),
                                initializer=_freeze_inherited) if workers > 1 else None)
    after = 0
    try:
        while True:
            # A statement's blocks are checked (or handed out) as they arrive and taken only after it ends: the walk
            # may query this connection for an unusual block.
            found: list[tuple[Future[CopyCheck | None] | CopyCheck | None, int, int]] = []
            rows = 0
            with connection.cursor() as cursor:
                for block, last_id, count in _copy_blocks(cursor, _copy_statement(after, limit=COPY_ROWS)):
                    rows += count
                    asked = _asked(heads, after, last_id)
                    found.append((pool.submit(check_copy_rows, block, asked, count) if pool is not None
                                  else check_copy_rows(block, asked, count), after, last_id))
                    after = last_id
            for result, block_after, last_id in found:
                yield Checked(result.result() if isinstance(result, Future) else result, block_after, last_id)
            if rows < COPY_ROWS:
                return
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


# --- Own streams, in worker processes --------------------------------------------------------------------------------


def _own_streams(workers: int, heads: Sequence[int], low: int, high: int) -> Iterator[Checked]:
    count = workers * RANGES_PER_WORKER
    cuts = [low - 1 + (high - low + 1) * n // count for n in range(count)]
    ranges = [(after, last) for after, last in zip(cuts, [*cuts[1:], None], strict=True) if last is None or last > after]
    # Forked, as above; each worker opens its own connection with this one's settings and never touches the
    # inherited one.
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork"),
                               initializer=_connect, initargs=(connection.get_connection_params(),
                                                               connection.settings_dict["OPTIONS"].get("assume_role")))
    try:
        futures = [pool.submit(_check_range, after, last, _asked(heads, after, last)) for after, last in ranges]
        for future in futures:
            yield from future.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


_worker_connection: Any = None


def _freeze_inherited() -> None:
    """A forked worker's collector leaves alone what it inherited (Django, the parent's objects), which it never
    frees: the hashing allocates and frees millions of objects, and every collection they set off walked the
    inherited ones too (19 % of a worker's instructions, counted with cachegrind). Fewer inherited pages are
    touched, so fewer are copied."""
    gc.freeze()
    _keep_freed_memory()


# glibc's mallopt parameters (malloc.h).
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3


def _keep_freed_memory() -> None:
    """A worker's malloc keeps the memory it frees for the next block (glibc; elsewhere nothing changes). By default
    glibc gives a block's larger buffers (a few hundred KiB each) back to the kernel when they are freed and faults
    them in again, zeroed, for the next block: over liaison_bench's chain 0.2-0.3 page faults per event, 1.5-2.0 s
    of the workers' system time. The same buffers serve block after block, so memory stays flat."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return
    mallopt(_M_TRIM_THRESHOLD, 64 * 2**20)
    mallopt(_M_MMAP_THRESHOLD, 16 * 2**20)


def _connect(params: dict[str, Any], role: str | None) -> None:
    """A worker's own connection, as Django's (its role too): times in UTC with DateStyle ISO, as check_copy_rows
    reads them."""
    global _worker_connection
    _freeze_inherited()
    own = psycopg.connect(**params, autocommit=True)
    if role:
        own.execute(psycopg.sql.SQL("SET ROLE {}").format(psycopg.sql.Identifier(role)))
    own.execute("SET TIME ZONE 'UTC'")
    own.execute("SET DateStyle TO ISO")
    own.execute("SET application_name TO 'verify_audit worker'")
    Finalize(own, own.close, exitpriority=10)  # closed when the worker leaves
    _worker_connection = own


def _check_range(after: int, last: int | None, heads: list[int]) -> list[Checked]:
    """A range of ids read and checked in a worker, up to the first block with a break (the walk stops there)."""
    found: list[Checked] = []
    with _worker_connection.cursor() as cursor:
        for block, last_id, count in _copy_blocks(cursor, _copy_statement(after, last)):
            if found and found[-1].check is not None and found[-1].check.broken is not None:
                continue  # read to the end of the statement, unchecked
            check = check_copy_rows(block, _asked(heads, after, last_id), count)
            found.append(Checked(check, after, last_id))
            after = last_id
    return found
