"""`manage.py check --deploy`: the settings that sign-in limits and client addresses depend on."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Tags, Warning, register

from .client_address import trusted_proxies

_PROCESS_LOCAL_CACHES = (
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
)


@register(Tags.security, deploy=True)
def check_sign_in_limits(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    backend = settings.CACHES.get("default", {}).get("BACKEND", "")
    if backend in _PROCESS_LOCAL_CACHES:
        messages.append(Warning(
            "The default cache is not shared between processes, so each web process counts failed sign-ins "
            "on its own (and the dummy cache counts none).",
            hint="Set CACHE_URL to a shared cache, e.g. redis://host:6379/1.",
            id="accounts.W001",
        ))
    trusted_proxies(tuple(settings.LIAISON_TRUSTED_PROXIES))  # an unreadable entry fails loudly here
    if settings.SECURE_PROXY_SSL_HEADER and not settings.LIAISON_TRUSTED_PROXIES:
        messages.append(Warning(
            "Behind a TLS proxy without LIAISON_TRUSTED_PROXIES, every client has the proxy's address: sign-in "
            "limits and the audit log see one client.",
            hint="Set LIAISON_TRUSTED_PROXIES to the addresses (or networks) of the proxies in front of gunicorn.",
            id="accounts.W002",
        ))
    return messages
