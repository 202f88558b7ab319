"""Failed sign-ins, counted so that nobody can lock somebody else out.

Three counts live in Django's cache, which production shares between web processes (Redis, CACHE_URL):

- per client address, over all accounts: LIAISON_LOGIN_ADDRESS_FAILURES failures, then every further failure
  pauses that address;
- per (client address, account): LIAISON_LOGIN_PAIR_FAILURES failures, then every further failure pauses that
  pair; other addresses are not affected, so an attacker's failures never stop the owner elsewhere;
- per account, from anywhere: after LIAISON_LOGIN_ACCOUNT_FAILURES failures the account is guarded, and an
  address that has failed for it pauses after each of its failures (its allowance drops to one). An address with
  no failure for the account is never stopped by this count: the owner's right password still works while many
  addresses guess at the account.

A pause starts at LIAISON_LOGIN_FIRST_PAUSE_SECONDS and doubles with each further failure, up to
LIAISON_LOGIN_MAX_PAUSE_SECONDS. Counts are forgotten LIAISON_LOGIN_FORGET_SECONDS after their latest failure (at
least twice the longest pause). An attempt is counted before its password is checked, so parallel guesses cannot
all slip past the check, and taken back when the password was right; a right password also forgets the failures
of its (address, account) pair. Logins are compared case-insensitively, and accounts that do not exist are
counted like those that do: the answers never tell which exist.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import cache

ADDRESS = "address"
PAIR = "address_account"
ACCOUNT = "account"

# Each count is changed under a short lock of its own (cache.add), so two processes never lose an update.
_LOCK_SECONDS = 5
_LOCK_WAIT_SECONDS = 2.0
_KEY_PREFIX = "liaison:sign-in"


@dataclass(frozen=True)
class Limits:
    address_failures: int
    pair_failures: int
    account_failures: int
    first_pause: float
    max_pause: float
    forget_after: float

    @classmethod
    def from_settings(cls) -> Limits:
        first = float(settings.LIAISON_LOGIN_FIRST_PAUSE_SECONDS)
        longest = max(float(settings.LIAISON_LOGIN_MAX_PAUSE_SECONDS), first)
        return cls(
            address_failures=max(int(settings.LIAISON_LOGIN_ADDRESS_FAILURES), 1),
            pair_failures=max(int(settings.LIAISON_LOGIN_PAIR_FAILURES), 1),
            account_failures=max(int(settings.LIAISON_LOGIN_ACCOUNT_FAILURES), 1),
            first_pause=first,
            max_pause=longest,
            forget_after=max(float(settings.LIAISON_LOGIN_FORGET_SECONDS), 2 * longest),
        )


def pause_after(failures: int, allowed: int, limits: Limits) -> float:
    """Seconds to wait after the latest of `failures`: none before `allowed` failures, then the first pause,
    doubled with each further failure, up to the longest."""
    if failures < allowed:
        return 0.0
    doublings = min(failures - allowed, 60)
    return min(limits.first_pause * 2**doublings, limits.max_pause)


@dataclass(frozen=True)
class Count:
    failures: int = 0
    last: float = 0.0

    def paused_until(self, allowed: int, limits: Limits) -> float:
        if not self.failures:
            return 0.0
        return self.last + pause_after(self.failures, allowed, limits)


@dataclass(frozen=True)
class Pause:
    """A pause this failure started (for the audit log): which count, after how many failures, for how long."""

    scope: str
    failures: int
    seconds: float


class LoginPaused(Exception):
    def __init__(self, seconds: float, scope: str) -> None:
        super().__init__(f"sign-in paused for {seconds:.0f} s ({scope})")
        self.seconds = seconds
        self.scope = scope


@dataclass
class Attempt:
    """One sign-in attempt, already counted as a failure until `succeeded` takes it back."""

    address: str
    login: str
    limits: Limits
    keys: dict[str, str]
    before: dict[str, Count]
    after: dict[str, Count]
    settled: bool = field(default=False)

    @property
    def guarded(self) -> bool:
        return self.before[ACCOUNT].failures >= self.limits.account_failures

    def succeeded(self) -> None:
        """The password was right: take the attempt back and forget the pair's failures."""
        if self.settled:
            return
        self.settled = True
        with _locked(self.keys.values()):
            cache.delete(self.keys[PAIR])
            for scope in (ADDRESS, ACCOUNT):
                current = _read(self.keys[scope])
                if current == self.after[scope]:
                    restored = self.before[scope]  # nobody else counted meanwhile: as if never tried
                else:
                    restored = Count(max(current.failures - 1, 0), current.last)
                _write(self.keys[scope], restored, self.limits)

    def failed(self) -> list[Pause]:
        """The password was wrong: the attempt stays counted. Returns the pauses this failure started."""
        if self.settled:
            return []
        self.settled = True
        limits = self.limits
        pauses = []
        address = self.after[ADDRESS].failures
        if seconds := pause_after(address, limits.address_failures, limits):
            pauses.append(Pause(ADDRESS, address, seconds))
        pair = self.after[PAIR].failures
        if seconds := pause_after(pair, 1 if self.guarded else limits.pair_failures, limits):
            pauses.append(Pause(PAIR, pair, seconds))
        account = self.after[ACCOUNT].failures
        if account == limits.account_failures:
            pauses.append(Pause(ACCOUNT, account, limits.forget_after))
        return pauses


def begin(*, address: str, login: str, now: float | None = None) -> Attempt:
    """Count a sign-in attempt by `login` from `address`, or raise LoginPaused with the seconds left to wait."""
    limits = Limits.from_settings()
    login = normalise_login(login)
    keys = {
        ADDRESS: f"{_KEY_PREFIX}:address:{address}",
        PAIR: f"{_KEY_PREFIX}:pair:{_digest(address, login)}",
        ACCOUNT: f"{_KEY_PREFIX}:account:{_digest(login)}",
    }
    with _locked(keys.values()):
        now = time.time() if now is None else now
        before = {scope: _read(key) for scope, key in keys.items()}
        guarded = before[ACCOUNT].failures >= limits.account_failures
        allowed = {ADDRESS: limits.address_failures, PAIR: 1 if guarded else limits.pair_failures}
        waits = {scope: before[scope].paused_until(allowed[scope], limits) - now for scope in allowed}
        scope = max(waits, key=lambda name: waits[name])
        if waits[scope] > 0:
            raise LoginPaused(waits[scope], scope)
        after = {scope: Count(count.failures + 1, now) for scope, count in before.items()}
        for scope, count in after.items():
            _write(keys[scope], count, limits)
    return Attempt(address=address, login=login, limits=limits, keys=keys, before=before, after=after)


def normalise_login(login: str) -> str:
    return login.strip().casefold()


def _digest(*parts: str) -> str:
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:40]


def _read(key: str) -> Count:
    value = cache.get(key)
    if not value:
        return Count()
    failures, last = value
    return Count(int(failures), float(last))


def _write(key: str, count: Count, limits: Limits) -> None:
    if count.failures:
        cache.set(key, [count.failures, count.last], timeout=int(limits.forget_after))
    else:
        cache.delete(key)


@contextmanager
def _locked(keys: Iterable[str]) -> Iterator[None]:
    """Hold the locks of these counts (taken in one order, so two attempts never wait on each other in a circle).
    A lock not had within two seconds refuses the attempt briefly rather than risk an uncounted guess."""
    held: list[str] = []
    try:
        for key in sorted(keys):
            lock = f"{key}:lock"
            deadline = time.monotonic() + _LOCK_WAIT_SECONDS
            while not cache.add(lock, 1, timeout=_LOCK_SECONDS):
                if time.monotonic() > deadline:
                    raise LoginPaused(_LOCK_WAIT_SECONDS, "busy")
                time.sleep(0.01)
            held.append(lock)
        yield
    finally:
        if held:
            cache.delete_many(held)
