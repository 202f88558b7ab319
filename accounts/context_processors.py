from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from .permissions import can_manage_members, membership_of


def membership(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    current = membership_of(user)
    return {
        "membership": current,
        "can_manage_members": current is not None and can_manage_members(user, current.organization),
    }
