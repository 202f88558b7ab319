"""Who calls the API: a personal token (`Authorization: Bearer lx_…`), or the site's own session with its CSRF
token. A token's person must still be an active member; a read-only token may only read."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, SessionAuthentication, get_authorization_header
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from accounts.models import User

from . import actions
from .models import ApiToken

KEYWORD = b"bearer"


class ApiTokenAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[User, ApiToken] | None:
        header = get_authorization_header(request).split()
        if not header or header[0].lower() != KEYWORD:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(_("Send the token as: Authorization: Bearer <token>."))
        try:
            return actions.authenticate_token(header[1].decode("ascii", errors="replace"))
        except actions.TokenRefused:
            raise exceptions.AuthenticationFailed(
                _("The token is not valid: unknown, revoked or expired, or its account can no longer act.")
            ) from None

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


class ActiveSessionAuthentication(SessionAuthentication):
    """The signed-in session (CSRF checked on changes), for a person who may still act."""

    def authenticate(self, request: Request) -> tuple[User, None] | None:
        result = super().authenticate(request)
        if result is None:
            return None
        user = result[0]
        membership = getattr(user, "membership", None)
        if membership is None or membership.deactivated_at is not None:
            return None
        return result


class TokenScopePermission(BasePermission):
    """Authenticated, and a read-only token reads only (a view that changes nothing may say so:
    `changes_nothing = True`, as the report check does)."""

    message = _("This token is read-only.")

    def has_permission(self, request: Request, view: Any) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        token = request.auth
        if isinstance(token, ApiToken) and token.is_read_only and request.method not in SAFE_METHODS:
            return bool(getattr(view, "changes_nothing", False))
        return True


def attribution(request: Request) -> str:
    """How the audit chain names the way the actor acted."""
    token = request.auth
    if isinstance(token, ApiToken):
        return f"API token {token.name}"
    return "API (signed-in session)"


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.ApiTokenAuthentication"
    name = "apiToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {"type": "http", "scheme": "bearer",
                "description": "A personal API token from your preferences page (lx_…)."}


class SessionScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.ActiveSessionAuthentication"
    name = "session"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {"type": "apiKey", "in": "cookie", "name": "sessionid"}
