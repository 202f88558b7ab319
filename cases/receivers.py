"""Account events recorded in the audit chain.

accounts/ must not import cases/, so it announces logins and changes to people
with signals; this module writes them to the chain.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from accounts.models import User
from accounts.signals import account_event

from . import audit


@receiver(user_logged_in)
def audit_login(sender: Any, request: Any, user: User, **kwargs: Any) -> None:
    audit.record(action="auth.login", actor=user, obj=user,
                 ip=audit.client_ip(request) if request is not None else None)


@receiver(user_logged_out)
def audit_logout(sender: Any, request: Any, user: User | None, **kwargs: Any) -> None:
    if user is not None:
        audit.record(action="auth.logout", actor=user, obj=user,
                     ip=audit.client_ip(request) if request is not None else None)


@receiver(user_login_failed)
def audit_failed_login(sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any) -> None:
    login = str(credentials.get("email") or credentials.get("username") or "")[:254]
    audit.record(action="auth.login_failed", data={"login": login},
                 ip=audit.client_ip(request) if request is not None else None)


@receiver(account_event)
def audit_account_event(sender: Any, actor: User | None, action: str, organization: Any, target: Any,
                        data: dict[str, Any], **kwargs: Any) -> None:
    audit.record(action=action, actor=actor, obj=target,
                 data={**data, "organization": getattr(organization, "name", "")})
