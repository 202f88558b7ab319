"""Every change to cases: one function each, called alike by pages, API, tasks, commands and tests.

Each checks permission and state, writes inside one transaction under a row
lock, records the audit event, and queues side effects on commit.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from guardian.shortcuts import assign_perm, remove_perm

from accounts.models import Organization, Queue, User
from accounts.roles import OrgKind

from . import audit, permissions
from . import deadlines as deadline_clock
from . import evidence as evidence_files
from .choices import TLP, Outcome, Priority, Side, Status, Transition, priority_rank
from .intake import AcceptedRow
from .models import (
    Case,
    CaseSequence,
    Category,
    Deadline,
    DeadlineProposal,
    DeadlineSignal,
    Evidence,
    LegalHold,
    Message,
    MessageRevision,
    ReadMarker,
    ReportedItem,
)

MAX_ITEMS_PER_CASE = 20000


def _next_reference(country: str) -> str:
    """`ID-2026-000123`: gap-free per country and year, safe under concurrent creation."""
    year = timezone.now().year
    CaseSequence.objects.bulk_create([CaseSequence(country=country, year=year)], ignore_conflicts=True)
    sequence = CaseSequence.objects.select_for_update().get(country=country, year=year)
    sequence.last_number += 1
    sequence.save(update_fields=["last_number"])
    return f"{country}-{year}-{sequence.last_number:06d}"


def route_to_queue(case: Case) -> Queue | None:
    """The responding platform's queue for the requesting country and language."""
    queues = list(Queue.objects.filter(organization=case.responding_org))
    country = case.requesting_org.country

    def score(queue: Queue) -> int:
        return (2 if queue.country == country else 0) + (1 if queue.language == case.language else 0)

    ranked = sorted((q for q in queues if score(q) > 0), key=lambda q: (-score(q), q.pk))
    return ranked[0] if ranked else None


def _check_case_fields(*, title: str, legal_basis: str, priority: str, threat_to_life: bool) -> str:
    if not title.strip():
        raise ValidationError(_("A title is required."))
    if threat_to_life:
        return Priority.URGENT
    return priority


@transaction.atomic
def create_case(
    *,
    actor: User,
    title: str,
    category: Category,
    responding_org: Organization,
    request_type: str = "removal",
    legal_basis: str = "",
    legal_article: str = "",
    description: str = "",
    priority: str = "",
    threat_to_life: bool = False,
    tlp: str = TLP.AMBER,
    language: str = "",
    territorial_scope: Sequence[str] = (),
    items: Iterable[AcceptedRow] = (),
) -> Case:
    """A draft case of the actor's authority, with its items."""
    if not permissions.can_create_case(actor):
        raise PermissionDenied(_("Only liaisons and leads of an authority open cases."))
    if responding_org.kind != OrgKind.PLATFORM:
        raise ValidationError(_("Cases are addressed to a platform."))
    org = actor.membership.organization
    priority = _check_case_fields(title=title, legal_basis=legal_basis,
                                  priority=priority or category.default_priority, threat_to_life=threat_to_life)
    case = Case.objects.create(
        reference=_next_reference(org.country),
        title=title.strip(),
        category=category,
        request_type=request_type,
        legal_basis=legal_basis.strip(),
        legal_article=legal_article.strip(),
        description=description.strip(),
        priority=priority,
        priority_rank=priority_rank(priority, threat_to_life),
        threat_to_life=threat_to_life,
        tlp=tlp,
        language=language or org.default_language,
        territorial_scope=sorted({c.upper() for c in territorial_scope} or {org.country}),
        requesting_org=org,
        responding_org=responding_org,
        created_by=actor,
    )
    if tlp == TLP.RED:
        assign_perm(permissions.VIEW_PERMISSION, actor, case)
    audit.record(actor=actor, action="case.created", case=case, obj=case,
                 data={"reference": case.reference, "title": case.title, "tlp": tlp, "priority": priority})
    _add_items(actor=actor, case=case, rows=items)
    return case


@transaction.atomic
def update_case_details(*, actor: User, case: Case, **fields: Any) -> Case:
    """The authority edits a draft's details."""
    case = Case.objects.select_for_update().get(pk=case.pk)
    permissions.ensure_can_view(actor, case)
    if not permissions.can_edit_items(actor, case) or case.status != Status.DRAFT:
        raise PermissionDenied(_("Only the requesting authority edits a draft."))
    allowed = {"title", "category", "request_type", "legal_basis", "legal_article", "description", "priority",
               "threat_to_life", "tlp", "language", "territorial_scope"}
    changed = {}
    for name, value in fields.items():
        if name not in allowed:
            raise ValueError(name)
        if getattr(case, name) != value:
            changed[name] = str(value)
            setattr(case, name, value)
    if case.threat_to_life:
        case.priority = Priority.URGENT
    case.priority_rank = priority_rank(case.priority, case.threat_to_life)
    case.save()
    if case.tlp == TLP.RED:
        assign_perm(permissions.VIEW_PERMISSION, actor, case)
    if changed:
        audit.record(actor=actor, action="case.updated", case=case, obj=case, data={"changed": changed})
    return case


def _add_items(*, actor: User, case: Case, rows: Iterable[AcceptedRow]) -> list[ReportedItem]:
    existing = set(case.items.values_list("key", flat=True))
    start = case.items.count()
    new_items = []
    for row in rows:
        if row.key in existing:
            continue
        existing.add(row.key)
        new_items.append(ReportedItem(case=case, position=start + len(new_items) + 1, target=row.target,
                                      key=row.key, kind=row.kind, note=row.note))
    if start + len(new_items) > MAX_ITEMS_PER_CASE:
        raise ValidationError(_("A case holds at most %(max)d items.") % {"max": MAX_ITEMS_PER_CASE})
    created = ReportedItem.objects.bulk_create(new_items, batch_size=1000)
    if created:
        audit.record(actor=actor, action="items.added", case=case,
                     data={"count": len(created), "targets": [i.target for i in created[:50]]})
    return created


@transaction.atomic
def add_items(*, actor: User, case: Case, rows: Iterable[AcceptedRow]) -> list[ReportedItem]:
    case = Case.objects.select_for_update().get(pk=case.pk)
    permissions.ensure_can_view(actor, case)
    if not permissions.can_edit_items(actor, case):
        raise PermissionDenied(_("Only the requesting authority adds items, while the case is open."))
    return _add_items(actor=actor, case=case, rows=rows)


@transaction.atomic
def remove_item(*, actor: User, item: ReportedItem) -> None:
    """Items leave a case only while it is a draft; afterwards they stay and get an outcome."""
    case = Case.objects.select_for_update().get(pk=item.case_id)
    permissions.ensure_can_view(actor, case)
    if not permissions.can_edit_items(actor, case) or case.status != Status.DRAFT:
        raise PermissionDenied(_("Items can be removed only from a draft."))
    audit.record(actor=actor, action="item.removed", case=case, obj=item, data={"target": item.target})
    item.delete()


def _stamp(case: Case, target: str, now: Any) -> list[str]:
    fields = {
        Status.SUBMITTED: "submitted_at",
        Status.RESOLVED: "resolved_at",
        Status.CLOSED: "closed_at",
        Status.WITHDRAWN: "withdrawn_at",
    }
    stamped = []
    if target in fields:
        setattr(case, fields[target], now)
        stamped.append(fields[target])
    if target == Status.IN_PROGRESS and case.acknowledged_at is None:
        case.acknowledged_at = now
        stamped.append("acknowledged_at")
    return stamped


def _preconditions(case: Case, transition: str, note: str) -> None:
    if transition == Transition.SUBMIT:
        if not case.legal_basis.strip():
            raise permissions.InvalidTransition(_("State the legal basis before submitting."))
        if not case.items.exists():
            raise permissions.InvalidTransition(_("Add at least one reported item before submitting."))
    if transition == Transition.RESOLVE and case.items.filter(outcome=Outcome.PENDING).exists():
        pending = case.items.filter(outcome=Outcome.PENDING).count()
        raise permissions.InvalidTransition(
            _("%(count)d item(s) still have no outcome; decide every item before resolving.") % {"count": pending}
        )
    if transition in (Transition.REQUEST_INFORMATION, Transition.WITHDRAW, Transition.REOPEN) and not note.strip():
        raise permissions.InvalidTransition(_("Say why in the note."))


@transaction.atomic
def transition_case(*, case: Case, transition: str, actor: User, note: str = "", **extra: Any) -> Case:
    """The one workflow function: role, state and preconditions, under a row lock."""
    case = Case.objects.select_for_update(of=("self",)).select_related("requesting_org", "responding_org").get(pk=case.pk)
    target = permissions.ensure_can_transition(actor, case, transition)
    _preconditions(case, transition, note)
    now = timezone.now()
    previous = case.status
    case.status = target
    fields = ["status", "updated_at", *_stamp(case, target, now)]
    if transition == Transition.SUBMIT:
        case.queue = route_to_queue(case)
        fields.append("queue")
        if case.tlp == TLP.RED:
            _name_platform_managers(actor=actor, case=case)
    if transition == Transition.RESOLVE and extra.get("outcome_summary") is not None:
        case.outcome_summary = str(extra["outcome_summary"]).strip()
        fields.append("outcome_summary")
    fields += _run_clocks(case=case, transition=transition, now=now, actor=actor, extra=extra)
    case.save(update_fields=fields)
    audit.record(actor=actor, action=f"case.{transition}", case=case, obj=case,
                 data={"from": previous, "to": target, "note": note.strip(), "at": now.isoformat()})
    _announce_transition(case=case, actor=actor, previous=previous, note=note)
    return case


def _run_clocks(*, case: Case, transition: str, now: Any, actor: User, extra: dict[str, Any]) -> list[str]:
    """Start, meet, pause, resume or cancel the case's deadlines for this move; returns Case fields set."""
    fields: list[str] = []
    if transition == Transition.SUBMIT:
        for deadline in deadline_clock.create_from_policy(case, now):
            audit.record(actor=actor, action="deadline.created", case=case, obj=deadline,
                         data={"kind": deadline.kind, "due_at": deadline.due_at.isoformat(), "origin": "policy"})
    elif transition == Transition.ACKNOWLEDGE:
        deadline_clock.meet(case, Deadline.Kind.ACKNOWLEDGE, now)
        if case.submitted_at:
            case.acknowledge_seconds = int((now - case.submitted_at).total_seconds())
            fields.append("acknowledge_seconds")
    elif transition == Transition.REQUEST_INFORMATION:
        for deadline in case.deadlines.filter(kind=Deadline.Kind.RESOLVE, status=Deadline.State.OPEN):
            deadline_clock.pause(deadline, now)
            audit.record(actor=actor, action="deadline.paused", case=case, obj=deadline,
                         data={"kind": deadline.kind, "paused_at": now.isoformat()})
        info_due = extra.get("information_due_at")
        if info_due:
            deadline = Deadline(case=case, kind=Deadline.Kind.PROVIDE_INFORMATION, owner_side=OrgKind.AUTHORITY,
                                started_at=now, due_at=info_due, origin=Deadline.Origin.AGREEMENT,
                                title=_("Provide the requested information"))
            deadline.next_check_at = deadline_clock.next_check(deadline, set())
            deadline.save()
            audit.record(actor=actor, action="deadline.created", case=case, obj=deadline,
                         data={"kind": deadline.kind, "due_at": deadline.due_at.isoformat(), "origin": "request"})
    elif transition == Transition.PROVIDE_INFORMATION:
        for deadline in case.deadlines.select_for_update().filter(kind=Deadline.Kind.RESOLVE,
                                                                  status=Deadline.State.OPEN):
            moved = deadline_clock.resume(deadline, now)
            audit.record(actor=actor, action="deadline.resumed", case=case, obj=deadline,
                         data={"paused_seconds": int(moved.total_seconds()), "due_at": deadline.due_at.isoformat()})
        deadline_clock.meet(case, Deadline.Kind.PROVIDE_INFORMATION, now)
    elif transition == Transition.RESOLVE:
        deadline_clock.meet(case, Deadline.Kind.RESOLVE, now)
        if case.submitted_at:
            paused = deadline_clock.paused_seconds_of(case, Deadline.Kind.RESOLVE)
            case.resolve_seconds = max(int((now - case.submitted_at).total_seconds()) - paused, 0)
            fields.append("resolve_seconds")
    elif transition == Transition.REOPEN:
        for deadline in deadline_clock.create_from_policy(case, now, kinds=(Deadline.Kind.RESOLVE,)):
            audit.record(actor=actor, action="deadline.created", case=case, obj=deadline,
                         data={"kind": deadline.kind, "due_at": deadline.due_at.isoformat(), "origin": "reopen"})
    elif transition == Transition.WITHDRAW:
        deadline_clock.cancel_open(case, now)
    return fields


def _announce_transition(*, case: Case, actor: User, previous: str, note: str) -> None:
    from .choices import Status as S

    text = _("%(who)s changed the status from %(old)s to %(new)s.") % {
        "who": actor.full_name, "old": S(previous).label, "new": S(case.status).label}
    if note.strip():
        text += " " + note.strip()
    entry = add_system_entry(case=case, action=f"case.{case.status}", body=text, actor=actor)
    from .tasks import notify_case_event_task

    transaction.on_commit(lambda: notify_case_event_task.delay(
        case_id=case.pk, kind="state_change", source_key=f"message:{entry.pk}",
        title=f"{case.reference} is now {S(case.status).label}", actor_id=actor.pk))


def _name_platform_managers(*, actor: User, case: Case) -> None:
    """A RED case is visible only to named people; the platform's T&S managers are named on submission
    so the request cannot go unseen. They may name others."""
    from accounts.models import Membership
    from accounts.roles import Role

    for membership in Membership.objects.filter(
        organization=case.responding_org, role=Role.TS_MANAGER, deactivated_at__isnull=True
    ).select_related("user"):
        assign_perm(permissions.VIEW_PERMISSION, membership.user, case)
        audit.record(actor=actor, action="access.granted", case=case, obj=membership.user,
                     data={"user": membership.user.email, "reason": "TLP:RED case submitted to T&S managers"})


def submit_case(*, case: Case, actor: User) -> Case:
    return transition_case(case=case, transition=Transition.SUBMIT, actor=actor)


def acknowledge_case(*, case: Case, actor: User, note: str = "") -> Case:
    return transition_case(case=case, transition=Transition.ACKNOWLEDGE, actor=actor, note=note)


def request_information(*, case: Case, actor: User, note: str) -> Case:
    return transition_case(case=case, transition=Transition.REQUEST_INFORMATION, actor=actor, note=note)


def provide_information(*, case: Case, actor: User, note: str = "") -> Case:
    return transition_case(case=case, transition=Transition.PROVIDE_INFORMATION, actor=actor, note=note)


def resolve_case(*, case: Case, actor: User, outcome_summary: str = "", note: str = "") -> Case:
    return transition_case(case=case, transition=Transition.RESOLVE, actor=actor, note=note,
                           outcome_summary=outcome_summary)


def reopen_case(*, case: Case, actor: User, note: str) -> Case:
    return transition_case(case=case, transition=Transition.REOPEN, actor=actor, note=note)


def close_case(*, case: Case, actor: User, note: str = "") -> Case:
    return transition_case(case=case, transition=Transition.CLOSE, actor=actor, note=note)


def withdraw_case(*, case: Case, actor: User, note: str) -> Case:
    return transition_case(case=case, transition=Transition.WITHDRAW, actor=actor, note=note)


@transaction.atomic
def set_item_outcomes(*, actor: User, case: Case, item_ids: Sequence[int], outcome: str, reason: str = "") -> int:
    """One outcome and reason for one or many items of a case."""
    case = Case.objects.select_for_update().get(pk=case.pk)
    permissions.ensure_can_view(actor, case)
    if not permissions.can_decide_items(actor, case):
        raise PermissionDenied(_("Only platform staff working the case decide items, while it is in progress."))
    if outcome not in Outcome.values or outcome == Outcome.PENDING:
        raise ValidationError(_("Choose an outcome."))
    if outcome != Outcome.REMOVED and not reason.strip():
        raise ValidationError(_("Give a reason for this outcome."))
    items = list(case.items.filter(pk__in=item_ids))
    if not items:
        raise ValidationError(_("Select at least one item of this case."))
    now = timezone.now()
    for item in items:
        item.outcome, item.outcome_reason, item.decided_by, item.decided_at = outcome, reason.strip(), actor, now
    ReportedItem.objects.bulk_update(items, ["outcome", "outcome_reason", "decided_by", "decided_at"])
    audit.record(actor=actor, action="items.decided", case=case,
                 data={"outcome": outcome, "reason": reason.strip(), "count": len(items),
                       "items": [i.pk for i in items[:200]]})
    return len(items)


@transaction.atomic
def assign_case(*, actor: User, case: Case, assignee: User | None) -> Case:
    case = Case.objects.select_for_update().get(pk=case.pk)
    permissions.ensure_can_view(actor, case)
    if not permissions.can_assign(actor, case):
        raise PermissionDenied(_("You may not assign this case."))
    if assignee is not None and not permissions.can_be_assignee(assignee, case):
        raise ValidationError(_("%(name)s cannot work this case.") % {"name": assignee})
    previous = case.assignee
    case.assignee = assignee
    case.save(update_fields=["assignee", "updated_at"])
    audit.record(actor=actor, action="case.assigned", case=case, obj=case, side=Side.PLATFORM,
                 data={"from": previous.full_name if previous else None, "to": assignee.full_name if assignee else None,
                       "to_email": assignee.email if assignee else None})
    entry = add_system_entry(
        case=case, action="case.assigned", actor=actor, side=Side.PLATFORM,
        body=_("%(who)s assigned the case to %(to)s.") % {"who": actor.full_name,
                                                          "to": assignee.full_name if assignee else _("nobody")},
    )
    if assignee is not None and assignee.pk != actor.pk:
        from .tasks import notify_case_event_task

        transaction.on_commit(lambda: notify_case_event_task.delay(
            case_id=case.pk, kind="assignment", source_key=f"message:{entry.pk}",
            title=f"{case.reference} was assigned to you", actor_id=actor.pk, user_ids=[assignee.pk]))
    return case


@transaction.atomic
def grant_access(*, actor: User, case: Case, user: User, reason: str) -> None:
    """Name a person on a case (a second moderator, outside counsel, a RED case's reader)."""
    case = Case.objects.select_for_update().get(pk=case.pk)
    permissions.ensure_can_view(actor, case)
    if not permissions.can_manage_access(actor, case):
        raise PermissionDenied(_("You may not change who sees this case."))
    if not reason.strip():
        raise ValidationError(_("Say why this person needs access."))
    target_membership = getattr(user, "membership", None)
    if target_membership is None or not user.is_active:
        raise ValidationError(_("This person has no active account."))
    if target_membership.organization_id not in (case.requesting_org_id, case.responding_org_id):
        raise ValidationError(_("Only people of the two organisations of the case can be named."))
    assign_perm(permissions.VIEW_PERMISSION, user, case)
    audit.record(actor=actor, action="access.granted", case=case, obj=user,
                 data={"user": user.email, "reason": reason.strip()})


@transaction.atomic
def revoke_access(*, actor: User, case: Case, user: User) -> None:
    case = Case.objects.select_for_update().get(pk=case.pk)
    permissions.ensure_can_view(actor, case)
    if not permissions.can_manage_access(actor, case):
        raise PermissionDenied(_("You may not change who sees this case."))
    remove_perm(permissions.VIEW_PERMISSION, user, case)
    audit.record(actor=actor, action="access.revoked", case=case, obj=user, data={"user": user.email})


# --- Evidence ---------------------------------------------------------------------------------


@dataclass
class EvidenceResult:
    evidence: Evidence
    created: bool


def add_evidence(
    *,
    actor: User,
    case: Case,
    source: IO[bytes],
    original_name: str,
    item: ReportedItem | None = None,
    description: str = "",
    documents_url: str = "",
    captured_at: Any = None,
    internal: bool = False,
) -> EvidenceResult:
    """Stream a file to private storage with its fingerprint; the same bytes twice on a case are one record.

    The file is written to storage before the row; if anything fails after, the
    stored file is removed, so a failed or cancelled upload leaves nothing behind.
    """
    permissions.ensure_can_view(actor, case)
    if not permissions.can_upload_evidence(actor, case):
        raise PermissionDenied(_("You may not add evidence to this case now."))
    if item is not None and item.case_id != case.pk:
        raise ValidationError(_("That item belongs to another case."))
    # PostgreSQL text and jsonb cannot hold NUL; the rest of the name is kept as given.
    original_name = original_name.replace("\x00", "")
    side = permissions.side_of(actor)
    with evidence_files.stream_to_temp(source, original_name=original_name) as streamed:
        existing = _same_evidence(case, streamed.sha256, side, internal)
        if existing is not None:
            return EvidenceResult(existing, False)
        stored_name = evidence_files.save_to_storage(streamed, case.pk)
    try:
        with transaction.atomic():
            Case.objects.select_for_update().filter(pk=case.pk).first()
            existing = _same_evidence(case, streamed.sha256, side, internal)
            if existing is not None:
                evidence_files.storage().delete(stored_name)
                return EvidenceResult(existing, False)
            evidence = Evidence.objects.create(
                case=case, item=item, sha256=streamed.sha256, size=streamed.size,
                content_type=streamed.content_type, original_name=original_name[:255],
                storage_name=stored_name, description=description.strip(), documents_url=documents_url.strip(),
                captured_at=captured_at, uploaded_by=actor, side=side,
                internal=bool(internal and side == OrgKind.PLATFORM),
            )
            audit.record(actor=actor, action="evidence.uploaded", case=case, obj=evidence,
                         side=side if evidence.internal else "",
                         data={"sha256": evidence.sha256, "size": evidence.size, "type": evidence.content_type,
                               "name": evidence.original_name, "item": item.pk if item else None})
    except BaseException:
        evidence_files.storage().delete(stored_name)
        raise
    return EvidenceResult(evidence, True)


def _same_evidence(case: Case, sha256: str, side: str, internal: bool) -> Evidence | None:
    """An earlier record of the same bytes that the uploader's audience can already see."""
    internal = bool(internal and side == OrgKind.PLATFORM)
    candidates = Evidence.objects.filter(case=case, sha256=sha256)
    if internal:
        return candidates.filter(Q(internal=False) | Q(internal=True, side=side)).order_by("internal", "id").first()
    return candidates.filter(internal=False).order_by("id").first()


def record_evidence_access(*, actor: User, evidence: Evidence, action: str) -> None:
    """Every view and download is part of the chain of custody."""
    audit.record(actor=actor, action=action, case=evidence.case, obj=evidence,
                 side=evidence.side if evidence.internal else "",
                 data={"sha256": evidence.sha256, "name": evidence.original_name})


@transaction.atomic
def withdraw_evidence(*, actor: User, evidence: Evidence, reason: str) -> Evidence:
    evidence = Evidence.objects.select_for_update().select_related("case").get(pk=evidence.pk)
    if not permissions.can_view_evidence(actor, evidence):
        from django.http import Http404

        raise Http404
    if not permissions.can_withdraw_evidence(actor, evidence):
        raise PermissionDenied(_("Only the side that added this evidence withdraws it."))
    if not reason.strip():
        raise ValidationError(_("Say why the evidence is withdrawn."))
    evidence.withdrawn_at, evidence.withdrawn_by, evidence.withdrawn_reason = timezone.now(), actor, reason.strip()
    evidence.save(update_fields=["withdrawn_at", "withdrawn_by", "withdrawn_reason"])
    audit.record(actor=actor, action="evidence.withdrawn", case=evidence.case, obj=evidence,
                 side=evidence.side if evidence.internal else "",
                 data={"sha256": evidence.sha256, "reason": evidence.withdrawn_reason})
    return evidence


@transaction.atomic
def place_legal_hold(*, actor: User, case: Case, reason: str) -> LegalHold:
    case = Case.objects.select_for_update().get(pk=case.pk)
    permissions.ensure_can_view(actor, case)
    if not permissions.can_manage_legal_hold(actor, case):
        raise PermissionDenied(_("Only the platform's legal team places legal holds."))
    if not reason.strip():
        raise ValidationError(_("Say why the hold is needed."))
    hold = LegalHold.objects.create(case=case, reason=reason.strip(), placed_by=actor)
    audit.record(actor=actor, action="legal_hold.placed", case=case, obj=hold, side=Side.PLATFORM,
                 data={"reason": hold.reason})
    return hold


@transaction.atomic
def lift_legal_hold(*, actor: User, hold: LegalHold) -> LegalHold:
    hold = LegalHold.objects.select_for_update().select_related("case").get(pk=hold.pk)
    permissions.ensure_can_view(actor, hold.case)
    if not permissions.can_manage_legal_hold(actor, hold.case):
        raise PermissionDenied(_("Only the platform's legal team lifts legal holds."))
    if hold.lifted_at is None:
        hold.lifted_at, hold.lifted_by = timezone.now(), actor
        hold.save(update_fields=["lifted_at", "lifted_by"])
        audit.record(actor=actor, action="legal_hold.lifted", case=hold.case, obj=hold, side=Side.PLATFORM,
                     data={"reason": hold.reason})
    return hold


def expired_evidence() -> Any:
    """Evidence of cases finished longer ago than the retention period, not under a legal hold."""
    cutoff = timezone.now() - timedelta(days=settings.LIAISON_EVIDENCE_RETENTION_DAYS)
    held = LegalHold.objects.filter(lifted_at__isnull=True).values("case_id")
    return (
        Evidence.objects.filter(purged_at__isnull=True)
        .filter(Q(case__status=Status.CLOSED, case__closed_at__lt=cutoff)
                | Q(case__status=Status.WITHDRAWN, case__withdrawn_at__lt=cutoff))
        .exclude(case_id__in=held)
        .select_related("case")
    )


def purge_evidence(*, evidence: Evidence) -> bool:
    """Delete the file, keep the metadata and hash with a purged mark. System action, audited."""
    with transaction.atomic():
        evidence = Evidence.objects.select_for_update().select_related("case").get(pk=evidence.pk)
        if evidence.purged_at is not None:
            return False
        if LegalHold.objects.filter(case_id=evidence.case_id, lifted_at__isnull=True).exists():
            return False
        evidence.purged_at = timezone.now()
        evidence.save(update_fields=["purged_at"])
        audit.record(action="evidence.purged", case=evidence.case, obj=evidence,
                     data={"sha256": evidence.sha256, "retention_days": settings.LIAISON_EVIDENCE_RETENTION_DAYS})
        transaction.on_commit(lambda: evidence_files.storage().delete(evidence.storage_name))
    return True


def verify_evidence_integrity(*, evidence: Evidence) -> bool:
    """Re-hash the stored bytes; a mismatch is recorded in the chain."""
    try:
        sha256, size = evidence_files.hash_stored(evidence.storage_name)
        ok = sha256 == evidence.sha256 and size == evidence.size
    except FileNotFoundError:
        sha256, ok = "", False
    Evidence.objects.filter(pk=evidence.pk).update(last_verified_at=timezone.now(), integrity_ok=ok)
    if not ok:
        audit.record(action="evidence.integrity_failed", case=evidence.case, obj=evidence,
                     data={"expected": evidence.sha256, "found": sha256})
    return ok


# --- Thread -------------------------------------------------------------------------------------

MAX_MESSAGE_LENGTH = 20000


def _check_mentions(*, actor: User, case: Case, body: str, internal: bool) -> None:
    from .markdown import find_mentions

    side = permissions.side_of(actor)
    refused = []
    for email in find_mentions(body):
        person = User.objects.filter(email__iexact=email, is_active=True).first()
        if person is None or not permissions.can_view_case(person, case):
            refused.append(email)
        elif internal and permissions.side_of(person) != side:
            refused.append(email)
    if refused:
        raise ValidationError(
            _("You mentioned %(who)s, who cannot see this %(what)s. Nothing was posted; remove the mention or "
              "give them access first.") % {"who": ", ".join(refused),
                                             "what": _("internal note") if internal else _("case")}
        )


@transaction.atomic
def post_message(
    *,
    actor: User,
    case: Case,
    body: str,
    internal: bool = False,
    evidence_ids: Sequence[int] = (),
    email_message_id: str | None = None,
) -> Message:
    """A shared message or an internal note; the other side hears of shared ones after commit."""
    permissions.ensure_can_view(actor, case)
    if not permissions.can_post_message(actor, case, internal=internal):
        raise PermissionDenied(_("You may not post in this case."))
    body = (body or "").strip()
    if not body:
        raise ValidationError(_("Write a message first."))
    if len(body) > MAX_MESSAGE_LENGTH:
        raise ValidationError(_("A message holds at most %(n)d characters.") % {"n": MAX_MESSAGE_LENGTH})
    _check_mentions(actor=actor, case=case, body=body, internal=internal)
    side = permissions.side_of(actor)
    message = Message.objects.create(
        case=case, kind=Message.Kind.INTERNAL if internal else Message.Kind.SHARED, side=side if internal else "",
        author=actor, body=body, email_message_id=email_message_id,
    )
    if evidence_ids:
        visible = permissions.evidence_visible_to(actor, case).filter(pk__in=list(evidence_ids))
        if not internal:
            visible = visible.filter(internal=False)
        message.evidence.set(visible)
    audit.record(actor=actor, action="message.posted", case=case, obj=message, side=message.side,
                 data={"kind": message.kind, "length": len(body)})
    mark_read(user=actor, case=case, up_to=message.pk)
    from .tasks import notify_message_task

    transaction.on_commit(lambda: notify_message_task.delay(message_id=message.pk))
    return message


@transaction.atomic
def edit_message(*, actor: User, message: Message, body: str) -> Message:
    """Authors correct a message within the edit window; the previous text stays visible."""
    message = Message.objects.select_for_update().select_related("case").get(pk=message.pk)
    if not permissions.can_edit_message(actor, message):
        raise PermissionDenied(_("Messages can be edited by their author for %(n)d minutes.")
                               % {"n": settings.LIAISON_MESSAGE_EDIT_MINUTES})
    body = (body or "").strip()
    if not body:
        raise ValidationError(_("A message cannot be emptied; post a correction instead."))
    if body == message.body:
        return message
    _check_mentions(actor=actor, case=message.case, body=body, internal=message.is_internal)
    MessageRevision.objects.create(message=message, body=message.body)
    message.body, message.edited_at = body, timezone.now()
    message.save(update_fields=["body", "edited_at"])
    audit.record(actor=actor, action="message.edited", case=message.case, obj=message, side=message.side,
                 data={"length": len(body)})
    return message


def add_system_entry(*, case: Case, action: str, body: str, actor: User | None = None, side: str = "") -> Message:
    """State, deadline and report events in the thread, in order with the messages."""
    return Message.objects.create(case=case, kind=Message.Kind.SYSTEM, side=side, author=actor, body=body,
                                  system_action=action)


def mark_read(*, user: User, case: Case, up_to: int | None = None) -> None:
    if up_to is None:
        up_to = permissions.messages_visible_to(user, case).order_by("-id").values_list("id", flat=True).first() or 0
    marker, created = ReadMarker.objects.get_or_create(user=user, case=case,
                                                       defaults={"last_read_message_id": up_to})
    if not created and marker.last_read_message_id < up_to:
        ReadMarker.objects.filter(pk=marker.pk, last_read_message_id__lt=up_to).update(
            last_read_message_id=up_to, updated_at=timezone.now())


def mark_all_read(*, user: User) -> int:
    """Every visible case with an unread message is marked read up to its newest visible message."""
    from django.db.models import Max

    visible_cases = permissions.cases_visible_to(user).values("pk")
    latest = (
        Message.objects.filter(case_id__in=visible_cases).filter(permissions.message_visibility(user))
        .values("case_id").annotate(last=Max("id"))
    )
    count = 0
    for row in latest:
        case = Case(pk=row["case_id"])
        mark_read(user=user, case=case, up_to=row["last"])
        count += 1
    return count


# --- Deadlines: agreement and the sweep -------------------------------------------------------------


def _deadline_audience(case: Case) -> list[User]:
    """Reminders and breaches go to the assignee, the platform's T&S managers and the authority's leads."""
    from accounts.models import Membership
    from accounts.roles import Role

    people: dict[int, User] = {}
    if case.assignee_id and case.assignee.is_active:
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
    from django.db import IntegrityError

    try:
        with transaction.atomic():
            DeadlineSignal.objects.create(deadline=deadline, point=point)
    except IntegrityError:
        return False
    return True


def _announce_deadline(deadline: Deadline, point: str) -> None:
    from .notifications import notify

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
    transaction.on_commit(lambda: notify(
        users=users, kind="deadline", source_key=f"deadline:{deadline.pk}:{point}", case=case, title=title,
        body=body, url=reverse_case(case, "#deadlines")))


def reverse_case(case: Case, anchor: str = "") -> str:
    from django.urls import reverse

    return reverse("cases:detail", args=[case.reference]) + anchor


def _due_deadline_ids(*, now: Any, batch: int, passed_over: set[int]) -> Iterator[int]:
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


def sweep_deadlines(*, now: Any = None, batch: int = 500) -> dict[str, int]:
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


@transaction.atomic
def propose_deadline(
    *,
    actor: User,
    case: Case,
    kind: str,
    reason: str,
    deadline: Deadline | None = None,
    due_at: Any = None,
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
    what = {
        DeadlineProposal.Kind.CHANGE_DUE: _("a new due time (%(due)s UTC) for the %(kind)s deadline"),
        DeadlineProposal.Kind.NEW_CUSTOM: _("a new deadline “%(title)s” due %(due)s UTC"),
        DeadlineProposal.Kind.WAIVE: _("waiving the %(kind)s deadline"),
    }[DeadlineProposal.Kind(kind)] % {
        "due": f"{due_at:%Y-%m-%d %H:%M}" if due_at else "", "title": proposal.title,
        "kind": Deadline.Kind(deadline.kind).label.lower() if deadline else ""}
    add_system_entry(case=case, action="deadline.proposed", actor=actor,
                     body=_("%(who)s proposed %(what)s: %(reason)s") % {"who": actor.full_name, "what": what,
                                                                        "reason": proposal.reason})
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
        deadline = proposal.deadline
        if deadline is not None:
            deadline = Deadline.objects.select_for_update().get(pk=deadline.pk)
            if deadline.status != Deadline.State.OPEN:
                proposal.status = DeadlineProposal.State.EXPIRED
                proposal.save(update_fields=["status"])
                raise permissions.InvalidTransition(_("The deadline is no longer open; the proposal has expired."))
        if proposal.kind == DeadlineProposal.Kind.CHANGE_DUE and deadline is not None:
            previous = deadline.due_at
            deadline.due_at, deadline.origin = proposal.proposed_due_at, Deadline.Origin.AGREEMENT
            sent = set(deadline.signals.values_list("point", flat=True))
            deadline.next_check_at = deadline_clock.next_check(deadline, sent)
            deadline.save(update_fields=["due_at", "origin", "next_check_at"])
            audit.record(actor=actor, action="deadline.changed", case=case, obj=deadline,
                         data={"from": previous.isoformat(), "to": deadline.due_at.isoformat(),
                               "proposal": proposal.pk})
        elif proposal.kind == DeadlineProposal.Kind.WAIVE and deadline is not None:
            deadline.status, deadline.closed_at, deadline.next_check_at = Deadline.State.WAIVED, now, None
            deadline.save(update_fields=["status", "closed_at", "next_check_at"])
            audit.record(actor=actor, action="deadline.waived", case=case, obj=deadline,
                         data={"proposal": proposal.pk})
        elif proposal.kind == DeadlineProposal.Kind.NEW_CUSTOM:
            kind = Deadline.Kind.PROVIDE_INFORMATION if proposal.owner_side == OrgKind.AUTHORITY else \
                Deadline.Kind.CUSTOM
            deadline = Deadline(case=case, kind=kind, title=proposal.title, owner_side=proposal.owner_side,
                                started_at=now, due_at=proposal.proposed_due_at, origin=Deadline.Origin.AGREEMENT)
            deadline.next_check_at = deadline_clock.next_check(deadline, set())
            deadline.save()
            proposal.deadline = deadline
            audit.record(actor=actor, action="deadline.created", case=case, obj=deadline,
                         data={"kind": kind, "due_at": deadline.due_at.isoformat(), "origin": "agreement"})
    proposal.status = DeadlineProposal.State.ACCEPTED if accept else DeadlineProposal.State.REJECTED
    proposal.answered_by, proposal.answered_at, proposal.answer_note = actor, now, note.strip()
    proposal.save(update_fields=["status", "answered_by", "answered_at", "answer_note", "deadline"])
    audit.record(actor=actor, action="deadline.accepted" if accept else "deadline.rejected", case=case,
                 obj=proposal, data={"note": proposal.answer_note})
    add_system_entry(case=case, action="deadline.answered", actor=actor,
                     body=(_("%(who)s accepted the deadline proposal.") if accept
                           else _("%(who)s rejected the deadline proposal.")) % {"who": actor.full_name}
                     + (f" {proposal.answer_note}" if proposal.answer_note else ""))
    return proposal


def expire_proposals(*, now: Any = None) -> int:
    """Pending proposals whose deadline closed, or whose proposed time passed, expire (and stay on record)."""
    now = now or timezone.now()
    stale = DeadlineProposal.objects.filter(status=DeadlineProposal.State.PENDING).filter(
        Q(deadline__isnull=False) & ~Q(deadline__status=Deadline.State.OPEN) | Q(proposed_due_at__lte=now)
    )
    count = 0
    for proposal in stale.select_related("case"):
        with transaction.atomic():
            updated = DeadlineProposal.objects.filter(pk=proposal.pk, status=DeadlineProposal.State.PENDING).update(
                status=DeadlineProposal.State.EXPIRED, answered_at=now)
            if updated:
                audit.record(action="deadline.proposal_expired", case=proposal.case, obj=proposal)
                add_system_entry(case=proposal.case, action="deadline.proposal_expired",
                                 body=_("A deadline proposal expired without an answer."))
                count += 1
    return count


@transaction.atomic
def update_sla_policy(*, actor: User, policy: Any, acknowledge_minutes: int, resolve_minutes: int) -> Any:
    if not permissions.can_edit_sla_policies(actor):
        raise PermissionDenied(_("Only T&S managers edit SLA policies."))
    before = {"acknowledge_minutes": policy.acknowledge_minutes, "resolve_minutes": policy.resolve_minutes}
    policy.acknowledge_minutes, policy.resolve_minutes = acknowledge_minutes, resolve_minutes
    policy.save(update_fields=["acknowledge_minutes", "resolve_minutes", "updated_at"])
    audit.record(actor=actor, action="sla_policy.updated", obj=policy, side=Side.PLATFORM,
                 data={"policy": str(policy), "before": before,
                       "after": {"acknowledge_minutes": acknowledge_minutes, "resolve_minutes": resolve_minutes}})
    return policy


# --- Inbound e-mail review ------------------------------------------------------------------------


def _locked_quarantined_email(*, actor: User, inbound: Any) -> Any:
    from .models import InboundEmail

    if not permissions.can_review_inbound_email(actor):
        raise PermissionDenied(_("Only T&S managers review inbound e-mail."))
    inbound = InboundEmail.objects.select_for_update().get(pk=inbound.pk)
    if inbound.status != InboundEmail.Status.QUARANTINED:
        raise ValidationError(_("This e-mail is %(status)s, not quarantined; someone may have decided it already.")
                              % {"status": inbound.get_status_display().lower()})
    return inbound


@transaction.atomic
def release_inbound_email(*, actor: User, inbound: Any, organization: Organization, owner: User) -> Any:
    """A T&S manager releases a quarantined e-mail: it becomes a draft case of `owner` (a liaison or lead of
    `organization`) through the same path as an authority's own e-mail, without the sender checks."""
    from . import mailin
    from .models import InboundEmail

    inbound = _locked_quarantined_email(actor=actor, inbound=inbound)
    owner_membership = permissions.membership_of(owner)
    if organization.kind != OrgKind.AUTHORITY or not organization.is_active:
        raise ValidationError(_("Choose an active authority."))
    if owner_membership is None or owner_membership.organization_id != organization.pk \
            or not permissions.can_create_case(owner):
        raise ValidationError(_("Choose an active liaison or lead of %(org)s as the owner.") % {"org": organization})
    case = mailin.release(inbound=inbound, owner=owner, actor=actor)
    now = timezone.now()
    released = _("Released by %(who)s as draft %(reference)s for %(owner)s (%(org)s).") % {
        "who": actor.full_name, "reference": case.reference, "owner": owner.full_name, "org": organization.name}
    inbound.status, inbound.case, inbound.decided_by, inbound.decided_at = (
        InboundEmail.Status.RELEASED, case, actor, now)
    inbound.reason = f"{inbound.reason}\n{released}".strip()
    inbound.save(update_fields=["status", "case", "decided_by", "decided_at", "reason"])
    audit.record(actor=actor, action="email.released", case=case, obj=inbound,
                 data={"message_id": inbound.message_id, "sender": inbound.sender, "owner": owner.email,
                       "organization": organization.pk, "reference": case.reference})
    return inbound


@transaction.atomic
def reject_inbound_email(*, actor: User, inbound: Any, reason: str) -> Any:
    """A T&S manager rejects a quarantined e-mail with a reason; it stays on record."""
    from .models import InboundEmail

    inbound = _locked_quarantined_email(actor=actor, inbound=inbound)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("Say why the e-mail is rejected."))
    rejected = _("Rejected by %(who)s: %(reason)s") % {"who": actor.full_name, "reason": reason}
    inbound.status, inbound.decided_by, inbound.decided_at = InboundEmail.Status.REJECTED, actor, timezone.now()
    inbound.reason = f"{inbound.reason}\n{rejected}".strip()
    inbound.save(update_fields=["status", "decided_by", "decided_at", "reason"])
    audit.record(actor=actor, action="email.rejected", obj=inbound, side=Side.PLATFORM,
                 data={"message_id": inbound.message_id, "sender": inbound.sender, "reason": reason})
    return inbound


def record_inbound_email_download(*, actor: User, inbound: Any) -> None:
    """Downloading the original message is a sensitive read."""
    audit.record(actor=actor, action="email.downloaded", obj=inbound, side=Side.PLATFORM,
                 data={"message_id": inbound.message_id, "sha256": inbound.raw_sha256})


# --- Outcome reports ---------------------------------------------------------------------------------------

# A worker's claim on a report older than this is taken to be a crashed worker's, and may be taken over.
REPORT_CLAIM_STALE_AFTER = timedelta(minutes=10)


@transaction.atomic
def request_report(*, actor: User, case: Case, language: str, include_thread: bool,
                   enqueue: bool = True) -> Any:
    """A T&S manager approves an outcome report of a resolved or closed case; a worker renders and signs it.

    The next version number is fixed now, under the case's row lock; only one report of a case is in flight.
    """
    from .models import OutcomeReport

    case = Case.objects.select_for_update(of=("self",)).select_related("requesting_org", "responding_org").get(pk=case.pk)
    permissions.ensure_can_view(actor, case)
    if not permissions.can_request_report(actor, case):
        raise PermissionDenied(_("Only a T&S manager of the platform approves an outcome report, once the case is "
                                 "resolved or closed."))
    if language not in dict(settings.LANGUAGES):
        raise ValidationError(_("Choose English or Bahasa Indonesia."))
    in_flight = (OutcomeReport.Status.QUEUED, OutcomeReport.Status.RENDERING, OutcomeReport.Status.SIGNING)
    if case.reports.filter(status__in=in_flight).exists():
        raise ValidationError(_("A report of this case is being prepared; wait until it is ready or has failed."))
    from django.db.models import Max

    last = case.reports.exclude(status=OutcomeReport.Status.FAILED).aggregate(v=Max("version"))["v"] or 0
    report = OutcomeReport.objects.create(case=case, version=last + 1, language=language,
                                          include_thread=bool(include_thread), requested_by=actor, approved_by=actor)
    audit.record(actor=actor, action="report.requested", case=case, obj=report, side=Side.PLATFORM,
                 data={"version": report.version, "language": language, "include_thread": report.include_thread})
    if enqueue:
        from .tasks import generate_report_task

        transaction.on_commit(lambda: generate_report_task.delay(report.pk))
    return report


def _claim_report(report_id: int) -> tuple[Any, Any] | None:
    """Take the report for this worker (row lock + status check): a second delivery of the task finds it taken
    or done and does nothing. Returns (report, claim time) or None."""
    from .models import OutcomeReport

    with transaction.atomic():
        report = OutcomeReport.objects.select_for_update().filter(pk=report_id).first()
        if report is None:
            return None
        now = timezone.now()
        working = (OutcomeReport.Status.RENDERING, OutcomeReport.Status.SIGNING)
        stale = report.status in working and (report.started_at is None
                                               or report.started_at < now - REPORT_CLAIM_STALE_AFTER)
        if report.status != OutcomeReport.Status.QUEUED and not stale:
            return None
        report.status, report.started_at, report.status_reason = OutcomeReport.Status.RENDERING, now, ""
        report.save(update_fields=["status", "started_at", "status_reason"])
    return report, now


def _report_step(report: Any, claimed_at: Any, status: str, reason: str = "") -> bool:
    """Move a claimed report on; False if another worker took it over meanwhile."""
    from .models import OutcomeReport

    updated = OutcomeReport.objects.filter(pk=report.pk, started_at=claimed_at).exclude(
        status__in=[OutcomeReport.Status.READY, OutcomeReport.Status.FAILED]).update(status=status,
                                                                                     status_reason=reason)
    return bool(updated)


def generate_report(*, report_id: int) -> Any:
    """Render, sign, store and issue a requested report; idempotent (see _claim_report). Called by the task.

    Returns the report, or None when there was nothing to do (already issued, failed, or being worked on).
    """
    import logging

    from . import reports
    from .models import OutcomeReport

    claim = _claim_report(report_id)
    if claim is None:
        return None
    report, claimed_at = claim
    report = OutcomeReport.objects.select_related(
        "case", "case__requesting_org", "case__responding_org", "case__category", "approved_by__membership",
        "approved_by__membership__organization").get(pk=report.pk)
    case = report.case
    issued_at = timezone.now()
    try:
        identity = reports.load_signing_identity()
        pdf = reports.render_outcome_report(case, language=report.language, include_thread=report.include_thread,
                                            approver=report.approved_by, version=report.version,
                                            issued_at=issued_at)
        if not _report_step(report, claimed_at, OutcomeReport.Status.SIGNING):
            return None
        from django.utils import translation

        with translation.override(report.language):
            membership = getattr(report.approved_by, "membership", None)
            signed = reports.sign_pdf(pdf, identity, approver_name=report.approved_by.full_name,
                                      approver_role=str(membership.get_role_display()) if membership else "",
                                      location=case.responding_org.name,
                                      time_zone=case.requesting_org.time_zone or "UTC")
    except reports.SigningIdentityError as exc:
        return _fail_report(report, claimed_at, str(exc))
    except Exception as exc:  # the reason is shown to the manager; the worker keeps running
        logging.getLogger(__name__).exception("outcome report %s failed", report.pk)
        return _fail_report(report, claimed_at, _("Rendering or signing failed: %(error)s")
                            % {"error": f"{type(exc).__name__}: {exc}"[:500]})
    return _issue_report(report, claimed_at, signed, issued_at)


def _fail_report(report: Any, claimed_at: Any, reason: str) -> Any:
    from .models import OutcomeReport

    with transaction.atomic():
        if _report_step(report, claimed_at, OutcomeReport.Status.FAILED, reason):
            audit.record(actor=report.approved_by, action="report.failed", case=report.case, obj=report,
                         side=Side.PLATFORM, data={"version": report.version, "reason": reason})
    report.refresh_from_db()
    return report


def _issue_report(report: Any, claimed_at: Any, signed: bytes, issued_at: Any) -> Any:
    import hashlib
    import uuid

    from django.core.files.base import ContentFile

    from .models import OutcomeReport

    case = report.case
    storage = evidence_files.storage()
    name = storage.save(f"reports/{case.pk}/{case.reference}-v{report.version}-{uuid.uuid4().hex}.pdf",
                        ContentFile(signed))
    try:
        with transaction.atomic():
            Case.objects.select_for_update().filter(pk=case.pk).first()
            locked = OutcomeReport.objects.select_for_update().get(pk=report.pk)
            if locked.started_at != claimed_at or locked.status not in (OutcomeReport.Status.RENDERING,
                                                                          OutcomeReport.Status.SIGNING):
                storage.delete(name)
                return None
            locked.status, locked.status_reason, locked.issued_at = OutcomeReport.Status.READY, "", issued_at
            locked.storage_name, locked.sha256, locked.size = name, hashlib.sha256(signed).hexdigest(), len(signed)
            locked.save(update_fields=["status", "status_reason", "issued_at", "storage_name", "sha256", "size"])
            previous = list(OutcomeReport.objects.select_for_update().filter(
                case=case, status=OutcomeReport.Status.READY, superseded_at__isnull=True,
                version__lt=locked.version))
            for older in previous:
                older.superseded_by, older.superseded_at = locked, issued_at
                older.save(update_fields=["superseded_by", "superseded_at"])
            approver = locked.approved_by
            audit.record(actor=approver, action="report.issued", case=case, obj=locked,
                         data={"version": locked.version, "sha256": locked.sha256, "size": locked.size,
                               "language": locked.language, "include_thread": locked.include_thread,
                               "supersedes": [o.version for o in previous]})
            body = _("%(who)s approved outcome report version %(version)d; it was signed and issued "
                     "(SHA-256 %(sha)s).") % {"who": approver.full_name, "version": locked.version,
                                               "sha": locked.sha256}
            if previous:
                body += " " + _("It supersedes version %(old)s.") % {
                    "old": ", ".join(str(o.version) for o in previous)}
            add_system_entry(case=case, action="report.issued", body=body, actor=approver)
            transaction.on_commit(lambda: _notify_report_issued(locked))
    except BaseException:
        storage.delete(name)
        raise
    return locked


def _notify_report_issued(report: Any) -> None:
    """The requesting authority's people hear of a new report, each in their language."""
    from django.urls import reverse
    from django.utils import translation

    from accounts.models import Membership

    from .notifications import notify

    case = report.case
    members = Membership.objects.filter(organization=case.requesting_org, deactivated_at__isnull=True,
                                        user__is_active=True).select_related("user", "organization")
    by_language: dict[str, list[User]] = {}
    for membership in members:
        if permissions.can_view_reports(membership.user, case):
            by_language.setdefault(membership.user.preferred_language or "en", []).append(membership.user)
    url = reverse("cases:detail", args=[case.reference]) + "#reports"
    for language, users in by_language.items():
        with translation.override(language):
            title = _("Outcome report %(reference)s, version %(version)d, is ready") % {
                "reference": case.reference, "version": report.version}
            body = _("%(platform)s issued a signed outcome report of %(reference)s. Download it from the case page; "
                     "anyone holding it can verify it at %(url)s.") % {
                "platform": case.responding_org.name, "reference": case.reference,
                "url": settings.SITE_URL + "/reports/verify/"}
            notify(users=users, kind="report", source_key=f"report:{report.pk}", case=case, title=title, body=body,
                   url=url)


def record_report_download(*, actor: User, report: Any) -> None:
    """Every download of a report is a sensitive read."""
    audit.record(actor=actor, action="report.downloaded", case=report.case, obj=report,
                 data={"version": report.version, "sha256": report.sha256})
