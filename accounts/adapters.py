from __future__ import annotations

import math
from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.mfa.adapter import DefaultMFAAdapter
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from . import login_throttle
from .client_address import client_address, limit_address
from .models import User
from .signals import account_event


class AccountAdapter(DefaultAccountAdapter):
    """Accounts exist only through invitations (accounts/actions.py)."""

    _sign_in_attempt: login_throttle.Attempt | None = None

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return False

    def send_mail(self, template_prefix: str, email: str, context: dict[str, Any]) -> None:
        """allauth's e-mails (a password reset, …) go through the outbox like every other: a mail server or broker
        that is down delays them instead of failing the page. allauth's own `send_mail`, minus sending at once."""
        from allauth.core import context as allauth_context
        from django.contrib.sites.shortcuts import get_current_site

        from outbox.relay import enqueue_email

        request = allauth_context.request
        enqueue_email(self.render_mail(template_prefix, email, {
            "request": request, "email": email, "current_site": get_current_site(request), **context}))

    def validation_error(self, code: str, *args: object) -> ValidationError:
        """allauth's "Try again later" after too many failed sign-ins (password or second factor) says how long."""
        if code == "too_many_login_attempts":
            return ValidationError(lockout_message(), code=code)
        return super().validation_error(code, *args)

    def get_client_ip(self, request: HttpRequest) -> str:
        """allauth's own limits (second factor, password reset) see the client behind the trusted proxies too."""
        address = client_address(request)
        if address is None:
            raise PermissionDenied("Unable to determine client IP address")
        return address

    def pre_authenticate(self, request: HttpRequest, **credentials: Any) -> None:
        """Passwords (signing in and re-authenticating) are limited by accounts/login_throttle.py instead of
        allauth's "login_failed" limit, whose per-account count lets anyone lock anyone out."""
        login = str(credentials.get("email") or credentials.get("username") or "")
        try:
            self._sign_in_attempt = login_throttle.begin(address=limit_address(request), login=login)
        except login_throttle.LoginPaused as paused:
            raise ValidationError(lockout_message(paused.seconds), code="too_many_login_attempts") from None

    def authenticate(self, request: HttpRequest, **credentials: Any) -> AbstractBaseUser | None:
        self._sign_in_attempt = None
        user = super().authenticate(request, **credentials)
        attempt = self._sign_in_attempt
        if attempt is not None:
            if user is not None:
                attempt.succeeded()
            else:
                announce_pauses(attempt, attempt.failed())
        return user


def announce_pauses(attempt: login_throttle.Attempt, pauses: list[login_throttle.Pause]) -> None:
    """Each pause a failed sign-in started goes to the audit log (through account_event, as accounts/ knows
    nothing of the log): which count, after how many failures, for how long, for which login."""
    if not pauses:
        return
    user = User.objects.filter(email__iexact=attempt.login).select_related("membership__organization").first()
    membership = getattr(user, "membership", None) if user is not None else None
    for pause in pauses:
        account_event.send(
            sender=User, actor=None, action="auth.login_paused",
            organization=membership.organization if membership is not None else None, target=user,
            data={"scope": pause.scope, "login": attempt.login[:254], "failures": pause.failures,
                  "pause_seconds": math.ceil(pause.seconds)},
        )


def lockout_seconds() -> float:
    """The longest window of the failed-sign-in limits in force (ACCOUNT_RATE_LIMITS["login_failed"], allauth's
    defaults where unset): a locked-out person may try again at the latest after this long."""
    from allauth.account import app_settings
    from allauth.core.internal.ratelimit import parse_rates

    return max((rate.duration for rate in parse_rates(app_settings.RATE_LIMITS.get("login_failed"))), default=0)


def duration_text(seconds: float) -> str:
    if seconds < 60:
        count = max(math.ceil(seconds), 1)
        return ngettext("%(count)d second", "%(count)d seconds", count) % {"count": count}
    if seconds < 2 * 3600:
        count = math.ceil(seconds / 60)
        return ngettext("%(count)d minute", "%(count)d minutes", count) % {"count": count}
    count = math.ceil(seconds / 3600)
    return ngettext("%(count)d hour", "%(count)d hours", count) % {"count": count}


def lockout_message(seconds: float | None = None) -> str:
    """The wait left when it is known (a paused password sign-in), else the longest window of allauth's limits."""
    if seconds is None:
        seconds = lockout_seconds()
    else:
        seconds = math.ceil(seconds)
    if not seconds:
        return _("Too many failed sign-in attempts. Try again later.")
    return _("Too many failed sign-in attempts. Signing in is paused for up to %(duration)s; try again after that.") \
        % {"duration": duration_text(seconds)}


class MFAAdapter(DefaultMFAAdapter):
    def get_totp_issuer(self) -> str:
        return "Liaison"
