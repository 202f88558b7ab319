"""Sessions when the cache server is down (issue 14): the database is the record, so people signed in go on
working and can sign out; with the cache up, a page reads its session from the cache as before."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from accounts.sessions import SessionStore
from tests.factories import PASSWORD, World
from tests.integration.processes import free_port

pytestmark = pytest.mark.django_db


@pytest.fixture
def cache_down(settings: Any) -> Iterator[None]:
    """A Redis cache on a port where nothing listens: every call is refused, as during an outage."""
    working = settings.CACHES
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": f"redis://127.0.0.1:{free_port()}/1"}}
    yield
    settings.CACHES = working  # before this directory's fixture clears the cache


def test_people_signed_in_go_on_working_and_sign_out_while_the_cache_is_down(
        world: World, settings: Any, cache_down: None) -> None:
    settings.LIAISON_REQUIRE_MFA = False
    client = Client(raise_request_exception=True)
    client.force_login(world.liaison)
    assert client.get(reverse("cases:list")).status_code == 200
    key = client.session.session_key
    assert key and SessionStore().exists(key)
    assert client.post(reverse("account_logout")).status_code == 302
    assert not Session.objects.filter(session_key=key).exists()
    assert client.get(reverse("cases:list")).status_code == 302  # signed out: to the sign-in page


def test_with_the_cache_up_a_session_is_read_from_the_cache(world: World, settings: Any) -> None:
    settings.LIAISON_REQUIRE_MFA = False
    client = Client()
    client.force_login(world.liaison)
    key = client.session.session_key
    cache.delete(SessionStore.cache_key_prefix + key)
    assert client.get(reverse("cases:list")).status_code == 200
    assert cache.get(SessionStore.cache_key_prefix + key)  # the copy made when the page read it
    Session.objects.filter(session_key=key).update(session_data="")  # the database is not read again...
    assert client.get(reverse("cases:list")).status_code == 200  # ...while the cached copy serves


def test_signing_in_while_the_cache_is_down_answers_a_moment_later_please(world: World, cache_down: None) -> None:
    """Failed sign-in counts and allauth's limits live in the cache: without it nobody signs in (fails closed), and
    the answer is the portal's own page with a Retry-After, not a server error."""
    response = Client().post(reverse("account_login"), {"login": world.liaison.email, "password": PASSWORD})
    assert response.status_code == 503 and response["Retry-After"] == "30"
    page = response.content.decode()
    assert 'data-testid="error-page"' in page and "Liaison is unavailable for a moment" in page
