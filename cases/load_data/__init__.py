"""The load generator behind `manage.py generate_load_data`: a national-scale, reproducible world for benchmarks.

By default 100,000 cases from 20 authorities to one platform with 13 queues and 40 moderators, 1,000,000 reported
items (busy channels reported again and again, so deconfliction has work), 1,000,000 thread entries, 200,000
evidence records, 300,000 deadlines in realistic states, read markers, notifications, TLP:RED cases with their
named people, and the audit chain of all of it, hash-chained with cases/audit_hash.py so `verify_audit` passes.
`scale` multiplies every count; the same seed, scale and `now` give the same data.

Modules, in the order they run: `people` (organisations, queues, accounts), `plan` (each case's state, size and
life story), `history` (a case's row, moves, items, thread, read markers), `records` (its evidence, legal holds,
deadlines), `timeline` (everything dated, merged in time order and chained), `writer` (COPY or bulk_create).
It writes rows in bulk, not through actions: one action per event would take days at this size. What each row
holds mirrors what the actions write, and the tests walk pages of the result.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.contrib.auth.models import Permission
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Organization

from ..actions.deadline_clocks import policy_for, refresh_case_clocks
from ..actions.thread import refresh_news
from ..audit_hash import GENESIS
from ..choices import Priority
from ..models import (
    AuditEvent,
    Case,
    CaseSequence,
    Category,
    Notification,
    NotificationKind,
    ReadMarker,
    SLAPolicy,
)
from . import vocabulary
from .history import CaseBuilder
from .people import People, create_people
from .plan import DAY, MINUTE, CasePlan, make_plans, scaled_counts
from .timeline import Timeline, micros, moment
from .writer import Table, Writer

PERSONAS = vocabulary.PERSONAS
NOTIFICATION_FIELDS = ("id", "user_id", "case_id", "kind", "source_key", "title", "body", "url", "created_at",
                       "read_at", "emailed_at", "digest")
DEFAULT_PASSWORD = "liaison-bench-2026"  # noqa: S105 (generated accounts of a benchmark database)


class LoadDataError(Exception):
    """The generator refuses: the database already holds generated data, or is not one to fill."""


@dataclass
class Summary:
    seed: int
    scale: float
    now: datetime
    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    head_hash: str = ""


def database_name() -> str:
    return str(connection.settings_dict["NAME"])


def is_disposable_database() -> bool:
    """A benchmark or test database: its name says "bench", or it is one the test runner made."""
    name = os.path.basename(database_name()).lower()
    return "bench" in name or name.startswith("test") or "memorydb" in name or name == ":memory:"


def already_generated() -> bool:
    return Organization.objects.filter(name=vocabulary.PLATFORM[1]).exists()


def generate(*, seed: int = 2026, scale: float = 1.0, now: datetime | None = None,
             password: str = DEFAULT_PASSWORD, progress: Callable[[str], None] = print) -> Summary:
    """Fill the database in one transaction (all or nothing). Raises LoadDataError if it was already filled."""
    started = time.perf_counter()
    now = now or timezone.now().replace(second=0, microsecond=0)
    summary = Summary(seed, scale, now)
    counts = scaled_counts(scale)
    progress(f"Generating (seed {seed}, scale {scale:g}, now {now:%Y-%m-%d %H:%M} UTC): "
             + ", ".join(f"{n:,} {name}" for name, n in counts.items()))
    with transaction.atomic():
        if already_generated():
            raise LoadDataError("This database already holds generated data: regenerate with --flush.")
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                # Nobody appends to the chain while it grows here.
                cursor.execute(f"LOCK TABLE {AuditEvent._meta.db_table} IN SHARE ROW EXCLUSIVE MODE")
                # Foreign keys checked as rows arrive (while Python builds the next ones), not all at commit.
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        rng = random.Random(seed)
        people = create_people(rng, password=password, now=now)
        at_now = micros(now)
        plans = make_plans(rng, counts, people, at_now, _sla_minutes(people))
        progress(f"  planned {len(plans):,} cases in {time.perf_counter() - started:.1f} s")
        writer = Writer()
        try:
            timeline = _write_history(rng, writer, people, plans, counts, at_now, progress, started)
        finally:
            writer.stop(discard=True)  # the COPY thread ends before the transaction, even on a failure
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:  # Django's foreign keys are checked at commit again
                cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        # Columns the actions keep (each case's clock summary, each read marker's newest visible entry), by the
        # actions' own functions.
        generated = Case.objects.filter(pk__gte=plans[0].id if plans else 0)
        refresh_case_clocks(generated)
        refresh_news(ReadMarker.objects.filter(case__in=generated))
        progress(f"  written, committing, {time.perf_counter() - started:.0f} s")
    summary.rows = {table.model._meta.label: table.written for table in writer.tables.values()}
    summary.head_hash = timeline.prev_hash
    summary.seconds = time.perf_counter() - started
    return summary


def _write_history(rng: random.Random, writer: Writer, people: People, plans: list[CasePlan], counts: dict[str, int],
                   now: int, progress: Callable[[str], None], started: float) -> Timeline:
    """Build the cases in the order they were created, writing as it goes; returns the timeline (the chain's head)."""
    timeline = Timeline(writer, AuditEvent.objects.order_by("-id").values_list("hash", flat=True).first() or GENESIS)
    builder = CaseBuilder(
        rng, writer, timeline, people, now=now, items=counts["items"],
        categories=dict(Category.objects.values_list("slug", "id")),
        view_permission_id=Permission.objects.get(codename="view_case", content_type__app_label="cases").pk,
        sequences=dict(((s.country, s.year), s.last_number) for s in CaseSequence.objects.all()),
        retention_days=settings.LIAISON_EVIDENCE_RETENTION_DAYS)
    notifications = writer.table(Notification, NOTIFICATION_FIELDS)
    _logins(rng, timeline, people, now, counts["cases"] // 5)
    step = max(len(plans) // 10, 1)
    for number, plan in enumerate(plans, start=1):
        timeline.release(plan.created)
        builder.build(plan)
        writer.settle()
        if number % step == 0:
            progress(f"  {number:,} cases built, {time.perf_counter() - started:.0f} s")
    _notifications(rng, writer, notifications, plans, people, now, counts["notifications"])
    timeline.finish()
    writer.finish()
    for (country, year), last in builder.sequences.items():
        CaseSequence.objects.update_or_create(country=country, year=year, defaults={"last_number": last})
    return timeline


def _sla_minutes(people: People) -> dict[tuple[int, str, str], tuple[int, int] | None]:
    """Minutes to acknowledge and resolve per (authority, category, priority), as the actions pick the policy
    (asked once per authority only where some authority has policies of its own)."""
    minutes: dict[tuple[int, str, str], tuple[int, int] | None] = {}
    authorities = Organization.objects.in_bulk([a.id for a in people.authorities])
    own_policies = SLAPolicy.objects.filter(requesting_org__isnull=False).exists()
    first = authorities[people.authorities[0].id]
    categories = list(Category.objects.all())
    for org in (authorities[a.id] for a in people.authorities):
        for category in categories:
            for priority in Priority.values:
                if not own_policies and org is not first:
                    minutes[(org.pk, category.slug, priority)] = minutes[(first.pk, category.slug, priority)]
                    continue
                policy = policy_for(Case(category=category, priority=priority, requesting_org=org))
                minutes[(org.pk, category.slug, priority)] = (
                    (policy.acknowledge_minutes, policy.resolve_minutes) if policy is not None else None)
    return minutes


def _logins(rng: random.Random, timeline: Timeline, people: People, now: int, count: int) -> None:
    start = now - 730 * DAY
    for _ in range(count):
        person = rng.choice(people.everyone)
        timeline.event(start + int((now - start - MINUTE) * rng.random()), "auth.login", case_id=None,
                       actor=person, obj="User", obj_id=person.id)


def _notifications(rng: random.Random, writer: Writer, table: Table, plans: list[CasePlan], people: People,
                   now: int, count: int) -> None:
    """Notifications of the last 90 days, each for a case its person can see; most already read."""
    recent = [p for p in plans if p.acked is not None and not p.red and p.created > now - 90 * DAY]
    if not recent:
        return
    by_queue: dict[int, list[CasePlan]] = {}
    by_authority: dict[int, list[CasePlan]] = {}
    for plan in recent:
        by_queue.setdefault(plan.authority.queue_id or 0, []).append(plan)
        by_authority.setdefault(plan.authority.id, []).append(plan)
    audience: list[tuple[int, list[CasePlan]]] = []
    for queue_id, moderators in people.moderators_by_queue.items():
        audience += [(m.id, by_queue.get(queue_id, [])) for m in moderators]
    audience += [(m.id, recent) for m in people.managers]
    for authority in people.authorities:
        audience += [(p.id, by_authority.get(authority.id, [])) for p in authority.workers]
    audience = [(user_id, cases) for user_id, cases in audience if cases]
    kinds = [NotificationKind.SHARED_MESSAGE, NotificationKind.STATE_CHANGE, NotificationKind.DEADLINE,
             NotificationKind.ASSIGNMENT]
    for number in range(count):
        user_id, cases = rng.choice(audience)
        plan = rng.choice(cases)
        at = plan.acked + int((now - MINUTE - plan.acked) * rng.random()) if plan.acked else now - DAY
        read = moment(at + rng.randint(MINUTE, 2 * DAY)) if rng.random() < 0.85 else None
        if read is not None and read > moment(now):
            read = None
        writer.add(table, (table.allocate(), user_id, plan.id, rng.choice(kinds), f"loadgen:{number}",
                           f"{plan.reference}: new activity", "", f"/cases/{plan.reference}/", moment(at), read,
                           moment(at + MINUTE), False))


def vacuum_analyze() -> float:
    """VACUUM ANALYZE on PostgreSQL after a bulk load, outside any transaction: planner statistics and the
    visibility map, as autovacuum would leave them."""
    started = time.perf_counter()
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        with connection.cursor() as cursor:
            cursor.execute("VACUUM (ANALYZE)")
    return time.perf_counter() - started


__all__ = ["DEFAULT_PASSWORD", "PERSONAS", "LoadDataError", "Summary", "already_generated", "database_name",
           "generate", "is_disposable_database", "vacuum_analyze"]
