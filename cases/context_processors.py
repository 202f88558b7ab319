from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from accounts.permissions import membership_of

from .models import Notification
from .queries import unread_total


def unread(request: HttpRequest) -> dict[str, Any]:
    """The bell and the unread count in the navigation (two queries per page)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or membership_of(user) is None:
        return {}
    return {
        "unread_notifications": Notification.objects.filter(user=user, read_at__isnull=True).count(),
        "unread_messages": unread_total(user),
    }
