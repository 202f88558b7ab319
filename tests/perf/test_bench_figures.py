"""Scenarios: the figures of the dashboards and of the transparency page at national scale (issue 16: ≤ 300 ms each).

Each query set is timed uncached, as a new version of the summary costs it (stats.figures.period_figures and
open_work for a reader's scope over the last 12 months; stats.transparency.compute_public_figures for the current
year) after 3 warm-up runs; the pages themselves through the test client as they are served (the period's figures
from the cache after the first request, the open work counted live), so the rendering is measured too. The summary rows are brought up to date first (`make bench` builds
them once after generating; here only what changed since is refreshed)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cases.permissions.figures import figures_scope
from stats.figures import Period, figures, open_work, period_figures
from stats.summary import refresh_case_figures
from stats.transparency import compute_public_figures, public_figures

from . import bench
from .conftest import BenchData
from .test_bench_pages import measure

pytestmark = [pytest.mark.perf, pytest.mark.django_db]


@pytest.fixture
def summary(bench_data: BenchData) -> BenchData:
    refresh_case_figures()
    return bench_data


def timed(work: Callable[[], Any]) -> dict[str, Any]:
    for _ in range(3):
        work()
    seconds = []
    python_cpu, database_cpu = time.process_time(), bench.backend_cpu_seconds()
    for _ in range(bench.runs()):
        started = time.perf_counter()
        work()
        seconds.append(time.perf_counter() - started)
    python_cpu, database_cpu = time.process_time() - python_cpu, bench.backend_cpu_seconds() - database_cpu
    with CaptureQueriesContext(connection) as queries:
        work()
    # The CPU each run took here and in its PostgreSQL backend: steadier than the clock on a shared machine.
    return {**bench.timings(seconds), "queries": len(queries),
            "python_cpu_ms": python_cpu / len(seconds) * 1000, "database_cpu_ms": database_cpu / len(seconds) * 1000}


def last_12_months() -> Period:
    today = timezone.now().date()
    return Period((today.replace(day=1) - timedelta(days=335)).replace(day=1), today)


@pytest.mark.parametrize("persona", ["manager", "lead"])
def test_dashboard_figures(summary: BenchData, recorder: bench.Recorder, persona: str) -> None:
    scope = figures_scope(summary.person(persona))
    assert scope is not None
    period = last_12_months()
    # What the page asks for: an authority's people get no breakdown by authority or queue.
    dimensions = ("authority", "category", "queue", "month") if persona == "manager" else ("category", "month")
    result = figures(scope, period, dimensions=dimensions)
    assert result.total.cases > 0

    def computed() -> None:  # uncached: what a new version of the summary costs
        period_figures(scope, period, dimensions)
        open_work(scope)

    with recorder.failure(f"figures.{persona}"):
        recorder.record(f"figures.{persona}", **timed(computed), cases=result.total.cases)


def test_transparency_figures(summary: BenchData, recorder: bench.Recorder) -> None:
    year = timezone.now().year
    assert public_figures(year).year_breakdown.requests.value > 0
    with recorder.failure("figures.transparency"):
        recorder.record("figures.transparency", **timed(lambda: compute_public_figures(year)))


def test_dashboard_page(client: Any, summary: BenchData, recorder: bench.Recorder) -> None:
    client.force_login(summary.person("manager"))
    with recorder.failure("figures.dashboard_page"):
        recorder.record("figures.dashboard_page", **measure(client, "/dashboard/"))


def test_transparency_page(client: Any, summary: BenchData, recorder: bench.Recorder) -> None:
    with recorder.failure("figures.transparency_page"):
        recorder.record("figures.transparency_page", **measure(client, "/transparency/?month=3"))
