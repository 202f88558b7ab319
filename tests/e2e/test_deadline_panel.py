"""The deadline panel on the case page: a live countdown while the platform works a case, a paused clock while
it waits for the authority."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.e2e]

MODERATOR = "moderator-en@platform.example"
IN_PROGRESS = "Football betting syndicate"
AWAITING_INFORMATION = "Hate group targeting migrants"
# What the page script renders ("2 d 3 h 04 min 05 s"), not the server's "2 days, 3 hours" fallback.
SCRIPT_COUNTDOWN = re.compile(r"^(\d+ d )?(\d+ h )?\d\d min \d\d s$")


def open_case(page: Any, base_url: str, title: str) -> None:
    page.goto(f"{base_url}/cases/")
    page.locator("tbody tr", has_text=title).get_by_role("link").first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(title)


def test_countdown_runs_and_a_paused_clock_says_since_when(demo: None, live_server: Any, sign_in: Any) -> None:
    page = sign_in(MODERATOR)
    expect(page.locator("html")).to_have_attribute("lang", "en")

    open_case(page, live_server.url, IN_PROGRESS)
    expect(page.locator("main .lx-status").first).to_have_text("In progress")
    panel = page.get_by_test_id("deadline-panel")
    expect(panel).to_be_visible()
    expect(panel.get_by_test_id("paused")).to_have_count(0)
    countdown = panel.get_by_test_id("countdown").first
    expect(countdown).to_have_text(SCRIPT_COUNTDOWN)
    before = countdown.inner_text()
    expect(countdown).not_to_have_text(before, timeout=2_000)

    open_case(page, live_server.url, AWAITING_INFORMATION)
    expect(page.locator("main .lx-status").first).to_have_text("Awaiting information")
    panel = page.get_by_test_id("deadline-panel")
    paused = panel.get_by_test_id("paused").first
    expect(paused).to_be_visible()
    expect(paused).to_contain_text("paused since")
    expect(paused).to_contain_text("left when it resumes")
    expect(panel).to_contain_text("Paused")

