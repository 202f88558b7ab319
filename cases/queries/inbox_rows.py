"""The inbox's rows: the cases of a page, in its order, with what a row shows (item and pending counts, the reader's
unread messages), as model instances (`case_rows`), as values (`case_row_values`, the API's rows) or as `InboxRow`s
(the inbox table). One query a page, whatever its rows."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count, F, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce

from accounts.models import User

from .. import permissions
from ..choices import Outcome
from ..kept_statements import KeptStatements
from ..models import Case, Category, Message, ReadMarker, ReportedItem


def case_rows(ids: list[int], *, reader: User | None = None) -> list[Case]:
    """These cases, in this order, loaded as an inbox row shows them (one query; none for no ids)."""
    if not ids:
        return []
    rows = (Case.objects.filter(pk__in=ids)
            .select_related("category", "requesting_org", "responding_org", "queue", "assignee")
            .annotate(**_row_counts(reader), next_due=F("next_due_at")))
    return _in_order(rows, ids, lambda case: case.pk)


def case_row_values(ids: list[int], fields: tuple[str, ...], *, reader: User | None = None) -> list[dict[str, Any]]:
    """These cases, in this order, as dicts of `fields` (columns, and related columns by `__` path) with the counts
    case_rows annotates (item_count, pending_count and, with `reader`, unread): the same rows without building
    model instances, for callers that only read values (the API). One query; none for no ids."""
    if not ids:
        return []
    counts = _row_counts(reader)
    rows = Case.objects.filter(pk__in=ids).order_by().annotate(**counts).values("id", *fields, *counts)
    return _in_order(rows, ids, lambda row: row["id"])


@dataclass(frozen=True, slots=True)
class InboxRow:
    """A case as a row of the inbox (and of the overview's attention list) shows it, read as plain values: fifty
    rows built as six model instances each cost more Python than every query of the page."""

    id: int
    reference: str
    title: str
    category: str  # its name in the reader's language ("" without one)
    status: str
    priority: str
    threat_to_life: bool
    tlp: str
    authority: str  # the requesting organisation's name
    assignee: str  # the assignee's full name ("" for nobody)
    next_due: datetime | None
    submitted_at: datetime | None
    item_count: int
    pending_count: int
    unread: int  # the reader's unread messages (0 without a reader)


_INBOX_ROW_FIELDS = ("reference", "title", "category__name", "category__name_id", "status", "priority",
                     "threat_to_life", "tlp", "requesting_org__name", "assignee__full_name", "next_due_at",
                     "submitted_at")


# The inbox rows' query before its ids, built once per process for each reader: building its annotations through
# the ORM cost more than running it (about 5 ms of Python a page). The key is everything the query depends on: the
# database, the reader's id and the messages the policy lets them read (`message_visibility`); the kept queryset is
# never evaluated (each page filters a copy by its ids), so it holds no rows and nothing can go stale.
_ROW_QUERIES: KeptStatements[QuerySet[Case, dict[str, Any]]] = KeptStatements()


def _row_counts(reader: User | None) -> dict[str, Any]:
    """What a row counts, as annotations: its items, those still pending and, with `reader`, their unread messages."""
    items = ReportedItem.objects.filter(case=OuterRef("pk")).order_by().values("case")
    counts: dict[str, Any] = {"item_count": _count_in(items),
                              "pending_count": _count_in(items.filter(outcome=Outcome.PENDING))}
    if reader is not None:
        counts["unread"] = _count_in(_unread_in_case(reader))
    return counts


def _in_order(rows: Any, ids: list[int], pk: Callable[[Any], int]) -> list[Any]:
    """`rows` in the order of `ids` (a row no longer there is left out)."""
    by_id = {pk(row): row for row in rows}
    return [by_id[i] for i in ids if i in by_id]


def _inbox_row_query(reader: User | None) -> QuerySet[Case, dict[str, Any]]:
    database = Case.objects.db
    key = (database, None, None) if reader is None else (database, reader.pk, permissions.message_visibility(reader))

    def build() -> QuerySet[Case, dict[str, Any]]:
        counts = _row_counts(reader)
        return Case.objects.using(database).order_by().annotate(**counts).values("id", *_INBOX_ROW_FIELDS, *counts)

    return _ROW_QUERIES.get(key, build)


def inbox_rows(ids: list[int], *, reader: User | None = None) -> list[InboxRow]:
    """These cases, in this order, as inbox rows: one query (none for no ids), the same counts as case_rows."""
    if not ids:
        return []
    category_names: dict[tuple[str, str], str] = {}

    def category(name: str | None, name_id: str | None) -> str:
        if name is None:
            return ""
        key = (name, name_id or "")
        if key not in category_names:  # the model says which name a reader reads
            category_names[key] = str(Category(name=name, name_id=name_id or ""))
        return category_names[key]

    rows = _in_order(_inbox_row_query(reader).filter(pk__in=ids), ids, lambda row: row["id"])
    return [
        InboxRow(id=row["id"], reference=row["reference"], title=row["title"],
                 category=category(row["category__name"], row["category__name_id"]), status=row["status"],
                 priority=row["priority"], threat_to_life=row["threat_to_life"], tlp=row["tlp"],
                 authority=row["requesting_org__name"], assignee=row["assignee__full_name"] or "",
                 next_due=row["next_due_at"], submitted_at=row["submitted_at"], item_count=row["item_count"],
                 pending_count=row["pending_count"], unread=row.get("unread", 0))
        for row in rows
    ]


def _count_in(grouped: QuerySet[Any]) -> Coalesce:
    """COUNT(*) of a per-case subquery (already grouped by case), 0 when it has no rows."""
    return Coalesce(Subquery(grouped.annotate(n=Count("*")).values("n"), output_field=IntegerField()), 0)


def _unread_in_case(reader: User) -> QuerySet[Message, Any]:
    """The reader's unread messages of the outer case: past their read marker (all, without one), visible to them,
    not their own."""
    marker = ReadMarker.objects.filter(user=reader, case=OuterRef(OuterRef("pk"))).values("last_read_message_id")[:1]
    return (Message.objects.filter(case=OuterRef("pk"), id__gt=Coalesce(Subquery(marker), 0))
            .filter(permissions.message_visibility(reader)).exclude(author=reader).order_by().values("case"))
