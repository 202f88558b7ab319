from __future__ import annotations

import math

from allauth.account.adapter import DefaultAccountAdapter
from allauth.mfa.adapter import DefaultMFAAdapter
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import ngettext


class AccountAdapter(DefaultAccountAdapter):
    """Accounts exist only through invitations (accounts/actions.py)."""

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return False

    def validation_error(self, code: str, *args: object) -> ValidationError:
        """allauth's "Try again later" after too many failed sign-ins (password or second factor) says how long."""
        if code == "too_many_login_attempts":
            return ValidationError(lockout_message(), code=code)
        return super().validation_error(code, *args)


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


def lockout_message() -> str:
    seconds = lockout_seconds()
    if not seconds:
        return _("Too many failed sign-in attempts. Try again later.")
    return _("Too many failed sign-in attempts. Signing in is paused for up to %(duration)s; try again after that.") \
        % {"duration": duration_text(seconds)}


class MFAAdapter(DefaultMFAAdapter):
    def get_totp_issuer(self) -> str:
        return "Liaison"
