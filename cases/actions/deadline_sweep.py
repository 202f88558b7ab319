"""The deadline sweep: reminders before due times and breaches at due time, each exactly once.

Run every minute by a periodic task. It touches only open deadlines whose check time has come, locks each row
(skipping rows another sweep holds), and records each reminder or breach as a unique DeadlineSignal row, so a
second sweep, a concurrent one, or one catching up after downtime sends nothing twice.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Membership, User
from accounts.roles import Role

from .. import audit, deadline_clock, permissions
from ..models import Case, Deadline, DeadlineSignal
from .deadline_clocks import refresh_case_clocks
from .deadlines import expire_proposals
from .notifications import notify
from .thread import add_system_entry


def _deadline_audience(case: Case) -> list[User]:
    """Reminders and breaches go to the assignee, the platform's T&S managers and the authority's leads."""
    people: dict[int, User] = {}
    if case.assignee is not None and case.assignee.is_active:
        people[case.assignee.pk] = case.assignee
    for membership in Membership.objects.filter(
        Q(organization=case.responding_org, role=Role.TS_MANAGER)
        | Q(organization=case.requesting_org, role=Role.AUTHORITY_LEAD),
        deactivated_at__isnull=True, user__is_active=True,
    ).select_related("user"):
        people[membership.user.pk] = membership.user
    return [u for u in people.values() if permissions.can_view_case(u, case)]


def _signal_once(deadline: Deadline, point: str) -> bool:
    """Record that a reminder or breach notice went out; False if it already had."""
    try:
        with transaction.atomic():
            DeadlineSignal.objects.create(deadline=deadline, point=point)
    except IntegrityError:
        return False
    return True


def _announce_deadline(deadline: Deadline, point: str) -> None:
    case = deadline.case
    label = Deadline.Kind(deadline.kind).label
    if point == deadline_clock.BREACH:
        title = f"BREACHED: {label} deadline of {case.reference} was due {deadline.due_at:%Y-%m-%d %H:%M} UTC"
        body = _("The %(kind)s deadline was due at %(due)s UTC and was not met.") % {
            "kind": label.lower(), "due": f"{deadline.due_at:%Y-%m-%d %H:%M}"}
        add_system_entry(case=case, action="deadline.breached", body=body)
        audit.record(action="deadline.breached", case=case, obj=deadline,
                     data={"kind": deadline.kind, "due_at": deadline.due_at.isoformat()})
    else:
        title = f"Reminder: {label} deadline of {case.reference} is due {deadline.due_at:%Y-%m-%d %H:%M} UTC"
        body = title
        audit.record(action="deadline.reminded", case=case, obj=deadline, data={"point": point})
    users = _deadline_audience(case)
    url = reverse("cases:detail", args=[case.reference]) + "#deadlines"
    transaction.on_commit(lambda: notify(
        users=users, kind="deadline", source_key=f"deadline:{deadline.pk}:{point}", case=case, title=title,
        body=body, url=url))


def _due_deadline_ids(*, now: datetime, batch: int, passed_over: set[int]) -> Iterator[int]:
    """Open deadlines whose check time has come, a batch at a time until none is left. A handled row never comes
    back (its next check is later); rows passed over (locked or handled by a concurrent sweep) are not asked again."""
    while True:
        ids = list(
            Deadline.objects.filter(status=Deadline.State.OPEN, next_check_at__lte=now).exclude(pk__in=passed_over)
            .order_by("next_check_at").values_list("id", flat=True)[:batch]
        )
        yield from ids
        if len(ids) < batch:
            return


def sweep_deadlines(*, now: datetime | None = None, batch: int = 500) -> dict[str, int]:
    """Send due reminders and mark breaches, each exactly once, touching only rows whose time has come.

    Safe to run twice, concurrently (rows are locked and skipped when locked) or after downtime: points
    that passed while nobody looked are recorded without a notice, except the latest; a breach is one notice.
    """
    now = now or timezone.now()
    counts = {"reminders": 0, "breaches": 0, "checked": 0}
    passed_over: set[int] = set()
    for deadline_id in _due_deadline_ids(now=now, batch=batch, passed_over=passed_over):
        with transaction.atomic():
            deadline = (
                # Only the deadline row: FOR UPDATE may not reach the nullable side of the joins (the assignee).
                Deadline.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(pk=deadline_id, status=Deadline.State.OPEN, next_check_at__lte=now)
                .select_related("case", "case__assignee", "case__requesting_org", "case__responding_org").first()
            )
            if deadline is None:
                passed_over.add(deadline_id)
                continue
            counts["checked"] += 1
            sent = set(deadline.signals.values_list("point", flat=True))
            if deadline.paused_at is None and now >= deadline.due_at:
                deadline.status, deadline.breached_at, deadline.next_check_at = (
                    Deadline.State.BREACHED, deadline.due_at, None)
                deadline.save(update_fields=["status", "breached_at", "next_check_at"])
                refresh_case_clocks(Case.objects.filter(pk=deadline.case_id))
                if _signal_once(deadline, deadline_clock.BREACH):
                    _announce_deadline(deadline, deadline_clock.BREACH)
                    counts["breaches"] += 1
                continue
            passed = [p for p in deadline_clock.points_for(deadline) if p.at <= now and p.name not in sent]
            for point in passed[:-1]:
                _signal_once(deadline, f"{point.name}:skipped")
                _signal_once(deadline, point.name)
            if passed and _signal_once(deadline, passed[-1].name):
                _announce_deadline(deadline, passed[-1].name)
                counts["reminders"] += 1
            sent |= {p.name for p in passed}
            deadline.next_check_at = deadline_clock.next_check(deadline, sent)
            deadline.save(update_fields=["next_check_at"])
    expire_proposals(now=now)
    return counts
