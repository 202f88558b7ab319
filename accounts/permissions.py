"""Who may manage which people. Case access is decided in cases/permissions.py."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .roles import OrgKind, Role

if TYPE_CHECKING:
    from .models import Membership, Organization, User


def membership_of(user: User) -> Membership | None:
    if not user.is_authenticated or not user.is_active:
        return None
    membership = getattr(user, "membership", None)
    if membership is None or membership.deactivated_at is not None:
        return None
    return membership


def can_manage_members(user: User, organization: Organization) -> bool:
    membership = membership_of(user)
    if membership is None:
        return False
    if membership.organization_id != organization.pk:
        return False
    return membership.role in (Role.AUTHORITY_LEAD, Role.TS_MANAGER)


def can_invite(user: User, organization: Organization, role: str) -> bool:
    """Leads invite into their own authority; T&S managers invite platform staff and authority leads."""
    membership = membership_of(user)
    if membership is None:
        return False
    if membership.role == Role.AUTHORITY_LEAD:
        return organization.pk == membership.organization_id and role in (
            Role.LIAISON,
            Role.AUTHORITY_LEAD,
            Role.AUDITOR,
        )
    if membership.role == Role.TS_MANAGER:
        if organization.pk == membership.organization_id:
            return organization.kind == OrgKind.PLATFORM
        return organization.kind == OrgKind.AUTHORITY and role == Role.AUTHORITY_LEAD
    return False


def can_deactivate(user: User, target: Membership) -> bool:
    if target.user_id == user.pk:
        return False
    return can_manage_members(user, target.organization)
