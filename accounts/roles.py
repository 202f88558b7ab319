"""Roles and which side of the exchange each belongs to.

This module knows what a role is; what a role may do with a case is decided
in cases/permissions.py.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class OrgKind(models.TextChoices):
    AUTHORITY = "authority", _("Authority")
    PLATFORM = "platform", _("Platform")


class Role(models.TextChoices):
    LIAISON = "liaison", _("Liaison")
    AUTHORITY_LEAD = "authority_lead", _("Authority lead")
    MODERATOR = "moderator", _("Moderator")
    TS_MANAGER = "ts_manager", _("T&S manager")
    LEGAL = "legal", _("Legal")
    AUDITOR = "auditor", _("Auditor")


ROLES_BY_KIND: dict[str, frozenset[str]] = {
    OrgKind.AUTHORITY: frozenset({Role.LIAISON, Role.AUTHORITY_LEAD, Role.AUDITOR}),
    OrgKind.PLATFORM: frozenset({Role.MODERATOR, Role.TS_MANAGER, Role.LEGAL, Role.AUDITOR}),
}

# Roles that manage the people of their own organisation.
ADMINISTERING_ROLES = frozenset({Role.AUTHORITY_LEAD, Role.TS_MANAGER})


def role_fits_kind(role: str, kind: str) -> bool:
    return role in ROLES_BY_KIND.get(kind, frozenset())


def roles_for_kind(kind: str) -> list[tuple[str, str]]:
    return [(value, str(label)) for value, label in Role.choices if value in ROLES_BY_KIND[kind]]
