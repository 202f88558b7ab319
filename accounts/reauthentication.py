"""Asking for the password again before a grave step: approving and signing an outcome report, changing who may act
for an organisation (inviting into a role, deactivating, reactivating), and, when they exist, creating API tokens.

A step passes when the person signed in or re-authenticated within ACCOUNT_REAUTHENTICATION_TIMEOUT seconds.
Otherwise the request is kept in the session and the person is sent to allauth's re-authentication page (password,
or their second factor); once they pass, allauth runs the kept request, so the step happens without pressing the
button again. An htmx request is sent there by a full-page redirect and comes back as a plain form post.

In a view, after the checks that answer 404 or 403 (a person who may not act is never asked for a password):

    if (response := reauthentication_response(request)) is not None:
        return response

or, for a view with no such checks, decorate it with `@recent_authentication_required`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from typing import Any

from allauth.account.adapter import get_adapter
from allauth.account.authentication import get_authentication_records
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django_htmx.http import HttpResponseClientRedirect

# When the session's person signed in (epoch seconds), stamped at every login (accounts/receivers.py).
SIGNED_IN_AT_SESSION_KEY = "liaison_signed_in_at"


def authenticated_recently(request: HttpRequest) -> bool:
    """Whether the person proved who they are within the window: at sign-in, or in any authentication step allauth
    recorded for this session since (a re-authentication by password or second factor)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return False
    moments = [request.session.get(SIGNED_IN_AT_SESSION_KEY)]
    moments += [record.get("at") for record in get_authentication_records(request, user)]
    latest = max((moment for moment in moments if isinstance(moment, int | float)), default=None)
    return latest is not None and time.time() - latest < settings.ACCOUNT_REAUTHENTICATION_TIMEOUT


def reauthentication_response(request: HttpRequest) -> HttpResponse | None:
    """None when the person authenticated recently; otherwise the redirect to re-authenticate, the request kept."""
    if authenticated_recently(request):
        return None
    # allauth's own flow keeps the request and replays it after a successful re-authentication (what its middleware
    # does for ReauthenticationRequired); calling it here lets an htmx request leave the fragment it came from.
    from allauth.account.internal.flows.reauthentication import suspend_request

    methods = get_adapter(request).get_reauthentication_methods(request.user)
    if not methods:
        raise PermissionDenied
    if request.headers.get("HX-Request") != "true":
        return suspend_request(request, methods[0]["url"])
    # Replayed as a plain form post: the answer is then a whole page, not a fragment for a page no longer open.
    for name in [name for name in request.META if name.startswith("HTTP_HX_")]:
        del request.META[name]
    return HttpResponseClientRedirect(suspend_request(request, methods[0]["url"]).url)


def recent_authentication_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = reauthentication_response(request)
        if response is not None:
            return response
        return view(request, *args, **kwargs)

    return wrapper
