from __future__ import annotations

import time
import zoneinfo
from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import REDIRECT_FIELD_NAME, logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, resolve_url
from django.urls import Resolver404, resolve, reverse
from django.utils import timezone, translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django_htmx.http import HttpResponseClientRedirect

from .signals import account_event

if TYPE_CHECKING:
    from .models import User

# The session remembers that its person has a second factor, so pages do not ask the database each time; removing
# an authenticator forgets it (accounts/receivers.py).
MFA_ENROLLED_SESSION_KEY = "liaison_mfa_enrolled"

# Paths a signed-in person without a second factor may still reach: enrolment itself,
# logging out, switching language, static files and the health check.
MFA_EXEMPT_PREFIXES = ("/accounts/2fa/", "/accounts/logout/", "/accounts/reauthenticate/", "/i18n/",
                       "/static/", "/health/", "/invitations/")


# When the session was last used (epoch seconds): stamped at login (accounts/receivers.py) and by every request that
# is not a background poll, at most once a minute, so pages do not write the session each time.
LAST_SEEN_SESSION_KEY = "liaison_last_seen"


class IdleSessionMiddleware:
    """Signs out a session unused for LIAISON_SESSION_IDLE_MINUTES (0: never), whatever its overall age.

    The request then goes on as an anonymous one (a page behind login_required sends the person to sign in and
    back), except an htmx request, which sends the whole page to the sign-in page. The polls of an open page
    (LIAISON_SESSION_BACKGROUND_VIEWS) neither count as activity nor keep the session alive, so a page left open
    on an unattended screen is signed out too.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        idle_seconds = settings.LIAISON_SESSION_IDLE_MINUTES * 60
        user = getattr(request, "user", None)
        if idle_seconds > 0 and user is not None and user.is_authenticated:
            now = time.time()
            last_seen = request.session.get(LAST_SEEN_SESSION_KEY)
            if not isinstance(last_seen, int | float):
                last_seen = None
            if last_seen is not None and now - last_seen > idle_seconds:
                response = sign_out_idle_session(request, idle_seconds)
                if response is not None:
                    return response
            elif (last_seen is None or now - last_seen >= min(60, idle_seconds / 10)) and not _is_background(request):
                request.session[LAST_SEEN_SESSION_KEY] = int(now)
        return self.get_response(request)


def sign_out_idle_session(request: HttpRequest, idle_seconds: int) -> HttpResponse | None:
    from .adapters import duration_text
    from .models import User

    user = request.user
    membership = getattr(user, "membership", None)
    account_event.send(sender=User, actor=user, action="auth.session_expired",
                       organization=membership.organization if membership is not None else None, target=user,
                       data={"idle_minutes": idle_seconds // 60})
    logout(request)
    messages.info(request, _("You were signed out after %(duration)s without activity. Sign in again to go on.")
                  % {"duration": duration_text(idle_seconds)})
    if request.headers.get("HX-Request") != "true":
        return None
    login_url = resolve_url(settings.LOGIN_URL)
    current = urlsplit(request.headers.get("HX-Current-URL", ""))
    back = current.path + (f"?{current.query}" if current.query else "")
    if back and url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        login_url += "?" + urlencode({REDIRECT_FIELD_NAME: back})
    return HttpResponseClientRedirect(login_url)


def _is_background(request: HttpRequest) -> bool:
    if request.method != "GET" or request.headers.get("HX-Request") != "true":
        return False
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return False
    return match.view_name in settings.LIAISON_SESSION_BACKGROUND_VIEWS


class UserPreferencesMiddleware:
    """Show times in the person's time zone and pages in their language unless they switched."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            try:
                timezone.activate(zoneinfo.ZoneInfo(user.time_zone))
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                timezone.deactivate()
            if settings.LANGUAGE_COOKIE_NAME not in request.COOKIES:
                translation.activate(user.preferred_language)
                request.LANGUAGE_CODE = translation.get_language()
        else:
            timezone.deactivate()
        return self.get_response(request)


class RequireMFAMiddleware:
    """With LIAISON_REQUIRE_MFA on, nobody uses the portal before enrolling a second factor."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if settings.LIAISON_REQUIRE_MFA and self._needs_enrolment(request):
            return redirect(reverse("mfa_index"))
        return self.get_response(request)

    @staticmethod
    def _needs_enrolment(request: HttpRequest) -> bool:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return False
        if request.path.startswith(MFA_EXEMPT_PREFIXES):
            return False
        if request.session.get(MFA_ENROLLED_SESSION_KEY) == user.pk:
            return False
        enrolled = has_second_factor(user)
        if enrolled:
            request.session[MFA_ENROLLED_SESSION_KEY] = user.pk
        return not enrolled


def has_second_factor(user: User) -> bool:
    """Whether the person has an authenticator app or a security key (recovery codes alone do not count): allauth
    then asks for it at every sign-in, whether or not LIAISON_REQUIRE_MFA is on."""
    from allauth.mfa.models import Authenticator

    return Authenticator.objects.filter(
        user=user, type__in=[Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN]
    ).exists()
