"""The dashboard's figures for a scope and a period: one module, one set of grouped queries.

A scope is the policy's condition on cases (cases/permissions/figures.py); narrowing it to one authority adds that
authority's condition to the same queries, so an authority's people and the platform see the same numbers for that
authority, computed by the same code. The open work is counted live from the cases' own clock summary (as the inbox
counts it); everything over a period from the summary rows (stats/models.py), a case counting in the period in which
it was received (UTC days), with its items, its deadlines and its durations (pauses excluded).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Count, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from accounts.models import Organization, Queue
from cases.choices import OPEN_STATUSES, Outcome, Priority, Status
from cases.models import Case, Category

from . import percentiles, summary
from .models import CaseFigures
from .summary import ITEM_FIELDS

DIMENSIONS: dict[str, str] = {
    "authority": "requesting_org_id",
    "category": "category_id",
    "queue": "queue_id",
    "month": "received_month",
}
DURATIONS: dict[str, tuple[str, float]] = {
    "acknowledge_median": ("acknowledge_seconds", 0.5),
    "acknowledge_p90": ("acknowledge_seconds", 0.9),
    "resolve_median": ("resolve_seconds", 0.5),
    "resolve_p90": ("resolve_seconds", 0.9),
}
COUNTS = ("acknowledge_met", "acknowledge_breached", "resolve_met", "resolve_breached")


@dataclass(frozen=True)
class Period:
    """UTC days, both ends included."""

    first: date
    last: date

    def months(self) -> list[date]:
        months, month = [], self.first.replace(day=1)
        while month <= self.last:
            months.append(month)
            month = (month + timedelta(days=32)).replace(day=1)
        return months


@dataclass
class Group:
    """The figures of one group of a period (or of the whole period: key None)."""

    key: Any
    label: str
    cases: int = 0
    items: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    acknowledge_met: int = 0
    acknowledge_breached: int = 0
    resolve_met: int = 0
    resolve_breached: int = 0
    acknowledge_median: float | None = None
    acknowledge_p90: float | None = None
    resolve_median: float | None = None
    resolve_p90: float | None = None

    @property
    def acknowledge_on_time(self) -> float | None:
        return _rate(self.acknowledge_met, self.acknowledge_breached)

    @property
    def resolve_on_time(self) -> float | None:
        return _rate(self.resolve_met, self.resolve_breached)


def _rate(met: int, breached: int) -> float | None:
    """Deadlines met on time among those that ended met or breached (waived and cancelled ones do not count)."""
    return met / (met + breached) if met + breached else None


@dataclass
class OpenWork:
    """Open cases now: by state and priority, due soon and breached (the inbox's definitions)."""

    by_state_priority: dict[tuple[str, str], int]
    total: int
    due_soon: int
    breached: int

    def count(self, status: str, priority: str) -> int:
        return self.by_state_priority.get((status, priority), 0)


@dataclass
class Figures:
    period: Period
    open_work: OpenWork
    total: Group
    by: dict[str, list[Group]]
    as_of: datetime | None = None  # when the summary last caught up with the record


def _aggregates() -> dict[str, Any]:
    sums = {name: Coalesce(Sum(name), 0) for name in ("items_total", *ITEM_FIELDS.values(), *COUNTS)}
    return {"cases": Count("pk"), **sums}


def _group(key: Any, label: str, values: dict[str, Any], durations: dict[str, float | None] | None) -> Group:
    found = durations if durations is not None else percentiles.unpack(values, DURATIONS)
    # Seconds to a tenth: the databases' interpolation differs in the last bits of a float.
    durations = {name: (round(value, 1) if (value := found.get(name)) is not None else None) for name in DURATIONS}
    return Group(key=key, label=label, cases=values["cases"], items=values["items_total"],
                 outcomes={outcome: values[name] for outcome, name in ITEM_FIELDS.items()},
                 acknowledge_met=values["acknowledge_met"], acknowledge_breached=values["acknowledge_breached"],
                 resolve_met=values["resolve_met"], resolve_breached=values["resolve_breached"],
                 acknowledge_median=durations["acknowledge_median"], acknowledge_p90=durations["acknowledge_p90"],
                 resolve_median=durations["resolve_median"], resolve_p90=durations["resolve_p90"])


def open_work(condition: Q, now: datetime | None = None) -> OpenWork:
    """One grouped query over the open cases of the scope (the partial indexes of open work)."""
    now = now or timezone.now()
    due_soon = Q(next_due_at__lte=now + timedelta(minutes=settings.LIAISON_DUE_SOON_MINUTES))
    breached = Q(has_breached_deadline=True) | Q(next_due_at__lte=now)
    rows = (Case.objects.filter(condition, status__in=OPEN_STATUSES).order_by().values("status", "priority")
            .annotate(n=Count("id"), due_soon=Count("id", filter=due_soon), breached=Count("id", filter=breached)))
    by, total, soon, late = {}, 0, 0, 0
    for row in rows:  # at most 3 states × 3 priorities
        by[(row["status"], row["priority"])] = row["n"]
        total, soon, late = total + row["n"], soon + row["due_soon"], late + row["breached"]
    return OpenWork(by_state_priority=by, total=total, due_soon=soon, breached=late)


def period_rows(condition: Q, period: Period) -> Any:
    return CaseFigures.objects.filter(condition, received_on__gte=period.first, received_on__lte=period.last)


def figures(scope: Q, period: Period, *, authority_id: int | None = None, now: datetime | None = None,
            dimensions: tuple[str, ...] = tuple(DIMENSIONS)) -> Figures:
    """Every figure of the dashboard for the cases of `scope` (narrowed to one authority when given), broken down by
    the `dimensions` asked for (a page asks only for those it shows)."""
    condition = scope & Q(requesting_org_id=authority_id) if authority_id is not None else scope
    event, as_of = summary.version()
    # The period's figures change only with the summary: computed once per version, scope, period and language.
    total, by = summary.cached(("figures", str(condition), period, dimensions, get_language(), event, as_of),
                               lambda: period_figures(condition, period, dimensions))
    return Figures(period=period, open_work=open_work(condition, now), total=total, by=by, as_of=as_of)


def period_figures(condition: Q, period: Period, dimensions: tuple[str, ...] = tuple(DIMENSIONS),
                   ) -> tuple[Group, dict[str, list[Group]]]:
    """The figures of the cases received in the period: the whole and each breakdown asked for (uncached)."""
    with percentiles.roomy_sorts():
        return _period_figures(condition, period, dimensions)


def _period_figures(condition: Q, period: Period, dimensions: tuple[str, ...]) -> tuple[Group, dict[str, list[Group]]]:
    rows = period_rows(condition, period)
    if percentiles.native():
        found = _grouping_sets(rows, dimensions)
        _label(found[1], period, dimensions)
        return found
    # Elsewhere (SQLite): one grouped query per breakdown, and the percentiles ranked by window functions.
    total_values = rows.aggregate(**_aggregates())
    total = _group(None, _("All"), total_values, _durations(rows, None).get(None, {}))
    by: dict[str, list[Group]] = {dimension: [] for dimension in DIMENSIONS}
    for dimension in dimensions:
        column = DIMENSIONS[dimension]
        grouped = rows.order_by().values(column).annotate(**_aggregates()).order_by(column)
        durations = _durations(rows, column)
        by[dimension] = [_group(values[column], "", values, durations.get(values[column], {})) for values in grouped]
    _label(by, period, dimensions)
    return total, by


def _grouping_sets(rows: Any, dimensions: tuple[str, ...]) -> tuple[Group, dict[str, list[Group]]]:
    """PostgreSQL: the whole and every breakdown from two statements over the period's rows, each reading them once
    with GROUPING SETS: the counts (hashed, one row per group) and the percentiles (sorted, over only the columns
    they need). One pass of each instead of one per breakdown: the percentiles' sorts are most of the cost."""
    columns = [DIMENSIONS[dimension] for dimension in dimensions]
    sets = ", ".join(["()", *(f"({column})" for column in columns)])
    flags = "".join(f"GROUPING({column}), " for column in columns)
    keys = "".join(f"{column}, " for column in columns)
    sums = ", ".join(["COUNT(*)", *(f"COALESCE(SUM({name}), 0)" for name in ("items_total", *ITEM_FIELDS.values(),
                                                                              *COUNTS))])
    fractions = percentiles.fractions_by_column(DURATIONS)
    sorted_ = ", ".join(f"PERCENTILE_CONT(ARRAY[{', '.join(repr(f) for f in found)}]::float8[]) "
                        f"WITHIN GROUP (ORDER BY {column})" for column, found in fractions.items())
    needed = list(dict.fromkeys([*columns, "items_total", *ITEM_FIELDS.values(), *COUNTS, *fractions]))
    inner, params = rows.order_by().values(*needed).query.sql_with_params()
    # Only the module's own column names and fixed fractions are formatted in; every value stays a parameter.
    counted = _fetch(f"SELECT {flags}{keys}{sums} FROM ({inner}) AS figures_rows "  # noqa: S608
                     f"GROUP BY GROUPING SETS ({sets})", params)
    ranked = _fetch(f"SELECT {flags}{keys}{sorted_} FROM ({inner}) AS figures_rows "  # noqa: S608
                    f"GROUP BY GROUPING SETS ({sets})", params)
    names = ["cases", "items_total", *ITEM_FIELDS.values(), *COUNTS]
    durations: dict[tuple[str | None, Any], dict[str, Any]] = {}
    for row in ranked:
        where = _set_of(row, dimensions)
        values = dict(zip((f"percentiles_{column}" for column in fractions), row[2 * len(columns):], strict=True))
        durations[where] = percentiles.unpack(values, DURATIONS)
    total: Group | None = None
    by: dict[str, list[Group]] = {dimension: [] for dimension in DIMENSIONS}
    for row in counted:
        dimension, key = where = _set_of(row, dimensions)
        values = dict(zip(names, row[2 * len(columns):], strict=True))
        if dimension is None:
            total = _group(None, _("All"), values, durations.get(where, {}))
        else:
            by[dimension].append(_group(key, "", values, durations.get(where, {})))
    for groups in by.values():  # in the order of their keys, none last (as ORDER BY the column)
        groups.sort(key=lambda group: (group.key is None, group.key))
    return total or _group(None, _("All"), dict.fromkeys(names, 0), {}), by


def _set_of(row: tuple[Any, ...], dimensions: tuple[str, ...]) -> tuple[str | None, Any]:
    """(dimension, key) of a row of a GROUPING SETS query: the dimension whose GROUPING() flag is 0, None for the
    whole."""
    for index, dimension in enumerate(dimensions):
        if row[index] == 0:
            return dimension, row[len(dimensions) + index]
    return None, None


def _fetch(sql: str, params: Any) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _durations(rows: Any, column: str | None) -> dict[Any, dict[str, float | None]]:
    """The four durations per group where the database has no percentile aggregate: one query per column."""
    found: dict[Any, dict[str, float | None]] = {}
    for source in ("acknowledge_seconds", "resolve_seconds"):
        names = {name: fraction for name, (col, fraction) in DURATIONS.items() if col == source}
        for key, values in percentiles.percentiles_by(rows, column, source, names).items():
            found.setdefault(key, {}).update(values)
    return {key: {name: values.get(name) for name in DURATIONS} for key, values in found.items()}


def _label(by: dict[str, list[Group]], period: Period, dimensions: tuple[str, ...]) -> None:
    """Names for the groups' keys (one query per kind of name), and every month of the period, empty ones too."""
    organizations = Organization.objects.in_bulk([g.key for g in by["authority"] if g.key is not None])
    categories = Category.objects.in_bulk([g.key for g in by["category"] if g.key is not None])
    queues = Queue.objects.in_bulk([g.key for g in by["queue"] if g.key is not None])
    for group in by["authority"]:
        group.label = str(organizations[group.key]) if group.key in organizations else "?"
    for group in by["category"]:
        group.label = str(categories[group.key]) if group.key in categories else "?"
    for group in by["queue"]:
        group.label = str(queues[group.key]) if group.key in queues else _("No queue")
    if "month" not in dimensions:
        return
    months = {group.key: group for group in by["month"]}
    by["month"] = [months.get(month) or Group(key=month, label="") for month in period.months()]
    for group in by["month"]:
        group.label = date_format(group.key, "YEAR_MONTH_FORMAT")


def state_priority_table(work: OpenWork) -> list[tuple[str, list[int], int]]:
    """Rows (state label, counts by priority, total) for the open-work table."""
    table = []
    for status in OPEN_STATUSES:
        counts = [work.count(status, priority) for priority in Priority]
        table.append((str(Status(status).label), counts, sum(counts)))
    return table


OUTCOME_ORDER = [o for o in Outcome]
