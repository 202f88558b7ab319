"""Reads of the inbox and the overview: the cases a person may see, filtered, searched, sorted and paged, and the
counts of open work. Their joins and indexes are chosen so a page costs the same at any depth and any size."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, TypeVar

from django.conf import settings
from django.db import connections
from django.db.models import Count, Model, Q, QuerySet
from django.utils import timezone

from accounts.models import User
from accounts.roles import OrgKind

from .. import permissions
from ..choices import OPEN_STATUSES, Status
from ..kept_statements import KeptStatements, run_kept_sql, with_constants_written
from ..link_identity import TargetError, normalise_target
from ..models import (
    Case,
    Message,
    Notification,
    ReadMarker,
    ReportedItem,
)
from .inbox_rows import InboxRow, case_row_values, case_rows, inbox_rows  # noqa: F401 (the API reads them here)
from .keyset import KEYSETS, Key, keyset_order, model_field


@dataclass
class CaseFilters:
    status: str = ""
    priority: str = ""
    category: str = ""
    authority: str = ""
    assignee: str = ""  # a user id, "me" or "none"
    q: str = ""
    sort: str = "priority"
    deadline: str = ""  # "due_soon" or "breached"


# Counts and totals beyond this are shown as "10,000+": nobody reads further, and counting further costs.
COUNT_CAP = 10_000
# A search that matches more than this says so: its first page is what the person reads.
SEARCH_COUNT_CAP = 1_000
REFERENCE_SHAPE = re.compile(r"[A-Za-z]{2}-\d{4}-\d{1,6}")
PARTIAL_REFERENCE_SHAPE = re.compile(r"[A-Za-z]{2}-[\d-]*|[A-Za-z]{0,2}-?\d[\d-]*")


# The inbox's filter parameters, as the list page and the exports read them from a query string.
FILTER_PARAMETERS = ("status", "priority", "category", "authority", "assignee", "q", "sort", "deadline")


def filters_from_query(user: User, params: Mapping[str, str]) -> CaseFilters:
    """The inbox's filters from its query string, with the defaults of the person's side: the platform's list is
    open work by priority unless a status or a search is asked for, an authority's list newest first."""
    filters = CaseFilters(**{k: str(params.get(k, "") or "").strip()[:200] for k in FILTER_PARAMETERS})
    side = permissions.side_of(user)
    if not filters.sort:
        filters.sort = "priority" if side == OrgKind.PLATFORM else "newest"
    if side == OrgKind.PLATFORM and "status" not in params and not filters.q:
        # The platform's work list: closed cases only when asked for ("Any"); a search link finds any case.
        filters.status = "open"
    return filters


def filtered_cases(user: User, filters: CaseFilters, *, visible: QuerySet[Case] | None = None,
                   now: datetime | None = None, search: tuple[str, str] | None = None) -> QuerySet[Case]:
    """`now`: the clock the deadline filters read (this instant unless given); `search`: the search as
    search_terms gives it, in place of the one filters.q asks for."""
    qs = permissions.cases_visible_to(user) if visible is None else visible
    if filters.status == "open":
        qs = qs.filter(status__in=OPEN_STATUSES)
    elif filters.status in Status.values:
        qs = qs.filter(status=filters.status)
    if filters.priority == "threat_to_life":
        qs = qs.filter(threat_to_life=True)
    elif filters.priority:
        qs = qs.filter(priority=filters.priority)
    if filters.category:
        qs = qs.filter(category__slug=filters.category)
    if filters.authority.isdigit():
        qs = qs.filter(requesting_org_id=int(filters.authority))
    if filters.assignee == "me":
        qs = qs.filter(assignee_id=user.pk)
    elif filters.assignee == "none":
        qs = qs.filter(assignee__isnull=True)
    elif filters.assignee.isdigit():
        qs = qs.filter(assignee_id=int(filters.assignee))
    if search is not None:
        qs = qs.filter(search_condition_of(*search))
    elif filters.q.strip():
        qs = qs.filter(search_condition(filters.q.strip()))
    if filters.deadline == "due_soon":
        qs = qs.filter(status__in=OPEN_STATUSES).filter(_due_soon(now))
    elif filters.deadline == "breached":
        qs = qs.filter(status__in=OPEN_STATUSES).filter(_breached(now))
    return keyset_order(qs, sort_keys(filters))


def sort_keys(filters: CaseFilters) -> tuple[Key, ...]:
    """The columns of the list's order (an unknown sort: by priority)."""
    return KEYSETS.get(filters.sort, KEYSETS["priority"])


def _due_soon(now: datetime | None = None) -> Q:
    """A running deadline due within LIAISON_DUE_SOON_MINUTES (or already past): read from the case's own clock
    summary, which the deadline actions keep."""
    return Q(next_due_at__lte=_clock(now)["soon"])


def _breached(now: datetime | None = None) -> Q:
    """A deadline marked breached, or a running one already past due that the next sweep will mark."""
    return Q(has_breached_deadline=True) | Q(next_due_at__lte=_clock(now)["now"])


def _clock(now: datetime | None = None) -> dict[str, datetime]:
    """The instants the deadline conditions compare with: now, and the end of the due-soon window."""
    now = timezone.now() if now is None else now
    return {"now": now, "soon": now + timedelta(minutes=settings.LIAISON_DUE_SOON_MINUTES)}


# Statements of the inbox (its counts, a page's ids, a filter's capped total) built through the ORM once per process
# per key and then run as SQL: building them cost more Python than running them. The key holds everything a
# statement's text and parameters depend on (the database, the person's visibility key, the filters, the page, the
# due-soon window), except the clock: the statement is built once with a sentinel instant (`_SENTINEL`, a moment no
# case holds), the parameters holding it (or the due-soon window's end after it) are remembered by position, and
# every run binds this request's now() there. So a kept statement is exactly the one building it again would give,
# with the clock of its own request; only SQL is kept, never a row or a count.
_SENTINEL = datetime(1901, 2, 3, 4, 5, 6, 789012, tzinfo=UTC)
_KEPT: KeptStatements[tuple[str, tuple[Any, ...], tuple[tuple[int, str], ...]]] = KeptStatements()
R = TypeVar("R")


def _run_kept(key: tuple[Any, ...], database: str, build: Callable[[datetime], R],
              from_rows: Callable[[list[tuple[Any, ...]]], R]) -> R:
    """`build(now)` evaluated through the ORM the first time for `key` (its one statement captured as it runs, with
    this request's clock bound), then its SQL run directly; `from_rows` reads the rows as `build` would have
    returned them."""
    connection = connections[database]
    adapt = connection.ops.adapt_datetimefield_value
    clock = {name: adapt(value) for name, value in _clock().items()}
    kept = _KEPT.find((database, *key))
    if kept is not None:
        sql, params, positions = kept
        return from_rows(run_kept_sql(sql, _bind(params, positions, clock), database=database))
    sentinels: dict[Any, str] = {adapt(value): name for name, value in _clock(_SENTINEL).items()}
    captured: list[tuple[str, tuple[Any, ...], tuple[tuple[int, str], ...]]] = []

    def bind_clock(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        params = tuple(params or ())
        positions = tuple((i, sentinels[p]) for i, p in enumerate(params)
                          if isinstance(p, datetime | str) and p in sentinels)
        captured.append((sql, params, positions))
        return execute(sql, _bind(params, positions, clock), many, context)

    with connection.execute_wrapper(bind_clock):
        result = build(_SENTINEL)
    if len(captured) == 1:  # one statement, as expected: kept (anything else is simply not kept)
        sql, params, positions = captured[0]
        sql, params, where = with_constants_written(sql, params, {i for i, _name in positions}, database)
        _KEPT.keep((database, *key), (sql, params, tuple((where[i], name) for i, name in positions)))
    return result


def _bind(params: tuple[Any, ...], positions: tuple[tuple[int, str], ...], clock: dict[str, Any]) -> tuple[Any, ...]:
    if not positions:
        return params
    bound = list(params)
    for index, name in positions:
        bound[index] = clock[name]
    return tuple(bound)


def list_scope(filters: CaseFilters) -> str:
    """What a cursor of a list is bound to (its filters and sort): another list's cursor is refused."""
    return hashlib.sha256(json.dumps(sorted(vars(filters).items())).encode()).hexdigest()[:16]


def search_condition(text: str) -> Q:
    """One indexed path per kind of query, never an OR that no index serves: a reference exactly (unique index),
    a link by its normalised key (item key index), otherwise words of the title and parts of a reference
    (trigram indexes on PostgreSQL)."""
    return search_condition_of(*search_terms(text))


def search_terms(text: str) -> tuple[str, str]:
    """What a search looks for, as (kind, value): ("reference", the reference in capitals), ("link", the link's
    normalised key), ("reference_or_title", a part of a reference or a title) or ("title", a part of a title)."""
    if REFERENCE_SHAPE.fullmatch(text):
        return "reference", text.upper()
    try:
        key = normalise_target(text).key
    except TargetError:
        key = ""
    if key and ("." in text or text.startswith(("@", "tg:"))):
        return "link", key
    if PARTIAL_REFERENCE_SHAPE.fullmatch(text):
        return "reference_or_title", text
    return "title", text


def search_condition_of(kind: str, value: str) -> Q:
    """The condition of search_terms' (kind, value)."""
    if kind == "reference":
        return Q(reference=value)
    if kind == "link":
        return Q(pk__in=ReportedItem.objects.filter(key=value).values("case_id"))
    if kind == "reference_or_title":
        return Q(reference__icontains=value) | Q(title__icontains=value)
    return Q(title__icontains=value)


RowT = TypeVar("RowT")


@dataclass
class CasePage(Generic[RowT]):
    """One page of the inbox: its rows, the total (capped), and where the pages around it start: `first_key` and
    `last_key`, the sort keys of its first and last rows (keyset.row_key), for the links to the pages before and
    after it (inbox_listing gives them)."""

    rows: list[RowT]
    total: int
    total_is_capped: bool
    page: int
    has_next: bool

    @property
    def pages(self) -> int | None:
        """The number of pages, when the total is exact."""
        return None if self.total_is_capped else max((self.total + self.per_page - 1) // self.per_page, 1)

    per_page: int = 50
    first_key: list[Any] | None = None
    last_key: list[Any] | None = None


def capped_count(qs: QuerySet[Any], cap: int | None = None) -> tuple[int, bool]:
    """The number of rows up to `cap` (COUNT_CAP), and whether there are more: counts at most cap + 1 rows."""
    cap = COUNT_CAP if cap is None else cap
    found = qs.order_by().values("pk")[:cap + 1].count()
    return min(found, cap), found > cap


def inbox_page(qs: QuerySet[Case], page: int, per_page: int, *, with_total: bool = True,
               count_cap: int | None = None, reader: User | None = None,
               known_total: int | None = None) -> CasePage[InboxRow]:
    """One page of cases as the inbox table shows them (InboxRow values: item and pending counts and, with
    `reader`, that person's unread messages). `known_total`: the page's total when the caller already counted the
    same set (the open-work counts)."""
    ids, total, capped, has_next = _page_ids(qs, page, per_page, with_total=with_total, count_cap=count_cap,
                                             known_total=known_total)
    return CasePage(rows=inbox_rows(ids, reader=reader), total=total, total_is_capped=capped,
                    page=max(page, 1), has_next=has_next, per_page=per_page)


def _page_ids(qs: QuerySet[Case], page: int, per_page: int, *, with_total: bool, count_cap: int | None,
              known_total: int | None) -> tuple[list[int], int, bool, bool]:
    """The ids of one page (an index-ordered scan, one row more to know whether a next page exists), its total as
    capped_count gives it, and whether a next page exists."""
    offset = max(page - 1, 0) * per_page
    ids = list(qs.values_list("id", flat=True)[offset:offset + per_page + 1])
    has_next = len(ids) > per_page
    ids = ids[:per_page]
    if known_total is not None:
        return ids, known_total, False, has_next
    if not with_total:
        return ids, 0, False, has_next
    return ids, *_total_of(qs, offset, len(ids), has_next, count_cap), has_next


def _total_of(qs: QuerySet[Case], offset: int, found: int, has_next: bool, cap: int | None) -> tuple[int, bool]:
    """capped_count(qs, cap), without counting when the page proves it: a page whose next row lies past the cap
    shows that more than cap rows exist (a deep page of a long list costs no count of ten thousand rows)."""
    cap = COUNT_CAP if cap is None else cap
    if past_cap(offset, found, has_next, cap):
        return cap, True
    return capped_count(qs, cap)


def past_cap(offset: int, found: int, has_next: bool, cap: int) -> bool:
    """Whether a page proves that more than `cap` rows exist: its next row lies past the cap."""
    return has_next and offset + found + 1 > cap


def inbox_counts(user: User, visible: QuerySet[Case] | permissions.VisibleCases | None = None) -> dict[str, Any]:
    """The open work a person sees, counted over open cases only (a few thousand rows at national scale, read
    through the partial indexes of open work), plus their organisation's drafts. `visible`: the person's
    cases_visible_to, when the page has it already; as VisibleCases, the statement is kept (`_run_kept`) under its
    key."""
    if isinstance(visible, permissions.VisibleCases):
        keyed = visible
        names = [*_COUNT_NAMES, *(["drafts"] if permissions.side_of(user) == OrgKind.AUTHORITY else [])]

        def from_rows(rows: list[tuple[Any, ...]]) -> dict[str, Any]:
            (row,) = rows
            return dict(zip(names, row, strict=True))

        counts: dict[str, Any] = _run_kept(("counts", *keyed.key, settings.LIAISON_DUE_SOON_MINUTES),
                                           Case.objects.db, lambda now: _counts(user, keyed.queryset, now), from_rows)
        counts.setdefault("drafts", 0)
        return counts
    return _counts(user, permissions.cases_visible_to(user) if visible is None else visible)


_COUNT_NAMES = ("open", "submitted", "urgent", "mine", "awaiting", "due_soon", "breached")


def _counts(user: User, visible: QuerySet[Case], now: datetime | None = None) -> dict[str, Any]:
    if permissions.side_of(user) == OrgKind.AUTHORITY:
        # An authority also counts its drafts (few: they are submitted or withdrawn), so "open" is "not a draft".
        counted, is_open = [*OPEN_STATUSES, Status.DRAFT], ~Q(status=Status.DRAFT)
    else:
        # The platform never sees a draft: every counted case is open, and no count repeats the condition (each
        # condition is evaluated on every one of the thousands of rows: half of the statement's time).
        counted, is_open = list(OPEN_STATUSES), None

    def open_and(condition: Q | None = None) -> Count:
        if is_open is not None:
            condition = is_open if condition is None else is_open & condition
        return Count("id", filter=condition)

    counts = visible.filter(status__in=counted).aggregate(
        open=open_and(),
        submitted=Count("id", filter=Q(status=Status.SUBMITTED)),
        urgent=open_and(Q(priority_rank__gte=30)),
        mine=open_and(Q(assignee_id=user.pk)),
        awaiting=Count("id", filter=Q(status=Status.AWAITING_INFORMATION)),
        due_soon=open_and(_due_soon(now)),
        breached=open_and(_breached(now)),
        **({"drafts": Count("id", filter=Q(status=Status.DRAFT))} if is_open is not None else {}),
    )
    counts.setdefault("drafts", 0)
    return counts


# The quick filters whose rows are exactly one of the open-work counts: (status, assignee, deadline) → count.
_COUNTED_FILTERS = {
    ("open", "", ""): "open",
    (Status.SUBMITTED.value, "", ""): "submitted",
    (Status.AWAITING_INFORMATION.value, "", ""): "awaiting",
    ("open", "me", ""): "mine",
    ("open", "", "due_soon"): "due_soon",
    ("open", "", "breached"): "breached",
}


def total_from_counts(filters: CaseFilters, counts: dict[str, Any]) -> int | None:
    """The list's total when its filter is one of the counted quick filters (the same cases, counted by
    `inbox_counts` already), else None: the platform's default list costs no second count."""
    if filters.priority or filters.category or filters.authority or filters.q.strip():
        return None
    key = _COUNTED_FILTERS.get((filters.status, filters.assignee, filters.deadline))
    return None if key is None else int(counts[key])


def _unread_messages_sql(user: User, database: str) -> tuple[str, tuple[Any, ...]]:
    """The ids of up to BADGE_CAP unread messages of this person: in the cases whose read marker has news past what
    they read (partial index read_marker_news), the entries after that marker (index message_case, (case, id), read
    from the marker on: the marker joins the messages directly, not through the case, so the planner bounds the
    index scan by both the case and the marker), visible to them by the policy and not their own.
    Written as SQL around the policy's own condition (compiled by the ORM): the ORM's join from a message to its
    case's markers goes through the case table, and the planner then scanned every message of each case."""
    visible = Message.objects.filter(permissions.message_visibility(user)).exclude(author_id=user.pk)
    compiler = visible.query.get_compiler(using=database)
    condition, params = compiler.compile(visible.query.where)
    # The policy's condition must read the message row alone (no join) to be placed in this statement.
    joined = {alias for alias, n in visible.query.alias_refcount.items() if n and alias != Message._meta.db_table}
    assert not joined, joined
    quote = connections[database].ops.quote_name
    message, marker = quote(Message._meta.db_table), quote(ReadMarker._meta.db_table)
    case, last_read, news, reader = (quote(_column(ReadMarker, name))
                                     for name in ("case", "last_read_message_id", "news_up_to", "user"))
    message_case, message_id = quote(_column(Message, "case")), quote(_column(Message, "id"))
    sql = (f"SELECT {message}.{message_id} FROM {marker} INNER JOIN {message} "  # noqa: S608 (names quoted)
           f"ON ({message}.{message_case} = {marker}.{case} AND {message}.{message_id} > {marker}.{last_read}) "
           f"WHERE {marker}.{reader} = %s AND {marker}.{news} > {marker}.{last_read} AND ({condition}) "
           f"LIMIT {BADGE_CAP:d}")
    return sql, (user.pk, *params)


def _column(model: type[Model], name: str) -> str:
    return model_field(model, name).column


# A badge counts up to this many and then shows "99+": a person far behind costs no more than one who is not.
BADGE_CAP = 100


# The badges' statement of a person, compiled once per process (building it through the ORM cost more than running
# it: about 3 ms of Python on every page). Its text and parameters are a function of the database, the person's id
# and the messages the policy lets them read (`message_visibility`), which is the key: a kept statement is exactly
# the one building it again would give, so nothing can go stale (no row is kept, only the SQL).
_BADGE_STATEMENTS: KeptStatements[tuple[str, tuple[Any, ...]]] = KeptStatements()


def unread_badges(user: User) -> dict[str, int]:
    """The navigation's two badges, unread notifications and unread messages (each up to BADGE_CAP), in one
    query: each count reads at most BADGE_CAP rows through its index (partial indexes of unread notifications and
    of read markers with news)."""
    database = Notification.objects.db

    def build() -> tuple[str, tuple[Any, ...]]:
        unread = Notification.objects.filter(user=user, read_at__isnull=True).order_by().values("pk")[:BADGE_CAP]
        notifications, n_params = unread.query.get_compiler(using=database).as_sql()
        messages, m_params = _unread_messages_sql(user, database)
        # The ORM's own SQL, every value a parameter.
        sql = f"SELECT (SELECT COUNT(*) FROM ({notifications}) AS n), (SELECT COUNT(*) FROM ({messages}) AS m)"  # noqa: S608
        written, params, _where = with_constants_written(sql, (*n_params, *m_params), (), database)
        return written, params

    sql, params = _BADGE_STATEMENTS.get((database, user.pk, permissions.message_visibility(user)), build)
    [(unread_n, unread_m)] = run_kept_sql(sql, params, database=database)
    return {"unread_notifications": unread_n or 0, "unread_messages": unread_m or 0}
