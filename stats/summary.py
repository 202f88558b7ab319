"""Keeps the figures' summary (`CaseFigures`) from the record: one grouped query per kind of row for a batch of
cases, written with one upsert.

What changed is read from the audit chain: every action that touches a case appends an event naming it, and appends
are serialised until their transaction commits (cases/audit.py), so every event up to the newest one seen is
committed and none is missed behind the watermark. `refresh_case_figures` is run every minute by
`stats.tasks.refresh_case_figures_task`, by `manage.py refresh_figures` and before a yearly report is written.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC
from typing import Any, TypeVar

from django.core.cache import cache
from django.db import transaction
from django.db.models import Count, Max, Q
from django.utils import timezone

from cases.choices import Outcome
from cases.models import AuditEvent, Case, Deadline, ReportedItem

from .models import CaseFigures, FiguresWatermark

ITEM_FIELDS: dict[str, str] = {
    Outcome.PENDING: "items_pending",
    Outcome.REMOVED: "items_removed",
    Outcome.RESTRICTED: "items_restricted",
    Outcome.NO_ACTION_NOT_ILLEGAL: "items_not_illegal",
    Outcome.NO_ACTION_INSUFFICIENT: "items_insufficient",
    Outcome.NO_ACTION_NOT_FOUND: "items_not_found",
    Outcome.NO_ACTION_ALREADY_REMOVED: "items_already_removed",
    Outcome.DUPLICATE: "items_duplicate",
}
DEADLINE_FIELDS: dict[str, tuple[str, str]] = {
    "acknowledge_met": (Deadline.Kind.ACKNOWLEDGE, Deadline.State.MET),
    "acknowledge_breached": (Deadline.Kind.ACKNOWLEDGE, Deadline.State.BREACHED),
    "resolve_met": (Deadline.Kind.RESOLVE, Deadline.State.MET),
    "resolve_breached": (Deadline.Kind.RESOLVE, Deadline.State.BREACHED),
}
CASE_FIELDS = ("requesting_org_id", "responding_org_id", "queue_id", "category_id", "request_type", "priority",
               "status", "submitted_at", "acknowledge_seconds", "resolve_seconds")
UPDATED = ["requesting_org", "responding_org", "queue", "category", "country", "request_type", "priority", "status",
           "received_at", "received_on", "received_month", "acknowledge_seconds", "resolve_seconds", "items_total",
           *ITEM_FIELDS.values(), *DEADLINE_FIELDS, "refreshed_at"]
BATCH = 5000
logger = logging.getLogger(__name__)
WATERMARK = "audit"


def _rows(cases: Any, items: Any, deadlines: Any) -> list[CaseFigures]:
    """Summary rows for the cases of `cases`; `items` and `deadlines` restricted to the same cases."""
    item_counts = {row.pop("case_id"): row for row in items.order_by().values("case_id").annotate(
        items_total=Count("id"), **{field: Count("id", filter=Q(outcome=outcome))
                                    for outcome, field in ITEM_FIELDS.items()})}
    deadline_counts = {row.pop("case_id"): row for row in deadlines.order_by().filter(
        kind__in=[Deadline.Kind.ACKNOWLEDGE, Deadline.Kind.RESOLVE]).values("case_id").annotate(
        **{field: Count("id", filter=Q(kind=kind, status=state)) for field, (kind, state) in DEADLINE_FIELDS.items()})}
    now = timezone.now()
    rows = []
    for case in cases.order_by().values("id", "requesting_org__country", *CASE_FIELDS):
        received = case["submitted_at"].astimezone(UTC)
        rows.append(CaseFigures(
            case_id=case["id"], requesting_org_id=case["requesting_org_id"],
            responding_org_id=case["responding_org_id"], queue_id=case["queue_id"], category_id=case["category_id"],
            country=case["requesting_org__country"], request_type=case["request_type"], priority=case["priority"],
            status=case["status"], received_at=received, received_on=received.date(),
            received_month=received.date().replace(day=1), acknowledge_seconds=case["acknowledge_seconds"],
            resolve_seconds=case["resolve_seconds"], refreshed_at=now,
            **item_counts.get(case["id"], {"items_total": 0}), **deadline_counts.get(case["id"], {})))
    return rows


def _write(rows: Sequence[CaseFigures]) -> int:
    CaseFigures.objects.bulk_create(rows, batch_size=1000, update_conflicts=True, unique_fields=["case"],
                                    update_fields=UPDATED)
    return len(rows)


def refresh_cases(case_ids: Iterable[int]) -> int:
    """Rewrite the rows of these cases (the submitted ones among them), a batch at a time."""
    ids = sorted(set(case_ids))
    written = 0
    for start in range(0, len(ids), BATCH):
        batch = ids[start:start + BATCH]
        written += _write(_rows(Case.objects.filter(pk__in=batch, submitted_at__isnull=False),
                                ReportedItem.objects.filter(case_id__in=batch),
                                Deadline.objects.filter(case_id__in=batch)))
    return written


def rebuild_all() -> int:
    """Every submitted case's row, by ranges of case ids (each range read through the indexes by case)."""
    highest = Case.objects.aggregate(highest=Max("id"))["highest"] or 0
    written = 0
    for start in range(0, highest + 1, BATCH):
        ids = Q(case_id__gte=start, case_id__lt=start + BATCH)
        written += _write(_rows(Case.objects.filter(pk__gte=start, pk__lt=start + BATCH, submitted_at__isnull=False),
                                ReportedItem.objects.filter(ids), Deadline.objects.filter(ids)))
    return written


@transaction.atomic
def refresh_case_figures(*, full: bool = False) -> int:
    """Bring the summary up to the newest audit event: the cases named by events past the watermark (every case
    the first time, or with `full`). One refresh at a time (the watermark row is locked). Returns rows written."""
    FiguresWatermark.objects.get_or_create(name=WATERMARK)
    mark = FiguresWatermark.objects.select_for_update().get(name=WATERMARK)
    head = AuditEvent.objects.aggregate(head=Max("id"))["head"] or 0
    if full or mark.refreshed_at is None:
        written = rebuild_all()
    elif head > mark.last_event_id:
        changed = (AuditEvent.objects.filter(id__gt=mark.last_event_id, id__lte=head, case__isnull=False)
                   .order_by().values_list("case_id", flat=True).distinct())
        written = refresh_cases(changed)
    else:
        written = 0
    mark.last_event_id, mark.refreshed_at = head, timezone.now()
    mark.save(update_fields=["last_event_id", "refreshed_at"])
    return written


def version() -> tuple[int, Any]:
    """The summary's version: the last audit event it read and when it caught up ((0, None): never built). Any
    change to its rows comes with a new version."""
    row = FiguresWatermark.objects.filter(name=WATERMARK).values_list("last_event_id", "refreshed_at").first()
    return (row[0], row[1]) if row else (0, None)


T = TypeVar("T")
# Figures computed from one version of the summary are kept this long at most (a new version makes new keys).
CACHE_SECONDS = 300


def cached(parts: tuple[Any, ...], compute: Callable[[], T]) -> T:
    """`compute()` once per version of the summary and `parts` (which must name everything the result depends on:
    the scope's condition, the period, the language), from the cache otherwise."""
    key = "stats:" + hashlib.sha256(repr(parts).encode()).hexdigest()
    try:
        found = cache.get(key)
    except Exception:  # noqa: BLE001 - the cache is a shortcut: without it (Redis down) the figures are computed
        logger.warning("figures cache unavailable; computing", exc_info=True)
        return compute()
    if found is None:
        found = compute()
        try:
            cache.set(key, found, CACHE_SECONDS)
        except Exception:  # noqa: BLE001 - as above
            logger.warning("figures cache unavailable; not kept", exc_info=True)
    return found
