"""The client address behind a TLS proxy: X-Forwarded-For counts only from LIAISON_TRUSTED_PROXIES, read from the
right; anything unreadable fails closed (issue 14)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.checks import run_checks
from django.core.exceptions import ImproperlyConfigured
from django.test import Client, RequestFactory
from django.urls import reverse

from accounts.client_address import client_address, limit_address
from cases.models import AuditEvent
from tests.factories import PASSWORD, World

PROXY = "10.0.0.5"


def address(remote: str, forwarded: str | None = None) -> str | None:
    headers = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        headers["HTTP_X_FORWARDED_FOR"] = forwarded
    return client_address(RequestFactory().get("/", **headers))


def test_without_trusted_proxies_the_header_is_ignored(settings: Any) -> None:
    settings.LIAISON_TRUSTED_PROXIES = []
    assert address("198.51.100.7", "203.0.113.9") == "198.51.100.7"


def test_a_trusted_proxy_names_the_client(settings: Any) -> None:
    settings.LIAISON_TRUSTED_PROXIES = [PROXY]
    assert address(PROXY, "203.0.113.9") == "203.0.113.9"
    # The client's own claims sit left of what the proxy appended, and prove nothing.
    assert address(PROXY, "1.2.3.4, 203.0.113.9") == "203.0.113.9"
    assert address(PROXY, "1.2.3.4,203.0.113.9") == "203.0.113.9"


def test_a_request_that_did_not_come_through_a_trusted_proxy_cannot_pick_its_address(settings: Any) -> None:
    settings.LIAISON_TRUSTED_PROXIES = [PROXY]
    assert address("198.51.100.7", "203.0.113.9") == "198.51.100.7"


def test_chains_of_trusted_proxies_are_walked_past(settings: Any) -> None:
    settings.LIAISON_TRUSTED_PROXIES = ["10.0.0.0/24", "fd00::/8"]
    assert address("10.0.0.1", "203.0.113.9, 10.0.0.7, fd00::2") == "203.0.113.9"
    # Everybody on the trusted networks: the leftmost hop is the client.
    assert address("10.0.0.1", "10.0.0.99") == "10.0.0.99"


@pytest.mark.parametrize("forwarded", ["", "not-an-address", "203.0.113.9, garbage", "unknown"])
def test_an_unreadable_header_stops_at_the_last_trusted_hop(settings: Any, forwarded: str) -> None:
    """Fails closed: the proxy's own address (all such requests share one count), never a value the client chose."""
    settings.LIAISON_TRUSTED_PROXIES = [PROXY]
    assert address(PROXY, forwarded) == PROXY


def test_addresses_are_normalised(settings: Any) -> None:
    settings.LIAISON_TRUSTED_PROXIES = [PROXY]
    assert address(PROXY, "[2001:db8::1]:443") == "2001:db8::1"
    assert address(PROXY, "203.0.113.9:51234") == "203.0.113.9"
    assert address("::ffff:198.51.100.7") == "198.51.100.7"
    assert address("") is None


def test_sign_in_limits_count_an_ipv6_client_by_its_64(settings: Any) -> None:
    settings.LIAISON_TRUSTED_PROXIES = []
    one = RequestFactory().get("/", REMOTE_ADDR="2001:db8:1:2::1")
    other = RequestFactory().get("/", REMOTE_ADDR="2001:db8:1:2:ffff::9")
    assert limit_address(one) == limit_address(other) == "2001:db8:1:2::/64"
    assert limit_address(RequestFactory().get("/", REMOTE_ADDR="")) == "unknown"


def test_a_bad_proxy_setting_fails_loudly(settings: Any) -> None:
    settings.LIAISON_TRUSTED_PROXIES = ["10.0.0.300"]
    with pytest.raises(ImproperlyConfigured):
        address(PROXY)


@pytest.mark.django_db
def test_a_forged_header_does_not_dodge_the_address_limit(world: World, settings: Any) -> None:
    """No proxy is trusted: a new X-Forwarded-For per attempt still counts against the one real address."""
    settings.LIAISON_REQUIRE_MFA = False
    settings.LIAISON_TRUSTED_PROXIES = []
    settings.LIAISON_LOGIN_ADDRESS_FAILURES = 5
    for n in range(5):
        Client(REMOTE_ADDR="203.0.113.66", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}").post(
            reverse("account_login"), {"login": f"guess{n}@ministry.test", "password": "x"})
    response = Client(REMOTE_ADDR="203.0.113.66", HTTP_X_FORWARDED_FOR="198.51.100.99").post(
        reverse("account_login"), {"login": world.lead.email, "password": PASSWORD})
    assert "Signing in is paused" in response.content.decode()


@pytest.mark.django_db
def test_behind_the_proxy_each_client_has_its_own_count_and_the_audit_log_its_address(
        world: World, settings: Any) -> None:
    settings.LIAISON_REQUIRE_MFA = False
    settings.LIAISON_TRUSTED_PROXIES = [PROXY]
    settings.LIAISON_LOGIN_ADDRESS_FAILURES = 5
    for n in range(5):
        Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="203.0.113.66").post(
            reverse("account_login"), {"login": f"guess{n}@ministry.test", "password": "x"})
    attacker = Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="203.0.113.66").post(
        reverse("account_login"), {"login": world.lead.email, "password": PASSWORD})
    assert "Signing in is paused" in attacker.content.decode()
    owner = Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="198.51.100.20")
    owner.post(reverse("account_login"), {"login": world.lead.email, "password": PASSWORD})
    assert "_auth_user_id" in owner.session
    assert AuditEvent.objects.filter(action="auth.login_failed").first().ip == "203.0.113.66"
    assert AuditEvent.objects.get(action="auth.login").ip == "198.51.100.20"


def test_deployment_checks_name_a_process_local_cache_and_a_proxy_without_trusted_addresses(settings: Any) -> None:
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.LIAISON_TRUSTED_PROXIES = []
    ids = {message.id for message in run_checks(include_deployment_checks=True)}
    assert {"accounts.W001", "accounts.W002"} <= ids
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": "redis://127.0.0.1:6379/8"}}
    settings.LIAISON_TRUSTED_PROXIES = [PROXY]
    ids = {message.id for message in run_checks(include_deployment_checks=True)}
    assert not {"accounts.W001", "accounts.W002"} & ids
