"""Percentiles of a column, per group, in the database: PostgreSQL's percentile_cont as an aggregate of the grouped
query itself; elsewhere (SQLite) one grouped query over the rows ranked by a window function, interpolated the same
way (percentile_cont: the value at fraction × (n − 1) between the two nearest ranks). Never a loop over rows."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.contrib.postgres.fields import ArrayField
from django.db import connection, transaction
from django.db.models import Aggregate, F, FloatField, QuerySet, Value


class PercentileCont(Aggregate):
    """PERCENTILE_CONT(fraction) WITHIN GROUP (ORDER BY expression): PostgreSQL only."""

    function = "PERCENTILE_CONT"
    name = "PercentileCont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, fraction: float, expression: Any, **extra: Any) -> None:
        if not 0 <= fraction <= 1:
            raise ValueError("a fraction between 0 and 1")
        super().__init__(expression, fraction=repr(float(fraction)), **extra)


class PercentilesCont(Aggregate):
    """PERCENTILE_CONT(ARRAY[fractions]) WITHIN GROUP (ORDER BY expression): several percentiles of a column from
    one sort of its values (PostgreSQL only)."""

    function = "PERCENTILE_CONT"
    name = "PercentilesCont"
    template = "%(function)s(ARRAY[%(fractions)s]::float8[]) WITHIN GROUP (ORDER BY %(expressions)s)"

    def __init__(self, fractions: list[float], expression: Any, **extra: Any) -> None:
        if not fractions or not all(0 <= f <= 1 for f in fractions):
            raise ValueError("fractions between 0 and 1")
        super().__init__(expression, fractions=", ".join(repr(float(f)) for f in fractions),
                         output_field=ArrayField(FloatField()), **extra)


def native() -> bool:
    """Whether the database computes percentiles as an aggregate (PostgreSQL)."""
    return connection.vendor == "postgresql"


def fractions_by_column(columns: dict[str, tuple[str, float]]) -> dict[str, list[float]]:
    """{column: its fractions, in order}: one sort per column, whatever the fractions."""
    fractions: dict[str, list[float]] = {}
    for column, fraction in columns.values():
        fractions.setdefault(column, []).append(fraction)
    return fractions


def percentile_annotations(columns: dict[str, tuple[str, float]]) -> dict[str, Any]:
    """Annotations for a grouped query (only where native()): one sort per column, whatever the fractions;
    `unpack` reads them back as {name: value}."""
    return {f"percentiles_{column}": PercentilesCont(fractions, column)
            for column, fractions in fractions_by_column(columns).items()}


def unpack(values: dict[str, Any], columns: dict[str, tuple[str, float]]) -> dict[str, float | None]:
    fractions = fractions_by_column(columns)
    found: dict[str, float | None] = {}
    for name, (column, fraction) in columns.items():
        computed = values.get(f"percentiles_{column}")
        found[name] = computed[fractions[column].index(fraction)] if computed else None
    return found


@contextmanager
def roomy_sorts() -> Iterator[None]:
    """Room for the percentiles' sorts in memory (PostgreSQL's default work_mem sends a year of a national scope
    to disk), for this transaction only."""
    if not native():
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL work_mem = '32MB'")
        yield


def _interpolated(fraction: float) -> str:
    position = f"{fraction!r} * (n - 1)"
    rank = f"CAST({position} AS INTEGER)"
    low = f"MIN(CASE WHEN rn = {rank} THEN v END)"
    high = f"MIN(CASE WHEN rn = {rank} + 1 THEN v END)"
    return f"{low} + COALESCE({high} - {low}, 0) * MAX({position} - {rank})"


def percentiles_by(rows: QuerySet[Any], group: str | None, column: str,
                   fractions: dict[str, float]) -> dict[Any, dict[str, float | None]]:
    """{group value: {name: percentile of column}} over `rows`, in one grouped query (any database with window
    functions). `group` None: one group, keyed None."""
    ranked = rows.order_by().filter(**{f"{column}__isnull": False}).annotate(
        figures_group=F(group) if group else Value(0), figures_value=F(column)).values("figures_group", "figures_value")
    inner, params = ranked.query.sql_with_params()
    selected = ", ".join(f"{_interpolated(fraction)} AS {name}" for name, fraction in fractions.items())
    # Only fixed fractions and the ORM's own compiled SQL are formatted in; every value stays a parameter.
    sql = (f"SELECT g, {selected} FROM (SELECT g, v, ROW_NUMBER() OVER (PARTITION BY g ORDER BY v) - 1 AS rn, "  # noqa: S608
           f"COUNT(*) OVER (PARTITION BY g) AS n FROM (SELECT figures_group AS g, figures_value AS v FROM ({inner}) "
           f"AS figures_rows) AS figures_values) AS figures_ranked GROUP BY g")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = list(fractions)
        return {(row[0] if group else None): {name: (float(value) if value is not None else None)
                                              for name, value in zip(names, row[1:], strict=True)}
                for row in cursor.fetchall()}
