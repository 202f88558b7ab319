"""Sign-in limits hold across web processes (issue 14): two gunicorn servers sharing one Redis cache count the same
failures, so spreading guesses over both gains an attacker nothing, and the owner's right password from an address
that has not failed signs in on either.

Real processes: a redis-server of the test's own as CACHE_URL, two gunicorn servers on the test's PostgreSQL
database, requests over HTTP through a trusted proxy's X-Forwarded-For (LIAISON_TRUSTED_PROXIES=127.0.0.1).
tests/accounts/test_login_throttling.py covers the rules themselves in one process.
"""

from __future__ import annotations

import http.client
import re
import sys
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import redis
from django.contrib.auth.hashers import make_password
from django.urls import reverse

from accounts.models import User
from tests.factories import PASSWORD, World

from .processes import Processes, free_port, processes, redis_server, require_shared_database, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

PAUSED = re.compile(r"Signing in is paused for up to (\d+ \w+); try again after that\.")
LIMITS = {"LIAISON_LOGIN_ADDRESS_FAILURES": "4", "LIAISON_LOGIN_PAIR_FAILURES": "3"}


class Server:
    """One web server process; `sign_in` is a fresh browser behind the trusted proxy, from `address`."""

    def __init__(self, running: Processes, name: str) -> None:
        self.running, self.name, self.port = running, name, free_port()
        self.process = running.start(name, [
            sys.executable, "-m", "gunicorn", "liaison.wsgi", "--workers", "1", "--bind", f"127.0.0.1:{self.port}",
            "--graceful-timeout", "5"], LIAISON_TRUSTED_PROXIES="127.0.0.1", **LIMITS)
        self.csrf: tuple[str, str] | None = None

    def wait_until_up(self) -> None:
        def healthy() -> bool:
            if self.process.poll() is not None:
                raise AssertionError(f"{self.name} exited:\n{self.running.log(self.name)[-3000:]}")
            try:
                return self.request("GET", "/health/")[0] == 200
            except OSError:
                return False

        wait_for(healthy, timeout=45, what=f"{self.name} to answer", every=0.3)
        # The sign-in form's CSRF cookie and token, fetched once: each sign-in below is a browser without a session.
        status, headers, page = self.request("GET", reverse("account_login"))
        assert status == 200, page[:500]
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        assert token is not None
        self.csrf = (cookies(headers)["csrftoken"].value, token.group(1))

    def request(self, method: str, path: str, body: str = "", headers: dict[str, str] | None = None
                ) -> tuple[int, Any, str]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request(method, path, body=body or None, headers=headers or {})
            response = connection.getresponse()
            return response.status, response.headers, response.read().decode()
        finally:
            connection.close()

    def sign_in(self, email: str, password: str, address: str) -> str:
        """"in", "wrong", or the wait the pause message gave ("1 minute")."""
        assert self.csrf is not None
        cookie, token = self.csrf
        status, headers, page = self.request(
            "POST", reverse("account_login"),
            body=urlencode({"login": email, "password": password, "csrfmiddlewaretoken": token}),
            headers={"X-Forwarded-For": address, "Cookie": f"csrftoken={cookie}",
                     "Content-Type": "application/x-www-form-urlencoded"})
        if status == 302:
            assert "sessionid" in cookies(headers), headers.get("Location")
            return "in"
        assert status == 200, (status, page[:500])
        paused = PAUSED.search(page)
        return paused.group(1) if paused else "wrong"


def cookies(headers: Any) -> SimpleCookie:
    jar: SimpleCookie = SimpleCookie()
    for value in headers.get_all("Set-Cookie") or []:
        jar.load(value)
    return jar


def paused(answer: str) -> bool:
    """The answer was the first pause (a minute, or a few seconds less by the time it is read)."""
    match = re.fullmatch(r"(\d+) (second|minute)s?", answer)
    return match is not None and 30 < int(match.group(1)) * {"second": 1, "minute": 60}[match.group(2)] <= 60


def hashed_for_the_servers(*users: User) -> None:
    """The tests hash passwords with MD5 for speed; the servers, outside pytest, accept Argon2 and PBKDF2 only."""
    for user in users:
        user.password = make_password(PASSWORD, hasher="argon2")
        user.save(update_fields=["password"])


def test_two_web_processes_count_the_same_failures_and_never_stop_the_owner(world: World, tmp_path: Path) -> None:
    require_shared_database()
    hashed_for_the_servers(world.lead, world.manager)
    with redis_server(tmp_path) as cache, processes(tmp_path, cache.url, CACHE_URL=cache.url) as running:
        servers = [Server(running, "web-1"), Server(running, "web-2")]
        for server in servers:
            server.wait_until_up()
        first, second = servers

        # Per address: four failures over four logins, two on each server, and the address waits on both.
        attacker = "203.0.113.66"
        for n in range(4):
            assert servers[n % 2].sign_in(f"guess{n}@nowhere.test", "guess", attacker) == "wrong"
        assert paused(first.sign_in("guess4@nowhere.test", "guess", attacker))
        assert paused(second.sign_in(world.manager.email, PASSWORD, attacker))
        # The owner, from an address of their own, is in on either server.
        assert first.sign_in(world.manager.email, PASSWORD, "198.51.100.20") == "in"
        assert second.sign_in(world.manager.email, PASSWORD, "198.51.100.21") == "in"

        # Per (address, account): three wrong passwords for one account, spread over both servers; even the right
        # password waits at that address, on the other server, while the owner elsewhere signs in on both.
        guesser = "203.0.113.77"
        for n in range(3):
            assert servers[n % 2].sign_in(world.lead.email, "guess", guesser) == "wrong"
        assert paused(second.sign_in(world.lead.email, PASSWORD, guesser))
        assert first.sign_in(world.lead.email, PASSWORD, "198.51.100.30") == "in"
        assert second.sign_in(world.lead.email, PASSWORD, "198.51.100.30") == "in"

        # The counts are in the shared Redis, not in either process.
        assert redis.Redis(port=cache.port).keys("*sign-in*")
