"""Every change to cases: one function each, called alike by pages, API, tasks, commands and tests.

Each checks permission and state, writes inside one transaction under a row
lock, records the audit event, and queues side effects on commit.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
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
from . import evidence as evidence_files
from .choices import TLP, Outcome, Priority, Side, Status, Transition, priority_rank
from .intake import AcceptedRow
from .models import Case, CaseSequence, Category, Evidence, LegalHold, ReportedItem

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
    case = Case.objects.select_for_update().select_related("requesting_org", "responding_org").get(pk=case.pk)
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
    case.save(update_fields=fields)
    audit.record(actor=actor, action=f"case.{transition}", case=case, obj=case,
                 data={"from": previous, "to": target, "note": note.strip(), "at": now.isoformat()})
    return case


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
    side = permissions.side_of(actor)
    with evidence_files.stream_to_temp(source, original_name=original_name) as streamed:
        existing = Evidence.objects.filter(case=case, sha256=streamed.sha256).first()
        if existing is not None:
            return EvidenceResult(existing, False)
        stored_name = evidence_files.save_to_storage(streamed, case.pk)
    try:
        with transaction.atomic():
            Case.objects.select_for_update().filter(pk=case.pk).first()
            existing = Evidence.objects.filter(case=case, sha256=streamed.sha256).first()
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
