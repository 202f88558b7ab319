"""Login bookkeeping: failed logins are counted per account; a login stamps the session's clock and switches to the
person's language."""

from __future__ import annotations

import time
from typing import Any

from allauth.mfa.signals import authenticator_removed, authenticator_reset
from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.db.models import F
from django.dispatch import receiver
from django.utils import timezone, translation

from .middleware import LAST_SEEN_SESSION_KEY, MFA_ENROLLED_SESSION_KEY
from .models import User
from .reauthentication import SIGNED_IN_AT_SESSION_KEY


@receiver(user_login_failed)
def count_failed_login(sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any) -> None:
    email = (credentials.get("email") or credentials.get("username") or "").strip()
    if email:
        User.objects.filter(email__iexact=email).update(
            failed_login_count=F("failed_login_count") + 1, last_failed_login_at=timezone.now()
        )


@receiver(user_logged_in)
def reset_failed_logins(sender: Any, request: Any, user: User, **kwargs: Any) -> None:
    if user.failed_login_count:
        User.objects.filter(pk=user.pk).update(failed_login_count=0)


@receiver(user_logged_in)
def stamp_session_clock(sender: Any, request: Any, user: User, **kwargs: Any) -> None:
    """A new session starts active and freshly authenticated (the idle timeout, re-authentication)."""
    session = getattr(request, "session", None)
    if session is not None:
        now = int(time.time())
        session[SIGNED_IN_AT_SESSION_KEY] = now
        session[LAST_SEEN_SESSION_KEY] = now


@receiver(user_logged_in)
def use_preferred_language(sender: Any, request: Any, user: User, **kwargs: Any) -> None:
    """The rest of the login request (its "signed in" message) speaks the person's language, as later pages do.

    Only for a request that went through the URL resolver: the test client's login() builds a bare request,
    and activating a language there would leak into the test's own thread.
    """
    if request is None or getattr(request, "resolver_match", None) is None:
        return
    if settings.LANGUAGE_COOKIE_NAME not in request.COOKIES and user.preferred_language:
        translation.activate(user.preferred_language)
        request.LANGUAGE_CODE = translation.get_language()


@receiver(authenticator_removed)
@receiver(authenticator_reset)
def forget_mfa_enrolment(sender: Any, request: Any = None, user: Any = None, **kwargs: Any) -> None:
    """A removed second factor is checked again on the next page (the session no longer vouches for it)."""
    if request is not None and hasattr(request, "session"):
        request.session.pop(MFA_ENROLLED_SESSION_KEY, None)
