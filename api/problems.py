"""Errors as RFC 9457 problem details (application/problem+json): a type, a title, the status, a detail and, for
input, one entry per field. What the caller may not see is 404, whatever the reason."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response

from cases import item_lists, permissions

PROBLEM_TYPE = "application/problem+json"
TYPE_BASE = "https://liaison.example/problems/"


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The case is not in a state that allows this."
    default_code = "invalid_transition"


class Unprocessable(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = "The request cannot be carried out."
    default_code = "unprocessable"

    def __init__(self, detail: Any = None, code: str | None = None, errors: list[dict[str, str]] | None = None):
        super().__init__(detail, code)
        self.errors = errors or []


def field_errors(detail: Any, prefix: str = "") -> list[dict[str, str]]:
    """DRF's nested error detail, flattened: one {"field", "detail", "code"} per message."""
    found: list[dict[str, str]] = []
    if isinstance(detail, dict):
        for name, value in detail.items():
            field = name if name != "non_field_errors" else ""
            found += field_errors(value, f"{prefix}.{field}" if prefix and field else prefix or field)
    elif isinstance(detail, list):
        for index, value in enumerate(detail):
            nested = isinstance(value, dict | list)
            found += field_errors(value, f"{prefix}[{index}]" if nested else prefix)
    else:
        found.append({"field": prefix, "detail": str(detail), "code": getattr(detail, "code", "invalid") or "invalid"})
    return found


def django_errors(exc: DjangoValidationError) -> list[dict[str, str]]:
    if hasattr(exc, "error_dict"):
        return [{"field": "" if name == "__all__" else name, "detail": str(message), "code": "invalid"}
                for name, messages in exc.message_dict.items() for message in messages]
    return [{"field": "", "detail": str(message), "code": "invalid"} for message in exc.messages]


def problem(status_code: int, title: str, detail: str = "", *, code: str = "", errors: list[dict[str, str]] | None = None,
            headers: dict[str, str] | None = None) -> Response:
    body: dict[str, Any] = {"type": TYPE_BASE + (code or str(status_code)), "title": title, "status": status_code}
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = errors
    return Response(body, status=status_code, headers=headers, content_type=PROBLEM_TYPE)


TITLES = {
    400: "Invalid request", 401: "Not authenticated", 403: "Not allowed", 404: "Not found",
    405: "Method not allowed", 406: "Not acceptable", 409: "Conflict", 413: "Too large",
    415: "Unsupported media type", 422: "Cannot be carried out", 429: "Too many requests",
}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's exception handler for the API views: every error a problem document."""
    errors: list[dict[str, str]] = []
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(_("Not found."))
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or _("You may not do this."))
    elif isinstance(exc, permissions.InvalidTransition):
        exc = Conflict(str(exc))
    elif isinstance(exc, item_lists.IntakeFileError):
        exc = Unprocessable(str(exc.message), code=exc.code)
    elif isinstance(exc, DjangoValidationError):
        errors = django_errors(exc)
        exc = Unprocessable(" ".join(error["detail"] for error in errors) or None, errors=errors)
    if not isinstance(exc, exceptions.APIException):
        return None
    headers: dict[str, str] = {}
    auth_header = getattr(exc, "auth_header", None)
    if auth_header:
        headers["WWW-Authenticate"] = str(auth_header)
    wait = getattr(exc, "wait", None)
    if wait:
        headers["Retry-After"] = str(int(wait) + (0 if float(wait).is_integer() else 1))
    code = exc.get_codes() if isinstance(exc, exceptions.ValidationError) else exc.default_code
    if isinstance(exc, exceptions.ValidationError):
        errors = field_errors(exc.detail)
        detail = _("Some fields are not valid.")
        code = "invalid"
    else:
        errors = errors or getattr(exc, "errors", [])
        detail = str(exc.detail) if not isinstance(exc.detail, dict | list) else ""
        if isinstance(exc.detail, str) and getattr(exc.detail, "code", None):
            code = str(exc.detail.code)  # type: ignore[attr-defined]
    status_code = exc.status_code
    return problem(status_code, TITLES.get(status_code, "Error"), detail, code=str(code), errors=errors,
                   headers=headers)
