"""The audit chain: append-only events, each holding the SHA-256 of the previous one.

Appends are serialised (a PostgreSQL advisory lock; SQLite serialises writers)
so the chain never forks. `verify_chain` recomputes every hash and names the
first broken link.
"""

from __future__ import annotations

import contextvars
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from accounts.models import User

from .audit_hash import GENESIS, compute_hash
from .models import AuditEvent, Case

# Arbitrary constant naming the advisory lock that serialises appends on PostgreSQL.
_CHAIN_LOCK_ID = 0x4C494149  # "LIAI"

_request_ip: contextvars.ContextVar[str | None] = contextvars.ContextVar("audit_request_ip", default=None)


def client_ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


class AuditContextMiddleware:
    """Remembers the request's IP address so every event recorded during it carries it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _request_ip.set(client_ip(request))
        try:
            return self.get_response(request)
        finally:
            _request_ip.reset(token)


def _lock_chain() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHAIN_LOCK_ID])


def _jsonable(data: dict[str, Any]) -> dict[str, Any]:
    # Round-trip through JSON so the stored value and the hashed value are identical.
    return json.loads(json.dumps(data, default=str, ensure_ascii=False))


@transaction.atomic
def record(
    *,
    action: str,
    actor: User | None = None,
    case: Case | None = None,
    obj: Any = None,
    data: dict[str, Any] | None = None,
    side: str = "",
    ip: str | None = None,
    org: Any = None,
) -> AuditEvent:
    """Append one event to the chain, inside the caller's transaction."""
    _lock_chain()
    last = AuditEvent.objects.order_by("-id").values_list("hash", flat=True).first()
    if org is None and actor is not None:
        membership = getattr(actor, "membership", None)
        org = membership.organization if membership is not None else None
    event = AuditEvent(
        occurred_at=timezone.now(),
        actor=actor if actor is not None and actor.pk else None,
        actor_org=org,
        action=action,
        case=case,
        object_type=type(obj).__name__ if obj is not None else "",
        object_id=str(getattr(obj, "pk", "") or "") if obj is not None else "",
        # In the form the column stores ("2001:DB8::1" is kept as "2001:db8::1"), so the hash matches on reading.
        ip=AuditEvent._meta.get_field("ip").get_prep_value(ip if ip is not None else _request_ip.get()),
        side=side,
        data=_jsonable(data or {}),
        prev_hash=last or GENESIS,
    )
    event.hash = compute_hash(event)
    event.save(force_insert=True)
    return event


@dataclass
class ChainReport:
    checked: int
    broken_at: int | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_at is None


def _events() -> Iterator[AuditEvent]:
    return AuditEvent.objects.order_by("id").iterator(chunk_size=2000)


def verify_chain() -> ChainReport:
    previous = GENESIS
    checked = 0
    for event in _events():
        if event.prev_hash != previous:
            return ChainReport(checked, event.pk, "prev_hash does not match the previous event's hash")
        if compute_hash(event) != event.hash:
            return ChainReport(checked, event.pk, "stored hash does not match the event's contents")
        previous = event.hash
        checked += 1
    return ChainReport(checked)
