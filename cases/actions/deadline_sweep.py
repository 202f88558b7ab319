"""The deadline sweep: reminders before due times and breaches at due time, each exactly once.

Run every minute by a periodic task. It touches only open deadlines whose check time has come, a batch at a time:
the batch's rows are locked together (skipping rows another sweep holds), and each reminder or breach is recorded as
a unique DeadlineSignal row, so a second sweep, a concurrent one, or one catching up after downtime sends nothing
twice. A batch is one transaction with a fixed number of queries, whatever its size: the signals, the deadlines,
the audit events, the thread entries and the notices are each read and written together; a crash rolls the whole
batch back for the next sweep to do again.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from itertools import islice

from django.db import connection, transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Membership, User
from accounts.roles import Role

from .. import audit, case_events, deadline_clock, permissions
from ..instants import as_iso
from ..models import Case, Deadline, DeadlineSignal
from .deadline_clocks import refresh_case_clocks
from .deadlines import expire_proposals
from .notifications import Notice, notify_many
from .thread import add_system_entries

# Rows per INSERT of signals (three parameters a row; SQLite takes 32,766 parameters).
_SIGNAL_ROWS = 2000


def _audiences(cases: list[Case]) -> dict[int, list[User]]:
    """Reminders and breaches go to the assignee, the platform's T&S managers and the authority's leads who may see
    the case: for every case of a batch, in four queries at most, whatever the number of cases and people."""
    members = list(Membership.objects.filter(
        Q(organization_id__in={c.responding_org_id for c in cases}, role=Role.TS_MANAGER)
        | Q(organization_id__in={c.requesting_org_id for c in cases}, role=Role.AUTHORITY_LEAD),
        deactivated_at__isnull=True, user__is_active=True,
    ).select_related("user", "organization").order_by("id"))
    assignee_ids = {c.assignee_id for c in cases if c.assignee_id is not None}
    # Loaded through their memberships, so the policy needs no query to learn each person's organisation and role.
    people = {m.user_id: m.user for m in Membership.objects.filter(user_id__in=assignee_ids, user__is_active=True)
              .select_related("user", "organization")} if assignee_ids else {}
    people.update((m.user_id, m.user) for m in members)
    visible = permissions.cases_visible_to_each(people.values(), cases)
    audiences: dict[int, list[User]] = {}
    for case in cases:
        chosen = [case.assignee_id] if case.assignee_id in people else []
        chosen += [m.user_id for m in members
                   if m.organization_id == case.responding_org_id and m.role == Role.TS_MANAGER
                   or m.organization_id == case.requesting_org_id and m.role == Role.AUTHORITY_LEAD]
        audiences[case.pk] = [people[pk] for pk in dict.fromkeys(chosen) if case.pk in visible[pk]]
    return audiences


def _record_signals(pairs: list[tuple[int, str]]) -> set[tuple[int, str]]:
    """Record that reminders or breach notices went out; the (deadline id, point) pairs this call recorded, without
    those already recorded (the unique pair is what makes each happen once)."""
    recorded: set[tuple[int, str]] = set()
    table = connection.ops.quote_name(DeadlineSignal._meta.db_table)
    sent_at = timezone.now()
    with connection.cursor() as cursor:
        for start in range(0, len(pairs), _SIGNAL_ROWS):
            chunk = pairs[start:start + _SIGNAL_ROWS]
            values = ", ".join(["(%s, %s, %s)"] * len(chunk))
            cursor.execute(
                f"INSERT INTO {table} (deadline_id, point, sent_at) VALUES {values} "  # noqa: S608 - constants
                "ON CONFLICT (deadline_id, point) DO NOTHING RETURNING deadline_id, point",
                [value for deadline_id, point in chunk for value in (deadline_id, point, sent_at)])
            recorded.update((deadline_id, point) for deadline_id, point in cursor.fetchall())
    return recorded


def _notice(deadline: Deadline, point: str) -> tuple[str, str]:
    """The title and body of a reminder or breach notice."""
    case, label = deadline.case, Deadline.Kind(deadline.kind).label
    due = f"{deadline.due_at:%Y-%m-%d %H:%M}"
    if point == deadline_clock.BREACH:
        return (f"BREACHED: {label} deadline of {case.reference} was due {due} UTC",
                _("The %(kind)s deadline was due at %(due)s UTC and was not met.") % {"kind": label.lower(),
                                                                                      "due": due})
    title = f"Reminder: {label} deadline of {case.reference} is due {due} UTC"
    return title, title


def _event(deadline: Deadline, point: str) -> dict[str, object]:
    """A reminder or breach as data, written in each reader's language and zone (cases/event_text.py)."""
    return {"action": "deadline.breached" if point == deadline_clock.BREACH else "deadline.reminder",
            "deadline": deadline.pk, "kind": deadline.kind, "title": deadline.title,
            "reference": deadline.case.reference, "due_at": as_iso(deadline.due_at)}


def _sweep_batch(deadlines: list[Deadline], now: datetime, counts: dict[str, int]) -> None:
    """Decide every deadline of a locked batch, then write what was decided, each kind of row at once."""
    sent: dict[int, set[str]] = {d.pk: set() for d in deadlines}
    for deadline_id, point in DeadlineSignal.objects.filter(deadline_id__in=sent).values_list("deadline_id", "point"):
        sent[deadline_id].add(point)
    wanted: list[tuple[int, str]] = []
    announce: list[tuple[Deadline, str]] = []  # the signal that, newly recorded, is announced
    breached: list[Deadline] = []
    moved: list[Deadline] = []
    for deadline in deadlines:
        if deadline.paused_at is None and now >= deadline.due_at:
            deadline.status, deadline.breached_at, deadline.next_check_at = (
                Deadline.State.BREACHED, deadline.due_at, None)
            breached.append(deadline)
            wanted.append((deadline.pk, deadline_clock.BREACH))
            announce.append((deadline, deadline_clock.BREACH))
            continue
        # Points that passed while nobody looked are recorded without a notice, except the latest.
        passed = [p for p in deadline_clock.points_for(deadline) if p.at <= now and p.name not in sent[deadline.pk]]
        for skipped in passed[:-1]:
            wanted += [(deadline.pk, f"{skipped.name}:skipped"), (deadline.pk, skipped.name)]
        if passed:
            wanted.append((deadline.pk, passed[-1].name))
            announce.append((deadline, passed[-1].name))
        deadline.next_check_at = deadline_clock.next_check(deadline, sent[deadline.pk] | {p.name for p in passed})
        moved.append(deadline)
    recorded = _record_signals(wanted)
    if breached:
        # Each breach is dated at its own due time: one plain UPDATE (bulk_update's CASE per row cost more Python
        # than the rest of the sweep's writes).
        Deadline.objects.filter(pk__in=[d.pk for d in breached]).update(
            status=Deadline.State.BREACHED, breached_at=F("due_at"), next_check_at=None)
        refresh_case_clocks(Case.objects.filter(pk__in={d.case_id for d in breached}))
    if moved:
        Deadline.objects.bulk_update(moved, ["next_check_at"])
    announced = [(deadline, point) for deadline, point in announce if (deadline.pk, point) in recorded]
    if not announced:
        return
    entries: list[audit.Entry] = []
    thread: list[tuple[Case, str, dict[str, object]]] = []
    for deadline, point in announced:
        if point == deadline_clock.BREACH:
            counts["breaches"] += 1
            thread.append((deadline.case, "deadline.breached", _event(deadline, point)))
            entries.append(audit.Entry(action="deadline.breached", case=deadline.case, obj=deadline,
                                       data={"kind": deadline.kind, "due_at": deadline.due_at.isoformat()}))
        else:
            counts["reminders"] += 1
            entries.append(audit.Entry(action="deadline.reminded", case=deadline.case, obj=deadline,
                                       data={"point": point}))
    add_system_entries(thread)
    audit.record_many(entries)
    case_events.announce_many([case_events.Announcement(
        case=deadline.case,
        event=(case_events.CaseEvent.DEADLINE_BREACHED if point == deadline_clock.BREACH
               else case_events.CaseEvent.DEADLINE_AT_RISK),
        data={"deadline": deadline.pk, "point": point, "at": as_iso(now)}) for deadline, point in announced])
    audiences = _audiences(list({d.case_id: d.case for d, _point in announced}.values()))
    notices = [Notice(users=audiences[deadline.case_id], kind="deadline", source_key=f"deadline:{deadline.pk}:{point}",
                      case=deadline.case, title=title, body=body,
                      url=reverse("cases:detail", args=[deadline.case.reference]) + "#deadlines",
                      event=_event(deadline, point))
               for deadline, point in announced for title, body in [_notice(deadline, point)]]
    transaction.on_commit(lambda: notify_many(notices))


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
    candidates = _due_deadline_ids(now=now, batch=batch, passed_over=passed_over)
    # Taken `batch` at a time: the next candidates are asked for only after this batch has committed.
    while ids := list(islice(candidates, batch)):
        with transaction.atomic():
            deadlines = list(
                # Only the deadline rows: FOR UPDATE may not reach the nullable side of the joins (the assignee).
                Deadline.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(pk__in=ids, status=Deadline.State.OPEN, next_check_at__lte=now)
                .select_related("case", "case__assignee").order_by("next_check_at", "id")
            )
            passed_over.update(set(ids) - {d.pk for d in deadlines})
            counts["checked"] += len(deadlines)
            if deadlines:
                _sweep_batch(deadlines, now, counts)
    expire_proposals(now=now)
    return counts
