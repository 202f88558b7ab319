"""A worker killed (SIGKILL) while it renders an outcome report (issue 14): a fresh worker and the beat's sweep issue
the report exactly once, within the stale-claim interval, and the file verifies.

Real processes: a redis-server of the test's own, Celery worker processes and the beat, on the test's PostgreSQL
database. A case of 1,000 items makes rendering take long enough to be caught at it.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from cases import queries
from cases.actions.reports import request_report
from cases.choices import Status
from cases.models import AuditEvent, Message, OutcomeReport
from tests.cases.conftest import make_case, unique_targets
from tests.factories import World

from .processes import (
    BEAT_READY,
    WORKER_READY,
    celery_on,
    processes,
    redis_server,
    require_shared_database,
    wait_for,
)

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

STALE_SECONDS = 3


def test_a_report_whose_worker_is_killed_while_rendering_is_issued_once_by_the_next_worker(
        world: World, tmp_path: Path) -> None:
    require_shared_database()
    case = make_case(world, state=Status.RESOLVED, targets=unique_targets(1000))

    with redis_server(tmp_path) as broker, processes(tmp_path, broker.url) as running, \
            celery_on(broker.url, running.queue):
        first = running.worker("worker-1")
        report = request_report(actor=world.manager, case=case, language="en", include_thread=True)

        def rendering() -> bool:
            return OutcomeReport.objects.filter(pk=report.pk, status=OutcomeReport.Status.RENDERING).exists()

        wait_for(rendering, timeout=30, what="the first worker to start rendering", every=0.02)
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
        report.refresh_from_db()
        assert report.status in (OutcomeReport.Status.RENDERING, OutcomeReport.Status.SIGNING), \
            "the worker was not killed mid-report"
        assert report.attempts == 1
        reports_dir = running.files_dir / "reports"
        assert not list(reports_dir.rglob("*.pdf"))  # nothing stored by the killed worker

        # A fresh worker, and the beat sweeping for stale claims every second.
        settings_now = {"LIAISON_REPORT_CLAIM_STALE_SECONDS": str(STALE_SECONDS),
                        "LIAISON_REPORT_SWEEP_SECONDS": "1", "LIAISON_OUTBOX_RELAY_SECONDS": "1"}
        second = running.worker("worker-2", wait=False, **settings_now)
        beat = running.beat(wait=False, **settings_now)
        running.wait_ready("worker-2", second, WORKER_READY)
        running.wait_ready("beat", beat, BEAT_READY)

        def issued() -> bool:
            report.refresh_from_db()
            return report.status == OutcomeReport.Status.READY

        # Within the stale-claim interval, a sweep and one render (a cold worker's, a few seconds).
        wait_for(issued, timeout=STALE_SECONDS + 35, what="the report to be issued by the second worker")
        time.sleep(3)  # three more sweeps: nothing is issued again

        reports = list(OutcomeReport.objects.filter(case=case))
        assert [(r.version, r.status, r.attempts) for r in reports] == [(1, OutcomeReport.Status.READY, 2)]
        assert AuditEvent.objects.filter(action="report.requeued", case=case).count() == 1
        assert AuditEvent.objects.filter(action="report.issued", case=case).count() == 1
        assert Message.objects.filter(case=case, system_action="report.issued").count() == 1
        files = list(reports_dir.rglob("*.pdf"))
        assert [f.name for f in files] == [Path(reports[0].storage_name).name]
        verification: Any = queries.verify_report(files[0].read_bytes())
        assert verification.ok and verification.verdict == "genuine", verification.problems
        assert "worker-2" in running.log("worker-2") and "generate_report_task" in running.log("worker-2")
