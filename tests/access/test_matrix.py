"""The access matrix (issue 14): every route of the project is in the table, and every persona gets from it what
the table says, over real requests; nobody reads the other side's internal notes in any response."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from http.cookies import SimpleCookie
from typing import Any

import pytest
from django.conf import settings
from django.db import transaction
from django.http import HttpResponseBase
from django.shortcuts import resolve_url
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from .conftest import Matrix
from .table import GROUPS, LOGIN, PERSONAS, REDIRECT, ROWS, Row

pytestmark = pytest.mark.django_db


def route_patterns(resolver: URLResolver | None = None, prefix: str = "") -> Iterator[str]:
    """Every URL pattern of the project, includes joined, spelled as the table spells them."""
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            yield from route_patterns(entry, prefix + str(entry.pattern))
        else:
            assert isinstance(entry, URLPattern)
            yield prefix + str(entry.pattern)


def is_named(pattern: str) -> bool:
    return pattern in {row.pattern for row in ROWS} or pattern.startswith(tuple(GROUPS))


def test_every_route_of_the_project_is_in_the_table():
    unnamed = sorted({pattern for pattern in route_patterns() if not is_named(pattern)})
    assert not unnamed, (
        "Routes the access matrix does not name; add rows for them to tests/access/table.py:\n  "
        + "\n  ".join(unnamed))


def test_every_row_names_a_route_that_exists_and_a_status_for_every_persona():
    patterns = set(route_patterns())
    stale = [row.id for row in ROWS if row.pattern not in patterns]
    assert not stale, f"Rows for routes that no longer exist: {stale}"
    for row in ROWS:
        row.expected()  # raises on a wrong number of statuses
    for prefix in GROUPS:
        assert any(row.pattern.startswith(prefix) for row in ROWS), f"group {prefix} has no sample row"


def fill(value: Any, values: Mapping[str, Any]) -> Any:
    if isinstance(value, str):
        return value.format(**values)
    if isinstance(value, list):
        return [fill(v, values) for v in value]
    return value


def send(client: Client, row: Row, values: Mapping[str, Any], headers: Mapping[str, str]) -> HttpResponseBase:
    data = row.data(values) if callable(row.data) else (row.data or {})
    data = {key: fill(value, values) for key, value in data.items()}
    path = row.path.format(**values)
    method = getattr(client, row.method.lower())
    kwargs: dict[str, Any] = {"headers": {**headers, **row.headers}}
    if row.content_type == "application/json":
        return method(path, json.dumps(data), content_type=row.content_type, **kwargs)
    return method(path, data, **kwargs)


API_CLIENT = Client()  # holds no session: the token alone says who asks


def credentials(row: Row, persona: str, matrix: Matrix) -> tuple[Client, dict[str, str]]:
    """The client a persona uses for this row and the headers that say who they are: their signed-in session, or
    a client without one that sends their API token (anonymous sends none)."""
    if row.auth == "session":
        return matrix.clients[persona], {}
    if row.auth == "token":
        token = matrix.tokens.get(persona)
        return API_CLIENT, {"Authorization": f"Bearer {token}"} if token else {}
    raise NotImplementedError(f"{row.id}: teach credentials() the {row.auth!r} authentication")


def outcome(response: HttpResponseBase) -> str:
    if response.status_code == 302:
        location = response["Location"]
        return LOGIN if location.split("?")[0] == resolve_url(settings.LOGIN_URL) else REDIRECT
    return str(response.status_code)


def body(response: HttpResponseBase) -> bytes:
    if getattr(response, "streaming", False):
        # Read to the end, the test client closes the file itself (a close of ours would fire request_finished
        # and close the database connection of the test's transaction).
        return b"".join(response.streaming_content)  # type: ignore[attr-defined]
    return response.content  # type: ignore[attr-defined]


@pytest.mark.parametrize("row", ROWS, ids=[row.id for row in ROWS])
def test_each_persona_gets_what_the_table_says(row: Row, matrix: Matrix):
    expected = row.expected()
    got: dict[str, str] = {}
    leaks: list[str] = []
    for persona in PERSONAS:
        client, headers = credentials(row, persona, matrix)
        cookies = {name: morsel.value for name, morsel in client.cookies.items()}
        # Each persona's request is undone, its cookies too (a sign-out, a language): the next request meets the
        # same data set and the same session.
        with transaction.atomic():
            if row.prepare is not None:
                row.prepare(matrix.values)
            try:
                response = send(client, row, matrix.values, headers)
            except Exception as exc:  # noqa: BLE001 - a crash is a cell of the table too
                got[persona] = f"500 ({type(exc).__name__}: {exc})"
            else:
                got[persona] = outcome(response)
                content = body(response)
                leaks += [f"{persona}: {secret!r}" for secret in matrix.secrets.get(persona, ())
                          if secret.encode() in content]
            transaction.set_rollback(True)
        client.cookies = SimpleCookie(cookies)
    wrong = {persona: f"expected {expected[persona]}, got {got[persona]}" for persona in PERSONAS
             if got[persona] != expected[persona]}
    assert not wrong, f"{row.id}\n  table: {row.expect}\n  real:  {' '.join(got[p] for p in PERSONAS)}\n" + \
        "\n".join(f"  {persona}: {text}" for persona, text in wrong.items())
    assert not leaks, f"{row.id}: text the persona may not read: {leaks}"
