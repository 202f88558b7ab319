"""Benchmark: `verify_chain` over 200,000 events and a checkpoint every 2,000, against the model-instance loop it
replaced (about 39,000 events/s on the reference machine). Excluded from the default run; run with
    DATABASE_URL=postgres://… .venv/bin/pytest tests/perf/test_audit_verify_speed.py -o addopts="" -s
"""

from __future__ import annotations

import time
import tracemalloc
from datetime import timedelta

import pytest
from django.utils import timezone

from cases import audit
from cases.actions.checkpoints import make_checkpoint
from cases.audit_hash import GENESIS, compute_hash
from cases.models import AuditCheckpoint, AuditEvent

pytestmark = [pytest.mark.perf, pytest.mark.django_db]

EVENTS = 200_000
CHECKPOINT_EVERY = 2_000
FLOOR_EVENTS_PER_SECOND = 39_000


def insert_chain(world) -> None:
    previous = audit.record(action="benchmark.start", actor=world.legal).hash
    start = timezone.now()
    batch: list[AuditEvent] = []
    for n in range(EVENTS):
        event = AuditEvent(occurred_at=start + timedelta(microseconds=n), actor_id=world.legal.pk,
                           actor_org_id=world.platform.pk, action="evidence.viewed", object_type="Evidence",
                           object_id=str(n), ip="192.0.2.1", data={"n": n, "text": "ünïcödé"}, prev_hash=previous)
        event.hash = previous = compute_hash(event)
        batch.append(event)
        if len(batch) == 5_000:
            AuditEvent.objects.bulk_create(batch)
            batch = []
        if n % CHECKPOINT_EVERY == CHECKPOINT_EVERY - 1:
            AuditEvent.objects.bulk_create(batch)
            batch = []
            previous = make_checkpoint(reason=AuditCheckpoint.Reason.SCHEDULED).head_hash
    AuditEvent.objects.bulk_create(batch)


def old_loop() -> int:
    """verify_chain as it was: model instances, compute_hash on each."""
    previous, checked = GENESIS, 0
    for event in AuditEvent.objects.order_by("id").iterator(chunk_size=2000):
        assert event.prev_hash == previous and compute_hash(event) == event.hash
        previous, checked = event.hash, checked + 1
    return checked


def test_verify_chain_is_not_slower_than_before_with_flat_memory(world):
    insert_chain(world)
    total = AuditEvent.objects.count()
    began = time.perf_counter()
    assert old_loop() == total
    old_rate = total / (time.perf_counter() - began)

    began = time.perf_counter()
    report = audit.verify_chain()
    rate = total / (time.perf_counter() - began)
    assert report.ok and report.checked == total
    assert report.anchors == EVENTS // CHECKPOINT_EVERY
    tracemalloc.start()  # a second run to measure memory (tracing slows Python down many times)
    audit.verify_chain()
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"\n{total} events, {report.anchors} checkpoints: {rate:,.0f} events/s "
          f"(model instances: {old_rate:,.0f}/s), peak {peak / 2**20:.1f} MiB")
    assert rate >= FLOOR_EVENTS_PER_SECOND
    assert rate >= old_rate
    assert peak < 64 * 2**20
