"""The API tokens section of the preferences page: create one (after re-authentication; the token is shown once),
revoke one."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts.http import AuthenticatedRequest
from accounts.reauthentication import reauthentication_response

from . import actions
from .forms import ApiTokenForm
from .models import ApiToken, TokenScope

BACK = "accounts:preferences"


@never_cache
@login_required
@require_POST
def create_token(request: AuthenticatedRequest) -> HttpResponse:
    if (reauthenticate := reauthentication_response(request)) is not None:
        return reauthenticate
    form = ApiTokenForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            messages.error(request, " ".join(str(error) for error in errors))
        return redirect(BACK)
    days = form.cleaned_data.get("days")
    try:
        token, secret = actions.create_api_token(
            actor=request.user, name=form.cleaned_data["name"],
            read_only=form.cleaned_data["scope"] == TokenScope.READ_ONLY,
            expires_at=timezone.now() + timedelta(days=days) if days else None)
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, " ".join(getattr(exc, "messages", None) or [str(exc)]))
        return redirect(BACK)
    return render(request, "api/token_created.html", {"token": token, "secret": secret})


@login_required
@require_POST
def revoke_token(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)
    actions.revoke_api_token(actor=request.user, token=token)
    messages.success(request, _("The token \"%(name)s\" was revoked; it no longer works.") % {"name": token.name})
    return redirect(BACK)
