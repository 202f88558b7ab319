"""Whose figures a person may see: the condition on cases that every dashboard figure is counted under.

Figures are counts and durations, never a case's detail, so they cover every submitted case of the scope, TLP:RED
ones included: the platform's readers of everything (T&S managers, legal, auditors) count every case their platform
received, a moderator the cases of their queues, an authority's people (liaisons, leads, auditors) every case their
authority sent. An authority's figures are the platform's figures for that authority: the same query with the
authority's condition added (stats/figures.py), never a separate path.

The condition names only the case's scope columns (requesting_org, responding_org, queue), which the figures'
summary rows carry under the same names, so it filters Case and the summary alike.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from accounts.models import Membership, User
from accounts.permissions import membership_of
from accounts.roles import OrgKind, Role

from ..models import Case
from .visibility import PLATFORM_READERS_OF_EVERYTHING

# The columns a figures condition may name (the summary carries exactly these).
SCOPE_COLUMNS = ("requesting_org_id", "responding_org_id", "queue_id")


def can_view_figures(user: User) -> bool:
    """The same answer as `figures_scope(user) is not None`, from the membership alone (no query: the navigation
    asks on every page)."""
    membership = membership_of(user)
    if membership is None:
        return False
    if membership.organization.kind == OrgKind.AUTHORITY:
        return True
    return membership.role in PLATFORM_READERS_OF_EVERYTHING or membership.role == Role.MODERATOR


def can_choose_authority(user: User) -> bool:
    """Only the platform's people narrow the figures to one authority; an authority's are that already."""
    membership = membership_of(user)
    return membership is not None and membership.organization.kind == OrgKind.PLATFORM


def figures_scope(user: User) -> Q | None:
    """The condition on cases whose figures this person may see; None: no figures at all."""
    membership = membership_of(user)
    if membership is None:
        return None
    org_id = membership.organization_id
    if membership.organization.kind == OrgKind.AUTHORITY:
        return Q(requesting_org_id=org_id)
    if membership.role in PLATFORM_READERS_OF_EVERYTHING:
        return Q(responding_org_id=org_id)
    if membership.role == Role.MODERATOR:
        return Q(responding_org_id=org_id) & Q(queue_id__in=_queue_ids(membership))
    return None


def _queue_ids(membership: Membership) -> list[int]:
    # Read with the membership the request already holds: prefetched or a single small query.
    return [queue.pk for queue in membership.queues.all()]


def cases_counted_for(user: User) -> QuerySet[Case]:
    """The submitted cases whose figures this person may see (the set form of figures_scope)."""
    condition = figures_scope(user)
    if condition is None:
        return Case.objects.none()
    return Case.objects.filter(condition, submitted_at__isnull=False)
