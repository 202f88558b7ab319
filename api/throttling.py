"""Rate limits per token (per person for the session, per address before authentication), counted in the shared
cache (CACHE_URL: Redis in production, so every web process counts together); over the limit: 429 with Retry-After."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from .models import ApiToken


class PerTokenRateThrottle(SimpleRateThrottle):
    scope = "api"
    cache_format = "api-throttle:%(ident)s"

    def get_rate(self) -> str:
        return str(settings.LIAISON_API_RATE)

    def get_cache_key(self, request: Request, view: Any) -> str:
        if isinstance(request.auth, ApiToken):
            ident = f"token:{request.auth.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = f"address:{self.get_ident(request)}"
        return self.cache_format % {"ident": ident}
