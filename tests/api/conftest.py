"""API tests: tokens minted through the API's own action, a client that sends them, cases from the real actions."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import connections
from django.test import Client, override_settings

from accounts.models import User
from api.actions import create_api_token


def token_for(user: User, *, read_only: bool = False, name: str = "Test script") -> str:
    return create_api_token(actor=user, name=name, read_only=read_only)[1]


class Api:
    """A test client speaking JSON with a bearer token."""

    def __init__(self, token: str | None) -> None:
        self.client = Client()
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def get(self, path: str, **headers: str) -> Any:
        return self.client.get(path, headers={**self.headers, **headers})

    def post(self, path: str, data: Any = None, **headers: str) -> Any:
        return self.client.post(path, json.dumps(data if data is not None else {}), content_type="application/json",
                                headers={**self.headers, **headers})


@pytest.fixture
def api_as() -> Any:
    def make(user: User, *, read_only: bool = False) -> Api:
        return Api(token_for(user, read_only=read_only))

    return make


@pytest.fixture(scope="session")
def _media_url_for_live_server() -> Iterator[None]:
    """Django's live server parses MEDIA_URL, which Liaison leaves unset (nothing is served from a public URL)."""
    with override_settings(MEDIA_URL="/__no-public-media__/"):
        yield


@pytest.fixture(scope="session")
def live_server(_media_url_for_live_server: None, live_server: Any) -> Any:
    """One request at a time on an in-memory SQLite test database, whose one connection the server's threads share
    (as tests/e2e/conftest.py does); PostgreSQL runs keep the threads concurrent."""
    if connections["default"].vendor == "sqlite" and connections["default"].is_in_memory_db():
        server = live_server.thread.httpd
        app, lock = server.get_app(), threading.Lock()

        def serialized(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
            with lock:
                result = app(environ, start_response)
                try:
                    return list(result)
                finally:
                    if hasattr(result, "close"):
                        result.close()

        server.set_app(serialized)
    return live_server
