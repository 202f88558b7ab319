"""A real Celery worker (and beat) on Redis: notifications leave only after the commit, once per person, and the
periodic sweep marks a breach and sends its notice exactly once.

Runs when a Redis broker is configured (CELERY_BROKER_URL or REDIS_URL starting with redis://), as in CI. The
worker and beat run in this process, so they share the locmem mail outbox; they consume a queue of their own so
that another test run on the same Redis cannot take their tasks.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.db import connections, transaction
from django.utils import timezone
from kombu import pools

from cases import deadline_clock
from cases.actions.cases import assign_case
from cases.actions.thread import post_message
from cases.choices import Status
from cases.models import Deadline, DeadlineSignal, Message, Notification
from liaison.celery import app
from outbox.models import OutboxMessage
from tests.cases.conftest import make_case


def redis_broker_url() -> str:
    for name in ("CELERY_BROKER_URL", "REDIS_URL"):
        value = os.environ.get(name, "")
        if value.startswith("redis://"):
            return value
    return ""


BROKER_URL = redis_broker_url()

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not BROKER_URL, reason="no Redis broker configured: set CELERY_BROKER_URL or REDIS_URL to "
                                              "redis://… (CI does) to run a real worker"),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

CONFIG_KEYS = ("broker_url", "task_always_eager", "task_default_queue", "beat_schedule")


@contextmanager
def real_celery() -> Iterator[str]:
    """Point the app at Redis with a queue of its own, without eager execution; restore it afterwards."""
    saved = {key: app.conf[key] for key in CONFIG_KEYS}
    queue = f"liaison-test-{uuid.uuid4().hex[:12]}"
    app.conf.broker_url = BROKER_URL
    app.conf.task_always_eager = False
    app.conf.task_default_queue = queue
    try:
        yield queue
    finally:
        for key, value in saved.items():
            app.conf[key] = value
        app.amqp.queues._consume_from = None
        # Drop the broker connections made here (kombu's pools are global, keyed by broker URL).
        pools.reset()
        app._pool = None
        app.amqp._producer_pool = None


@contextmanager
def worker(queue: str) -> Iterator[None]:
    from celery.contrib.testing.worker import start_worker

    with start_worker(app, pool="solo", perform_ping_check=False, queues=[queue], shutdown_timeout=30):
        yield


@contextmanager
def beat() -> Iterator[None]:
    from celery.beat import EmbeddedService

    service = EmbeddedService(app, max_interval=1, thread=True,
                              scheduler_cls="django_celery_beat.schedulers:DatabaseScheduler")

    def run() -> None:
        try:
            service.run()
        finally:
            connections.close_all()  # the scheduler's own connection, or the test database cannot be dropped

    thread = threading.Thread(target=run, name="beat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        service.stop()
        thread.join(timeout=10)
        assert not thread.is_alive(), "beat did not stop"


@contextmanager
def published_tasks() -> Iterator[list[tuple[str, dict[str, Any]]]]:
    """Every task message sent to the broker while inside: (task name, keyword arguments)."""
    from celery.signals import before_task_publish

    sent: list[tuple[str, dict[str, Any]]] = []
    lock = threading.Lock()

    def record(sender: str | None = None, body: Any = None, **kwargs: Any) -> None:
        with lock:
            sent.append((sender or "", dict(body[1]) if isinstance(body, tuple) else {}))

    before_task_publish.connect(record, weak=False)
    try:
        yield sent
    finally:
        before_task_publish.disconnect(record)


def wait_for(condition: Callable[[], bool], timeout: float = 30.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what or condition}")


def test_a_shared_message_sends_one_e_mail_per_recipient_after_commit_and_none_on_rollback(world):
    case = make_case(world, state=Status.IN_PROGRESS)  # tasks run eagerly while setting up
    assign_case(actor=world.manager, case=case, assignee=world.moderator)

    with real_celery() as queue, worker(queue), published_tasks() as sent:
        mail.outbox.clear()
        with pytest.raises(RuntimeError), transaction.atomic():
            post_message(actor=world.liaison, case=case, body="ROLLED BACK: never sent")
            raise RuntimeError("the surrounding work failed")
        assert sent == []  # nothing was queued for the rolled-back message
        message = post_message(actor=world.liaison, case=case,
                                       body="Mohon ditindaklanjuti, @maria@platform.test")
        assert [name for name, _ in sent] == ["cases.tasks.notify_message_task"]
        # The task goes through the outbox: its row travels with it, so a second delivery is recognised.
        outbox_row = OutboxMessage.objects.get(task="cases.tasks.notify_message_task", kwargs__message_id=message.pk)
        assert sent[0][1] == {"message_id": message.pk, "outbox_id": outbox_row.pk}
        # The assignee hears of the shared message; the mentioned manager of the mention.
        wait_for(lambda: len(mail.outbox) >= 2, what="two e-mails from the worker")
        time.sleep(1.5)  # anything sent twice would arrive by now
        recipients = Counter(m.to[0] for m in mail.outbox)
        assert recipients == {"rizky@platform.test": 1, "maria@platform.test": 1}
        assert all(case.reference in m.subject for m in mail.outbox)
        assert not any("ROLLED BACK" in m.body for m in mail.outbox)
    assert not Message.objects.filter(body__contains="ROLLED BACK").exists()
    assert Notification.objects.filter(case=case, source_key=f"message:{message.pk}").count() == 2
    outbox_row.refresh_from_db()
    assert outbox_row.done_at is not None and outbox_row.sends == 1


def test_beat_and_worker_mark_a_breach_and_send_its_notice_exactly_once(world):
    case = make_case(world, category="terrorism")
    assign_case(actor=world.manager, case=case, assignee=world.moderator)
    ack = Deadline.objects.get(case=case, kind=Deadline.Kind.ACKNOWLEDGE)
    now = timezone.now()
    ack.started_at, ack.due_at = now, now + timedelta(seconds=5)
    ack.next_check_at = deadline_clock.next_check(ack, set())
    ack.save(update_fields=["started_at", "due_at", "next_check_at"])

    with real_celery() as queue:
        app.conf.beat_schedule = {
            "sweep-deadlines-every-second": {"task": "cases.tasks.sweep_deadlines_task", "schedule": 1.0},
        }
        with worker(queue):
            mail.outbox.clear()
            with beat():
                def breach_notices() -> list[Any]:
                    return [m for m in mail.outbox if m.subject.startswith(f"[Liaison {case.reference}] BREACHED")]

                wait_for(lambda: len(breach_notices()) >= 3, timeout=45, what="the breach notices")
                time.sleep(3)  # three more sweeps: nothing is sent again
            breached = breach_notices()
    ack.refresh_from_db()
    assert ack.status == Deadline.State.BREACHED and ack.breached_at == ack.due_at
    assert sorted(m.to[0] for m in breached) == ["budi@ministry.test", "maria@platform.test", "rizky@platform.test"]
    assert DeadlineSignal.objects.filter(deadline=ack, point=deadline_clock.BREACH).count() == 1
    assert Notification.objects.filter(kind="deadline", source_key=f"deadline:{ack.pk}:breach").count() == 3
    assert Message.objects.filter(case=case, system_action="deadline.breached").count() == 1
    # The half-time reminder went out at most once to each (it may have passed before the first sweep).
    reminders = Counter(m.to[0] for m in mail.outbox if "Reminder" in m.subject)
    assert set(reminders.values()) <= {1}
    resolve = Deadline.objects.get(case=case, kind=Deadline.Kind.RESOLVE)
    assert resolve.status == Deadline.State.OPEN
