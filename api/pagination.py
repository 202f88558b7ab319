"""Opaque, signed cursors for the API's lists: a cursor names where the next page starts in the list's own order
(its sort always ends with the id, so the order is total), and the page is read the way the inbox reads its pages
(ids first through the ordering index, then the rows with their relations): the same cost at any depth."""

from __future__ import annotations

from typing import Any

from django.core import signing
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request

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
        raise ValidationError({"cursor": ["This cursor is not valid."]}) from None
    if not isinstance(value, dict) or value.get("s") != scope or not isinstance(value.get("p"), int) or value["p"] < 0:
        raise ValidationError({"cursor": ["This cursor is not valid."]})
    return int(value["p"])


def limit_of(request: Request) -> int:
    raw = request.query_params.get("limit", "")
    if not raw:
        return DEFAULT_LIMIT
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise ValidationError({"limit": [f"A whole number from 1 to {MAX_LIMIT}."]})
    return int(raw)


def next_link(request: Request, position: int, scope: str) -> str:
    params = request.query_params.copy()
    params["cursor"] = encode_cursor(position, scope)
    return request.build_absolute_uri(request.path + "?" + params.urlencode())
