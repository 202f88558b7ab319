"""SQL compiled once per process and run again with each request's values.

Building a statement through the ORM often costs more Python than running it (the inbox's counts, a person's grants,
the case page's item tally). A statement is kept under a key that holds everything its text depends on; the values
that change from one request to the next (a case id, the clock) are parameters bound on every run, never baked into
the kept text. Only SQL (or an unevaluated queryset) is kept, never a row or a count, so nothing kept can go stale.
Every kept statement of the project lives in a `KeptStatements`, so their bound and their rule are written once.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Collection, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import QuerySet

V = TypeVar("V")
_MISSING: Any = object()


class KeptStatements(Generic[V]):
    """A process's kept statements of one kind, by key. Bounded: past `limit` keys (people, filters), all are dropped
    and built again on demand, so a long-running process holds no more than `limit` of them."""

    def __init__(self, limit: int = 4096) -> None:
        self.limit = limit
        self._kept: dict[Hashable, V] = {}

    def find(self, key: Hashable) -> V | None:
        return self._kept.get(key)

    def keep(self, key: Hashable, value: V) -> V:
        if len(self._kept) >= self.limit:
            self._kept.clear()
        self._kept[key] = value
        return value

    def get(self, key: Hashable, build: Callable[[], V]) -> V:
        """The statement kept under `key`, built (and kept) by `build()` the first time."""
        found = self._kept.get(key, _MISSING)
        return self.keep(key, build()) if found is _MISSING else found

    def clear(self) -> None:
        self._kept.clear()


@dataclass(frozen=True)
class _Prepared:
    # The SQLCompiler the text came from, detached from the connection that built it (a kept compiler would otherwise
    # keep that thread's connection open): each run converts its rows with a copy bound to its own connection.
    compiler: Any
    sql: str
    params: tuple[Any, ...]  # constants, and the stand-ins where the arguments go
    slots: dict[tuple[type, Any], int]  # (type, value) of each stand-in -> the argument it stands for


# Prepared queries by (database, builder, key); None for a builder that cannot be prepared (it runs through the ORM).
_PREPARED: KeptStatements[_Prepared | None] = KeptStatements(limit=256)


def _stand_in(index: int, example: Any) -> int | str:
    """A value no real argument takes: a negative id beyond any sequence, or text with a NUL (which no input keeps)."""
    marker = -(2**62) - 7919 * (index + 1)
    return f"\x00stand-in-{index}{marker}" if isinstance(example, str) else marker


def _prepare(build: Callable[..., QuerySet[Any, Any]], key: tuple[Any, ...], args: tuple[Any, ...],
             database: str) -> _Prepared | None:
    stand_ins = [_stand_in(i, arg) for i, arg in enumerate(args)]
    compiler = build(key, *stand_ins).query.get_compiler(database)
    sql, params = compiler.as_sql()
    slots = {(type(value), value): i for i, value in enumerate(stand_ins)}
    found = {slots[(type(p), p)] for p in params if (type(p), p) in slots}
    baked = any(str(value).strip("\x00") in sql for value in stand_ins)
    if found != set(range(len(stand_ins))) or baked:
        return None
    sql, params, _where = with_constants_written(
        sql, params, {i for i, p in enumerate(params) if (type(p), p) in slots}, database)
    compiler.connection = None
    return _Prepared(compiler, sql, tuple(params), slots)


def run_prepared(build: Callable[..., QuerySet[Any, Any]], key: tuple[Any, ...], *args: Any,
                 database: str = DEFAULT_DB_ALIAS) -> list[tuple[Any, ...]]:
    """The rows (tuples) of the values_list queryset build(key, *args), whose SQL is compiled once per process for
    (database, build, key) with stand-ins for `args`, then run with the real values bound as parameters.
    `build` is a module-level function: it sees nothing but `key` and the stand-ins, so the key is everything the SQL
    text depends on. A builder whose compiled parameters do not hold every stand-in as a whole value (Django turned one
    into something else) is never prepared: it runs through the ORM every time."""
    prepared = _PREPARED.get((database, build.__module__, build.__qualname__, *key),
                             lambda: _prepare(build, key, args, database))
    if prepared is None:
        return [tuple(row) for row in build(key, *args)]
    params = [args[prepared.slots[(type(p), p)]] if (type(p), p) in prepared.slots else p for p in prepared.params]
    return run_kept_sql(prepared.sql, params, database=database, compiler=prepared.compiler)


def run_kept_sql(sql: str, params: Sequence[Any], *, database: str, compiler: Any = None) -> list[tuple[Any, ...]]:
    """A kept statement run with this request's parameters: its rows as fetched or, with `compiler` (the kept
    SQLCompiler it came from, detached from its connection), converted as the ORM converts them, by a copy bound to
    this thread's connection."""
    connection = connections[database]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if compiler is None:
        return [tuple(row) for row in rows]
    bound = copy.copy(compiler)
    bound.connection = connection
    return list(bound.results_iter(results=[rows], tuple_expected=True))


# A kept statement's constants (everything but the values bound on each run) written into its text as literals, on
# PostgreSQL. The server plans a prepared statement afresh for every run (a custom plan) while a plan made for unknown
# parameters (a generic plan) would be worse; with the open statuses, the organisation and the person as parameters,
# it was: a generic plan cannot use the partial indexes of open work (their predicate needs the statuses as constants),
# so the inbox's counts, page and badges were planned on every request (0.2 to 0.3 ms each). With the constants in the
# text, the generic plan is the good one, and after its first runs on a connection the server plans it no more. The
# statement's text is then one person's or one list's, as its key already is (KeptStatements). Only numbers, booleans
# and plain words (letters, digits, `_.:@/+-`) are written; any other value (text a person typed, an instant) stays
# a parameter.
_PLAIN_WORD = re.compile(r"[\w.:@/+-]*")


def with_constants_written(sql: str, params: Sequence[Any], bound: Collection[int],
                           database: str) -> tuple[str, tuple[Any, ...], dict[int, int]]:
    """`sql` with each parameter whose position is not in `bound` written in as a literal where it can be (see
    above), the parameters left, and where each bound parameter now is (old position -> new). Unchanged (every
    position where it was) on another database, or for a text whose placeholders are not the ORM's `%s`."""
    unchanged = (sql, tuple(params), {i: i for i in range(len(params))})
    connection = connections[database]
    if connection.vendor != "postgresql":
        return unchanged
    from psycopg import sql as psycopg_sql

    connection.ensure_connection()
    pieces = re.split(r"(%%|%s|%)", sql)
    if pieces.count("%s") != len(params) or "%" in pieces:
        return unchanged
    written: list[str] = []
    left: list[Any] = []
    renumbered: dict[int, int] = {}
    position = 0
    for piece in pieces:
        if piece != "%s":
            written.append(piece)
            continue
        value = _plain(params[position])
        if position not in bound and value is not None:
            written.append(psycopg_sql.Literal(value).as_string(connection.connection))  # " -5": never "--"
        else:
            value = params[position]
            renumbered[position] = len(left)
            left.append(value)
            written.append("%s")
        position += 1
    return "".join(written), tuple(left), renumbered


def _plain(value: Any) -> bool | int | str | None:
    """The value as a plain bool, int or str when it may be written into a statement (choices and psycopg's sized
    integers are such subclasses), else None."""
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, str) and _PLAIN_WORD.fullmatch(value):
        return str.__str__(value)
    return None


# psycopg turns a statement's %s placeholders into PostgreSQL's $1, $2, … and remembers the conversion by the
# statement's text (an LRU of 128 texts, psycopg._queries._query2pg), but only for texts up to 4,096 bytes with at most
# 50 parameters, so that ever-different bulk INSERTs do not fill it with megabytes. The kept statements of a list hold
# a person's named cases and a page's 50 ids as parameters (the inbox's counts, page and rows: 59 to 65), so each was
# converted again on every run. Raised to 16 KiB and 512 parameters, the cache still holds at most 128 × 16 KiB of text
# (with its parts): a bulk INSERT longer than that is converted each time, as before.
CONVERTED_STATEMENT_LENGTH = 16_384
CONVERTED_STATEMENT_PARAMETERS = 512


def remember_conversions_of_kept_statements() -> None:
    """Raise psycopg's bounds on the statements whose conversion it remembers (see above); nothing without psycopg,
    and nothing if a psycopg release names them differently (the statements are then converted each time, as
    before; tests/cases/test_kept_statements.py says so)."""
    try:
        from psycopg import _queries
    except ImportError:  # SQLite only
        return
    if hasattr(_queries, "MAX_CACHED_STATEMENT_LENGTH") and hasattr(_queries, "MAX_CACHED_STATEMENT_PARAMS"):
        _queries.MAX_CACHED_STATEMENT_LENGTH = max(_queries.MAX_CACHED_STATEMENT_LENGTH, CONVERTED_STATEMENT_LENGTH)
        _queries.MAX_CACHED_STATEMENT_PARAMS = max(_queries.MAX_CACHED_STATEMENT_PARAMS,
                                                   CONVERTED_STATEMENT_PARAMETERS)
