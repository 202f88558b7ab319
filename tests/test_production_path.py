"""The production path, end to end (issue 14): what an operator runs on a release, with production settings.

In subprocesses with production values only (DEBUG off, a secret key, ALLOWED_HOSTS, a fresh STATIC_ROOT and
database): `collectstatic --noinput`, `check --deploy` (exit 0, and only the warnings README.md explains),
`migrate`, a person with a second factor and a case; then gunicorn serving `liaison.wsgi` behind a TLS proxy
(BEHIND_TLS_PROXY: the proxy's X-Forwarded-Proto says https). Over HTTP it checks what a browser gets: plain
HTTP redirected to https, the security headers on the sign-in page, a real sign-in (password, then the TOTP code,
each POST with its CSRF token), the case page private (`Cache-Control: no-store, private`) and a static file from
WhiteNoise under its hashed name with a long cache.

On PostgreSQL when DATABASE_URL names it (CI: a database of its own, dropped afterwards), else SQLite.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import os
import re
import secrets
import signal
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode, urlsplit, urlunsplit

import pytest

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
PASSWORD = "correct-horse-battery-staple"  # tests/factories.py
# A person of an authority with a case of their own, and a TOTP second factor (production requires one).
SET_UP = """
from allauth.mfa.totp.internal.auth import TOTP
from tests.factories import build_world
from tests.cases.conftest import make_case
world = build_world()
case = make_case(world)
TOTP.activate(world.liaison, SECRET)
print("CASE", case.reference, world.liaison.email)
"""


# --- The subprocesses ---------------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    """A fresh database: on the PostgreSQL server of DATABASE_URL (created and dropped here), else SQLite."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres", "pgsql")):
        yield f"sqlite:///{tmp_path / 'production.sqlite3'}"
        return
    import psycopg

    parts = urlsplit(url)
    name = f"liaison_production_path_{secrets.token_hex(4)}"
    admin = urlunsplit(("postgresql", parts.netloc, "/postgres", "", ""))
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def production_environment(tmp_path: Path, database_url: str) -> dict[str, str]:
    """The environment of a production process: this machine's, less anything a test or a developer set. The
    broker and cache are the embedded ones under tmp_path, so the tasks the set-up queues reach no shared broker."""
    dropped = ("DJANGO", "DEBUG", "SECRET", "ALLOWED", "LIAISON_", "STATIC_ROOT", "SECURE_", "SESSION_", "CSRF_",
               "BEHIND_", "CELERY_", "REDIS_URL", "CACHE_URL", "PYTEST", "DATABASE_URL")
    env = {k: v for k, v in os.environ.items() if not k.startswith(dropped)}
    return {
        **env,
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "LIAISON_WEBHOOK_SECRET_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),  # a Fernet key
        "ALLOWED_HOSTS": f"{HOST},localhost",
        "STATIC_ROOT": str(tmp_path / "static"),
        "LIAISON_VAR_DIR": str(tmp_path / "var"),
        "DATABASE_URL": database_url,
        # A TLS-terminating proxy in front (it sets X-Forwarded-Proto) at this address.
        "BEHIND_TLS_PROXY": "true",
        "LIAISON_TRUSTED_PROXIES": HOST,
        "PYTHONUNBUFFERED": "1",
    }


def finished(process: subprocess.Popen[str], what: str, timeout: float = 600) -> str:
    output, _ = process.communicate(timeout=timeout)
    assert process.returncode == 0, f"{what} exited {process.returncode}:\n{output}"
    return output


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[str]]]:
    """What the test starts; whatever is still running at the end is stopped here, each by its own pid."""
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


# --- HTTP, as a browser behind the proxy sees it ---------------------------------------------------------------------


@dataclass
class Answer:
    status: int
    headers: http.client.HTTPMessage
    body: str

    def header(self, name: str) -> str:
        return self.headers.get(name, "")


@dataclass
class Browser:
    """Cookies kept by hand: they are Secure (sent over https only), and the proxy's leg here is plain HTTP."""

    port: int
    cookies: dict[str, str] = field(default_factory=dict)

    @property
    def origin(self) -> str:
        return f"https://{HOST}:{self.port}"

    def request(self, method: str, path: str, form: dict[str, str] | None = None, *, tls: bool = True,
                referer: str = "") -> Answer:
        headers = {"Host": f"{HOST}:{self.port}", "Accept-Language": "en"}
        if tls:
            headers["X-Forwarded-Proto"] = "https"
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form)
            headers |= {"Content-Type": "application/x-www-form-urlencoded", "Origin": self.origin,
                        "Referer": referer or self.origin + path}
        connection = http.client.HTTPConnection(HOST, self.port, timeout=30)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            answer = Answer(response.status, response.headers, response.read().decode("utf-8", "replace"))
        finally:
            connection.close()
        for cookie in answer.headers.get_all("Set-Cookie") or []:
            name, _, rest = cookie.partition("=")
            value = rest.split(";", 1)[0]
            if 'expires=Thu, 01 Jan 1970' in cookie or "Max-Age=0" in cookie:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        return answer

    def get(self, path: str, **kwargs: object) -> Answer:
        return self.request("GET", path, **kwargs)  # type: ignore[arg-type]

    def post_form(self, path: str, page: Answer, fields: dict[str, str]) -> Answer:
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.body)
        assert token, f"no CSRF token in the form of {path}"
        return self.request("POST", path, {"csrfmiddlewaretoken": token.group(1), **fields})


def totp_code(secret: str, at: float) -> str:
    """RFC 6238 as allauth checks it: SHA-1, 30-second steps, 6 digits."""
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    digest = hmac.new(key, struct.pack(">Q", int(at // 30)), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    return f"{(struct.unpack('>I', digest[offset:offset + 4])[0] & 0x7FFFFFFF) % 1_000_000:06d}"


def wait_until_serving(browser: Browser, process: subprocess.Popen[str], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, f"gunicorn exited {process.returncode}:\n{process.stdout.read() if process.stdout else ''}"
        try:
            browser.get("/accounts/login/")
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("gunicorn did not answer in time")


# --- The test ------------------------------------------------------------------------------------------------------


def test_the_production_path(tmp_path: Path, database_url: str, processes: list[subprocess.Popen[str]]) -> None:
    started = time.monotonic()
    env = production_environment(tmp_path, database_url)

    def manage(*args: str) -> subprocess.Popen[str]:
        process = subprocess.Popen([sys.executable, "manage.py", *args], cwd=ROOT, env=env, text=True,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        processes.append(process)
        return process

    secret = base64.b32encode(secrets.token_bytes(20)).decode().rstrip("=")

    # What a release runs; collecting, checking and migrating do not depend on each other.
    collecting = manage("collectstatic", "--noinput", "--verbosity", "1")
    checking = manage("check", "--deploy")
    migrating = manage("migrate", "--noinput", "--verbosity", "0")
    finished(migrating, "migrate")
    set_up = manage("shell", "--no-startup", "--command", SET_UP.replace("SECRET", repr(secret)))
    reference, email = re.findall(r"^CASE (\S+) (\S+)$", finished(set_up, "the person and case"), re.M)[0]
    report = finished(checking, "check --deploy")
    reported = set(re.findall(r"\((\w+\.[EW]\d+)\)", report))
    readme = (ROOT / "README.md").read_text()
    unexplained = {code for code in reported if f"`{code}`" not in readme}
    assert not unexplained, f"check --deploy warns of what README.md does not explain: {unexplained}\n{report}"
    assert "security.W004" not in reported and "security.W008" not in reported  # HSTS and the TLS redirect are on
    collected = finished(collecting, "collectstatic")
    assert re.search(r"\d+ static files? copied", collected), collected
    manifest = (tmp_path / "static" / "staticfiles.json")
    assert manifest.exists(), "collectstatic wrote no manifest (CompressedManifestStaticFilesStorage)"

    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "liaison.wsgi", "--bind", f"{HOST}:{port}", "--workers", "1",
         "--threads", "2", "--forwarded-allow-ips", HOST, "--access-logfile", "-", "--error-logfile", "-"],
        cwd=ROOT, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    processes.append(server)
    browser = Browser(port)
    wait_until_serving(browser, server)

    # Plain HTTP at the proxy is sent to https, for good (SECURE_SSL_REDIRECT with BEHIND_TLS_PROXY).
    plain = Browser(port).get("/accounts/login/?next=/cases/", tls=False)
    assert plain.status == 301, plain.status
    assert plain.header("Location") == f"https://{HOST}:{port}/accounts/login/?next=/cases/"

    # The sign-in page and its headers.
    login = browser.get("/accounts/login/")
    assert login.status == 200, login.body[:2000]
    policy = login.header("Content-Security-Policy")
    for directive in ("default-src 'self'", "script-src 'self'", "style-src 'self'", "object-src 'none'",
                      "base-uri 'self'", "form-action 'self'", "frame-ancestors 'none'"):
        assert directive in policy, (directive, policy)
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy, policy
    for feature in ("camera=()", "microphone=()", "geolocation=()", "payment=()", "usb=()"):
        assert feature in login.header("Permissions-Policy"), login.header("Permissions-Policy")
    assert login.header("X-Frame-Options") == "DENY"
    assert login.header("Strict-Transport-Security") == "max-age=31536000; includeSubDomains"
    assert login.header("Referrer-Policy") == "same-origin"
    assert login.header("X-Content-Type-Options") == "nosniff"
    cookies = login.headers.get_all("Set-Cookie") or []
    assert cookies and all("; Secure" in cookie for cookie in cookies), cookies

    # A static file by its hashed name, as the page links it: WhiteNoise, cached for good, even with a session.
    stylesheet = re.search(r'href="(/static/css/liaison\.[0-9a-f]{12}\.css)"', login.body)
    assert stylesheet, "the page does not link the hashed stylesheet"

    # Sign in: the password, then the second factor (TOTP), each form with its CSRF token.
    after_password = browser.post_form("/accounts/login/", login, {"login": email, "password": PASSWORD})
    assert after_password.status == 302, after_password.body[:2000]
    second_factor_path = after_password.header("Location")
    assert "/2fa/authenticate" in second_factor_path, second_factor_path
    second_factor = browser.get(second_factor_path)
    assert second_factor.status == 200
    if time.time() % 30 > 27:  # a code about to expire would fail across the step
        time.sleep(30 - time.time() % 30 + 0.2)
    signed_in = browser.post_form(second_factor_path, second_factor, {"code": totp_code(secret, time.time())})
    assert signed_in.status == 302, signed_in.body[:2000]
    assert "/accounts/" not in signed_in.header("Location"), signed_in.header("Location")

    case_page = browser.get(f"/cases/{reference}/")
    assert case_page.status == 200, case_page.body[:2000]
    assert reference in case_page.body
    assert case_page.header("Cache-Control") == "no-store, private"
    assert "frame-ancestors 'none'" in case_page.header("Content-Security-Policy")
    assert case_page.header("Strict-Transport-Security")
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>|\sstyle=", case_page.body), "inline code on the case page"

    static = browser.get(stylesheet.group(1))
    assert static.status == 200
    assert "max-age=315360000" in static.header("Cache-Control") and "immutable" in static.header("Cache-Control"), \
        static.header("Cache-Control")
    assert "no-store" not in static.header("Cache-Control")
    assert ".lx-mail-text" in static.body

    # Signing out ends it: the case page sends the person back to sign in.
    logout_page = browser.get("/accounts/logout/")
    browser.post_form("/accounts/logout/", logout_page, {})
    assert browser.get(f"/cases/{reference}/").status == 302

    print(f"the production path took {time.monotonic() - started:.1f} s")
