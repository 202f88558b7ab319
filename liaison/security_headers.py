"""Response headers every page carries, decided once rather than view by view.

- `Permissions-Policy` (`PermissionsPolicyMiddleware`): the browser features the portal never uses (camera,
  microphone, geolocation, payment, USB, …) are switched off for its pages and anything they embed. WebAuthn
  (`publickey-credentials-*`) is deliberately left at its default, this origin only: second factors need it.
- `Cache-Control: no-store, private` (`PrivateResponseMiddleware`) on every response to a signed-in person and on
  every file download (evidence, reports, stored e-mails, checkpoints), whoever asks: nothing a person saw behind
  the login stays in a shared or back-button cache. Static files never reach it (WhiteNoise answers them earlier,
  with its long cache for hashed names).

The Content-Security-Policy comes from django-csp (`CONTENT_SECURITY_POLICY` in settings); the other headers from
Django's SecurityMiddleware and XFrameOptionsMiddleware.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import FileResponse, HttpRequest, HttpResponseBase

PRIVATE_CACHE_CONTROL = "no-store, private"


def permissions_policy_header(features: dict[str, list[str]]) -> str:
    """`{"camera": [], "fullscreen": ["self"]}` -> `camera=(), fullscreen=(self)`."""
    return ", ".join(f"{feature}=({' '.join(allowed)})" for feature, allowed in features.items())


class PermissionsPolicyMiddleware:
    """Adds the Permissions-Policy header of LIAISON_PERMISSIONS_POLICY unless the response has its own."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response
        self.header = permissions_policy_header(settings.LIAISON_PERMISSIONS_POLICY)

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if self.header and "Permissions-Policy" not in response:
            response["Permissions-Policy"] = self.header
        return response


def is_download(response: HttpResponseBase) -> bool:
    """A file handed to the browser: a FileResponse, or any response naming itself an attachment."""
    if isinstance(response, FileResponse):
        return True
    return response.get("Content-Disposition", "").lower().startswith("attachment")


class PrivateResponseMiddleware:
    """`Cache-Control: no-store, private` for signed-in people and for downloads, replacing what a view set."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        signed_in = user is not None and user.is_authenticated
        if signed_in or is_download(response):
            response["Cache-Control"] = PRIVATE_CACHE_CONTROL
        return response
