"""The access policy: the one place that knows roles, queues and guardian.

Each yes/no check is paired with the queryset it must agree with, so lists
and pages cannot disagree. Deny with 404 where the case is not visible, 403
where it is visible but the action is not allowed.

The baseline is a plain predicate on indexed columns of Case; guardian holds
the exceptions (per-case grants, the named people of a TLP:RED case), fetched
first and OR'ed in as a literal list of ids.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Membership, User
from accounts.permissions import membership_of
from accounts.roles import OrgKind, Role

from .choices import TLP, WORKFLOW, Status, Transition
from .models import Case, CaseUserObjectPermission, Evidence

VIEW_PERMISSION = "view_case"

AUTHORITY_WORKERS = (Role.LIAISON, Role.AUTHORITY_LEAD)
PLATFORM_WORKERS = (Role.MODERATOR, Role.TS_MANAGER)
PLATFORM_READERS_OF_EVERYTHING = (Role.TS_MANAGER, Role.LEGAL, Role.AUDITOR)


class InvalidTransition(Exception):
    """The case is not in a state where this move is possible; the message says why."""


def _membership(user: User) -> Membership | None:
    return membership_of(user)


def is_authority(membership: Membership | None) -> bool:
    return membership is not None and membership.organization.kind == OrgKind.AUTHORITY


def is_platform(membership: Membership | None) -> bool:
    return membership is not None and membership.organization.kind == OrgKind.PLATFORM


def side_of(user: User) -> str:
    membership = _membership(user)
    return membership.organization.kind if membership is not None else ""


# Up to this many grants are OR'ed in as a literal id list (the planner combines index scans); beyond it, as a
# semi-join on the grants table, so a T&S manager named on every TLP:RED case does not send thousands of ids.
INLINE_GRANTS = 100


def _grants(user: User) -> QuerySet[CaseUserObjectPermission]:
    return CaseUserObjectPermission.objects.filter(user=user, permission__codename=VIEW_PERMISSION)


def granted_case_ids(user: User) -> list[int]:
    """The cases named to this person through guardian (direct foreign-key table)."""
    return list(_grants(user).values_list("content_object_id", flat=True))


def _granted_condition(user: User) -> Q | None:
    ids = list(_grants(user).values_list("content_object_id", flat=True)[:INLINE_GRANTS + 1])
    if not ids:
        return None
    if len(ids) <= INLINE_GRANTS:
        return Q(pk__in=ids)
    return Q(pk__in=_grants(user).values("content_object_id"))


def _scope(membership: Membership) -> Q:
    """The cases of the person's organisation on its side, which nothing outside can widen: an authority's own
    requests (drafts included), a platform's received requests (never drafts). Named people are named only on
    cases of their own organisation (grant_access), so the scope holds for them too."""
    org_id = membership.organization_id
    if membership.organization.kind == OrgKind.AUTHORITY:
        return Q(requesting_org_id=org_id)
    return Q(responding_org_id=org_id) & ~Q(status=Status.DRAFT)


def _baseline(membership: Membership, user: User) -> Q | None:
    """Within the scope, what the role sees of non-RED cases: everything (None), a moderator's queues and
    assignments, or nothing."""
    if membership.organization.kind == OrgKind.AUTHORITY or membership.role in PLATFORM_READERS_OF_EVERYTHING:
        return None
    if membership.role == Role.MODERATOR:
        queue_ids = list(membership.queues.values_list("id", flat=True))
        return Q(queue_id__in=queue_ids) | Q(assignee_id=user.pk)
    return Q(pk__in=[])


def cases_visible_to(user: User) -> QuerySet[Case]:
    """scope AND ((baseline AND NOT RED) OR named): the scope's indexed columns lead, so lists and counts are
    read through (org, status) or the inbox order index whatever the number of named cases."""
    membership = _membership(user)
    if membership is None:
        return Case.objects.none()
    baseline = _baseline(membership, user)
    seen = ~Q(tlp=TLP.RED) if baseline is None else baseline & ~Q(tlp=TLP.RED)
    named = _granted_condition(user)
    if named is not None:
        seen |= named
    return Case.objects.filter(_scope(membership) & seen)


def can_view_case(user: User, case: Case) -> bool:
    membership = _membership(user)
    if membership is None:
        return False
    if not _in_scope(membership, case):
        return False
    if CaseUserObjectPermission.objects.filter(
        user=user, permission__codename=VIEW_PERMISSION, content_object_id=case.pk
    ).exists():
        return True
    if case.tlp == TLP.RED:
        return False
    return _matches_baseline(membership, user, case)


def _in_scope(membership: Membership, case: Case) -> bool:
    if membership.organization.kind == OrgKind.AUTHORITY:
        return case.requesting_org_id == membership.organization_id
    return case.responding_org_id == membership.organization_id and case.status != Status.DRAFT


def _matches_baseline(membership: Membership, user: User, case: Case) -> bool:
    if membership.organization.kind == OrgKind.AUTHORITY:
        return True
    if membership.role in PLATFORM_READERS_OF_EVERYTHING:
        return True
    if membership.role == Role.MODERATOR:
        if case.assignee_id == user.pk:
            return True
        return case.queue_id is not None and membership.queues.filter(pk=case.queue_id).exists()
    return False


def people_who_can_view(case: Case) -> QuerySet[User]:
    """Everyone who may see the case, in one query: the set form of can_view_case, for "who can see this" and
    @-mention suggestions (which must not ask can_view_case once per person)."""
    active = User.objects.filter(is_active=True, membership__isnull=False, membership__deactivated_at__isnull=True)
    named = Q(pk__in=CaseUserObjectPermission.objects.filter(
        content_object_id=case.pk, permission__codename=VIEW_PERMISSION).values("user_id"))
    authority = Q(membership__organization_id=case.requesting_org_id,
                  membership__organization__kind=OrgKind.AUTHORITY)
    platform = Q(membership__organization_id=case.responding_org_id,
                 membership__organization__kind=OrgKind.PLATFORM)
    if case.status == Status.DRAFT:
        platform = Q(pk__in=[])
    if case.tlp == TLP.RED:
        return active.filter((authority | platform) & named)
    in_queue = Q(membership__in=Membership.objects.filter(queues=case.queue_id)) if case.queue_id else Q(pk__in=[])
    platform_baseline = (Q(membership__role__in=PLATFORM_READERS_OF_EVERYTHING)
                         | Q(membership__role=Role.MODERATOR) & (Q(pk=case.assignee_id) | in_queue))
    return active.filter(authority | (platform & (platform_baseline | named)))


def get_case_for_user(user: User, reference: str) -> Case:
    """The case, if this person may see it; Http404 otherwise (never a hint that it exists)."""
    case = cases_visible_to(user).select_related(
        "category", "requesting_org", "responding_org", "queue", "assignee", "created_by"
    ).filter(reference=reference).first()
    if case is None:
        raise Http404(_("No such case."))
    return case


def ensure_can_view(user: User, case: Case) -> None:
    if not can_view_case(user, case):
        raise Http404(_("No such case."))


# --- Actions -----------------------------------------------------------------------------


def can_create_case(user: User) -> bool:
    membership = _membership(user)
    return membership is not None and is_authority(membership) and membership.role in AUTHORITY_WORKERS


def _is_requesting_worker(membership: Membership | None, case: Case) -> bool:
    return (
        membership is not None
        and membership.organization_id == case.requesting_org_id
        and membership.role in AUTHORITY_WORKERS
    )


def _is_platform_worker(membership: Membership | None, case: Case) -> bool:
    return (
        membership is not None
        and membership.organization_id == case.responding_org_id
        and membership.role in PLATFORM_WORKERS
    )


AUTHORITY_TRANSITIONS = {Transition.SUBMIT, Transition.PROVIDE_INFORMATION, Transition.REOPEN,
                         Transition.WITHDRAW}
PLATFORM_TRANSITIONS = {Transition.ACKNOWLEDGE, Transition.REQUEST_INFORMATION, Transition.RESOLVE}
EITHER_SIDE_TRANSITIONS = {Transition.CLOSE}


def may_perform(user: User, case: Case, transition: str) -> bool:
    """Role check only (the state is checked by ensure_can_transition)."""
    if not can_view_case(user, case):
        return False
    membership = _membership(user)
    if transition in AUTHORITY_TRANSITIONS:
        return _is_requesting_worker(membership, case)
    if transition in PLATFORM_TRANSITIONS:
        return _is_platform_worker(membership, case)
    if transition in EITHER_SIDE_TRANSITIONS:
        return _is_requesting_worker(membership, case) or _is_platform_worker(membership, case)
    return False


def appeal_window_open(case: Case) -> bool:
    if case.resolved_at is None:
        return False
    return timezone.now() <= case.resolved_at + timedelta(days=settings.LIAISON_APPEAL_WINDOW_DAYS)


def ensure_can_transition(user: User, case: Case, transition: str) -> str:
    """Returns the target status, or raises Http404 / PermissionDenied / InvalidTransition."""
    ensure_can_view(user, case)
    if transition not in WORKFLOW:
        raise InvalidTransition(_("Unknown action."))
    if not may_perform(user, case, transition):
        raise PermissionDenied(_("Your role does not allow this action on this case."))
    sources, target = WORKFLOW[transition]
    if case.status not in sources:
        raise InvalidTransition(
            _("This case is %(status)s, so “%(action)s” is not possible now. Someone may have acted on it already; "
              "the page shows the current state.")
            % {"status": case.get_status_display().lower(), "action": Transition(transition).label}
        )
    if transition == Transition.REOPEN and not appeal_window_open(case):
        raise InvalidTransition(_("The appeal window of this case has closed; open a new case instead."))
    return target


def available_transitions(user: User, case: Case) -> list[str]:
    result = []
    for transition, (sources, _target) in WORKFLOW.items():
        if case.status not in sources:
            continue
        if not may_perform(user, case, transition):
            continue
        if transition == Transition.REOPEN and not appeal_window_open(case):
            continue
        result.append(transition)
    return result


def can_edit_items(user: User, case: Case) -> bool:
    """The requesting authority adds items while the case is not finished."""
    membership = _membership(user)
    return _is_requesting_worker(membership, case) and case.status in (
        Status.DRAFT, Status.SUBMITTED, Status.IN_PROGRESS, Status.AWAITING_INFORMATION,
    )


def can_decide_items(user: User, case: Case) -> bool:
    membership = _membership(user)
    return _is_platform_worker(membership, case) and case.status == Status.IN_PROGRESS


def can_assign(user: User, case: Case) -> bool:
    """T&S managers, and moderators of the case's queue, take or assign open cases."""
    membership = _membership(user)
    if not _is_platform_worker(membership, case) or not case.is_open:
        return False
    if membership.role == Role.TS_MANAGER:  # type: ignore[union-attr]
        return True
    return case.queue_id is not None and membership.queues.filter(pk=case.queue_id).exists()  # type: ignore[union-attr]


def can_be_assignee(user: User, case: Case) -> bool:
    membership = _membership(user)
    # Being assigned shows a case to its assignee, except a TLP:RED one: name them on it first.
    return _is_platform_worker(membership, case) and (not case.is_red or can_view_case(user, case))


def can_manage_access(user: User, case: Case) -> bool:
    """Who may name people on a case: the requesting authority's workers, and T&S managers who see it."""
    if not can_view_case(user, case):
        return False
    membership = _membership(user)
    if _is_requesting_worker(membership, case):
        return True
    return membership is not None and membership.role == Role.TS_MANAGER and \
        membership.organization_id == case.responding_org_id


def can_view_audit_log(user: User, case: Case) -> bool:
    membership = _membership(user)
    return can_view_case(user, case) and membership is not None and membership.role in (
        Role.AUDITOR, Role.TS_MANAGER, Role.LEGAL, Role.AUTHORITY_LEAD
    )


def visible_sides(user: User) -> tuple[str, ...]:
    """Audit and thread entries a person may see: shared ones and their own side's."""
    side = side_of(user)
    return ("", side) if side else ("",)


# --- Evidence ------------------------------------------------------------------------------


def evidence_visible_to(user: User, case: Case) -> QuerySet[Evidence]:
    """Evidence of a visible case: shared files, and internal ones of the person's own side."""
    if not can_view_case(user, case):
        return Evidence.objects.none()
    return case.evidence.filter(Q(internal=False) | Q(side=side_of(user)))


def can_view_evidence(user: User, evidence: Evidence) -> bool:
    if not can_view_case(user, evidence.case):
        return False
    return not evidence.internal or evidence.side == side_of(user)


def get_evidence_for_user(user: User, case: Case, evidence_id: int) -> Evidence:
    evidence = evidence_visible_to(user, case).filter(pk=evidence_id).select_related("uploaded_by", "item").first()
    if evidence is None:
        raise Http404(_("No such evidence."))
    return evidence


def can_upload_evidence(user: User, case: Case) -> bool:
    """Both sides' workers add evidence while the case is not finished."""
    membership = _membership(user)
    if not (_is_requesting_worker(membership, case) or _is_platform_worker(membership, case)):
        return False
    return case.status not in (Status.CLOSED, Status.WITHDRAWN)


def can_withdraw_evidence(user: User, evidence: Evidence) -> bool:
    """The uploader's side withdraws its own evidence; it stays in the record."""
    membership = _membership(user)
    if membership is None or evidence.withdrawn_at is not None:
        return False
    if side_of(user) != evidence.side:
        return False
    case = evidence.case
    return _is_requesting_worker(membership, case) or _is_platform_worker(membership, case)


def can_manage_legal_hold(user: User, case: Case) -> bool:
    membership = _membership(user)
    return (
        can_view_case(user, case)
        and membership is not None
        and membership.role == Role.LEGAL
        and membership.organization_id == case.responding_org_id
    )


def can_view_custody(user: User, evidence: Evidence) -> bool:
    return can_view_evidence(user, evidence)


# --- Thread -----------------------------------------------------------------------------------

MESSAGE_POSTERS = (Role.LIAISON, Role.AUTHORITY_LEAD, Role.MODERATOR, Role.TS_MANAGER, Role.LEGAL)
EDIT_WINDOW = timedelta(minutes=15)


def message_visibility(user: User) -> Q:
    """Shared messages and shared system entries, plus internal ones of the person's own side."""
    side = side_of(user)
    shared = Q(kind__in=["shared", "system"], side="")
    return shared | Q(side=side) if side else shared


def messages_visible_to(user: User, case: Case) -> QuerySet[Any]:
    if not can_view_case(user, case):
        return case.messages.none()
    return case.messages.filter(message_visibility(user))


def can_post_message(user: User, case: Case, internal: bool = False) -> bool:
    membership = _membership(user)
    if membership is None or not can_view_case(user, case):
        return False
    if membership.role not in MESSAGE_POSTERS:
        return False
    if membership.role == Role.LEGAL:
        return internal  # legal adds internal notes, never workflow messages to the authority
    return True


def can_edit_message(user: User, message: Any, *, case_visible: bool | None = None) -> bool:
    """`case_visible`: given by a page that already checked the case, so a long thread costs no query per message."""
    if message.kind == "system" or message.author_id != user.pk:
        return False
    if timezone.now() - message.created_at > EDIT_WINDOW:
        return False
    if case_visible is None:
        case_visible = can_view_case(user, message.case)
    return case_visible


def can_review_inbound_email(user: User) -> bool:
    membership = _membership(user)
    return membership is not None and membership.role == Role.TS_MANAGER


# --- Outcome reports ------------------------------------------------------------------------------------

REPORT_READERS_OF_THE_PLATFORM = (Role.TS_MANAGER, Role.LEGAL, Role.AUDITOR)


def can_view_reports(user: User, case: Case) -> bool:
    """The requesting authority's members and the platform's managers, legal and auditors list and download
    every version. Moderators work the case but the signed record is for those who answer for it."""
    membership = _membership(user)
    if membership is None or not can_view_case(user, case):
        return False
    if membership.organization_id == case.requesting_org_id:
        return True
    return membership.organization_id == case.responding_org_id and membership.role in REPORT_READERS_OF_THE_PLATFORM


def can_request_report(user: User, case: Case) -> bool:
    """A T&S manager of the platform approves (requests) a report once the case is resolved or closed."""
    membership = _membership(user)
    if membership is None or not can_view_case(user, case):
        return False
    if membership.organization_id != case.responding_org_id or membership.role != Role.TS_MANAGER:
        return False
    return case.status in (Status.RESOLVED, Status.CLOSED)


def can_follow_report_progress(user: User, case: Case) -> bool:
    """Queued, failed and in-flight attempts (and why one failed) are the platform's business."""
    membership = _membership(user)
    return can_view_reports(user, case) and membership is not None and \
        membership.organization_id == case.responding_org_id


# --- Deadlines -----------------------------------------------------------------------------------


def can_propose_deadline(user: User, case: Case) -> bool:
    """Either side's workers propose changes to the clock while the case is live."""
    if not can_view_case(user, case) or case.status in (Status.DRAFT, Status.CLOSED, Status.WITHDRAWN):
        return False
    membership = _membership(user)
    return _is_requesting_worker(membership, case) or _is_platform_worker(membership, case)


def can_answer_proposal(user: User, proposal: Any) -> bool:
    """Someone entitled on the other side agrees: the authority's workers, or the platform's T&S managers."""
    if proposal.status != "pending" or not can_view_case(user, proposal.case):
        return False
    if side_of(user) == proposal.proposed_side:
        return False  # never the proposer's own side
    membership = _membership(user)
    if _is_requesting_worker(membership, proposal.case):
        return True
    return _is_platform_worker(membership, proposal.case) and membership.role == Role.TS_MANAGER  # type: ignore[union-attr]


def can_edit_sla_policies(user: User) -> bool:
    membership = _membership(user)
    return membership is not None and membership.organization.kind == OrgKind.PLATFORM and \
        membership.role == Role.TS_MANAGER


# --- Audit checkpoints ------------------------------------------------------------------------------

# A checkpoint names no case, only the head of the whole chain: the auditors of either side, the platform's
# managers and legal, and the authorities' leads (who keep copies outside the platform) list and download them.
CHECKPOINT_READERS = (Role.AUDITOR, Role.TS_MANAGER, Role.LEGAL, Role.AUTHORITY_LEAD)


def can_view_audit_checkpoints(user: User) -> bool:
    membership = _membership(user)
    return membership is not None and membership.role in CHECKPOINT_READERS


def can_make_audit_checkpoint(user: User) -> bool:
    """Besides the schedule, a T&S manager may sign the head now (before an audit, say)."""
    membership = _membership(user)
    return is_platform(membership) and membership is not None and membership.role == Role.TS_MANAGER
