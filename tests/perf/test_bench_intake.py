"""Scenario: a 10,000-line list pasted into a new case, previewed (parsed, normalised, deconflicted against every
reported item) and submitted, through the page as a liaison does it."""

from __future__ import annotations

import statistics
import time
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Organization
from accounts.roles import OrgKind
from cases.choices import OPEN_STATUSES
from cases.models import Category, ReportedItem

from . import bench
from .conftest import BenchData

pytestmark = [pytest.mark.perf, pytest.mark.django_db]

LINES = 10_000
RUNS = 3


def pasted(bench_data: BenchData, run: int) -> str:
    """Targets the authority reported before in its open cases (up to 3,000), then new ones."""
    org = bench_data.person("liaison").membership.organization_id
    known = list(ReportedItem.objects.filter(case__requesting_org_id=org, case__status__in=OPEN_STATUSES)
                 .order_by("id").values_list("target", flat=True)[:3_000])
    fresh = [f"https://t.me/intake_bench_{run}_{n:05d}" for n in range(LINES - len(known))]
    return "\n".join(known + fresh)


def form(bench_data: BenchData, text: str) -> dict[str, Any]:
    return {"title": "Intake benchmark", "request_type": "removal",
            "category": Category.objects.get(slug="illegal-gambling").pk, "priority": "", "tlp": "amber",
            "legal_basis": "Undang-Undang No. 11 Tahun 2008 tentang ITE", "legal_article": "Pasal 40",
            "description": "", "language": "id", "territorial_scope": "",
            "responding_org": Organization.objects.filter(kind=OrgKind.PLATFORM).order_by("id").first().pk,
            "pasted": text}


def preview_and_submit(client: Any, data: dict[str, Any]) -> tuple[float, float]:
    started = time.perf_counter()
    preview = client.post("/cases/new/", {**data, "step": "preview"})
    previewed = time.perf_counter()
    assert preview.status_code == 200 and preview.context.get("token"), "the preview was refused"
    submitted = client.post("/cases/new/", {**data, "step": "submit", "token": preview.context["token"]})
    done = time.perf_counter()
    assert submitted.status_code == 302, submitted.status_code
    return previewed - started, done - previewed


def test_intake_of_10000_lines(client: Any, bench_data: BenchData, recorder: bench.Recorder) -> None:
    client.force_login(bench_data.person("liaison"))
    with recorder.failure("intake"):
        totals, previews, submits = [], [], []
        for run in range(RUNS):
            preview, submit = preview_and_submit(client, form(bench_data, pasted(bench_data, run)))
            previews.append(preview)
            submits.append(submit)
            totals.append(preview + submit)
        with CaptureQueriesContext(connection) as queries:
            preview_and_submit(client, form(bench_data, pasted(bench_data, RUNS)))
        recorder.record("intake", seconds=statistics.median(totals), queries=len(queries),
                        detail=f"preview {statistics.median(previews):.2f} s + submit {statistics.median(submits):.2f} s "
                               f"(median of {RUNS})")
