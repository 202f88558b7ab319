"""Percentiles of a column, per group, in the database: PostgreSQL's percentile_cont as an aggregate of the grouped
query itself; elsewhere (SQLite) one grouped query over the rows ranked by a window function, interpolated the same
way (percentile_cont: the value at fraction × (n − 1) between the two nearest ranks). Never a loop over rows."""

from __future__ import annotations

from typing import Any

from django.db import connection
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


def native() -> bool:
    """Whether the database computes percentiles as an aggregate (PostgreSQL)."""
    return connection.vendor == "postgresql"


def percentile_annotations(columns: dict[str, tuple[str, float]]) -> dict[str, Any]:
    """{name: PercentileCont} for a grouped query (only where native())."""
    return {name: PercentileCont(fraction, column) for name, (column, fraction) in columns.items()}


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
