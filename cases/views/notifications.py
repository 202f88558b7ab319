"""Notifications: the list, the bell, opening one, and each person's choice of how to receive each kind."""

from __future__ import annotations

from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.http import AuthenticatedRequest

from ..actions.notifications import open_notification as mark_opened
from ..actions.notifications import set_notification_preferences
from ..models import Notification, NotificationKind, NotificationPreference


@login_required
@require_GET
def notifications(request: AuthenticatedRequest) -> HttpResponse:
    user = request.user
    items = list(Notification.objects.filter(user=user).select_related("case")[:100])
    return render(request, "cases/notifications.html", {"notifications": items})


@login_required
@require_GET
def bell(request: AuthenticatedRequest) -> HttpResponse:
    return render(request, "cases/_bell.html")


@login_required
@require_POST
def open_notification(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    user = request.user
    notification = Notification.objects.filter(user=user, pk=pk).first()
    if notification is None:
        raise Http404
    mark_opened(notification=notification)
    return redirect(notification.url or "cases:list")


@login_required
def preferences(request: AuthenticatedRequest) -> HttpResponse:
    user = request.user
    current = {p.kind: p.mode for p in NotificationPreference.objects.filter(user=user)}
    if request.method == "POST":
        chosen = {kind: request.POST.get(kind, "") for kind in NotificationKind.values}
        if any(mode not in NotificationPreference.Mode.values for mode in chosen.values()):
            raise PermissionDenied
        set_notification_preferences(user=user, modes=chosen)
        flash.success(request, _("Notification preferences saved."))
        return redirect("cases:notification_preferences")
    rows = [(kind, label, current.get(kind, NotificationPreference.Mode.IMMEDIATE))
            for kind, label in NotificationKind.choices]
    return render(request, "cases/notification_preferences.html",
                  {"rows": rows, "modes": NotificationPreference.Mode.choices})
