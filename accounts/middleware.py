from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from typing import TYPE_CHECKING

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone, translation

if TYPE_CHECKING:
    from .models import User

# The session remembers that its person has a second factor, so pages do not ask the database each time; removing
# an authenticator forgets it (accounts/receivers.py).
MFA_ENROLLED_SESSION_KEY = "liaison_mfa_enrolled"

# Paths a signed-in person without a second factor may still reach: enrolment itself,
# logging out, switching language, static files and the health check.
MFA_EXEMPT_PREFIXES = ("/accounts/2fa/", "/accounts/logout/", "/accounts/reauthenticate/", "/i18n/",
                       "/static/", "/health/", "/invitations/")


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
