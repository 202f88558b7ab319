"""The case list's two statements (the inbox's and the API's), a page's sort keys (from the start, from a page's
number or after a cursor, forwards or backwards) and the capped total, built
through the ORM once per process per key and then run as SQL with this request's values bound: building them (the
visibility predicate, the filters, the keyset ranges, the count around them) cost more Python than running them.

The key holds everything a statement's text depends on: the database, the person's visibility key
(permissions.visible_cases_of: organisation, side, role, membership, person, the named cases), the filters, the sort
and its direction, which of the cursor's values are NULL (a NULL key is another condition, not another value), the
number of rows asked for, the offset of a page asked for by its number, and the due-soon window. The values that change from one request to the next, the cursor's values and the clock,
are never in the kept text: the statement is built with stand-ins there (values no real argument takes), the
parameters holding them are remembered by position, and every run binds this request's values in their place. A
builder whose parameters do not hold every stand-in as a whole value is not kept (it runs through the ORM every time).
Only SQL is kept, never a row or a count. A search (`q`) is kept by its kind (a reference, a link, a part of a
title), its text bound as the others are.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import EmptyResultSet, FullResultSet
from django.db import connections
from django.db.models import DateTimeField, Field, IntegerField, QuerySet
from django.utils import timezone

from accounts.models import User

from .. import permissions
from ..kept_statements import KeptStatements, run_kept_sql, with_constants_written
from ..models import Case
from . import inbox
from .inbox import CaseFilters, CasePage, InboxRow
from .keyset import Key, backwards, key_columns, keyset_query, keyset_rows, model_field, row_key


@dataclass(frozen=True)
class Slot:
    """One value bound on every run: two stand-ins for it (`stand_ins`, the builder is given one or the other), each
    as the statement's parameter it becomes (`markers`), and this run's value as that parameter (`value`)."""

    stand_ins: tuple[Any, Any]
    markers: tuple[Any, Any]
    value: Any


@dataclass(frozen=True)
class _Kept:
    sql: str
    params: tuple[Any, ...]
    positions: tuple[tuple[int, int], ...]  # (parameter position, slot index)
    # The compiler the text came from, detached from its connection, to convert the rows as the ORM would (None for a
    # statement whose rows need no conversion, the count).
    compiler: Any


_KEPT: KeptStatements[_Kept | None] = KeptStatements(limit=1024)


def _prepare(build: Callable[..., QuerySet[Any, Any] | None], slots: list[Slot], database: str,
             counted: bool) -> _Kept | None:
    """The statement built twice, with each set of stand-ins: the parameters that differ are the slots' (each must
    hold its slot's marker in both), the rest are constants; anything else (another text, a stand-in turned into
    something else or baked into the text, a slot that no parameter holds) is not kept."""
    compiled = []
    for side in (0, 1):
        query = build(*(slot.stand_ins[side] for slot in slots))
        if query is None:
            return None
        compiler = query.query.get_compiler(database)
        try:
            sql, params = compiler.as_sql()
        except (EmptyResultSet, FullResultSet):
            return None
        compiled.append((compiler, sql, tuple(params)))
    (compiler, sql, params), (_other, other_sql, other_params) = compiled
    if sql != other_sql or len(params) != len(other_params):
        return None
    positions = []
    for position, (first, second) in enumerate(zip(params, other_params, strict=True)):
        if type(first) is type(second) and first == second:
            continue
        found = [i for i, slot in enumerate(slots)
                 if (type(first), first) == (type(slot.markers[0]), slot.markers[0])
                 and (type(second), second) == (type(slot.markers[1]), slot.markers[1])]
        if len(found) != 1:
            return None
        positions.append((position, found[0]))
    baked = any(str(marker).strip("\x00") in sql for slot in slots for marker in slot.markers)
    if {i for _position, i in positions} != set(range(len(slots))) or baked:
        return None
    sql, params, where = with_constants_written(sql, params, {position for position, _i in positions}, database)
    positions = [(where[position], i) for position, i in positions]
    if counted:
        return _Kept(f"SELECT COUNT(*) FROM ({sql}) subquery", params, tuple(positions), None)  # noqa: S608 (the ORM's own SQL)
    compiler.connection = None
    return _Kept(sql, params, tuple(positions), compiler)


def _run(key: Hashable, build: Callable[..., QuerySet[Any, Any] | None], slots: list[Slot], database: str, *,
         counted: bool = False) -> list[tuple[Any, ...]] | None:
    """The rows of build(*stand-ins) (or, `counted`, its COUNT(*)) with each slot's value bound; None when the
    statement cannot be kept (the caller runs the ORM)."""
    kept = _KEPT.get(key, lambda: _prepare(build, slots, database, counted))
    if kept is None:
        return None
    params = list(kept.params)
    for position, index in kept.positions:
        params[position] = slots[index].value
    return run_kept_sql(kept.sql, params, database=database, compiler=kept.compiler)


def _stand_ins(index: int, field: Field[Any, Any], database: str) -> tuple[Any, Any]:
    """Two values of the field's type for the index'th slot: instants of 1900, numbers at the top of the column's
    range (a lookup beyond it is no query at all), text with a NUL."""
    if isinstance(field, DateTimeField):
        first = datetime(1900, 1, 2, tzinfo=UTC) + timedelta(seconds=index, microseconds=7919)
        return first, first + timedelta(days=1)
    if isinstance(field, IntegerField):
        _low, high = connections[database].ops.integer_field_range(field.get_internal_type())
        top = 2**31 - 1 if high is None else high
        return top - 2 * index, top - 2 * index - 1
    return f"\x00stand-in-{index}-a", f"\x00stand-in-{index}-b"


def _slot(index: int, field: Field[Any, Any], value: Any, database: str) -> Slot:
    connection = connections[database]
    stand_ins = _stand_ins(index, field, database)
    first, second = (field.get_db_prep_value(stand_in, connection, prepared=False) for stand_in in stand_ins)
    return Slot(stand_ins, (first, second), field.get_db_prep_value(value, connection, prepared=False))


# The clock's stand-ins: moments no case holds. filtered_cases compares with now (breached) or now plus the due-soon
# window (due soon); the slot's markers are the instants it compares with.
_NOW = (datetime(1901, 2, 3, 4, 5, 6, 789012, tzinfo=UTC), datetime(1902, 3, 4, 5, 6, 7, 890123, tzinfo=UTC))


def _clock_slot(deadline: str, database: str) -> list[Slot]:
    if deadline not in ("due_soon", "breached"):
        return []
    window = timedelta(minutes=settings.LIAISON_DUE_SOON_MINUTES) if deadline == "due_soon" else timedelta()
    adapt = connections[database].ops.adapt_datetimefield_value
    return [Slot(_NOW, (adapt(_NOW[0] + window), adapt(_NOW[1] + window)), adapt(timezone.now() + window))]


def _search_slot(text: str, database: str) -> tuple[str, list[Slot]]:
    """A search's kind (inbox.search_terms), which chooses the statement, and its value as a slot: the reference or
    the link's key as it is compared, a part of a title as the LIKE pattern the ORM makes of it."""
    if not text:
        return "", []
    kind, value = inbox.search_terms(text)
    stand_ins = ("\x00stand-in-q-a", "\x00stand-in-q-b")
    if kind in ("reference", "link"):
        return kind, [Slot(stand_ins, stand_ins, value)]
    like = connections[database].ops.prep_for_like_query
    return kind, [Slot(stand_ins, (f"%{stand_ins[0]}%", f"%{stand_ins[1]}%"), f"%{like(value)}%")]


def case_page(user: User, filters: CaseFilters, keys: tuple[Key, ...], after: list[Any] | None,
              count: int, *, offset: int = 0, cap: int | None = None,
              visible: permissions.VisibleCases | None = None,
              ) -> tuple[list[dict[str, Any]], Callable[[], tuple[int, bool]]]:
    """Up to `count` rows (dicts of key_columns) of filtered_cases(user, filters) in the order of `keys`, from the
    start (past `offset` rows) or after the row whose keys are `after` (keyset.keyset_rows), and the function that
    counts the list as inbox.capped_count does up to `cap` (called only when the page does not tell the total).
    `visible`: permissions.visible_cases_of(user), when the caller has it already."""
    visible = permissions.visible_cases_of(user) if visible is None else visible
    cap = inbox.COUNT_CAP if cap is None else cap
    if visible is None:
        qs = inbox.filtered_cases(user, filters)
        return keyset_rows(qs, keys, after, count, offset), lambda: inbox.capped_count(qs, cap)
    database = Case.objects.db
    clock = _clock_slot(filters.deadline, database)
    kind, search = _search_slot(filters.q.strip(), database)
    cursor = [] if after is None else [_slot(i, model_field(Case, key.field), value, database)
                                       for i, (key, value) in enumerate(zip(keys, after, strict=True))
                                       if value is not None]
    shape = None if after is None else tuple(value is None for value in after)
    listed = ("cases", database, *visible.key, filters.status, filters.priority, filters.category,
              filters.authority, filters.assignee, filters.deadline, filters.sort, kind,
              settings.LIAISON_DUE_SOON_MINUTES if clock else None)

    def cases(now: datetime | None, searched: str | None = None) -> QuerySet[Case]:
        return inbox.filtered_cases(user, filters, visible=visible.queryset, now=now,
                                    search=None if searched is None else (kind, searched))

    def page(*stand_ins: Any) -> QuerySet[Any, tuple[Any, ...]] | None:
        now, searched = (stand_ins[0] if clock else None), (stand_ins[len(clock)] if search else None)
        given = iter(stand_ins[len(clock) + len(search):])
        return keyset_query(cases(now, searched), keys, None if after is None else [
            None if value is None else next(given) for value in after], count, offset)

    def count_query(*stand_ins: Any) -> QuerySet[Any, Any]:
        now, searched = (stand_ins[0] if clock else None), (stand_ins[len(clock)] if search else None)
        return cases(now, searched).order_by().values_list("pk")[:cap + 1]

    def as_dicts(rows: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
        columns = key_columns(keys)
        return [dict(zip(columns, row, strict=True)) for row in rows]

    rows = _run(("page", *listed, keys, shape, count, offset), page, [*clock, *search, *cursor], database)
    keyed = keyset_rows(cases(None), keys, after, count, offset) if rows is None else as_dicts(rows)

    def total() -> tuple[int, bool]:
        counted = _run(("total", *listed, cap), count_query, [*clock, *search], database, counted=True)
        if counted is None:
            return inbox.capped_count(cases(None), cap)
        found = counted[0][0]
        return min(found, cap), found > cap

    return keyed, total


@dataclass(frozen=True)
class PageCursor:
    """Where an inbox page starts, as its "Next" and "Previous" links say: after (`backwards`: before) the row whose
    sort key is `key`; `page` is its number, for display."""

    key: list[Any]
    backwards: bool
    page: int


def inbox_listing(user: User, filters: CaseFilters, visible: permissions.VisibleCases, page: int, per_page: int, *,
                  counts: dict[str, Any], cursor: PageCursor | None = None) -> CasePage[InboxRow]:
    """One page of filtered_cases(user, filters) as the inbox shows it (inbox_rows, with this reader's unread
    messages), with its total: the open-work counts' when they hold it (total_from_counts), else capped
    (SEARCH_COUNT_CAP for a search). A page asked for by its number walks the rows before it; a page reached by a
    "Next" or "Previous" link (`cursor`) is read after or before the key of a row of the page it came from, at the
    cost of the first page at any depth (case_page; its statements kept)."""
    keys = inbox.sort_keys(filters)
    cap = inbox.SEARCH_COUNT_CAP if filters.q.strip() else inbox.COUNT_CAP
    offset = 0
    if cursor is not None and cursor.backwards:
        keyed, count = case_page(user, filters, backwards(keys), cursor.key, per_page + 1, cap=cap, visible=visible)
        if len(keyed) > per_page:  # rows before this page remain (so it is not the first: a "Previous" link shows)
            keyed, has_next, page = keyed[:per_page][::-1], True, max(cursor.page, 2)
        else:  # the list's start (a case that left the list shortened it): the first page, whole
            cursor, page = None, 1
    if cursor is None:
        offset = max(page - 1, 0) * per_page
        keyed, count = case_page(user, filters, keys, None, per_page + 1, offset=offset, cap=cap, visible=visible)
        has_next = len(keyed) > per_page
        keyed = keyed[:per_page]
    elif not cursor.backwards:
        keyed, count = case_page(user, filters, keys, cursor.key, per_page + 1, cap=cap, visible=visible)
        has_next, page = len(keyed) > per_page, cursor.page  # a "Next" link's page is 2 or later
        keyed = keyed[:per_page]
    known_total = inbox.total_from_counts(filters, counts)
    if known_total is not None:
        total, capped = known_total, False
    elif cursor is None and inbox.past_cap(offset, len(keyed), has_next, cap):
        total, capped = cap, True
    else:
        total, capped = count()
    return CasePage(rows=inbox.inbox_rows([row["id"] for row in keyed], reader=user), total=total,
                    total_is_capped=capped, page=max(page, 1), has_next=has_next, per_page=per_page,
                    first_key=row_key(keyed[0], keys) if keyed else None,
                    last_key=row_key(keyed[-1], keys) if keyed else None)
