"""JSON request bodies, refusing text no database column could store (NUL, lone surrogates) as the pages' input
policy does for forms (liaison/input_policy.py): 400 before any query can fail on it."""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from liaison.input_policy import has_unstorable


def _unstorable(value: Any) -> bool:
    if isinstance(value, str):
        return has_unstorable(value)
    if isinstance(value, dict):
        return any(_unstorable(key) or _unstorable(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_unstorable(item) for item in value)
    return False


class StorableJSONParser(JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        data = super().parse(stream, media_type, parser_context)
        if _unstorable(data):
            raise ParseError("The request holds characters that cannot be stored (NUL or lone surrogates).")
        return data
