"""Deadline arithmetic: reminder points, the next time the sweep looks, due-soon. Pure functions on times.

Times are wall-clock UTC. A paused clock moves the due time by exactly the
paused length when it resumes. Reminder points are derived from the due
time and the active duration, so they move with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings

if TYPE_CHECKING:
    from .models import Deadline

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
    if not deadline.is_open or deadline.paused_at is not None:
        return None
    upcoming = [p.at for p in points_for(deadline) if p.name not in sent]
    return min([*upcoming, deadline.due_at])


def is_due_soon(deadline: Deadline, now: datetime) -> bool:
    return deadline.is_open and deadline.paused_at is None and \
        deadline.due_at - now <= timedelta(minutes=settings.LIAISON_DUE_SOON_MINUTES)
