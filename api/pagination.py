"""Opaque, signed cursors for the API's lists. The case list's cursor holds the last row's sort key (its sort
always ends with a unique column, so the order is total): the next page is the rows after that key, read through
the ordering index the way the inbox reads its pages, so a page costs the same at any depth and a case added or
moved between two pages neither repeats nor skips another. The smaller lists' cursors hold a position."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.core import signing
from django.db import connections
from django.db.models import F, Field, Model, Q, QuerySet
from django.db.models.expressions import OrderBy
from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request

SALT = "api.cursor"
DEFAULT_LIMIT = 50
MAX_LIMIT = 200


def encode_cursor(position: int, scope: str) -> str:
    return signing.dumps({"p": position, "s": scope}, salt=SALT, compress=True)


def decode_cursor(request: Request, scope: str) -> int:
    """The position a request's `cursor` names (0 without one); a cursor of another list or a forged one is 400."""
    raw = request.query_params.get("cursor", "")
    if not raw:
        return 0
    try:
        value: Any = signing.loads(raw, salt=SALT)
    except signing.BadSignature:
        raise ValidationError({"cursor": [_("This cursor is not valid.")]}) from None
    if not isinstance(value, dict) or value.get("s") != scope or not isinstance(value.get("p"), int) or value["p"] < 0:
        raise ValidationError({"cursor": [_("This cursor is not valid.")]})
    return int(value["p"])


def limit_of(request: Request) -> int:
    raw = request.query_params.get("limit", "")
    if not raw:
        return DEFAULT_LIMIT
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise ValidationError({"limit": [_("A whole number from 1 to %(most)d.") % {"most": MAX_LIMIT}]})
    return int(raw)


def next_link(request: Request, position: int, scope: str) -> str:
    params = request.query_params.copy()
    params["cursor"] = encode_cursor(position, scope)
    return request.build_absolute_uri(request.path + "?" + params.urlencode())


@dataclass(frozen=True)
class Key:
    """One column of a list's sort: its field, its direction, and whether it may be NULL (NULLs sort last)."""

    field: str
    descending: bool = False
    nullable: bool = False

    def order(self) -> OrderBy:
        """NULLs last where they may occur (PostgreSQL's own place for them in an ascending index, SQLite's
        otherwise); a column that cannot be NULL is ordered plainly, so its index's order serves (PostgreSQL's
        DESC index keeps NULLs first: asking for NULLS LAST there would sort the whole list)."""
        column = F(self.field)
        if not self.nullable:
            return column.desc() if self.descending else column.asc()
        return column.desc(nulls_last=True) if self.descending else column.asc(nulls_last=True)

    def equal(self, value: Any) -> Q:
        return Q(**{f"{self.field}__isnull": True}) if value is None else Q(**{self.field: value})

    def ranges_after(self, value: Any) -> list[Q]:
        """`after(value)` as conditions each of which is one range of this column (NULLs: their own range)."""
        if value is None:
            return []
        beyond = Q(**{f"{self.field}__{'lt' if self.descending else 'gt'}": value})
        return [beyond, Q(**{f"{self.field}__isnull": True})] if self.nullable else [beyond]


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


def keyset_rows(qs: QuerySet[Any], keys: tuple[Key, ...], after: list[Any] | None, count: int) -> list[dict[str, Any]]:
    """Up to `count` rows of `qs` in its keys' order, from the start (`after` None) or after the row whose keys are
    `after`, as dicts of key_columns. In one query at any depth (keyset_query)."""
    query = keyset_query(qs, keys, after, count)
    columns = key_columns(keys)
    return [] if query is None else [dict(zip(columns, row, strict=True)) for row in query]


def keyset_query(qs: QuerySet[Any], keys: tuple[Key, ...], after: list[Any] | None,
                 count: int) -> QuerySet[Any, tuple[Any, ...]] | None:
    """keyset_rows' query, unevaluated, as tuples of key_columns (None: no row can follow `after`): the ranges of
    keyset_ranges, each read through the ordering index up to `count` rows, in one UNION ALL, ordered and cut to
    `count`."""
    columns = key_columns(keys)
    order = [key.order() for key in keys]
    qs = qs.order_by(*order)
    if after is None:
        return qs.values_list(*columns)[:count]
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


def decode_key(request: Request, scope: str, model: type[Model], keys: tuple[Key, ...]) -> list[Any] | None:
    """The sort key a request's `cursor` names (None without one: the first page); a cursor of another list, of
    another sort or a forged one is 400."""
    raw = request.query_params.get("cursor", "")
    if not raw:
        return None
    invalid = ValidationError({"cursor": [_("This cursor is not valid.")]})
    try:
        value: Any = signing.loads(raw, salt=SALT)
    except signing.BadSignature:
        raise invalid from None
    if not isinstance(value, dict) or value.get("s") != scope or not isinstance(value.get("k"), list) \
            or len(value["k"]) != len(keys):
        raise invalid
    try:
        return [None if v is None else _field(model, key.field).to_python(v)
                for key, v in zip(keys, value["k"], strict=True)]
    except Exception:  # a signed cursor of an older shape
        raise invalid from None


def _field(model: type[Model], name: str) -> Field[Any, Any]:
    field = model._meta.get_field(name)
    assert isinstance(field, Field)
    return field


def encode_key(key: list[Any], scope: str) -> str:
    return signing.dumps({"k": key, "s": scope}, salt=SALT, compress=True)


def next_key_link(request: Request, key: list[Any], scope: str) -> str:
    params = request.query_params.copy()
    params["cursor"] = encode_key(key, scope)
    return request.build_absolute_uri(request.path + "?" + params.urlencode())
