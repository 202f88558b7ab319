"""Scenarios: the REST API's case list (its first page, and a deep page reached by a cursor) and one case, with a
personal API token (Authorization: Bearer), measured as the pages are (tests/perf/test_bench_pages.py)."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from django.test import Client

from api.actions import create_api_token
from api.views.cases import cursor_after
from cases import queries
from cases.models import Case
from cases.queries.inbox import CaseFilters
from cases.queries.keyset import KEYSETS, keyset_order

from . import bench
from .conftest import BenchData
from .test_bench_pages import measure

pytestmark = [pytest.mark.perf, pytest.mark.django_db, pytest.mark.urls("tests.perf.bench_urls")]

DEEP_ROW = 49_950  # the last row of the inbox's page 999: the API's page after it is the inbox's page 1,000


def api_client(bench_data: BenchData, persona: str) -> Client:
    token = create_api_token(actor=bench_data.person(persona), name="Benchmark", read_only=True)[1]
    return Client(headers={"Authorization": f"Bearer {token}"})


def record(recorder: bench.Recorder, key: str, client: Client, url: str, listed: str) -> None:
    with recorder.failure(key):
        recorder.record(key, **measure(client, url, listed=listed))


def test_api_case_list_first_page(bench_data: BenchData, recorder: bench.Recorder) -> None:
    record(recorder, "api.cases", api_client(bench_data, "manager"), "/api/v1/cases/", listed='"reference"')


def test_api_case_list_deep_page(bench_data: BenchData, recorder: bench.Recorder) -> None:
    client = api_client(bench_data, "manager")
    manager = bench_data.person("manager")
    filters = CaseFilters()  # what a request without parameters asks for: every case the manager sees, by priority
    ordered = keyset_order(queries.filtered_cases(manager, filters), KEYSETS[filters.sort])
    count = ordered.count()
    depth = min(DEEP_ROW, max(count - 2, 0))  # a small world (make perf) has fewer rows: near its end
    row = Case.objects.get(pk=ordered.values_list("pk", flat=True)[depth])
    url = "/api/v1/cases/?" + urlencode({"cursor": cursor_after(filters, row)})
    record(recorder, "api.cases_deep", client, url, listed='"reference"')


def test_api_case_retrieve(bench_data: BenchData, recorder: bench.Recorder) -> None:
    case = bench_data.normal
    record(recorder, "api.case", api_client(bench_data, "moderator"), f"/api/v1/cases/{case.reference}/",
           listed=case.reference)

