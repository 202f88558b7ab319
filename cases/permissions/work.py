"""What a person may do to a case they see: open it, move it through the workflow, add and decide items,
assign it, name people on it."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Membership, User
from accounts.roles import Role

from ..choices import WORKFLOW, Status, Transition
from ..models import Case
from .visibility import (
    AUTHORITY_WORKERS,
    PLATFORM_WORKERS,
    InvalidTransition,
    _membership,
    can_view_case,
    ensure_can_view,
    in_queue,
    is_authority,
)


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
    if case.queue_id is None:
        return False
    return in_queue(membership, case.queue_id)  # type: ignore[arg-type]  # a platform worker has one


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


def can_name_person(user: User, case: Case, person: User) -> bool:
    """Whether this person may name `person` on the case, or take the name back. The requesting authority's workers
    name people of either organisation: the case and its confidentiality are theirs. A T&S manager names the
    platform's own people only: who of an authority reads its TLP:RED case is the authority's decision, never the
    platform's (a manager could otherwise lock the liaison who opened it out of it)."""
    if not can_manage_access(user, case):
        return False
    if _is_requesting_worker(_membership(user), case):
        return True
    named = getattr(person, "membership", None)
    return named is not None and named.organization_id == case.responding_org_id


def people_nameable_by(user: User, case: Case, people: QuerySet[User]) -> QuerySet[User]:
    """`people` narrowed to those this person may name on the case (the set form of can_name_person)."""
    if not can_manage_access(user, case):
        return people.none()
    if _is_requesting_worker(_membership(user), case):
        return people
    return people.filter(membership__organization_id=case.responding_org_id)


def can_view_audit_log(user: User, case: Case) -> bool:
    membership = _membership(user)
    return can_view_case(user, case) and membership is not None and membership.role in (
        Role.AUDITOR, Role.TS_MANAGER, Role.LEGAL, Role.AUTHORITY_LEAD
    )
