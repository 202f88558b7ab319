"""Browser journeys: Playwright (sync API) driving Debian's Chromium against pytest-django's live server.

Playwright cannot download browsers here, so the tests launch the system Chromium (`apt-get install
chromium`, or LIAISON_CHROMIUM=/path/to/chrome). Without it they are skipped with the reason; CI installs
it and fails on any skipped test.

Every browser context of every test here is watched for Content-Security-Policy violations (and for a
Permissions-Policy header Chromium cannot read): a test fails when the browser reported one, whatever else it checks
(`_fail_on_policy_violations`).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connections
from django.test.utils import override_settings

# Playwright's sync API keeps an asyncio event loop running in the test thread, and Django refuses ORM
# calls from a thread with a running loop. The tests never touch the database from async code.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
AXE_SCRIPT = Path(__file__).parent / "vendor" / "axe.min.js"
DEMO_PASSWORD = "liaison-demo-2026"
BLOCKING_IMPACTS = ("serious", "critical")
# Screenshots for a person to look at (git-ignored), and the two screens every page must fit (issue 13).
ARTIFACTS = Path(__file__).resolve().parents[2] / "var" / "test-artifacts"
VIEWPORTS = {"laptop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}


def chromium_executable() -> str | None:
    return os.environ.get("LIAISON_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def _media_url_for_live_server() -> Iterator[None]:
    """Django's live server wraps every request in a media-file handler that parses MEDIA_URL, which
    Liaison leaves unset (evidence is never served from a public URL); give it a path nothing uses."""
    with override_settings(MEDIA_URL="/__no-public-media__/"):
        yield


@pytest.fixture(scope="session")
def live_server(_media_url_for_live_server: None, live_server: Any) -> Any:
    if connections["default"].vendor == "sqlite" and connections["default"].is_in_memory_db():
        _serialize_requests(live_server.thread.httpd)
    return live_server


def _serialize_requests(server: Any) -> None:
    """One request at a time. With an in-memory SQLite test database Django hands the live server's request
    threads one shared connection, and two overlapping requests (the per-file evidence uploads, a thread poll
    next to a post) fail with "cannot open savepoint - SQL statements in progress". A real deployment gives each
    thread its own connection; PostgreSQL runs of these tests keep the threads concurrent."""
    app = server.get_app()
    lock = threading.Lock()

    def serialized(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        with lock:
            result = app(environ, start_response)
            try:
                return list(result)
            finally:
                if hasattr(result, "close"):
                    result.close()

    server.set_app(serialized)


@pytest.fixture(scope="session")
def _serialized_test_databases(django_db_setup: None) -> dict[str, str]:
    return {alias: connections[alias]._test_serialized_contents  # type: ignore[attr-defined]  # set by Django's test setup
            for alias in connections if hasattr(connections[alias], "_test_serialized_contents")}


@pytest.fixture(scope="session")
def playwright(_serialized_test_databases: dict[str, str], playwright: Any) -> Any:
    """pytest-playwright's Playwright, started after the test databases were serialized.

    While Playwright's loop runs, asgiref gives this thread fresh connection objects (thread-critical locals
    follow the running loop's context). They lack the snapshot Django took of the migrated databases, so
    serialized rollback would silently restore nothing; hand it to them.
    """
    for alias, contents in _serialized_test_databases.items():
        connections[alias]._test_serialized_contents = contents  # type: ignore[attr-defined]  # Django sets it at test setup
    return playwright


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """pytest-playwright's launch arguments, pointed at the system Chromium."""
    executable = chromium_executable()
    if executable is None:
        pytest.skip("Chromium is not installed (apt-get install chromium, or set LIAISON_CHROMIUM); "
                    "browser tests need it.")
    return {
        **browser_type_launch_args,
        "executable_path": executable,
        "args": [*browser_type_launch_args.get("args", []), *CHROMIUM_ARGS],
        "headless": browser_type_launch_args.get("headless", True),
        "timeout": 60_000,
    }


# What the browser says when a page breaks the Content-Security-Policy (the console line Chromium logs, and the
# securitypolicyviolation event our init script turns into a console line), or cannot read the Permissions-Policy.
CSP_VIOLATION_PREFIX = "[csp-violation]"
_POLICY_CONSOLE_MARKERS = ("Content Security Policy", CSP_VIOLATION_PREFIX, "Permissions-Policy")
_REPORT_VIOLATIONS = """document.addEventListener('securitypolicyviolation', e => console.error(
    '[csp-violation] ' + e.effectiveDirective + ' blocked ' + (e.blockedURI || '(inline)') + ' in ' + e.documentURI
    + ' at ' + (e.sourceFile || '?') + ':' + e.lineNumber + (e.sample ? ' sample: ' + e.sample : '')));"""
# Reports of the running test, from every context it opened (fixtures' and tests' own browser.new_context()).
_policy_reports: list[str] = []


def watch_for_policy_violations(context: Any, reports: list[str]) -> Any:
    """Record into `reports` every Content-Security-Policy violation (and Permissions-Policy error) the browser
    reports in any page of `context`."""

    def record(message: Any) -> None:
        text = message.text
        if any(marker in text for marker in _POLICY_CONSOLE_MARKERS):
            page = message.page
            reports.append(f"{page.url if page is not None else '?'}: {text}")

    context.add_init_script(script=_REPORT_VIOLATIONS)
    context.on("console", record)
    return context


class _WatchedBrowser:
    """pytest-playwright's Browser, whose new contexts are all watched for policy violations."""

    def __init__(self, browser: Any) -> None:
        self._browser = browser

    def new_context(self, *args: Any, **kwargs: Any) -> Any:
        return watch_for_policy_violations(self._browser.new_context(*args, **kwargs), _policy_reports)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._browser, name)


@pytest.fixture(scope="session")
def browser(browser: Any) -> Any:
    return _WatchedBrowser(browser)


@pytest.fixture(autouse=True)
def _fail_on_policy_violations() -> Iterator[None]:
    """No browser test passes while a page it opened broke the Content-Security-Policy (issue 14)."""
    _policy_reports.clear()
    yield
    reports = list(dict.fromkeys(_policy_reports))
    _policy_reports.clear()
    assert not reports, "the browser reported policy violations:\n" + "\n".join(reports)


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    # A fixed locale and size: the browser asks for English unless a test switches language.
    return {**browser_context_args, "locale": "en-GB", "viewport": {"width": 1280, "height": 900}}


@pytest.fixture
def page(page: Any) -> Any:
    page.set_default_timeout(15_000)
    page.set_default_navigation_timeout(30_000)
    return page


@pytest.fixture
def browser_db(transactional_db: None, django_db_serialized_rollback: None) -> None:
    """A database the live server sees. Every browser test uses serialized rollback, which restores what data
    migrations create after each flush; mixing it with plain flushes would duplicate rows such as content types."""


@pytest.fixture
def demo(browser_db: None, settings: Any) -> None:
    """The demo data of `make run`."""
    settings.LIAISON_REQUIRE_MFA = False
    os.environ.pop("DEMO_PASSWORD", None)
    run_outside_event_loop(call_command, "seed_demo", force=True, stdout=io.StringIO())


def run_outside_event_loop(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run in a plain thread: code that runs its own asyncio loop (pyHanko's signing, for the demo's
    outcome reports) cannot start it in this thread while Playwright's loop is running."""

    def call() -> Any:
        try:
            return function(*args, **kwargs)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(call).result()


def log_in(page: Any, base_url: str, email: str, password: str = DEMO_PASSWORD) -> None:
    """Sign in through the real login form, in whatever language it is shown."""
    page.goto(f"{base_url}/accounts/login/")
    page.locator("input[name=login]").fill(email)
    page.locator("input[name=password]").fill(password)
    page.locator("form.lx-form button[type=submit]").click()
    page.wait_for_load_state("domcontentloaded")


# axe-core is served to the page as a same-origin script (the Content-Security-Policy refuses inline ones).
AXE_URL_PATH = "/__e2e__/axe.min.js"


def axe_violations(page: Any) -> list[dict[str, Any]]:
    page.route(f"**{AXE_URL_PATH}", lambda route: route.fulfill(path=str(AXE_SCRIPT),
                                                               content_type="text/javascript"))
    page.add_script_tag(url=AXE_URL_PATH)
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return result["violations"]


def format_violations(violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        targets = [node["target"] for node in v["nodes"]][:8]
        summaries = [node.get("failureSummary", "") for node in v["nodes"]][:2]
        lines.append(f"- [{v['impact']}] {v['id']}: {v['help']} ({v['helpUrl']})\n"
                     f"    nodes: {json.dumps(targets)}\n    {json.dumps(summaries)}")
    return "\n".join(lines)


@pytest.fixture
def assert_accessible() -> Callable[[Any, str], None]:
    """Run axe-core on the page and fail on any serious or critical violation, listing them all."""

    def check(page: Any, label: str) -> None:
        violations = axe_violations(page)
        blocking = [v for v in violations if v["impact"] in BLOCKING_IMPACTS]
        assert not blocking, f"axe found serious/critical violations on {label} ({page.url}):\n" + \
            format_violations(blocking)

    return check


# The elements reaching past the right edge of the viewport (the widest first), named so a failure says which.
_WIDER_THAN_THE_SCREEN = """() => {
    const width = document.documentElement.clientWidth;
    const name = el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
        + [...el.classList].slice(0, 3).map(c => '.' + c).join('')
        + (el.dataset.testid ? `[data-testid=${el.dataset.testid}]` : '');
    const wide = [];
    for (const el of document.body.querySelectorAll('*')) {
        const box = el.getBoundingClientRect();
        if (box.width && box.right > width + 0.5 && getComputedStyle(el).position !== 'fixed') {
            wide.push({element: name(el), right: Math.round(box.right), width: Math.round(box.width)});
        }
    }
    wide.sort((a, b) => b.right - a.right);
    return {scrollWidth: document.documentElement.scrollWidth, clientWidth: width, wide: wide.slice(0, 8)};
}"""


def horizontal_overflow(page: Any) -> dict[str, Any]:
    """`scrollWidth` and `clientWidth` of the document, and the elements reaching past the right edge."""
    return page.evaluate(_WIDER_THAN_THE_SCREEN)


@pytest.fixture
def assert_fits_the_screen() -> Callable[[Any, str], None]:
    """Fail when the page scrolls sideways (document.documentElement.scrollWidth > clientWidth), naming the
    elements that stick out."""

    def check(page: Any, label: str) -> None:
        found = horizontal_overflow(page)
        assert found["scrollWidth"] <= found["clientWidth"], \
            f"{label} ({page.url}) scrolls sideways: {found['scrollWidth']} px wide in {found['clientWidth']} px; " \
            f"sticking out: {json.dumps(found['wide'])}"

    return check


def save_screenshot(page: Any, name: str) -> Path:
    """A full-page screenshot under var/test-artifacts/ (git-ignored), for a person to look at."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def switch_language(page: Any, code: str) -> None:
    """Use the language form in the footer, as a person would; the choice stays for the browser context."""
    footer = page.locator("footer")
    footer.locator("select[name=language]").select_option(code)
    footer.locator("button[type=submit]").click()
    page.locator(f"html[lang={code}]").wait_for()


@pytest.fixture
def sign_in(new_context: Callable[..., Any], live_server: Any) -> Callable[..., Any]:
    """A page in a fresh browser context (its own cookies), signed in through the real form; several people
    can work side by side in one test. `language` switches the footer language form after signing in."""

    def open_page(email: str, language: str | None = None) -> Any:
        page = new_context().new_page()
        page.set_default_timeout(15_000)
        page.set_default_navigation_timeout(30_000)
        log_in(page, live_server.url, email)
        if language is not None:
            switch_language(page, language)
        return page

    return open_page
