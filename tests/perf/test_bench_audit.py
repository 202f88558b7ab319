"""Scenarios of the audit chain on the generated data: `verify_audit` over the whole chain (rate and memory of
this process and any workers it starts), and appending events one transaction at a time and in batches (when
cases.audit offers `record_many`)."""

from __future__ import annotations

import io
import os
import resource
import time
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import transaction

from cases import audit
from cases.models import AuditEvent

from . import bench
from .conftest import BenchData

pytestmark = [pytest.mark.perf, pytest.mark.django_db]

APPENDS = 1_000
BATCH, BATCHES = 500, 4


def own_tree() -> list[int]:
    """This process and its children, as `bench.own_tree` finds them, from the kernel's list of each thread's children
    (bench.own_tree reads every process's stat in /proc, about 2 ms a sample here: 1.2 s of this process's CPU over a
    10 s run, taken from the two cores the workers hash on)."""
    pids = [os.getpid()]
    try:
        for task in Path("/proc/self/task").iterdir():
            pids += [int(pid) for pid in (task / "children").read_text().split()]
    except OSError:  # a kernel without the children lists
        return bench.own_tree()
    return pids


def test_verify_audit_over_the_generated_chain(bench_data: BenchData, recorder: bench.Recorder) -> None:
    events = AuditEvent.objects.count()
    with recorder.failure("audit.verify"):
        output = io.StringIO()
        with bench.RssSampler(own_tree) as sampler:
            children, cpu, server = resource.getrusage(resource.RUSAGE_CHILDREN), time.process_time(), \
                bench.backend_cpu_seconds()
            started = time.perf_counter()
            call_command("verify_audit", stdout=output, stderr=output)
            elapsed = time.perf_counter() - started
            cpu, server = time.process_time() - cpu, bench.backend_cpu_seconds() - server
            after = resource.getrusage(resource.RUSAGE_CHILDREN)  # the workers, once they have left
            in_workers = after.ru_utime + after.ru_stime - children.ru_utime - children.ru_stime
        assert "intact" in output.getvalue(), output.getvalue()
        workers = [pid for pid in sampler.peak if pid != os.getpid()]
        # CPU seconds: this process, its workers, and this connection's PostgreSQL backend (the workers' own
        # backends, when they read their own ranges, are other processes of the server and not counted here).
        spent = (f"CPU {cpu + in_workers:.1f} s (this process {cpu:.1f}, workers {in_workers:.1f}; its PostgreSQL "
                 f"backend {server:.1f})")
        recorder.record("audit.verify", events=events, events_per_s=events / elapsed, seconds=elapsed,
                        rss_growth_mib=sampler.growth_mib,
                        detail=(f"{len(workers)} worker processes" if workers else "one process") + "; " + spent)


def test_audit_appends_one_per_transaction(bench_data: BenchData, recorder: bench.Recorder) -> None:
    actor, case = bench_data.person("legal"), bench_data.normal
    with recorder.failure("audit.append"):
        started = time.perf_counter()
        for n in range(APPENDS):
            with transaction.atomic():
                audit.record(action="evidence.viewed", actor=actor, case=case, data={"n": n}, ip="192.0.2.1")
        elapsed = time.perf_counter() - started
        recorder.record("audit.append", events=APPENDS, events_per_s=APPENDS / elapsed, seconds=elapsed,
                        detail="each in its own transaction (a savepoint here)")


def test_audit_appends_batched(bench_data: BenchData, recorder: bench.Recorder) -> None:
    record_many = getattr(audit, "record_many", None)
    entry = getattr(audit, "Entry", None)
    if record_many is None or entry is None:
        recorder.record("audit.append_batch", detail="no batch API in cases.audit (record_many)")
        pytest.skip("cases.audit has no record_many")
    actor, case = bench_data.person("legal"), bench_data.normal
    with recorder.failure("audit.append_batch"):
        started = time.perf_counter()
        for batch in range(BATCHES):
            with transaction.atomic():
                record_many([entry(action="evidence.viewed", actor=actor, case=case, data={"n": batch * BATCH + n},
                                   ip="192.0.2.1") for n in range(BATCH)])
        elapsed = time.perf_counter() - started
        total = BATCH * BATCHES
        recorder.record("audit.append_batch", events=total, events_per_s=total / elapsed, seconds=elapsed,
                        detail=f"{BATCHES} batches of {BATCH}")
