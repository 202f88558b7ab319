"""Deadline arithmetic and the clock: pure functions on times, plus the few helpers the workflow calls.

Times are wall-clock UTC. A paused clock moves the due time by exactly the
paused length when it resumes. Reminder points are derived from the due
time and the active duration, so they move with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q

from accounts.roles import OrgKind

from .models import Case, Deadline, DeadlinePause, SLAPolicy

BREACH = "breach"


@dataclass(frozen=True)
class Point:
    name: str
    at: datetime


def active_duration(deadline: Deadline) -> timedelta:
    return deadline.due_at - deadline.started_at - timedelta(seconds=deadline.paused_seconds)


def reminder_points(started_at: datetime, due_at: datetime, paused_seconds: int = 0) -> list[Point]:
    """Default: at half the time and 1 h before due; for deadlines under 2 h, half and 15 minutes before."""
    duration = due_at - started_at - timedelta(seconds=paused_seconds)
    if duration <= timedelta(0):
        return []
    points = [Point("half", due_at - duration * settings.LIAISON_REMINDER_FRACTION)]
    if duration < timedelta(minutes=settings.LIAISON_SHORT_DEADLINE_MINUTES):
        before = timedelta(minutes=settings.LIAISON_SHORT_REMINDER_MINUTES)
        name = f"{settings.LIAISON_SHORT_REMINDER_MINUTES}m"
    else:
        before = timedelta(minutes=settings.LIAISON_REMINDER_BEFORE_MINUTES)
        name = f"{settings.LIAISON_REMINDER_BEFORE_MINUTES}m"
    if duration > before:
        points.append(Point(name, due_at - before))
    return sorted(points, key=lambda p: p.at)


def points_for(deadline: Deadline) -> list[Point]:
    return reminder_points(deadline.started_at, deadline.due_at, deadline.paused_seconds)


def next_check(deadline: Deadline, sent: set[str]) -> datetime | None:
    """When the sweep must look again: the next unsent reminder, else the due time."""
    if deadline.status != Deadline.State.OPEN or deadline.paused_at is not None:
        return None
    upcoming = [p.at for p in points_for(deadline) if p.name not in sent]
    return min([*upcoming, deadline.due_at])


def policy_for(case: Case) -> SLAPolicy | None:
    """The most specific policy: this authority and category, then this category, then any category."""
    candidates = SLAPolicy.objects.filter(priority=case.priority).filter(
        Q(category=case.category) | Q(category__isnull=True)
    ).filter(Q(requesting_org=case.requesting_org) | Q(requesting_org__isnull=True))

    def specificity(policy: SLAPolicy) -> tuple[int, int]:
        return (policy.requesting_org_id is not None, policy.category_id is not None)

    ranked = sorted(candidates, key=specificity, reverse=True)
    return ranked[0] if ranked else None


def create_from_policy(case: Case, now: datetime, kinds: tuple[str, ...] = ("acknowledge", "resolve")) -> list[Deadline]:
    policy = policy_for(case)
    if policy is None:
        return []
    minutes = {Deadline.Kind.ACKNOWLEDGE: policy.acknowledge_minutes, Deadline.Kind.RESOLVE: policy.resolve_minutes}
    created = []
    for kind in kinds:
        deadline = Deadline(case=case, kind=kind, owner_side=OrgKind.PLATFORM, started_at=now,
                            due_at=now + timedelta(minutes=minutes[kind]), origin=Deadline.Origin.POLICY)
        deadline.next_check_at = next_check(deadline, set())
        deadline.save()
        created.append(deadline)
    return created


def meet(case: Case, kind: str, now: datetime) -> list[Deadline]:
    """Open deadlines of this kind are met. Late is breached, whether or not the sweep saw it first; a breached
    one stays breached and records when it was met (shown as "met late")."""
    met = []
    for deadline in case.deadlines.select_for_update().filter(
        kind=kind, status__in=[Deadline.State.OPEN, Deadline.State.BREACHED], met_at__isnull=True
    ):
        if deadline.paused_at is not None:
            resume(deadline, now)
        if deadline.status == Deadline.State.OPEN and now > deadline.due_at:
            deadline.status, deadline.breached_at = Deadline.State.BREACHED, deadline.due_at
        elif deadline.status == Deadline.State.OPEN:
            deadline.status = Deadline.State.MET
        deadline.met_at, deadline.next_check_at = now, None
        deadline.save(update_fields=["status", "met_at", "breached_at", "next_check_at", "due_at", "paused_at",
                                     "paused_seconds"])
        met.append(deadline)
    return met


def cancel_open(case: Case, now: datetime) -> int:
    return case.deadlines.filter(status=Deadline.State.OPEN).update(
        status=Deadline.State.CANCELLED, closed_at=now, next_check_at=None, paused_at=None)


def pause(deadline: Deadline, now: datetime) -> None:
    if deadline.paused_at is not None or deadline.status != Deadline.State.OPEN:
        return
    deadline.paused_at, deadline.next_check_at = now, None
    deadline.save(update_fields=["paused_at", "next_check_at"])
    DeadlinePause.objects.create(deadline=deadline, paused_at=now)


def resume(deadline: Deadline, now: datetime) -> timedelta:
    """The due time moves by exactly the paused length."""
    if deadline.paused_at is None:
        return timedelta(0)
    paused = now - deadline.paused_at
    deadline.due_at += paused
    deadline.paused_seconds += int(paused.total_seconds())
    deadline.paused_at = None
    DeadlinePause.objects.filter(deadline=deadline, resumed_at__isnull=True).update(resumed_at=now)
    sent = set(deadline.signals.values_list("point", flat=True)) if deadline.pk else set()
    deadline.next_check_at = next_check(deadline, sent)
    deadline.save(update_fields=["due_at", "paused_seconds", "paused_at", "next_check_at"])
    return paused


def paused_seconds_of(case: Case, kind: str) -> int:
    return sum(case.deadlines.filter(kind=kind).values_list("paused_seconds", flat=True))


def is_due_soon(deadline: Deadline, now: datetime) -> bool:
    return deadline.is_open and deadline.paused_at is None and \
        deadline.due_at - now <= timedelta(minutes=settings.LIAISON_DUE_SOON_MINUTES)
