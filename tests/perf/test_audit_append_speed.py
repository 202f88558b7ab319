"""Benchmark: appending audit events, one at a time and in batches (`audit.record_many`: one lock, one read of the
head, the hashes chained in Python, one insert). The issue measured about 260 events/s for `record` in a loop
(each its own transaction); the target for bulk actions is 5,000/s. Excluded from the default run; run with
    DATABASE_URL=postgres://… .venv/bin/pytest tests/perf/test_audit_append_speed.py -o addopts="" -s
"""

from __future__ import annotations

import os
import time

import pytest
from django.db import transaction

from cases import audit
from cases.models import AuditEvent

pytestmark = [pytest.mark.perf]

SINGLE = 500
BATCHED = 20_000
BATCH = 500
FLOOR_BATCHED_PER_SECOND = 5_000


def data(n: int) -> dict[str, object]:
    return {"n": n, "kind": "resolve", "due_at": "2026-03-01T10:00:00+00:00", "text": "ünïcödé"}


@pytest.mark.django_db(transaction=True)
def test_appends_one_at_a_time_and_in_batches(world):
    case_events = AuditEvent.objects.count()

    began = time.perf_counter()
    for n in range(SINGLE):  # each its own transaction, as a request outside any transaction would
        audit.record(action="benchmark.single", actor=world.legal, data=data(n))
    committed = SINGLE / (time.perf_counter() - began)

    began = time.perf_counter()
    with transaction.atomic():  # inside an action's transaction
        for n in range(SINGLE):
            audit.record(action="benchmark.single", actor=world.legal, data=data(n))
    in_transaction = SINGLE / (time.perf_counter() - began)

    began = time.perf_counter()
    for start in range(0, BATCHED, BATCH):
        with transaction.atomic():
            audit.record_many([audit.Entry(action="benchmark.batch", actor=world.legal, data=data(n))
                               for n in range(start, start + BATCH)])
    batched = BATCHED / (time.perf_counter() - began)

    assert AuditEvent.objects.count() == case_events + 2 * SINGLE + BATCHED
    report = audit.verify_chain()
    assert report.ok
    print(f"\nAppends: {committed:,.0f}/s one per transaction, {in_transaction:,.0f}/s one at a time inside a "
          f"transaction, {batched:,.0f}/s with record_many in batches of {BATCH}; load average "
          f"{os.getloadavg()[0]:.1f}")
    assert batched >= FLOOR_BATCHED_PER_SECOND
