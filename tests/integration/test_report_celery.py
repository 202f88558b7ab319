"""A requested report reaches ready exactly once on a real Celery worker over Redis, even when the task is
delivered twice. Needs a Redis broker (CELERY_BROKER_URL or REDIS_URL); CI sets one and fails on any skip."""

from __future__ import annotations

import os
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest
from celery.contrib.testing.worker import start_worker
from celery.signals import task_postrun
from django.core.files.storage import default_storage
from kombu import pools

from cases.actions.reports import request_report
from cases.choices import Status
from cases.models import AuditEvent, Message, OutcomeReport
from liaison.celery import app as celery_app
from tests.cases.conftest import make_case
from tests.factories import build_world

# transaction=True: the worker thread must see committed rows; serialized_rollback keeps the categories and SLA
# policies the migrations seed for the tests that run after this one.
pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def redis_broker_url() -> str:
    for name in ("CELERY_BROKER_URL", "REDIS_URL"):
        url = os.environ.get(name, "")
        if url.startswith(("redis://", "rediss://")):
            return url
    return ""


@pytest.fixture
def redis_worker_app() -> Any:
    url = redis_broker_url()
    if not url:
        pytest.skip("no Redis broker configured: set CELERY_BROKER_URL or REDIS_URL to redis://… (CI does)")
    previous = (celery_app.conf.task_always_eager, celery_app.conf.broker_url)
    celery_app.conf.task_always_eager = False
    celery_app.conf.broker_url = url
    try:
        yield celery_app
    finally:
        celery_app.conf.task_always_eager, celery_app.conf.broker_url = previous
        # Forget the worker's queue selection and the Redis connections made here (kombu's pools are global),
        # so later tests (the health check's broker probe, other workers) start clean.
        celery_app.amqp.queues._consume_from = None
        pools.reset()
        celery_app._pool = None
        celery_app.amqp._producer_pool = None


def test_a_report_delivered_twice_is_issued_once_by_a_real_worker(redis_worker_app):
    world = build_world()
    case = make_case(world, state=Status.RESOLVED)
    report = request_report(actor=world.manager, case=case, language="en", include_thread=True,
                                    enqueue=False)
    # A queue of our own, so no other worker on this Redis takes our messages (and we take none of theirs).
    queue = f"liaison-test-{uuid.uuid4().hex}"
    finished: list[Any] = []
    done = threading.Event()

    def on_postrun(sender: Any = None, args: Any = None, kwargs: Any = None, retval: Any = None, **_: Any) -> None:
        if getattr(sender, "name", "") == "cases.tasks.generate_report_task" and list(args or []) == [report.pk]:
            finished.append(retval)
            if len(finished) >= 2:
                done.set()

    task_postrun.connect(on_postrun, weak=False)
    try:
        with start_worker(redis_worker_app, perform_ping_check=False, pool="solo", queues=[queue],
                          shutdown_timeout=60):
            from cases.tasks import generate_report_task

            generate_report_task.apply_async(args=[report.pk], queue=queue)
            generate_report_task.apply_async(args=[report.pk], queue=queue)
            assert done.wait(timeout=180), f"the worker finished {len(finished)} of 2 deliveries"
    finally:
        task_postrun.disconnect(on_postrun)

    assert sorted(finished) == ["ready", "skipped"]
    report.refresh_from_db()
    assert report.status == OutcomeReport.Status.READY and report.version == 1 and report.sha256
    assert OutcomeReport.objects.filter(case=case).count() == 1
    assert AuditEvent.objects.filter(action="report.issued", case=case).count() == 1
    assert Message.objects.filter(case=case, system_action="report.issued").count() == 1
    files = list(Path(default_storage.location, "reports").rglob("*.pdf"))
    assert [f.name for f in files] == [Path(report.storage_name).name]
