"""What every API view shares: who may call (token or session), rate limits, problem details, and the audit
chain's attribution of every change to the token it came through."""

from __future__ import annotations

import base64
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from django.http import HttpRequest, HttpResponseBase, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.views import APIView

from accounts.models import User
from cases import audit

from ..authentication import (
    ActiveSessionAuthentication,
    ApiTokenAuthentication,
    TokenScopePermission,
    attribution,
)
from ..parsers import StorableJSONParser
from ..problems import TYPE_BASE as PROBLEM_TYPE_BASE
from ..problems import exception_handler
from ..throttling import PerTokenRateThrottle


class ApiView(APIView):
    authentication_classes = [ApiTokenAuthentication, ActiveSessionAuthentication]
    permission_classes = [TokenScopePermission]
    throttle_classes = [PerTokenRateThrottle]
    renderer_classes = [JSONRenderer]
    parser_classes = [StorableJSONParser]

    def get_exception_handler(self) -> Callable[..., Any]:
        return exception_handler

    _attribution: AbstractContextManager[None] | None = None

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        # Entered once the caller is known, left in dispatch's finally: everything recorded answers to it.
        self._attribution = audit.acting_via(attribution(request))
        self._attribution.__enter__()

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        self._attribution = None
        try:
            return super().dispatch(request, *args, **kwargs)
        finally:
            if self._attribution is not None:
                self._attribution.__exit__(None, None, None)

    @property
    def actor(self) -> User:
        user = self.request.user
        assert isinstance(user, User)
        return user


class AnyAcceptNegotiation(DefaultContentNegotiation):
    """Downloads answer with the file's own type, whatever the client's Accept says; errors stay JSON."""

    def select_renderer(self, request: Request, renderers: list[Any], format_suffix: str | None = None) -> Any:
        return renderers[0], renderers[0].media_type


class FileView(ApiView):
    content_negotiation_class = AnyAcceptNegotiation


def sha256_digest_header(hex_digest: str) -> str:
    """RFC 9530's Repr-Digest for a SHA-256 kept in hex."""
    return "sha-256=:" + base64.b64encode(bytes.fromhex(hex_digest)).decode() + ":"


@csrf_exempt  # it changes nothing: a PATCH or POST to no route is 404 as a problem document, not CSRF's HTML 403
def not_found(request: HttpRequest) -> JsonResponse:
    """Any other address under /api/v1/: a problem document, like every answer of the API."""
    return JsonResponse({"type": PROBLEM_TYPE_BASE + "404", "title": "Not found", "status": 404},
                        status=404, content_type="application/problem+json")
