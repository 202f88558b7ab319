"""The audit chain's hash: the canonical form of an event and its SHA-256. Pure, no database.

Each event's hash covers its fields and the previous event's hash, so changing, removing or reordering any
event breaks every link after it. `verify_audit` and the checkpoints use the same function.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .models import AuditEvent

GENESIS = "0" * 64


# The columns an event's hash covers, in the order `canonical_row` takes them (a values_list row streams them).
HASHED_FIELDS = ("occurred_at", "actor_id", "actor_org_id", "action", "case_id", "object_type", "object_id", "ip",
                 "side", "data", "prev_hash")


def canonical_row(occurred_at: datetime, actor: int | None, actor_org: int | None, action: str, case: int | None,
                  object_type: str, object_id: str, ip: str | None, side: str, data: Any, prev_hash: str) -> bytes:
    """The bytes hashed for an event: its fields (not its own hash or id) as sorted, compact JSON."""
    payload = {
        "occurred_at": occurred_at.isoformat(),
        "actor": actor,
        "actor_org": actor_org,
        "action": action,
        "case": case,
        "object_type": object_type,
        "object_id": object_id,
        "ip": ip,
        "side": side,
        "data": data,
        "prev_hash": prev_hash,
    }
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def canonical(event: AuditEvent) -> bytes:
    return canonical_row(event.occurred_at, event.actor_id, event.actor_org_id, event.action, event.case_id,
                         event.object_type, event.object_id, event.ip, event.side, event.data, event.prev_hash)


def compute_hash(event: AuditEvent) -> str:
    return hashlib.sha256(canonical(event)).hexdigest()


def hash_row(*fields: Any) -> str:
    """The hash of an event given as its HASHED_FIELDS values (what `verify_chain` streams)."""
    return hashlib.sha256(canonical_row(*fields)).hexdigest()
