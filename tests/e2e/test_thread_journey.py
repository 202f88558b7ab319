"""The shared thread is live: a message from the authority reaches the moderator's open case page without a
reload, marked as new; the platform's internal notes never reach the authority."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.e2e]

LIAISON = "liaison@ministry-id.example"
MODERATOR = "moderator@platform.example"
CASE_TITLE = "Jaringan judi slot daring"
SHARED = "Mohon konfirmasi hari ini: kanal kedua masih aktif dan terus mengiklankan deposit."
INTERNAL = "Checked with legal: restrict the second channel in Indonesia only; do not mention our counsel."


def nav_unread(page: Any) -> int:
    """The unread-messages count in the navigation; no badge means none."""
    badge = page.get_by_test_id("nav-unread")
    return int(badge.inner_text().split()[0]) if badge.count() else 0


def is_thread_poll(request: Any) -> bool:
    return request.url.endswith("/thread/") and request.method == "GET"


def test_shared_message_appears_live_and_internal_note_stays_internal(demo: None, live_server: Any,
                                                                      sign_in: Any) -> None:
    moderator = sign_in(MODERATOR, language="en")
    moderator.goto(f"{live_server.url}/cases/")
    moderator.locator("tbody tr", has_text=CASE_TITLE).get_by_role("link").first.click()
    expect(moderator.get_by_role("heading", level=1)).to_contain_text(CASE_TITLE)
    case_url = moderator.url.split("#")[0]
    expect(moderator.get_by_test_id("thread-entries")).not_to_contain_text(SHARED)
    unread_elsewhere = nav_unread(moderator)
    # A marker that a reload would wipe out.
    moderator.evaluate("window.lxStillOpen = true")

    liaison = sign_in(LIAISON)
    liaison.goto(case_url)
    expect(liaison.get_by_test_id("thread-entries")).to_be_visible()
    liaison.locator("#message-body").fill(SHARED)
    liaison.get_by_test_id("send-message").click()
    expect(liaison.get_by_test_id("message").filter(has_text=SHARED)).to_be_visible()

    # The moderator's page polls every 5 seconds.
    arrived = moderator.get_by_test_id("message").filter(has_text=SHARED)
    expect(arrived).to_be_visible(timeout=10_000)
    expect(arrived).to_contain_text("Dewi Lestari")
    expect(arrived.locator(".badge", has_text="new")).to_be_visible()
    assert moderator.evaluate("window.lxStillOpen === true"), "the page was reloaded"

    # Shown once counts as read: the next page load no longer marks it new.
    moderator.reload()
    arrived = moderator.get_by_test_id("message").filter(has_text=SHARED)
    expect(arrived).to_be_visible()
    expect(arrived.locator(".badge", has_text="new")).to_have_count(0)
    assert nav_unread(moderator) == unread_elsewhere

    # An internal note of the platform.
    moderator.locator("#message-body").fill(INTERNAL)
    moderator.get_by_label("Internal note: only the platform sees it").check()
    moderator.get_by_test_id("send-message").click()
    note = moderator.get_by_test_id("message").filter(has_text=INTERNAL)
    expect(note).to_be_visible()
    expect(note).to_contain_text("Internal note (platform only)")

    # The liaison's open page polls too, and never receives it; nor does a fresh load of the case.
    with liaison.expect_request(is_thread_poll, timeout=10_000) as poll:
        pass  # a poll sent after the note was stored
    assert poll.value.response().ok
    expect(liaison.get_by_test_id("thread-entries")).to_contain_text(SHARED)
    expect(liaison.get_by_test_id("thread-entries")).not_to_contain_text(INTERNAL)
    liaison.reload()
    expect(liaison.get_by_test_id("thread-entries")).to_contain_text(SHARED)
    expect(liaison.locator("main")).not_to_contain_text(INTERNAL)
    liaison.goto(f"{live_server.url}/cases/")
    row = liaison.locator("tbody tr", has_text=CASE_TITLE)
    expect(row).to_be_visible()
    # Nor is it counted as unread for her.
    expect(row.locator(".badge.rounded-pill")).to_have_count(0)
