"""API tests: tokens minted through the API's own action, a client that sends them, cases from the real actions."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

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
