"""What an organisation's own systems may hear of (webhook subscriptions), and who registers them.

A subscription belongs to an organisation, not to a person, so it sees what the organisation's role baseline
sees and nothing granted to a named person: the organisation's scope (an authority's own requests, a platform's
received ones, never drafts), without TLP:RED cases (those are for named people only). Paired with its
queryset like the other checks. Internal notes and anything of another organisation never reach a subscriber:
the payload is built from this check and from the fields both sides see.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from accounts.models import Organization, User
from accounts.permissions import membership_of
from accounts.roles import OrgKind, Role

from ..choices import TLP, Status
from ..models import Case

# The organisation's admins: they register endpoints, see deliveries, rotate secrets, re-deliver.
WEBHOOK_ADMINS = (Role.AUTHORITY_LEAD, Role.TS_MANAGER)


def can_manage_webhooks(user: User) -> bool:
    """An active authority lead or T&S manager, for their own organisation's endpoints."""
    membership = membership_of(user)
    if membership is None:
        return False
    if not membership.organization.is_active:
        return False
    return membership.role in WEBHOOK_ADMINS


def _organization_scope(organization: Organization) -> Q:
    if organization.kind == OrgKind.AUTHORITY:
        return Q(requesting_org_id=organization.pk)
    return Q(responding_org_id=organization.pk) & ~Q(status=Status.DRAFT)


def cases_visible_to_organization(organization: Organization) -> QuerySet[Case]:
    """The cases an organisation's subscriptions hear of: its scope, without TLP:RED."""
    return Case.objects.filter(_organization_scope(organization) & ~Q(tlp=TLP.RED))


def organization_can_view_case(organization: Organization, case: Case) -> bool:
    """cases_visible_to_organization for one case, on the case's own columns (no query)."""
    if not organization.is_active:
        return False
    if case.tlp == TLP.RED:
        return False
    if organization.kind == OrgKind.AUTHORITY:
        return case.requesting_org_id == organization.pk
    if organization.kind == OrgKind.PLATFORM:
        return case.responding_org_id == organization.pk and case.status != Status.DRAFT
    return False

