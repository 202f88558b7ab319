"""The API's documentation page (/api/v1/docs/) renders in a real browser from the portal's own files, under the
Content-Security-Policy (the watch of tests/e2e/conftest.py fails the test on any violation)."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e


def test_the_api_documentation_renders_under_the_policy(browser_db: None, live_server: Any, page: Any) -> None:
    outside: list[str] = []
    page.on("request", lambda request: outside.append(request.url)
            if not request.url.startswith((live_server.url, "data:", "blob:")) else None)
    page.goto(f"{live_server.url}/api/v1/docs/")
    expect(page.get_by_text("/api/v1/cases/{reference}/submit/").first).to_be_visible()
    expect(page.get_by_text("Liaison API").first).to_be_visible()
    assert outside == []
