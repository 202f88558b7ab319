"""Benchmark: render and sign an outcome report of 1, 100 and 1,000 items; peak memory; and why the items are
blocks, not a table.

Excluded from the default run; run with
    .venv/bin/pytest tests/perf/test_report_speed.py -o addopts="" -s

Measured on the 2-core development machine while other jobs ran on it (load average 3-4), WeasyPrint 70,
pyHanko 0.38, RSA-2048 test key, 2 lines per item:

    items   pages   render    sign     total    Python peak (tracemalloc)   process max RSS
        1       3    0.55 s   0.35 s    0.90 s          4 MiB                    198 MiB
      100       5    0.82 s   0.33 s    1.14 s          8 MiB                    207 MiB
    1,000      21    4.42 s   0.38 s    4.80 s         35 MiB                    267 MiB

    the items section alone, 1,000 items: <table> rows 17.5 s, one paragraph per item 4.3 s
    (an earlier block layout, a div per item with nested inline-blocks and three fonts, took 8.8-13.8 s).

Rendering grows with lines and inline boxes per item, so the items are one paragraph each with one font and
one bold run. On an idle machine the figures are roughly half. The budgets asserted below are generous, so a
loaded CI machine does not fail them; the figures printed are the record.
"""

from __future__ import annotations

import io
import resource
import time
import tracemalloc
from typing import Any

import pytest
from django.utils import timezone

from cases import queries, report_rendering, report_signing, signing_identity
from cases.choices import Status
from cases.models import Case
from tests.cases.conftest import make_case, unique_targets
from tests.factories import World

pytestmark = [pytest.mark.perf, pytest.mark.django_db]

MIB = 1024 * 1024
BUDGET_SECONDS = {1: 10, 100: 15, 1000: 40}
MEMORY_BUDGET = 600 * MIB


def _case(world: World, items: int) -> Case:
    return make_case(world, targets=unique_targets(items, prefix=f"perf{items}"), state=Status.RESOLVED)


def _render_and_sign(world: World, case: Case) -> tuple[bytes, float, float]:
    started = time.perf_counter()
    pdf = report_rendering.render_outcome_report(case, language="en", include_thread=True, approver=world.manager,
                                        version=1, issued_at=timezone.now())
    rendered = time.perf_counter()
    signed = report_signing.sign_pdf(pdf, signing_identity.load_signing_identity(), approver_name=world.manager.full_name,
                              approver_role="T&S manager")
    return signed, rendered - started, time.perf_counter() - rendered


@pytest.mark.parametrize("items", [1, 100, 1000])
def test_render_and_sign_time_and_peak_memory(world: World, items: int) -> None:
    from pypdf import PdfReader

    case = _case(world, items)
    _render_and_sign(world, make_case(world, state=Status.RESOLVED))  # warm fonts and imports
    signed, render_s, sign_s = _render_and_sign(world, case)
    pages = len(PdfReader(io.BytesIO(signed)).pages)
    tracemalloc.start()
    _render_and_sign(world, case)
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(f"\n[report speed] {items:>5} items, {pages:>3} pages: render {render_s:.2f} s, sign {sign_s:.2f} s, "
          f"total {render_s + sign_s:.2f} s, Python peak {peak / MIB:.0f} MiB, process max RSS {rss:.0f} MiB, "
          f"{len(signed) / 1024:.0f} KiB")
    assert render_s + sign_s < BUDGET_SECONDS[items]
    assert peak < MEMORY_BUDGET
    assert queries.verify_report(signed).signature_ok


def _items_html(rows: int, *, table: bool) -> str:
    """The items section alone: as table rows, or as the report lays it out (one paragraph per item)."""
    style = ("@page { size: A4; margin: 20mm } body { font: 8pt 'Noto Sans' }"
             ".item { margin: 0 0 0.7mm; padding-left: 10mm; text-indent: -10mm; overflow-wrap: anywhere }"
             "td { border-bottom: 0.3pt solid #ccc; padding: 0.6mm }")
    if table:
        body = "".join(f"<tr><td>{n}</td><td>https://t.me/channel_{n:06d}</td><td>Channel</td><td><b>Removed</b></td>"
                       f"<td>2026-03-12 16:40:12 UTC+07:00</td><td>Channel deleted by its owner</td></tr>"
                       for n in range(rows))
        return f"<style>{style}</style><table>{body}</table>"
    body = "".join(f"<p class=item>{n}. https://t.me/channel_{n:06d} (Channel) — <b>Removed</b>, "
                   f"2026-03-12 16:40:12 UTC+07:00 — Channel deleted by its owner</p>" for n in range(rows))
    return f"<style>{style}</style>{body}"


def test_block_items_lay_out_faster_than_a_table() -> None:
    from weasyprint import HTML

    HTML(string=_items_html(10, table=False)).write_pdf()
    timings: dict[str, Any] = {}
    for kind in ("table", "blocks"):
        started = time.perf_counter()
        HTML(string=_items_html(1000, table=kind == "table")).write_pdf()
        timings[kind] = time.perf_counter() - started
    print(f"\n[report speed] 1,000 items alone: table {timings['table']:.2f} s, blocks {timings['blocks']:.2f} s")
    assert timings["blocks"] < timings["table"]
