"""SQL compiled once per process and run again with each request's values.

Building a statement through the ORM often costs more Python than running it (the inbox's counts, a person's grants,
the case page's item tally). A statement is kept under a key that holds everything its text depends on; the values
that change from one request to the next (a case id, the clock) are parameters bound on every run, never baked into
the kept text. Only SQL (or an unevaluated queryset) is kept, never a row or a count, so nothing kept can go stale.
Every kept statement of the project lives in a `KeptStatements`, so their bound and their rule are written once.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Hashable, Sequence
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
