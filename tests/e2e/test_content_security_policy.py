"""The Content-Security-Policy in a real browser (issue 14): the pages run under it, and the watch that fails every
browser test on a violation (tests/e2e/conftest.py) does see one."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from .conftest import log_in, watch_for_policy_violations

pytestmark = pytest.mark.e2e

# What a page would do if someone slipped inline code or styles into a template: each is refused and reported.
_BREAK_THE_POLICY = """() => {
    const script = document.createElement('script');
    script.textContent = 'window.lxInlineRan = true;';
    document.body.appendChild(script);
    const style = document.createElement('style');
    style.textContent = 'body { background: red; }';
    document.head.appendChild(style);
    const div = document.createElement('div');
    div.setAttribute('style', 'color: red');
    document.body.appendChild(div);
}"""


def test_the_watch_reports_inline_script_and_styles_the_policy_refuses(browser_db: None, live_server: Any,
                                                                       browser: Any) -> None:
    reports: list[str] = []
    # Not through the watched browser: these violations are the point, they must not fail the test.
    context = watch_for_policy_violations(browser._browser.new_context(), reports)
    try:
        page = context.new_page()
        page.goto(f"{live_server.url}/accounts/login/")
        expect(page.locator("input[name=login]")).to_be_visible()
        assert reports == [], "the login page itself breaks the policy"
        page.evaluate(_BREAK_THE_POLICY)
        page.wait_for_function("() => true")
        page.wait_for_timeout(300)
        assert page.evaluate("() => window.lxInlineRan === undefined"), "an inline script ran"
        directives = " ".join(reports)
        assert "script-src" in directives, reports
        assert "style-src" in directives, reports
    finally:
        context.close()


def test_the_case_page_works_under_the_policy(demo: None, live_server: Any, page: Any) -> None:
    """The case page's scripts (Bootstrap, htmx with eval off, the items panel, countdowns) run from static files;
    any violation fails this test through the conftest's watch."""
    log_in(page, live_server.url, "manager@platform.example")
    response = page.goto(f"{live_server.url}/cases/?status=")
    assert response is not None
    policy = response.headers["content-security-policy"]
    assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy
    page.locator(".lx-case-table tbody tr a").first.click()
    expect(page.locator("#items")).to_be_visible()
    # The click navigates: the page's deferred scripts have run only once it has loaded (under load, the assertions
    # below could otherwise run between parsing and the scripts).
    page.wait_for_load_state("load")
    # htmx took its configuration from the meta tag: no eval, no injected <style>.
    assert page.evaluate("() => htmx.config.allowEval === false && htmx.config.includeIndicatorStyles === false")
    assert page.evaluate("() => document.querySelectorAll('style, [style]').length") == 0
    # The countdowns read their units from the page (no inline script sets them).
    assert page.evaluate("() => document.body.dataset.unitMin") == "min"

