"""What the portal refuses at its edges, decided once for every page rather than view by view.

- Text PostgreSQL cannot store (a NUL byte; a lone surrogate, which UTF-8 cannot encode) in the path, the query
  string or a form field answers 400 with the friendly error page (`UnstorableInputMiddleware`) before a query can
  fail on it; a cookie holding one is ignored, so a forged session cookie never reaches the session table.
- Integers typed into forms: `BoundedIntegerField`, bounded by the column it fills (PostgreSQL's range, whichever
  database runs), so an oversized number is a form error. `tests/test_input_policy.py` holds every integer field
  of our forms to bounds.
- Integers in query strings and in posts that are not forms (page numbers, ids): `int_param` clamps to a range,
  `id_param` gives None for anything that is not a row id, and the `<id:…>` path converter lets through only
  numbers a bigint holds (a longer one matches no route: 404).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from django import forms
from django.core.exceptions import BadRequest
from django.db import models
from django.db.backends.base.operations import BaseDatabaseOperations
from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.urls import register_converter
from django.urls.converters import get_converters
from django.utils import translation
from django.utils.datastructures import MultiValueDict
from django.views.defaults import bad_request

# NUL, which PostgreSQL's text types refuse, and lone surrogates, which no UTF-8 encoder takes.
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")

# The largest row id a path or a form may name: every BigAutoField value, no more.
MAX_ID = BaseDatabaseOperations.integer_field_ranges["BigAutoField"][1]
# A page number past the end of any list, whose OFFSET (page × page size) stays far inside a bigint.
MAX_PAGE = 1_000_000
_NUMBER = re.compile(r"\s*([+-]?)([0-9]+)\s*")
_ID = re.compile(r"[0-9]{1,19}")


def has_unstorable(text: str) -> bool:
    return UNSTORABLE.search(text) is not None


def _has_unstorable_field(data: MultiValueDict[str, Any]) -> bool:
    for name, values in data.lists():
        if has_unstorable(name):
            return True
        if any(isinstance(value, str) and has_unstorable(value) for value in values):
            return True
    return False


class UnstorableInputMiddleware:
    """400 for text that could never be stored, wherever a client puts it: path, query string, form fields.

    The path and query string are checked before the view runs. A request body is checked when something first
    reads request.POST or request.FILES (a view, the CSRF check, a form): reading it here would parse uploads
    before a view can install its own upload handler (evidence streams to storage as it arrives). The field values
    are then replaced by nothing and BadRequest answers 400 through the same error page.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        for name in [name for name, value in request.COOKIES.items() if has_unstorable(name + value)]:
            del request.COOKIES[name]
        if has_unstorable(request.path) or _has_unstorable_field(request.GET):
            if request.path.startswith(API_PREFIX):
                return _api_bad_request()
            # The locale middleware has not run yet: the page speaks the language the browser asks for.
            with translation.override(translation.get_language_from_request(request)):
                return bad_request(request, BadRequest("unstorable characters in the address"))
        if request.method == "POST":
            _check_fields_when_read(request)
        return self.get_response(request)


class ReadWholeBodyMiddleware:
    """A request's body read to its end before its answer goes out, when nothing else read it (a sign-in redirect,
    a refusal before the form is parsed).

    Behind the proxy an evidence upload streams to gunicorn as it arrives (deploy/nginx-liaison.conf). gunicorn
    keeps a connection only after discarding at most 64 KiB of a body the application left unread; past that it
    closes the connection while the proxy is still sending, and the proxy then answers 502 instead of the portal's
    answer (an expired session's upload met "Bad Gateway" about one time in six). Read here, the body is gone before
    the answer, which the person then sees. The body is bounded by its Content-Length, which the proxy caps."""

    CHUNK = 1024 * 1024

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        stream = getattr(request, "_stream", None)
        if stream is not None and request.META.get("CONTENT_LENGTH") not in (None, "", "0"):
            while stream.read(self.CHUNK):
                pass
        return response


# The API answers in problem details (RFC 9457), never with a page.
API_PREFIX = "/api/"


def _api_bad_request() -> HttpResponse:
    return JsonResponse({"type": "https://liaison.example/problems/400", "title": "Invalid request", "status": 400,
                         "detail": "The address holds characters that cannot be stored (NUL or lone surrogates)."},
                        status=400, content_type="application/problem+json")


def _check_fields_when_read(request: HttpRequest) -> None:
    load = request._load_post_and_files  # Django's parser of POST and FILES

    def load_and_check() -> None:
        load()
        if _has_unstorable_field(request.POST) or _has_unstorable_field(request.FILES):
            request._post, request._files = QueryDict(), MultiValueDict()  # type: ignore[attr-defined]  # Django's own
            raise BadRequest("unstorable characters in a form field")

    # On this request only: request.POST and request.FILES call it on first use.
    request._load_post_and_files = load_and_check  # type: ignore[method-assign]  # wrapped per request on purpose


# Integers


def column_range(model_field: models.Field[Any, Any] | None = None) -> tuple[int, int]:
    """The values an integer column holds on PostgreSQL (an `integer` column when no model field is named); the
    same on SQLite, so the demo refuses what production would."""
    internal_type = model_field.get_internal_type() if model_field is not None else "IntegerField"
    low, high = BaseDatabaseOperations.integer_field_ranges[internal_type]
    return low, high


class BoundedIntegerField(forms.IntegerField):
    """An IntegerField bounded by the column its value goes into (`model_field`, default a PostgreSQL integer),
    narrowed by `min_value` / `max_value`: an oversized number is a form error, never a database error."""

    def __init__(self, *, model_field: models.Field[Any, Any] | None = None, min_value: int | None = None,
                 max_value: int | None = None, **kwargs: Any) -> None:
        low, high = column_range(model_field)
        super().__init__(min_value=low if min_value is None else max(min_value, low),
                         max_value=high if max_value is None else min(max_value, high), **kwargs)


def int_param(raw: str | None, *, default: int, minimum: int, maximum: int) -> int:
    """A whole number from a query string or a post (a page number, a page size): clamped to [minimum, maximum];
    `default` when absent or not a plain decimal number (ASCII digits only: int() would also read "²" badly)."""
    match = _NUMBER.fullmatch(raw or "")
    if match is None:
        return default
    sign, digits = match.groups()
    digits = digits.lstrip("0") or "0"
    if len(digits) > len(str(max(abs(minimum), abs(maximum)))):  # out of range whatever the digits: none read
        return minimum if sign == "-" else maximum
    value = -int(digits) if sign == "-" else int(digits)
    return min(max(value, minimum), maximum)


def page_number(raw: str | None) -> int:
    """A page number from a query string: 1 unless given, at most MAX_PAGE (past the end of any list, and far
    from making OFFSET overflow)."""
    return int_param(raw, default=1, minimum=1, maximum=MAX_PAGE)


def id_param(raw: str | None) -> int | None:
    """A row id from a query string or a post, or None when the value is not one (nothing that fails in the
    database: too long, signed, not ASCII digits, zero)."""
    value = (raw or "").strip()
    if _ID.fullmatch(value) is None:
        return None
    number = int(value)
    return number if 0 < number <= MAX_ID else None


def id_params(values: Iterable[str]) -> list[int]:
    """The row ids among the values (a multiple-choice post), others left out."""
    return [number for number in map(id_param, values) if number is not None]


class IdConverter:
    """`<id:name>` in a path: a row id. Django's `int` takes any number of digits, and one beyond a bigint would
    reach the database and fail there; 18 digits always fit, and anything longer matches no route (404)."""

    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


def register_path_converters() -> None:
    """Make `<id:…>` available to URL patterns; each urls module calls this before its patterns (once suffices)."""
    if "id" not in get_converters():
        register_converter(IdConverter, "id")
