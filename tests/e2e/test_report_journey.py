"""An outcome report from approval to independent verification: the T&S manager issues it, legal downloads it,
and anyone can check the file on the public verification page."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.e2e]

MANAGER = "manager@platform.example"
LEGAL = "legal@platform.example"
CASE_TITLE = "Illegal online casino advertisements"


def test_manager_issues_report_legal_downloads_anyone_verifies(demo: None, live_server: Any, sign_in: Any,
                                                               new_context: Any, tmp_path: Path) -> None:
    manager = sign_in(MANAGER)
    manager.goto(f"{live_server.url}/cases/?status=resolved")
    manager.locator("tbody tr", has_text=CASE_TITLE).get_by_role("link").first.click()
    expect(manager.get_by_role("heading", level=1)).to_contain_text(CASE_TITLE)
    expect(manager.locator("main .lx-status").first).to_have_text("Resolved")
    case_url = manager.url.split("#")[0]
    status = manager.get_by_test_id("report-status")
    expect(status).to_have_attribute("data-status", "none")
    expect(status).to_contain_text("No report has been issued yet")
    manager.evaluate("window.lxStillOpen = true")

    manager.get_by_label("English").check()
    # Signing in one's name is confirmed first; dismissing the question sends nothing.
    manager.once("dialog", lambda dialog: dialog.dismiss())
    manager.get_by_test_id("request-report").click()
    expect(status).to_have_attribute("data-status", "none")
    asked: list[str] = []

    def confirm(dialog: Any) -> None:
        asked.append(dialog.message)
        dialog.accept()

    manager.once("dialog", confirm)
    manager.get_by_test_id("request-report").click()
    # Rendered and signed by the worker (eager here); the panel is replaced in place, polling while in flight.
    expect(status).to_have_attribute("data-status", "ready", timeout=30_000)
    assert asked and "in your name" in asked[0], asked
    expect(status.get_by_test_id("report-download-1")).to_be_visible()
    expect(status).to_contain_text("Version 1")
    expect(status).to_contain_text("Maria Keller")
    assert manager.evaluate("window.lxStillOpen === true"), "the page was reloaded"
    # Nothing is in flight any more: a new version (in the other language, say) can be issued.
    expect(manager.get_by_test_id("request-report")).to_be_enabled()
    manager.context.close()

    legal = sign_in(LEGAL)
    legal.goto(case_url)
    with legal.expect_download() as download_info:
        legal.get_by_test_id("report-download-1").click()
    download = download_info.value
    assert download.suggested_filename.endswith("-outcome-report-v1.pdf")
    report = tmp_path / download.suggested_filename
    download.save_as(report)
    assert report.read_bytes().startswith(b"%PDF-")
    legal.context.close()

    # Anyone holding the file checks it, without an account.
    visitor = new_context().new_page()
    visitor.goto(f"{live_server.url}/reports/verify/")
    expect(visitor.get_by_role("heading", level=1)).to_have_text("Verify an outcome report")
    visitor.get_by_label("Outcome report (PDF)").set_input_files(report)
    visitor.get_by_test_id("verify-submit").click()
    result = visitor.get_by_test_id("verify-result")
    expect(result).to_have_attribute("data-verdict", "genuine")
    expect(result).to_contain_text("Genuine and current")
    expect(result.get_by_test_id("verify-version")).to_have_text("1")
    expect(result).to_contain_text("This is the latest version.")
    expect(result).to_contain_text(hashlib.sha256(report.read_bytes()).hexdigest())
