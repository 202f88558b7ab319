"""Scenario: the deadline sweep catching up 200 due deadlines among the generated ones, measured as
test_sweep_catch_up.py measures it on its own data (on-commit work included: notices and e-mails)."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cases.actions.deadline_sweep import sweep_deadlines
from cases.choices import OPEN_STATUSES
from cases.models import Deadline, DeadlineSignal

from . import bench
from .conftest import BenchData

pytestmark = [pytest.mark.perf, pytest.mark.django_db]

DUE = 200


def make_due(now: Any, count: int) -> int:
    """In this test's transaction: whatever is due already moves out of the way, and `count` running deadlines of
    open cases (others of open cases made running where there are too few, as on a small world) fall due a minute
    ago."""
    Deadline.objects.filter(status=Deadline.State.OPEN, next_check_at__lte=now).update(
        next_check_at=now + timedelta(days=30))
    running = Deadline.objects.filter(status=Deadline.State.OPEN, paused_at__isnull=True,
                                      case__status__in=OPEN_STATUSES)
    chosen = list(running.order_by("id").values_list("id", flat=True)[:count])
    if len(chosen) < count:
        chosen += list(Deadline.objects.filter(case__status__in=OPEN_STATUSES).exclude(pk__in=chosen)
                       .order_by("id").values_list("id", flat=True)[:count - len(chosen)])
    DeadlineSignal.objects.filter(deadline_id__in=chosen).delete()  # notices of an earlier life of the row
    return Deadline.objects.filter(pk__in=chosen).update(
        status=Deadline.State.OPEN, paused_at=None, met_at=None, breached_at=None, closed_at=None,
        due_at=now - timedelta(minutes=1), next_check_at=now - timedelta(minutes=1))


def sweep(now: Any, count: int, capture: Any) -> tuple[int, float, int]:
    """Deadlines breached, seconds and queries of one sweep over `count` due deadlines."""
    due = make_due(now, count)
    with CaptureQueriesContext(connection) as queries, capture(execute=True):
        started = time.perf_counter()
        counts = sweep_deadlines(now=now)
        elapsed = time.perf_counter() - started
    assert counts["breaches"] == due, counts
    return due, elapsed, len(queries)


def test_sweep_catching_up_200_due_deadlines(bench_data: BenchData, recorder: bench.Recorder,
                                            django_capture_on_commit_callbacks: Any) -> None:
    """Measured at 200 due deadlines; a sweep of 100 first (rolled back) tells how the queries grow with them."""
    now = timezone.now()
    with recorder.failure("sweep"):
        with transaction.atomic():
            half, _seconds, half_queries = sweep(now, DUE // 2, django_capture_on_commit_callbacks)
            transaction.set_rollback(True)
        due, elapsed, queries = sweep(now, DUE, django_capture_on_commit_callbacks)
        recorder.record("sweep", seconds=elapsed, deadlines=due, queries=queries,
                        queries_per_extra_deadline=(queries - half_queries) / (due - half),
                        detail=f"{half_queries} queries for {half} deadlines")
