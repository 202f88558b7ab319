"""The inbox's rows: the cases of a page, in its order, with what a row shows (item and pending counts, the reader's
unread messages), as model instances (`case_rows`), as values (`case_row_values`, the API's rows) or as `InboxRow`s
(the inbox table). One query a page, whatever its rows."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count, F, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import translation

from accounts.models import User

from .. import permissions
from ..choices import Outcome
from ..kept_statements import run_prepared
from ..models import Case, Category, Message, ReadMarker, ReportedItem


def case_rows(ids: list[int], *, reader: User | None = None) -> list[Case]:
    """These cases, in this order, loaded as an inbox row shows them (one query; none for no ids)."""
    if not ids:
        return []
    counts = _row_counts(None, None) if reader is None else _row_counts(reader.pk,
                                                                        permissions.message_visibility(reader))
    rows = (Case.objects.filter(pk__in=ids)
            .select_related("category", "requesting_org", "responding_org", "queue", "assignee")
            .annotate(**counts, next_due=F("next_due_at")))
    return _in_order(rows, ids, lambda case: case.pk)


def case_row_values(ids: list[int], fields: tuple[str, ...], *, reader: User | None = None) -> list[dict[str, Any]]:
    """These cases, in this order, as dicts of `fields` (columns, and related columns by `__` path) with the counts
    case_rows annotates (item_count, pending_count and, with `reader`, unread): the same rows without building
    model instances, for callers that only read values (the API). One query; none for no ids."""
    if not ids:
        return []
    names = ("id", *fields, *_count_names(reader))
    return [dict(zip(names, row, strict=True)) for row in _row_values(ids, fields, reader)]


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


def _row_counts(reader: int | None, visibility: Q | None) -> dict[str, Any]:
    """What a row counts, as annotations: its items, those still pending and, with a reader (their id and the
    messages the policy lets them read), their unread messages."""
    items = ReportedItem.objects.filter(case=OuterRef("pk")).order_by().values("case")
    counts: dict[str, Any] = {"item_count": _count_in(items),
                              "pending_count": _count_in(items.filter(outcome=Outcome.PENDING))}
    if reader is not None and visibility is not None:
        counts["unread"] = _count_in(_unread_in_case(reader, visibility))
    return counts


def _in_order(rows: Any, ids: list[int], pk: Callable[[Any], int]) -> list[Any]:
    """`rows` in the order of `ids` (a row no longer there is left out)."""
    by_id = {pk(row): row for row in rows}
    return [by_id[i] for i in ids if i in by_id]


def _count_names(reader: User | None) -> tuple[str, ...]:
    return ("item_count", "pending_count") if reader is None else ("item_count", "pending_count", "unread")


def _row_values(ids: list[int], fields: tuple[str, ...], reader: User | None) -> list[tuple[Any, ...]]:
    """The rows of these cases (id, *fields, *counts), in the order of `ids`. The query is compiled once per process
    for the fields, the number of ids and the messages the policy lets the reader read (kept_statements.run_prepared:
    building its count subqueries through the ORM cost more Python than running it); the ids and the reader are bound
    on every run."""
    visibility = None if reader is None else permissions.message_visibility(reader)
    args = tuple(ids) if reader is None else (reader.pk, *ids)
    rows = run_prepared(_row_query, (fields, visibility, len(ids)), *args, database=Case.objects.db)
    return _in_order(rows, ids, lambda row: row[0])


def _row_query(key: tuple[tuple[str, ...], Q | None, int], *args: int) -> QuerySet[Case, tuple[Any, ...]]:
    """(For run_prepared.) The rows of the cases `args` (after the reader's id when the key holds their message
    visibility) with their counts."""
    fields, visibility, _count = key
    reader, ids = (None, args) if visibility is None else (args[0], args[1:])
    counts = _row_counts(reader, visibility)
    return Case.objects.filter(pk__in=ids).order_by().annotate(**counts).values_list("id", *fields, *counts)


def inbox_rows(ids: list[int], *, reader: User | None = None) -> list[InboxRow]:
    """These cases, in this order, as inbox rows: one query (none for no ids), the same counts as case_rows."""
    if not ids:
        return []
    language = translation.get_language()

    def category(name: str | None, name_id: str | None) -> str:
        return "" if name is None else Category.name_for_reader(name, name_id, language)  # the model says which

    return [
        InboxRow(id=pk, reference=reference, title=title, category=category(category_name, category_name_id),
                 status=status, priority=priority, threat_to_life=threat_to_life, tlp=tlp, authority=authority,
                 assignee=assignee or "", next_due=next_due, submitted_at=submitted_at, item_count=item_count,
                 pending_count=pending_count, unread=unread[0] if unread else 0)
        for (pk, reference, title, category_name, category_name_id, status, priority, threat_to_life, tlp, authority,
             assignee, next_due, submitted_at, item_count, pending_count, *unread)
        in _row_values(ids, _INBOX_ROW_FIELDS, reader)
    ]


def _count_in(grouped: QuerySet[Any]) -> Coalesce:
    """COUNT(*) of a per-case subquery (already grouped by case), 0 when it has no rows."""
    return Coalesce(Subquery(grouped.annotate(n=Count("*")).values("n"), output_field=IntegerField()), 0)


def _unread_in_case(reader: int, visibility: Q) -> QuerySet[Message, Any]:
    """The reader's unread messages of the outer case: past their read marker (all, without one), visible to them
    (`visibility`, the policy's message_visibility), not their own."""
    marker = ReadMarker.objects.filter(user_id=reader, case=OuterRef(OuterRef("pk"))).values("last_read_message_id")[:1]
    return (Message.objects.filter(case=OuterRef("pk"), id__gt=Coalesce(Subquery(marker), 0))
            .filter(visibility).exclude(author_id=reader).order_by().values("case"))
