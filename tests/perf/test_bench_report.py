"""Scenario: the outcome report of the generated 1,000-item resolved case (with its thread, evidence list and
deadlines), rendered and signed as the worker does it (test_report_speed.py measures cases of its own)."""

from __future__ import annotations

import statistics
import time

import pytest
from django.utils import timezone

from cases import report_rendering, report_signing, signing_identity

from . import bench
from .conftest import BenchData

pytestmark = [pytest.mark.perf, pytest.mark.django_db]

RUNS = 3


def render_and_sign(bench_data: BenchData) -> tuple[float, float]:
    manager = bench_data.person("manager")
    started = time.perf_counter()
    pdf = report_rendering.render_outcome_report(bench_data.big_resolved, language="en", include_thread=True,
                                                 approver=manager, version=1, issued_at=timezone.now())
    rendered = time.perf_counter()
    report_signing.sign_pdf(pdf, signing_identity.load_signing_identity(), approver_name=manager.full_name,
                            approver_role="T&S manager")
    return rendered - started, time.perf_counter() - rendered


def test_outcome_report_of_1000_items(bench_data: BenchData, recorder: bench.Recorder) -> None:
    with recorder.failure("report"):
        cold = sum(render_and_sign(bench_data))
        runs = [render_and_sign(bench_data) for _ in range(RUNS)]
        peak = bench.traced_peak(lambda: render_and_sign(bench_data))
        totals = [render + sign for render, sign in runs]
        recorder.record("report", seconds=statistics.median(totals), peak_mib=peak,
                        items=bench_data.big_resolved.items.count(),
                        detail=f"render {statistics.median(r for r, _s in runs):.2f} s + sign "
                               f"{statistics.median(s for _r, s in runs):.2f} s; cold {cold:.2f} s; fonts subset by "
                               f"{report_rendering.font_subsetter()}")
