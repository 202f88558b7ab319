"""The audit chain's hash: the canonical form of an event and its SHA-256. Pure, no database.

Each event's hash covers its fields and the previous event's hash, so changing, removing or reordering any
event breaks every link after it. `verify_audit` and the checkpoints use the same function.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .models import AuditEvent

GENESIS = "0" * 64


def canonical(event: AuditEvent) -> bytes:
    """The bytes hashed for an event: its fields (not its own hash or id) as sorted, compact JSON."""
    payload = {
        "occurred_at": event.occurred_at.isoformat(),
        "actor": event.actor_id,
        "actor_org": event.actor_org_id,
        "action": event.action,
        "case": event.case_id,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "ip": event.ip,
        "side": event.side,
        "data": event.data,
        "prev_hash": event.prev_hash,
    }
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def compute_hash(event: AuditEvent) -> str:
    return hashlib.sha256(canonical(event)).hexdigest()
