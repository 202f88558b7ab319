"""Deadline clocks on the workflow: started from the SLA policy on submission, met, paused while the authority is
asked for information, resumed (the due time moves by the pause), cancelled on withdrawal.

`run_clocks` is called by `transition_case` inside its transaction, with the case locked.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.roles import OrgKind

from .. import audit
from ..choices import Transition
from ..deadline_clock import next_check
from ..models import Case, Deadline, DeadlinePause, SLAPolicy


def policy_for(case: Case) -> SLAPolicy | None:
    """The most specific policy: this authority and category, then this category, then any category."""
    candidates = SLAPolicy.objects.filter(priority=case.priority).filter(
        Q(category=case.category) | Q(category__isnull=True)
    ).filter(Q(requesting_org=case.requesting_org) | Q(requesting_org__isnull=True))

    def specificity(policy: SLAPolicy) -> tuple[int, int]:
        return (policy.requesting_org_id is not None, policy.category_id is not None)

    ranked = sorted(candidates, key=specificity, reverse=True)
    return ranked[0] if ranked else None


def create_from_policy(case: Case, now: datetime,
                       kinds: tuple[str, ...] = ("acknowledge", "resolve")) -> list[Deadline]:
    policy = policy_for(case)
    if policy is None:
        return []
    minutes: dict[str, int] = {Deadline.Kind.ACKNOWLEDGE: policy.acknowledge_minutes, Deadline.Kind.RESOLVE: policy.resolve_minutes}
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


def refresh_case_clocks(cases: QuerySet[Case]) -> int:
    """Write each case's clock summary (next due time, breached or not) from its deadlines, in one UPDATE.

    Every action that creates, moves, pauses, meets, waives, cancels or breaches a deadline calls this in its
    own transaction, so the summary the lists read is never behind the deadlines.
    """
    running = Deadline.objects.filter(case=OuterRef("pk"), status=Deadline.State.OPEN, paused_at__isnull=True)
    return cases.update(
        next_due_at=Subquery(running.order_by("due_at").values("due_at")[:1]),
        has_breached_deadline=Exists(Deadline.objects.filter(case=OuterRef("pk"), status=Deadline.State.BREACHED)),
    )


def run_clocks(*, case: Case, transition: str, now: datetime, actor: User,
               information_due_at: datetime | None = None) -> list[str]:
    """Start, meet, pause, resume or cancel the case's deadlines for this move; returns the Case fields it set."""
    fields: list[str] = []
    events: list[audit.Entry] = []  # appended together at the end: one lock and one insert
    if transition == Transition.SUBMIT:
        for deadline in create_from_policy(case, now):
            events.append(audit.Entry(actor=actor, action="deadline.created", case=case, obj=deadline,
                                      data={"kind": deadline.kind, "due_at": deadline.due_at.isoformat(),
                                            "origin": "policy"}))
    elif transition == Transition.ACKNOWLEDGE:
        meet(case, Deadline.Kind.ACKNOWLEDGE, now)
        if case.submitted_at:
            case.acknowledge_seconds = int((now - case.submitted_at).total_seconds())
            fields.append("acknowledge_seconds")
    elif transition == Transition.REQUEST_INFORMATION:
        for deadline in case.deadlines.filter(kind=Deadline.Kind.RESOLVE, status=Deadline.State.OPEN):
            pause(deadline, now)
            events.append(audit.Entry(actor=actor, action="deadline.paused", case=case, obj=deadline,
                                      data={"kind": deadline.kind, "paused_at": now.isoformat()}))
        if information_due_at:
            deadline = Deadline(case=case, kind=Deadline.Kind.PROVIDE_INFORMATION, owner_side=OrgKind.AUTHORITY,
                                started_at=now, due_at=information_due_at, origin=Deadline.Origin.AGREEMENT,
                                title=_("Provide the requested information"))
            deadline.next_check_at = next_check(deadline, set())
            deadline.save()
            events.append(audit.Entry(actor=actor, action="deadline.created", case=case, obj=deadline,
                                      data={"kind": deadline.kind, "due_at": deadline.due_at.isoformat(),
                                            "origin": "request"}))
    elif transition == Transition.PROVIDE_INFORMATION:
        for deadline in case.deadlines.select_for_update().filter(kind=Deadline.Kind.RESOLVE,
                                                                  status=Deadline.State.OPEN):
            moved = resume(deadline, now)
            events.append(audit.Entry(actor=actor, action="deadline.resumed", case=case, obj=deadline,
                                      data={"paused_seconds": int(moved.total_seconds()),
                                            "due_at": deadline.due_at.isoformat()}))
        meet(case, Deadline.Kind.PROVIDE_INFORMATION, now)
    elif transition == Transition.RESOLVE:
        meet(case, Deadline.Kind.RESOLVE, now)
        if case.submitted_at:
            paused = paused_seconds_of(case, Deadline.Kind.RESOLVE)
            case.resolve_seconds = max(int((now - case.submitted_at).total_seconds()) - paused, 0)
            fields.append("resolve_seconds")
    elif transition == Transition.REOPEN:
        for deadline in create_from_policy(case, now, kinds=(Deadline.Kind.RESOLVE,)):
            events.append(audit.Entry(actor=actor, action="deadline.created", case=case, obj=deadline,
                                      data={"kind": deadline.kind, "due_at": deadline.due_at.isoformat(),
                                            "origin": "reopen"}))
    elif transition == Transition.WITHDRAW:
        cancel_open(case, now)
    audit.record_many(events)
    refresh_case_clocks(Case.objects.filter(pk=case.pk))
    return fields
