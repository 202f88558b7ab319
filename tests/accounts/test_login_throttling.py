"""Sign-in limits that cannot be turned against a user (issue 14): per client address, per (address, account)
and per account, with growing pauses; the owner's right password from an address that has not failed always works.

Addresses are given as REMOTE_ADDR (no trusted proxy in these tests); tests/accounts/test_client_address.py covers
X-Forwarded-For, and tests/integration/test_login_throttling_processes.py two real server processes sharing Redis."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from accounts import login_throttle
from accounts.login_throttle import ACCOUNT, ADDRESS, PAIR, Limits, LoginPaused, pause_after
from cases.models import AuditEvent
from tests.factories import PASSWORD, World

pytestmark = pytest.mark.django_db

ATTACKER = "203.0.113.66"
OWNER = "198.51.100.20"
PAUSED = re.compile(r"Signing in is paused for up to (\d+ \w+); try again after that\.")


@pytest.fixture(autouse=True)
def _no_second_factor(settings: Any) -> None:
    settings.LIAISON_REQUIRE_MFA = False


def sign_in(email: str, password: str, address: str) -> tuple[Client, str]:
    """A fresh browser at `address` posting the sign-in form: the client, and "in", "wrong" or the pause text."""
    client = Client(REMOTE_ADDR=address)
    response = client.post(reverse("account_login"), {"login": email, "password": password})
    if "_auth_user_id" in client.session:
        assert response.status_code == 302
        return client, "in"
    paused = PAUSED.search(response.content.decode())
    return client, paused.group(1) if paused else "wrong"


def paused_for(answer: str) -> int:
    """The wait a pause message gave, in seconds (0 when the answer was no pause). The wait left is exact, so a
    slow test sees "58 seconds" where a quick one sees "1 minute"."""
    match = re.fullmatch(r"(\d+) (second|minute|hour)s?", answer)
    if match is None:
        return 0
    return int(match.group(1)) * {"second": 1, "minute": 60, "hour": 3600}[match.group(2)]


def limits(**changes: float) -> Limits:
    values = dict(address_failures=30, pair_failures=5, account_failures=20, first_pause=60.0, max_pause=3600.0,
                  forget_after=86400.0)
    values.update(changes)
    return Limits(**values)  # type: ignore[arg-type]  # the keyword values are the fields' types


# --- What a person sees ----------------------------------------------------------------------------------------


def test_an_attackers_failures_from_another_address_never_stop_the_owners_right_password(world: World) -> None:
    for _ in range(20):
        sign_in(world.lead.email, "guess", ATTACKER)
    assert 30 < paused_for(sign_in(world.lead.email, PASSWORD, ATTACKER)[1]) <= 60  # the attacker's address waits
    assert sign_in(world.lead.email, PASSWORD, OWNER)[1] == "in"


def test_many_attacking_addresses_never_stop_the_owner_either(world: World) -> None:
    for n in range(12):  # each address up to its pause: 60 failures for the account, far past its limit
        for _ in range(6):
            sign_in(world.lead.email, "guess", f"203.0.113.{n + 1}")
    assert sign_in(world.lead.email, PASSWORD, "203.0.113.1")[1] != "in"
    assert sign_in(world.lead.email, PASSWORD, OWNER)[1] == "in"


def test_failures_from_many_addresses_guard_the_account_but_let_the_owner_in(world: World, settings: Any) -> None:
    """A distributed guess (one failure per address) makes every failing address wait after each failure; an
    address with no failure for the account signs in with the right password."""
    assert settings.LIAISON_LOGIN_ACCOUNT_FAILURES == 20
    for n in range(20):
        assert sign_in(world.lead.email, "guess", f"192.0.2.{n + 1}")[1] == "wrong"
    # Guarded now: an address that failed once waits, even with the right password...
    assert 30 < paused_for(sign_in(world.lead.email, PASSWORD, "192.0.2.1")[1]) <= 60
    # ...a new address gets one try, then waits too...
    assert sign_in(world.lead.email, "guess", "192.0.2.200")[1] == "wrong"
    assert 30 < paused_for(sign_in(world.lead.email, "guess", "192.0.2.200")[1]) <= 60
    # ...and the owner, who has not failed, is in.
    assert sign_in(world.lead.email, PASSWORD, OWNER)[1] == "in"


def test_failures_for_an_account_that_does_not_exist_do_not_lock_a_real_one(world: World) -> None:
    for _ in range(25):
        sign_in("budi@ministry.test.invalid", "guess", ATTACKER)
        sign_in("nobody@ministry.test", "guess", OWNER)
    # The non-existent logins are paused like real ones (no hint which exist)...
    assert sign_in("nobody@ministry.test", "guess", OWNER)[1] != "wrong"
    # ...and the real account signs in, even from the address that keeps trying a login that does not exist.
    assert sign_in(world.lead.email, PASSWORD, OWNER)[1] == "in"


def test_the_message_says_how_long_and_the_pauses_grow(world: World) -> None:
    for _ in range(5):
        assert sign_in(world.lead.email, "wrong", OWNER)[1] == "wrong"
    _, answer = sign_in(world.lead.email, PASSWORD, OWNER)
    assert answer in ("1 minute", *(f"{n} seconds" for n in range(30, 60)))
    # Each further failure after the pause doubles it (exercised without waiting through the clock below).
    assert [pause_after(n, 5, limits()) for n in range(4, 9)] == [0, 60, 120, 240, 480]


def test_upper_and_lower_case_are_one_account(world: World) -> None:
    for _ in range(5):
        sign_in(world.lead.email.upper(), "wrong", OWNER)
    assert 30 < paused_for(sign_in(f"  {world.lead.email} ", PASSWORD, OWNER)[1]) <= 60


def test_the_right_password_forgets_the_pairs_failures_but_not_the_addresss(world: World, settings: Any) -> None:
    settings.LIAISON_LOGIN_ADDRESS_FAILURES = 8
    for _ in range(4):
        sign_in(world.lead.email, "wrong", OWNER)
    assert sign_in(world.lead.email, PASSWORD, OWNER)[1] == "in"
    for _ in range(4):  # four more for the pair: allowed again, as its count was forgotten
        assert sign_in(world.lead.email, "wrong", OWNER)[1] == "wrong"
    # The address has now failed 8 times (the success was not counted): it waits, for every account.
    assert 30 < paused_for(sign_in(world.liaison.email, PASSWORD, OWNER)[1]) <= 60


def test_an_address_that_tries_many_accounts_is_paused(world: World, settings: Any) -> None:
    settings.LIAISON_LOGIN_ADDRESS_FAILURES = 10
    for n in range(10):
        assert sign_in(f"person{n}@ministry.test", "guess", ATTACKER)[1] == "wrong"
    assert 30 < paused_for(sign_in(world.lead.email, PASSWORD, ATTACKER)[1]) <= 60
    assert sign_in(world.lead.email, PASSWORD, OWNER)[1] == "in"


def test_re_authentication_is_limited_the_same_way(world: World, settings: Any) -> None:
    settings.LIAISON_LOGIN_PAIR_FAILURES = 2
    client, _ = sign_in(world.lead.email, PASSWORD, OWNER)
    for _ in range(2):
        client.post(reverse("account_reauthenticate"), {"password": "wrong"})
    page = client.post(reverse("account_reauthenticate"), {"password": PASSWORD}).content.decode()
    assert PAUSED.search(page) is not None


# --- The audit log -----------------------------------------------------------------------------------------------


def test_each_pause_is_recorded_in_the_audit_log(world: World, settings: Any) -> None:
    settings.LIAISON_LOGIN_ACCOUNT_FAILURES = 6
    for _ in range(5):
        sign_in(world.lead.email, "wrong", ATTACKER)
    sign_in("Nobody@Ministry.test", "wrong", ATTACKER)
    sign_in(world.lead.email, "wrong", OWNER)  # the account's sixth failure: guarded
    events = list(AuditEvent.objects.filter(action="auth.login_paused").order_by("id"))
    assert [(e.data["scope"], e.data["login"], e.data["failures"], e.data["pause_seconds"], e.ip)
            for e in events] == [
        (PAIR, world.lead.email, 5, 60, ATTACKER),
        (ACCOUNT, world.lead.email, 6, 86400, OWNER),
    ]
    assert events[0].object_id == str(world.lead.pk) and events[0].actor is None
    assert events[0].data["organization"] == world.ministry.name
    # Refused attempts during a pause are not failures: they neither lengthen it nor fill the log.
    for _ in range(3):
        sign_in(world.lead.email, "wrong", ATTACKER)
    assert AuditEvent.objects.filter(action="auth.login_paused").count() == 2
    assert AuditEvent.objects.filter(action="auth.login_failed").count() == 7


# --- The counts, on a clock of the test's own ------------------------------------------------------------------


def test_a_pause_ends_on_time_and_the_next_failure_doubles_it(settings: Any) -> None:
    t = 1_000_000.0
    for n in range(5):
        login_throttle.begin(address=OWNER, login="a@b.test", now=t + n).failed()
    with pytest.raises(LoginPaused) as paused:
        login_throttle.begin(address=OWNER, login="a@b.test", now=t + 30)
    assert round(paused.value.seconds) == 34 and paused.value.scope == PAIR  # 60 s from the 5th failure at t+4
    login_throttle.begin(address=OWNER, login="a@b.test", now=t + 65).failed()
    with pytest.raises(LoginPaused) as paused:
        login_throttle.begin(address=OWNER, login="a@b.test", now=t + 66)
    assert round(paused.value.seconds) == 119
    login_throttle.begin(address=OWNER, login="a@b.test", now=t + 186).succeeded()
    login_throttle.begin(address=OWNER, login="a@b.test", now=t + 187).failed()  # forgotten after the success


def test_pauses_stop_growing_at_the_longest() -> None:
    assert pause_after(5 + 100, 5, limits()) == 3600
    assert pause_after(10**6, 5, limits()) == 3600


def test_an_attempt_is_counted_before_its_password_is_checked(settings: Any) -> None:
    """Parallel guesses cannot all pass the check before any of them failed."""
    started = [login_throttle.begin(address=ATTACKER, login="a@b.test", now=1000.0) for _ in range(5)]
    with pytest.raises(LoginPaused):
        login_throttle.begin(address=ATTACKER, login="a@b.test", now=1000.0)
    for attempt in started:
        attempt.failed()


def test_a_right_password_takes_its_attempt_back(settings: Any) -> None:
    settings.LIAISON_LOGIN_ADDRESS_FAILURES = 3
    for n in range(2):
        login_throttle.begin(address=OWNER, login=f"{n}@b.test", now=1000.0).failed()
    for _ in range(5):
        login_throttle.begin(address=OWNER, login="right@b.test", now=1001.0).succeeded()
    login_throttle.begin(address=OWNER, login="x@b.test", now=1002.0).failed()  # the third failure
    with pytest.raises(LoginPaused) as paused:
        login_throttle.begin(address=OWNER, login="y@b.test", now=1003.0)
    assert paused.value.scope == ADDRESS


def test_counts_outlive_the_longest_pause(settings: Any) -> None:
    """A count forgotten during its own pause would hand an attacker a fresh allowance after every pause."""
    assert Limits.from_settings().forget_after == 86400
    settings.LIAISON_LOGIN_MAX_PAUSE_SECONDS = 7200
    settings.LIAISON_LOGIN_FORGET_SECONDS = 600
    assert Limits.from_settings().forget_after == 14400
