"""Scenarios: the pages in process (Django's test client, every middleware), and the bare-view floor they are held
against. Each page: median and p95 of BENCH_REPEAT requests after 3 warm-up ones, the CPU each took here and in
PostgreSQL (steadier than the clock when other jobs share the machine), its queries, and the peak of Python
allocations while it renders."""

from __future__ import annotations

import re
import time
from typing import Any
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cases import queries
from cases.queries.keyset import key_columns, keyset_order, row_key
from cases.views.inbox import encode_cursor

from . import bench
from .conftest import BenchData

pytestmark = [pytest.mark.perf, pytest.mark.django_db, pytest.mark.urls("tests.perf.bench_urls")]

DEEP_ROW = 49_949  # the last row of page 999: page 1,000 starts after it
LIST_ROW = re.compile(r'href="/cases/[A-Z]{2}-\d{4}-\d{6}/')


def measure(client: Any, url: str, *, listed: str | None = None) -> dict[str, Any]:
    """`listed`: a case reference the page must link (the page shows what it should), or "" for any case."""
    for _ in range(3):
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
    if listed is not None:
        text = response.content.decode()
        assert (listed in text) if listed else LIST_ROW.search(text), f"{url} lists no case"
    seconds = []
    python_cpu, database_cpu = time.process_time(), bench.backend_cpu_seconds()
    for _ in range(bench.runs()):
        started = time.perf_counter()
        response = client.get(url)
        seconds.append(time.perf_counter() - started)
        assert response.status_code == 200
    python_cpu, database_cpu = time.process_time() - python_cpu, bench.backend_cpu_seconds() - database_cpu
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    return {**bench.timings(seconds), "queries": len(queries),
            "python_cpu_ms": python_cpu / len(seconds) * 1000, "database_cpu_ms": database_cpu / len(seconds) * 1000,
            "peak_mib": bench.traced_peak(lambda: client.get(url)), "bytes": len(response.content)}


def scenario(recorder: bench.Recorder, key: str, client: Any, url: str, *, listed: str | None = None) -> None:
    with recorder.failure(key):
        recorder.record(key, **measure(client, url, listed=listed))


def test_bare_view_floor(client: Any, bench_data: BenchData, recorder: bench.Recorder) -> None:
    client.force_login(bench_data.person("moderator"))
    scenario(recorder, "bare", client, "/bench/bare/", listed="")


def test_page_frame(client: Any, bench_data: BenchData, recorder: bench.Recorder) -> None:
    client.force_login(bench_data.person("moderator"))
    scenario(recorder, "frame", client, "/bench/frame/", listed=None)


@pytest.mark.parametrize("persona", ["liaison", "moderator", "manager"])
def test_inbox_first_page(client: Any, bench_data: BenchData, recorder: bench.Recorder, persona: str) -> None:
    client.force_login(bench_data.person(persona))
    scenario(recorder, f"inbox.{persona}", client, "/cases/", listed="")


def test_inbox_page_1000(client: Any, bench_data: BenchData, recorder: bench.Recorder) -> None:
    """Page 1,000 as its "Next" link reaches it (the link holds the sort key of page 999's last row), and the same
    page asked for by its number (`?page=1000`: the rows before it are walked; no target)."""
    manager = bench_data.person("manager")
    client.force_login(manager)
    # Every case, closed ones too ("Any" status): the platform's default list holds open work only, a few hundred
    # pages at national scale.
    filters = queries.filters_from_query(manager, {"status": ""})
    keys = queries.sort_keys(filters)
    ordered = keyset_order(queries.filtered_cases(manager, filters), keys)
    count = ordered.count()
    depth = min(DEEP_ROW, max(count - 2, 0))  # a small world (make perf) has fewer rows: near its end
    row = ordered.values(*key_columns(keys))[depth]
    cursor = encode_cursor(row_key(row, keys), False, 1000, queries.list_scope(filters))
    listed = "" if bench.bench_mode() else None
    scenario(recorder, "inbox.page1000", client, "/cases/?" + urlencode({"status": "", "page": 1000, "cursor": cursor}),
             listed=listed)
    scenario(recorder, "inbox.page1000_number", client, "/cases/?status=&page=1000", listed=listed)


@pytest.mark.parametrize("kind", ["reference", "title", "link"])
def test_inbox_search(client: Any, bench_data: BenchData, recorder: bench.Recorder, kind: str) -> None:
    client.force_login(bench_data.person("manager"))
    text = {"reference": bench_data.normal.reference, "title": bench_data.title_word, "link": bench_data.link}[kind]
    found = {"reference": bench_data.normal.reference, "title": "", "link": bench_data.normal.reference}[kind]
    scenario(recorder, f"search.{kind}", client, "/cases/?" + urlencode({"q": text}), listed=found)


@pytest.mark.parametrize("kind", ["normal", "big"])
def test_case_page(client: Any, bench_data: BenchData, recorder: bench.Recorder, kind: str) -> None:
    client.force_login(bench_data.person("moderator"))
    case = bench_data.normal if kind == "normal" else bench_data.big
    scenario(recorder, f"case.{kind}", client, f"/cases/{case.reference}/", listed=case.reference)


def test_overview_as_manager(client: Any, bench_data: BenchData, recorder: bench.Recorder) -> None:
    client.force_login(bench_data.person("manager"))
    scenario(recorder, "overview.manager", client, "/")
