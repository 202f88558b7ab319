"""Benchmark: `verify_chain` over 200,000 events and a checkpoint every 2,000, against the model-instance loop of
before (about 39,000 events/s on the reference machine) and the ORM walk (values_list rows, 67,000 events/s).
On PostgreSQL the chain streams as COPY text, hashed in blocks by one worker process per core. Excluded from the
default run; run with
    DATABASE_URL=postgres://… .venv/bin/pytest tests/perf/test_audit_verify_speed.py -o addopts="" -s

The CPU each part spends per event is printed too (this process, the workers, the database server), which says
what the rate would be on idle cores when the machine is shared.
"""

from __future__ import annotations

import os
import resource
import time
import tracemalloc
from collections import deque
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from cases import audit
from cases.actions.checkpoints import make_checkpoint
from cases.audit_hash import GENESIS, compute_hash
from cases.models import AuditCheckpoint, AuditEvent

pytestmark = [pytest.mark.perf, pytest.mark.django_db]

EVENTS = int(os.environ.get("AUDIT_BENCH_EVENTS", "200000"))  # above audit._PARALLEL_FROM: workers hash
CHECKPOINT_EVERY = 2_000
FLOOR_EVENTS_PER_SECOND = 39_000


def insert_chain(world) -> None:
    previous = audit.record(action="benchmark.start", actor=world.legal).hash
    start = timezone.now()
    batch: list[AuditEvent] = []
    for n in range(EVENTS):
        event = AuditEvent(occurred_at=start + timedelta(microseconds=n), actor_id=world.legal.pk,
                           actor_org_id=world.platform.pk, action="evidence.viewed", object_type="Evidence",
                           object_id=str(n), ip="192.0.2.1", prev_hash=previous,
                           data={"n": n, "text": "ünïcödé", "due_at": (start + timedelta(hours=n)).isoformat()})
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


def orm_walk() -> audit.ChainReport:
    """The walk of before this change: values_list rows through the ORM (now with the fast digest too)."""
    stored, problems = audit.stored_anchors()
    walk = audit._Walk(deque(sorted(stored, key=lambda a: (a.head_event_id, a.event_count))), problems)
    return walk.rows(audit._rows()) or walk.end()


def server_cpu_seconds() -> float:
    """CPU time of this connection's PostgreSQL backend (same machine), 0 elsewhere."""
    if connection.vendor != "postgresql":
        return 0.0
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def old_loop() -> int:
    """verify_chain as it was: model instances, compute_hash on each."""
    previous, checked = GENESIS, 0
    for event in AuditEvent.objects.order_by("id").iterator(chunk_size=2000):
        assert event.prev_hash == previous and compute_hash(event) == event.hash
        previous, checked = event.hash, checked + 1
    return checked


def test_verify_chain_is_several_times_faster_with_flat_memory(world):
    insert_chain(world)
    total = AuditEvent.objects.count()
    began = time.perf_counter()
    assert old_loop() == total
    old_rate = total / (time.perf_counter() - began)
    began = time.perf_counter()
    assert orm_walk().checked == total
    orm_rate = total / (time.perf_counter() - began)

    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu, server = time.process_time(), server_cpu_seconds()
    began = time.perf_counter()
    report = audit.verify_chain()
    elapsed = time.perf_counter() - began
    cpu, server = time.process_time() - cpu, server_cpu_seconds() - server
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    workers = after.ru_utime + after.ru_stime - children.ru_utime - children.ru_stime
    rate = total / elapsed
    assert report.ok and report.checked == total
    assert report.anchors == EVENTS // CHECKPOINT_EVERY
    tracemalloc.start()  # a second run to measure memory (tracing slows Python down many times)
    audit.verify_chain()
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    worker_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    began = time.perf_counter()
    audit.stored_anchors()  # part of every run: each stored checkpoint's signature checked
    anchors_seconds = time.perf_counter() - began
    per_event = {name: seconds / total * 1e6 for name, seconds in (("this process", cpu), ("workers", workers),
                                                                   ("database server", server))}
    print(f"\n{total} events, {report.anchors} checkpoints: {rate:,.0f} events/s "
          f"(ORM walk: {orm_rate:,.0f}/s, model instances: {old_rate:,.0f}/s; {anchors_seconds:.2f} s of the "
          f"{elapsed:.2f} s check the checkpoints' signatures); peak {peak / 2**20:.1f} MiB traced "
          f"here, largest worker {worker_rss:.0f} MiB resident (forked: shares this process's pages); CPU per event: "
          + ", ".join(f"{name} {us:.2f} µs" for name, us in per_event.items())
          + f"; on {os.cpu_count()} idle cores that is {os.cpu_count() / sum(per_event.values()) * 1e6:,.0f} "
          f"events/s; load average now {os.getloadavg()[0]:.1f}")
    assert rate >= FLOOR_EVENTS_PER_SECOND
    assert rate >= old_rate and rate >= orm_rate
    assert peak < 64 * 2**20 and worker_rss < 256
