"""Cases: creation, details, the workflow's transitions, assignment and who is named on a case."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from guardian.shortcuts import assign_perm, remove_perm

from accounts.models import Membership, Organization, Queue, User
from accounts.roles import OrgKind, Role

from .. import audit, case_events, jobs, permissions
from ..choices import TLP, Outcome, Priority, Side, Status, Transition, priority_rank
from ..instants import as_iso
from ..item_lists import AcceptedRow
from ..models import Case, CaseSequence, Category
from .deadline_clocks import run_clocks
from .items import append_items
from .thread import add_system_entry


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
    if not title.strip():
        raise ValidationError(_("A title is required."))
    org = actor.membership.organization
    priority = Priority.URGENT if threat_to_life else (priority or category.default_priority)
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
    append_items(actor=actor, case=case, rows=items)
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


# --- The workflow -----------------------------------------------------------------------------------

STAMPS: dict[str, str] = {
    Status.SUBMITTED: "submitted_at",
    Status.RESOLVED: "resolved_at",
    Status.CLOSED: "closed_at",
    Status.WITHDRAWN: "withdrawn_at",
}

# Working a case makes it yours: whoever acknowledges or resolves an unassigned case becomes its assignee.
TAKES_THE_CASE = (Transition.ACKNOWLEDGE, Transition.RESOLVE)


def _stamp(case: Case, target: str, now: Any) -> list[str]:
    stamped = []
    if target in STAMPS:
        setattr(case, STAMPS[target], now)
        stamped.append(STAMPS[target])
    if target == Status.IN_PROGRESS and case.acknowledged_at is None:
        case.acknowledged_at = now
        stamped.append("acknowledged_at")
    return stamped


def _check_preconditions(case: Case, transition: str, note: str) -> None:
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
    _check_preconditions(case, transition, note)
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
    fields += run_clocks(case=case, transition=transition, now=now, actor=actor,
                         information_due_at=extra.get("information_due_at"))
    taken = _takes_the_case(case=case, transition=transition, actor=actor)
    if taken:
        case.assignee = actor
        fields.append("assignee")
    case.save(update_fields=fields)
    audit.record(actor=actor, action=f"case.{transition}", case=case, obj=case,
                 data={"from": previous, "to": target, "note": note.strip(), "at": now.isoformat()})
    _announce_transition(case=case, actor=actor, previous=previous, note=note)
    if transition in case_events.TRANSITION_EVENTS:
        case_events.announce(case=case, event=case_events.TRANSITION_EVENTS[transition],
                             data={"from": previous, "to": target, "note": note.strip(), "at": as_iso(now)})
    if taken:
        _record_assignment(actor=actor, case=case, previous=None, assignee=actor, on=transition)
    return case


def _takes_the_case(*, case: Case, transition: str, actor: User) -> bool:
    return (transition in TAKES_THE_CASE and case.assignee_id is None
            and permissions.can_be_assignee(actor, case))


def _announce_transition(*, case: Case, actor: User, previous: str, note: str) -> None:
    entry = add_system_entry(case=case, action=f"case.{case.status}", actor=actor,
                             params={"from": previous, "to": case.status, "note": note.strip()})
    jobs.enqueue("cases.tasks.notify_case_event_task", case_id=case.pk, kind="state_change",
                 source_key=f"message:{entry.pk}", title=f"{case.reference} is now {Status(case.status).label}",
                 event={"action": "case.status", "reference": case.reference, "to": case.status},
                 actor_id=actor.pk)


def _name_platform_managers(*, actor: User, case: Case) -> None:
    """A RED case is visible only to named people; the platform's T&S managers are named on submission
    so the request cannot go unseen. They may name others."""
    events = []
    for membership in Membership.objects.filter(
        organization=case.responding_org, role=Role.TS_MANAGER, deactivated_at__isnull=True
    ).select_related("user"):
        assign_perm(permissions.VIEW_PERMISSION, membership.user, case)
        events.append(audit.Entry(actor=actor, action="access.granted", case=case, obj=membership.user,
                                  data={"user": membership.user.email,
                                        "reason": "TLP:RED case submitted to T&S managers"}))
    audit.record_many(events)


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


# --- Who works and who sees the case ------------------------------------------------------------------


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
    _record_assignment(actor=actor, case=case, previous=previous, assignee=assignee)
    return case


def _record_assignment(*, actor: User, case: Case, previous: User | None, assignee: User | None,
                       on: str = "") -> None:
    """The audit event, the platform's system line and the assignee's notification of a new assignee; `on` names
    the transition that made the actor the assignee, when it was not an explicit assignment."""
    data: dict[str, Any] = {"from": previous.full_name if previous else None,
                            "to": assignee.full_name if assignee else None,
                            "to_email": assignee.email if assignee else None}
    if on:
        data["on"] = on
    audit.record(actor=actor, action="case.assigned", case=case, obj=case, side=Side.PLATFORM, data=data)
    entry = add_system_entry(case=case, action="case.assigned", actor=actor, side=Side.PLATFORM,
                             params={"to": assignee.pk if assignee else None,
                                     "to_name": assignee.full_name if assignee else None})
    if assignee is not None and assignee.pk != actor.pk:
        jobs.enqueue("cases.tasks.notify_case_event_task", case_id=case.pk, kind="assignment",
                     source_key=f"message:{entry.pk}", title=f"{case.reference} was assigned to you",
                     event={"action": "case.assigned", "reference": case.reference},
                     actor_id=actor.pk, user_ids=[assignee.pk])


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
    if not permissions.can_name_person(actor, case, user):
        raise PermissionDenied(_("Only the requesting authority names its own people on a case."))
    assign_perm(permissions.VIEW_PERMISSION, user, case)
    audit.record(actor=actor, action="access.granted", case=case, obj=user,
                 data={"user": user.email, "reason": reason.strip()})


@transaction.atomic
def revoke_access(*, actor: User, case: Case, user: User) -> None:
    case = Case.objects.select_for_update().get(pk=case.pk)
    permissions.ensure_can_view(actor, case)
    if not permissions.can_manage_access(actor, case):
        raise PermissionDenied(_("You may not change who sees this case."))
    if not permissions.can_name_person(actor, case, user):
        raise PermissionDenied(_("Only the requesting authority names its own people on a case."))
    remove_perm(permissions.VIEW_PERMISSION, user, case)
    audit.record(actor=actor, action="access.revoked", case=case, obj=user, data={"user": user.email})
