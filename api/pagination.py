"""Opaque, signed cursors for the API's lists. The case list's cursor holds the last row's sort key (its sort
always ends with a unique column, so the order is total): the next page is the rows after that key, read through
the ordering index the way the inbox reads its pages, so a page costs the same at any depth and a case added or
moved between two pages neither repeats nor skips another (cases.queries.keyset). The smaller lists' cursors hold a
position."""

from __future__ import annotations

from typing import Any

from django.core import signing
from django.db.models import Model
from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request

from cases.queries.keyset import Key, key_from_json, row_key  # noqa: F401 (the API's views read row_key here)

SALT = "api.cursor"
DEFAULT_LIMIT = 50
MAX_LIMIT = 200


def encode_cursor(position: int, scope: str) -> str:
    return signing.dumps({"p": position, "s": scope}, salt=SALT, compress=True)


def decode_cursor(request: Request, scope: str) -> int:
    """The position a request's `cursor` names (0 without one); a cursor of another list or a forged one is 400."""
    raw = request.query_params.get("cursor", "")
    if not raw:
        return 0
    try:
        value: Any = signing.loads(raw, salt=SALT)
    except signing.BadSignature:
        raise ValidationError({"cursor": [_("This cursor is not valid.")]}) from None
    if not isinstance(value, dict) or value.get("s") != scope or not isinstance(value.get("p"), int) or value["p"] < 0:
        raise ValidationError({"cursor": [_("This cursor is not valid.")]})
    return int(value["p"])


def limit_of(request: Request) -> int:
    raw = request.query_params.get("limit", "")
    if not raw:
        return DEFAULT_LIMIT
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise ValidationError({"limit": [_("A whole number from 1 to %(most)d.") % {"most": MAX_LIMIT}]})
    return int(raw)


def next_link(request: Request, position: int, scope: str) -> str:
    params = request.query_params.copy()
    params["cursor"] = encode_cursor(position, scope)
    return request.build_absolute_uri(request.path + "?" + params.urlencode())


def decode_key(request: Request, scope: str, model: type[Model], keys: tuple[Key, ...]) -> list[Any] | None:
    """The sort key a request's `cursor` names (None without one: the first page); a cursor of another list, of
    another sort or a forged one is 400."""
    raw = request.query_params.get("cursor", "")
    if not raw:
        return None
    invalid = ValidationError({"cursor": [_("This cursor is not valid.")]})
    try:
        value: Any = signing.loads(raw, salt=SALT)
    except signing.BadSignature:
        raise invalid from None
    if not isinstance(value, dict) or value.get("s") != scope or not isinstance(value.get("k"), list) \
            or len(value["k"]) != len(keys):
        raise invalid
    try:
        return key_from_json(model, keys, value["k"])
    except Exception:  # a signed cursor of an older shape
        raise invalid from None


def encode_key(key: list[Any], scope: str) -> str:
    return signing.dumps({"k": key, "s": scope}, salt=SALT, compress=True)


def next_key_link(request: Request, key: list[Any], scope: str) -> str:
    params = request.query_params.copy()
    params["cursor"] = encode_key(key, scope)
    return request.build_absolute_uri(request.path + "?" + params.urlencode())
