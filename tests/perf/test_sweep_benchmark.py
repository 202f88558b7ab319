"""Benchmark: the deadline sweep among 1,000,000 deadlines, 1,000 of them due, on PostgreSQL.

The sweep must read only the rows whose time has come, through the partial index `deadline_sweep`
(next_check_at WHERE status = 'open'), whatever the size of the table. Excluded from the default run; run with
    DATABASE_URL=postgres://… .venv/bin/pytest tests/perf/test_sweep_benchmark.py -o addopts="" -s
"""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cases.actions import deadline_sweep
from cases.actions.deadline_sweep import sweep_deadlines
from cases.models import Deadline, DeadlineSignal
from tests.cases.conftest import make_case

pytestmark = [pytest.mark.perf, pytest.mark.django_db]

TOTAL = 1_000_000
DUE = 1_000
# Of the rest: every tenth open with its next check in the future, the others met.
SECONDS_BUDGET = 120.0


def insert_deadlines(case_id: int, now) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO cases_deadline (case_id, kind, title, owner_side, started_at, due_at, status, origin,
                                        met_at, breached_at, closed_at, paused_at, paused_seconds, next_check_at,
                                        created_at)
            SELECT %(case)s, 'resolve', '', 'platform',
                   %(now)s - interval '10 hours',
                   CASE WHEN g <= %(due)s THEN %(now)s - (g || ' seconds')::interval
                        ELSE %(now)s + ((g %% 10000 + 1) || ' minutes')::interval END,
                   CASE WHEN g <= %(due)s OR g %% 10 = 0 THEN 'open' ELSE 'met' END,
                   'policy',
                   CASE WHEN g > %(due)s AND g %% 10 <> 0 THEN %(now)s - interval '1 hour' END,
                   NULL, NULL, NULL, 0,
                   CASE WHEN g <= %(due)s THEN %(now)s - (g || ' seconds')::interval
                        WHEN g %% 10 = 0 THEN %(now)s + ((g %% 10000 + 1) || ' minutes')::interval END,
                   %(now)s - interval '10 hours'
            FROM generate_series(1, %(total)s) AS g
            """,
            {"case": case_id, "now": now, "due": DUE, "total": TOTAL},
        )
        cursor.execute("ANALYZE cases_deadline")


def test_one_sweep_over_a_million_deadlines_touches_only_the_due_ones_through_the_partial_index(world):
    if connection.vendor != "postgresql":
        pytest.skip("the benchmark measures PostgreSQL's plan and timing")
    case = make_case(world, category="disinformation")
    now = timezone.now()
    started = time.perf_counter()
    insert_deadlines(case.pk, now)
    inserted = time.perf_counter() - started
    assert Deadline.objects.count() >= TOTAL
    assert Deadline.objects.filter(status="open", next_check_at__lte=now).count() == DUE

    # The sweep's candidate query, as it sends it, and its plan with the due rows in place.
    with CaptureQueriesContext(connection) as first_batch:
        next(deadline_sweep._due_deadline_ids(now=now, batch=500, passed_over=set()))
    candidate = first_batch.captured_queries[0]["sql"]
    assert re.match(r'SELECT "cases_deadline"."id"( AS "id")? FROM "cases_deadline"', candidate), candidate
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + candidate)
        plan = "\n".join(row[0] for row in cursor.fetchall())

    queries = 0

    def count(execute, sql, params, many, context):
        nonlocal queries
        queries += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        started = time.perf_counter()
        counts = sweep_deadlines(now=now)
        elapsed = time.perf_counter() - started
    print(f"\nInserted {TOTAL:,} deadlines in {inserted:.1f} s")
    print(f"One sweep: {DUE:,} breaches marked in {elapsed:.2f} s "
          f"({elapsed / DUE * 1000:.1f} ms and {queries / DUE:.0f} queries each, {queries:,} queries in all)")
    print(f"Candidate query:\n{candidate}\nPlan:\n{plan}")
    assert counts["breaches"] == DUE and counts["checked"] == DUE
    assert DeadlineSignal.objects.filter(point="breach").count() == DUE
    assert not Deadline.objects.filter(status="open", next_check_at__lte=now).exists()
    assert "deadline_sweep" in plan, plan
    assert "Seq Scan" not in plan, plan
    assert elapsed < SECONDS_BUDGET
    # A second sweep at the same instant finds nothing to do, at once.
    started = time.perf_counter()
    again = sweep_deadlines(now=now + timedelta(seconds=1))
    assert again["checked"] == 0
    print(f"Second sweep: nothing due, {time.perf_counter() - started:.3f} s")
