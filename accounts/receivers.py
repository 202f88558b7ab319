"""Login bookkeeping: failed logins are counted per account."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.db.models import F
from django.dispatch import receiver
from django.utils import timezone

from .models import User


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
