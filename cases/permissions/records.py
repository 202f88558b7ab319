"""What a person may do with the record of a case they see: evidence and legal holds, the thread, inbound
e-mail, outcome reports, deadlines and SLA policies, audit checkpoints."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.roles import OrgKind, Role

from ..choices import Status
from ..models import Case, Evidence
from .visibility import _membership, can_view_case, is_platform, side_of
from .work import _is_platform_worker, _is_requesting_worker

# --- Evidence ------------------------------------------------------------------------------


def evidence_visibility_of(side: str) -> Q:
    """What of a case's evidence a person on this side sees: shared files, and internal ones of their side."""
    return Q(internal=False) | Q(side=side)


def evidence_side_of(user: User, case: Case) -> str | None:
    """The side whose internal files this person sees on this case (evidence_visibility_of(side) of case.evidence,
    the rows evidence_visible_to returns), or None when they may not see the case (no file at all)."""
    if not can_view_case(user, case):
        return None
    return side_of(user)


def evidence_visible_to(user: User, case: Case) -> QuerySet[Evidence]:
    """Evidence of a visible case: shared files, and internal ones of the person's own side."""
    side = evidence_side_of(user, case)
    if side is None:
        return Evidence.objects.none()
    return case.evidence.filter(evidence_visibility_of(side))


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


# --- Exports ------------------------------------------------------------------------------------------
# What an export holds is always the person's own inbox (cases_visible_to through the inbox's filters): these say
# only who may take the list away as a file.


def can_export_cases(user: User) -> bool:
    """Every member exports the cases and items of their inbox: the rows are those their list shows."""
    return _membership(user) is not None


def can_export_decisions(user: User) -> bool:
    """Statements of reasons are the record of each decision: the requesting authorities' members (for their own
    cases) and those of the platform who answer for the record (T&S managers, legal, auditors), as for reports."""
    membership = _membership(user)
    if membership is None:
        return False
    if membership.organization.kind == OrgKind.AUTHORITY:
        return True
    return membership.role in REPORT_READERS_OF_THE_PLATFORM
