"""Deadline agreement: either side proposes a new due time, a new deadline or a waiver; it takes effect only when
the other side accepts. Every proposal and answer is kept. Also the T&S managers' SLA policy edits."""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.roles import OrgKind

from .. import audit, permissions
from ..choices import Side
from ..deadline_clock import next_check
from ..instants import as_iso
from ..models import Case, Deadline, DeadlineProposal, SLAPolicy
from .deadline_clocks import refresh_case_clocks
from .thread import add_system_entries, add_system_entry


@transaction.atomic
def propose_deadline(
    *,
    actor: User,
    case: Case,
    kind: str,
    reason: str,
    deadline: Deadline | None = None,
    due_at: datetime | None = None,
    title: str = "",
    owner_side: str = "",
) -> DeadlineProposal:
    """Propose a new due time, a new (custom) deadline or a waiver; nothing changes until the other side agrees."""
    case = Case.objects.select_for_update().get(pk=case.pk)
    permissions.ensure_can_view(actor, case)
    if not permissions.can_propose_deadline(actor, case):
        raise PermissionDenied(_("You may not propose deadline changes on this case."))
    if not reason.strip():
        raise ValidationError(_("Say why."))
    if kind in (DeadlineProposal.Kind.CHANGE_DUE, DeadlineProposal.Kind.WAIVE):
        if deadline is None or deadline.case_id != case.pk or deadline.status != Deadline.State.OPEN:
            raise ValidationError(_("Choose an open deadline of this case."))
    if kind in (DeadlineProposal.Kind.CHANGE_DUE, DeadlineProposal.Kind.NEW_CUSTOM):
        if due_at is None or due_at <= timezone.now():
            raise ValidationError(_("The proposed due time must be in the future."))
    if kind == DeadlineProposal.Kind.NEW_CUSTOM:
        if not title.strip():
            raise ValidationError(_("Name the new deadline."))
        if owner_side not in (OrgKind.AUTHORITY, OrgKind.PLATFORM):
            raise ValidationError(_("Say which side must act."))
    proposal = DeadlineProposal.objects.create(
        case=case, deadline=deadline, kind=kind, title=title.strip(), owner_side=owner_side,
        proposed_due_at=due_at, reason=reason.strip(), proposed_by=actor, proposed_side=permissions.side_of(actor),
    )
    audit.record(actor=actor, action="deadline.proposed", case=case, obj=proposal,
                 data={"kind": kind, "deadline": deadline.pk if deadline else None,
                       "due_at": due_at.isoformat() if due_at else None, "reason": proposal.reason})
    add_system_entry(case=case, action="deadline.proposed", actor=actor, params={
        "proposal": proposal.pk, "kind": kind, "reason": proposal.reason, "title": proposal.title,
        "deadline_kind": deadline.kind if deadline else "", "deadline_title": deadline.title if deadline else "",
        "due_at": as_iso(due_at) if due_at else None})
    return proposal


@transaction.atomic
def answer_proposal(*, actor: User, proposal: DeadlineProposal, accept: bool, note: str = "") -> DeadlineProposal:
    proposal = DeadlineProposal.objects.select_for_update(of=("self",)).select_related("case", "deadline").get(
        pk=proposal.pk)
    permissions.ensure_can_view(actor, proposal.case)
    if proposal.status != DeadlineProposal.State.PENDING:
        raise permissions.InvalidTransition(_("This proposal was already answered or has expired."))
    if not permissions.can_answer_proposal(actor, proposal):
        raise PermissionDenied(_("Only someone entitled on the other side can answer this proposal."))
    now = timezone.now()
    case = proposal.case
    if accept:
        _carry_out(actor=actor, proposal=proposal, now=now)
        refresh_case_clocks(Case.objects.filter(pk=case.pk))
    proposal.status = DeadlineProposal.State.ACCEPTED if accept else DeadlineProposal.State.REJECTED
    proposal.answered_by, proposal.answered_at, proposal.answer_note = actor, now, note.strip()
    proposal.save(update_fields=["status", "answered_by", "answered_at", "answer_note", "deadline"])
    audit.record(actor=actor, action="deadline.accepted" if accept else "deadline.rejected", case=case,
                 obj=proposal, data={"note": proposal.answer_note})
    add_system_entry(case=case, action="deadline.answered", actor=actor,
                     params={"proposal": proposal.pk, "accepted": accept, "note": proposal.answer_note})
    return proposal


def _carry_out(*, actor: User, proposal: DeadlineProposal, now: datetime) -> None:
    """An accepted proposal changes the clock: a new due time, a waiver, or a new deadline."""
    case = proposal.case
    deadline = proposal.deadline
    if deadline is not None:
        deadline = Deadline.objects.select_for_update().get(pk=deadline.pk)
        if deadline.status != Deadline.State.OPEN:
            proposal.status = DeadlineProposal.State.EXPIRED
            proposal.save(update_fields=["status"])
            raise permissions.InvalidTransition(_("The deadline is no longer open; the proposal has expired."))
    if proposal.kind == DeadlineProposal.Kind.CHANGE_DUE and deadline is not None:
        assert proposal.proposed_due_at is not None  # required by propose_deadline for a new due time
        previous = deadline.due_at
        deadline.due_at, deadline.origin = proposal.proposed_due_at, Deadline.Origin.AGREEMENT
        sent = set(deadline.signals.values_list("point", flat=True))
        deadline.next_check_at = next_check(deadline, sent)
        deadline.save(update_fields=["due_at", "origin", "next_check_at"])
        audit.record(actor=actor, action="deadline.changed", case=case, obj=deadline,
                     data={"from": previous.isoformat(), "to": deadline.due_at.isoformat(), "proposal": proposal.pk})
    elif proposal.kind == DeadlineProposal.Kind.WAIVE and deadline is not None:
        deadline.status, deadline.closed_at, deadline.next_check_at = Deadline.State.WAIVED, now, None
        deadline.save(update_fields=["status", "closed_at", "next_check_at"])
        audit.record(actor=actor, action="deadline.waived", case=case, obj=deadline, data={"proposal": proposal.pk})
    elif proposal.kind == DeadlineProposal.Kind.NEW_CUSTOM:
        kind = Deadline.Kind.PROVIDE_INFORMATION if proposal.owner_side == OrgKind.AUTHORITY else Deadline.Kind.CUSTOM
        assert proposal.proposed_due_at is not None  # required by propose_deadline for a new deadline
        created = Deadline(case=case, kind=kind, title=proposal.title, owner_side=proposal.owner_side,
                           started_at=now, due_at=proposal.proposed_due_at, origin=Deadline.Origin.AGREEMENT)
        created.next_check_at = next_check(created, set())
        created.save()
        proposal.deadline = created
        audit.record(actor=actor, action="deadline.created", case=case, obj=created,
                     data={"kind": kind, "due_at": created.due_at.isoformat(), "origin": "agreement"})


def expire_proposals(*, now: datetime | None = None) -> int:
    """Pending proposals whose deadline closed, or whose proposed time passed, expire (and stay on record): all
    of them together, locked (skipping any another sweep holds), with their audit events and thread entries."""
    now = now or timezone.now()
    stale = DeadlineProposal.objects.filter(status=DeadlineProposal.State.PENDING).filter(
        Q(deadline__isnull=False) & ~Q(deadline__status=Deadline.State.OPEN) | Q(proposed_due_at__lte=now)
    )
    if not stale.exists():
        return 0
    with transaction.atomic():
        expired = list(stale.select_for_update(skip_locked=True, of=("self",)).select_related("case").order_by("id"))
        DeadlineProposal.objects.filter(pk__in=[p.pk for p in expired]).update(
            status=DeadlineProposal.State.EXPIRED, answered_at=now)
        audit.record_many([audit.Entry(action="deadline.proposal_expired", case=p.case, obj=p) for p in expired])
        add_system_entries([(p.case, "deadline.proposal_expired", {"proposal": p.pk}) for p in expired])
    return len(expired)


@transaction.atomic
def update_sla_policy(*, actor: User, policy: SLAPolicy, acknowledge_minutes: int, resolve_minutes: int) -> SLAPolicy:
    if not permissions.can_edit_sla_policies(actor):
        raise PermissionDenied(_("Only T&S managers edit SLA policies."))
    before = {"acknowledge_minutes": policy.acknowledge_minutes, "resolve_minutes": policy.resolve_minutes}
    policy.acknowledge_minutes, policy.resolve_minutes = acknowledge_minutes, resolve_minutes
    policy.save(update_fields=["acknowledge_minutes", "resolve_minutes", "updated_at"])
    audit.record(actor=actor, action="sla_policy.updated", obj=policy, side=Side.PLATFORM,
                 data={"policy": str(policy), "before": before,
                       "after": {"acknowledge_minutes": acknowledge_minutes, "resolve_minutes": resolve_minutes}})
    return policy
