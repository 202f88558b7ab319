"""Benchmark: one sweep catching up after downtime, with 200 due deadlines (100 cases past both due times), each
breach a DeadlineSignal, an audit event, a thread entry, notices to the manager, the lead (and the assignee on
half of them) with their e-mails. The issue measured 5.3 s and 7,497 queries (25 ms and 36 queries a deadline);
the target is 0.5 s with a query count that does not grow with the number of deadlines. Excluded from the
default run; run with
    DATABASE_URL=postgres://… .venv/bin/pytest tests/perf/test_sweep_catch_up.py -o addopts="" -s
"""

from __future__ import annotations

import os
import time
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cases.actions.cases import assign_case
from cases.actions.deadline_sweep import sweep_deadlines
from cases.audit import verify_chain
from cases.models import Deadline, DeadlineSignal, Message, Notification
from tests.cases.conftest import make_case

pytestmark = [pytest.mark.perf, pytest.mark.django_db]

CASES = int(os.environ.get("SWEEP_BENCH_CASES", "100"))  # two deadlines each
SECONDS_BUDGET = 0.5


def test_a_sweep_catching_up_on_200_due_deadlines(world, django_capture_on_commit_callbacks):
    cases = [make_case(world, category="hate-speech") for _ in range(CASES)]
    for case in cases[::2]:
        assign_case(actor=world.manager, case=case, assignee=world.moderator)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    later = max(c.submitted_at for c in cases) + timedelta(days=5)
    due = Deadline.objects.filter(status="open", next_check_at__lte=later).count()
    assert due == 2 * CASES
    mail.outbox.clear()
    with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks(execute=True):
        started = time.perf_counter()
        counts = sweep_deadlines(now=later)
        elapsed = time.perf_counter() - started
    assert counts["breaches"] == due and counts["checked"] == due
    assert DeadlineSignal.objects.filter(point="breach").count() == due
    assert Message.objects.filter(system_action="deadline.breached").count() == due
    notices = Notification.objects.filter(kind="deadline").count()
    assert notices == len(mail.outbox) == due * 2 + CASES  # manager and lead, and the assignee on half the cases
    print(f"\n{due} due deadlines ({connection.vendor}): {elapsed:.3f} s, {len(queries)} queries "
          f"({elapsed / due * 1000:.1f} ms and {len(queries) / due:.1f} queries a deadline), {notices} notices "
          f"and e-mails; load average {os.getloadavg()[0]:.1f}")
    assert verify_chain().ok
    assert elapsed < SECONDS_BUDGET
