from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from accounts.permissions import membership_of

from .permissions import can_view_audit_checkpoints
from .queries import unread_badges


def unread(request: HttpRequest) -> dict[str, Any]:
    """The bell and the unread count in the navigation (one query per page)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or membership_of(user) is None:
        return {}
    return unread_badges(user)


def audit_checkpoints(request: HttpRequest) -> dict[str, Any]:
    """Whether the navigation links the audit checkpoints (no query: the membership is already loaded)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"can_view_audit_checkpoints": can_view_audit_checkpoints(user)}
