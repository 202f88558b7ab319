"""Keyset pages of the case list: a page is the rows after (or before) the sort key of a row of the page next to
it, read through the ordering index, so it costs the same at any depth, and a case added or moved between two pages
neither repeats nor skips another. Every sort ends with a unique column, so the order is total. The inbox's "Next"
and "Previous" links and the API's cursors are such keys."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from django.db import connections
from django.db.models import F, Field, Model, Q, QuerySet
from django.db.models.expressions import OrderBy


@dataclass(frozen=True)
class Key:
    """One column of a list's sort: its field, its direction, and whether it may be NULL (NULLs sort last; in a
    list read backwards, `reversed`, first)."""

    field: str
    descending: bool = False
    nullable: bool = False
    reversed: bool = False

    def order(self) -> OrderBy:
        """NULLs last where they may occur (PostgreSQL's own place for them in an ascending index, SQLite's
        otherwise); a column that cannot be NULL is ordered plainly, so its index's order serves (PostgreSQL's
        DESC index keeps NULLs first: asking for NULLS LAST there would sort the whole list). Read backwards, every
        direction and the NULLs' place turn round, which is the same index read from its other end."""
        column = F(self.field)
        descending = self.descending != self.reversed
        if not self.nullable:
            return column.desc() if descending else column.asc()
        if self.reversed:
            return column.desc(nulls_first=True) if descending else column.asc(nulls_first=True)
        return column.desc(nulls_last=True) if descending else column.asc(nulls_last=True)

    def equal(self, value: Any) -> Q:
        return Q(**{f"{self.field}__isnull": True}) if value is None else Q(**{self.field: value})

    def ranges_after(self, value: Any) -> list[Q]:
        """`after(value)` as conditions each of which is one range of this column (NULLs: their own range). NULLs
        sort last, so after a NULL comes nothing and after a value come the NULLs; read backwards the other way
        round."""
        if value is None:
            return [Q(**{f"{self.field}__isnull": False})] if self.reversed else []
        beyond = Q(**{f"{self.field}__{'lt' if self.descending != self.reversed else 'gt'}": value})
        return [beyond, Q(**{f"{self.field}__isnull": True})] if self.nullable and not self.reversed else [beyond]


def backwards(keys: tuple[Key, ...]) -> tuple[Key, ...]:
    """The same sort read from its end: the rows before a row, nearest first."""
    return tuple(replace(key, reversed=not key.reversed) for key in keys)


# Each inbox sort's columns (filtered_cases orders by them; the cursor holds them), ending with a unique column.
KEYSETS: dict[str, tuple[Key, ...]] = {
    "priority": (Key("priority_rank", descending=True), Key("submitted_at", nullable=True), Key("id")),
    "newest": (Key("created_at", descending=True), Key("id", descending=True)),
    "oldest": (Key("created_at"), Key("id")),
    "reference": (Key("reference"),),
    "updated": (Key("updated_at", descending=True), Key("id", descending=True)),
    "due": (Key("next_due_at", nullable=True), Key("priority_rank", descending=True), Key("id")),
}


def keyset_order(qs: QuerySet[Any], keys: tuple[Key, ...]) -> QuerySet[Any]:
    """The list in its keys' order, NULLs last on every database (so a cursor means the same everywhere)."""
    return qs.order_by(*(key.order() for key in keys))


def keyset_ranges(keys: tuple[Key, ...], values: list[Any]) -> list[Q]:
    """The rows after the row whose keys are `values`, as disjoint conditions each of which the ordering index reads
    as one range: the leading columns equal, the next one beyond (k1 = v1 and k2 = v2 and k3 > v3; k1 = v1 and
    k2 > v2; k2 NULL; k1 < v1). With mixed directions (priority descending, then submission time ascending) no
    single row comparison is a range of the index, and one OR of them, bounded by its leading column only, read
    every earlier row of the same rank (30,000 index entries for the page after row 49,950 by priority)."""
    ranges: list[Q] = []
    prefix = Q()
    for key, value in zip(keys, values, strict=True):
        ranges += [prefix & beyond for beyond in key.ranges_after(value)]
        prefix &= key.equal(value)
    return ranges


def key_columns(keys: tuple[Key, ...]) -> tuple[str, ...]:
    """The columns a page's rows are read with: the id and the sort key (for the next page's cursor)."""
    return ("id", *(key.field for key in keys if key.field != "id"))


def keyset_rows(qs: QuerySet[Any], keys: tuple[Key, ...], after: list[Any] | None, count: int,
                offset: int = 0) -> list[dict[str, Any]]:
    """Up to `count` rows of `qs` in its keys' order, from the start (`after` None, past `offset` rows) or after the
    row whose keys are `after`, as dicts of key_columns. In one query at any depth (keyset_query)."""
    query = keyset_query(qs, keys, after, count, offset)
    columns = key_columns(keys)
    return [] if query is None else [dict(zip(columns, row, strict=True)) for row in query]


def keyset_query(qs: QuerySet[Any], keys: tuple[Key, ...], after: list[Any] | None,
                 count: int, offset: int = 0) -> QuerySet[Any, tuple[Any, ...]] | None:
    """keyset_rows' query, unevaluated, as tuples of key_columns (None: no row can follow `after`): the ranges of
    keyset_ranges, each read through the ordering index up to `count` rows, in one UNION ALL, ordered and cut to
    `count`. `offset` (from the start only: a page asked for by its number) skips that many rows first."""
    columns = key_columns(keys)
    order = [key.order() for key in keys]
    qs = qs.order_by(*order)
    if after is None:
        return qs.values_list(*columns)[offset:offset + count]
    assert not offset, "a keyset page starts after its key"
    ranges = keyset_ranges(keys, after)
    if len(ranges) <= 1:
        return qs.filter(*ranges).values_list(*columns)[:count] if ranges else None
    if connections[qs.db].features.supports_slicing_ordering_in_compound:
        parts = [qs.filter(condition).values_list(*columns)[:count] for condition in ranges]
    else:  # SQLite: a compound's parts take no ORDER BY or LIMIT; the outer ORDER BY and LIMIT decide alone
        parts = [qs.filter(condition).order_by().values_list(*columns) for condition in ranges]
    return parts[0].union(*parts[1:], all=True).order_by(*order)[:count]


def row_key(row: Model | Mapping[str, Any], keys: tuple[Key, ...]) -> list[Any]:
    """A row's sort key (of a model instance or of a dict of its values) as JSON values (times as ISO 8601), for a
    cursor."""
    values = [row[key.field] if isinstance(row, Mapping) else getattr(row, key.field) for key in keys]
    return [value.isoformat() if hasattr(value, "isoformat") else value for value in values]


def key_from_json(model: type[Model], keys: tuple[Key, ...], values: list[Any]) -> list[Any]:
    """A sort key read back from a cursor's JSON values (row_key's), each as its column's Python value; ValueError
    (or a ValidationError) for values that are not."""
    if len(values) != len(keys):
        raise ValueError("another sort's key")
    return [None if value is None else model_field(model, key.field).to_python(value)
            for key, value in zip(keys, values, strict=True)]


def model_field(model: type[Model], name: str) -> Field[Any, Any]:
    """The model's concrete field of that name (a column: not a relation's reverse side)."""
    field = model._meta.get_field(name)
    assert isinstance(field, Field)
    return field
