"""The audit chain: append-only events, each holding the SHA-256 of the previous one.

Appends are serialised (a PostgreSQL advisory lock; SQLite serialises writers)
so the chain never forks. `verify_chain` recomputes every hash, holds the chain
against every signed checkpoint (stored, or a file kept elsewhere) and names the
first event that disagrees.
"""

from __future__ import annotations

import contextvars
import hashlib
import json
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User

from .audit_checkpoints import CheckpointError, CheckpointReader
from .audit_hash import GENESIS, HASHED_FIELDS, canonical_row, compute_hash
from .models import AuditCheckpoint, AuditEvent, Case
from .signing_identity import load_trust_roots

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


@dataclass(frozen=True)
class Anchor:
    """A signed statement about the chain (a stored checkpoint, or a checkpoint file someone kept): after
    `event_count` events, the last one was `head_event_id`, with hash `head_hash`."""

    label: str
    sequence: int
    head_event_id: int
    head_hash: str
    event_count: int

    @property
    def key(self) -> tuple[int, int, str, int]:
        return self.sequence, self.head_event_id, self.head_hash, self.event_count


@dataclass
class ChainReport:
    checked: int
    broken_at: int | None = None
    reason: str = ""
    anchors: int = 0  # signed checkpoints the chain was held against
    latest: Anchor | None = None  # the newest one it agrees with
    problems: list[str] = field(default_factory=list)  # checkpoints missing or changed (no event to name)

    @property
    def ok(self) -> bool:
        return self.broken_at is None and not self.problems

    @property
    def uncovered(self) -> int:
        """Events after the newest checkpoint: no signature vouches for them yet."""
        return self.checked - (self.latest.event_count if self.latest else 0)


# Streamed as plain rows, not model instances: id, the hashed fields, the stored hash.
_ROW = ("id", *HASHED_FIELDS, "hash")


def _rows() -> Iterator[tuple[Any, ...]]:
    return AuditEvent.objects.order_by("id").values_list(*_ROW).iterator(chunk_size=5000)


def stored_anchors() -> tuple[list[Anchor], list[str]]:
    """The stored checkpoints as anchors, each taken from its signed file (the columns are only a copy: a file
    whose signature fails, or that disagrees with its row, is a problem, not an anchor)."""
    reader = CheckpointReader(load_trust_roots())
    anchors: list[Anchor] = []
    problems: list[str] = []
    rows = AuditCheckpoint.objects.order_by("sequence").values_list(
        "sequence", "head_event_id", "head_hash", "event_count", "made_at", "signed_file")
    for number, head, digest, count, made_at, signed_file in rows.iterator(chunk_size=500):
        try:
            signed = reader.read(bytes(signed_file)).checkpoint
        except CheckpointError as exc:
            problems.append(_("Stored checkpoint #%(n)d cannot be trusted: %(error)s") % {"n": number, "error": exc})
            continue
        if (signed.sequence, signed.head_event_id, signed.head_hash, signed.event_count, signed.made_at) != (
                number, head, digest, count, made_at):
            problems.append(_("Stored checkpoint #%(n)d does not match its own signed file: its record was "
                              "changed.") % {"n": number})
        anchors.append(Anchor(_("signed checkpoint #%(n)d of %(when)s") % {"n": signed.sequence,
                                                                          "when": _utc(signed.made_at)},
                              signed.sequence, signed.head_event_id, signed.head_hash, signed.event_count))
    return anchors, problems


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _store_problems(stored: list[Anchor], extra: Sequence[Anchor]) -> list[str]:
    """Checkpoints deleted or changed in the database: gaps in the numbering, numbering that runs against the
    chain, and disagreement with a checkpoint file."""
    problems = []
    by_number = {anchor.sequence: anchor for anchor in stored}
    newest = max(by_number, default=0)
    missing = sorted(set(range(1, newest + 1)) - set(by_number))
    if missing:
        problems.append(_("%(count)d signed checkpoint(s) are missing from the database, the first #%(n)d: they "
                          "were deleted.") % {"count": len(missing), "n": missing[0]})
    for earlier, later in zip(stored, stored[1:], strict=False):
        if later.head_event_id < earlier.head_event_id or later.event_count < earlier.event_count:
            problems.append(_("Signed checkpoint #%(later)d covers less of the chain than #%(earlier)d before "
                              "it.") % {"later": later.sequence, "earlier": earlier.sequence})
            break
    for anchor in extra:
        kept = by_number.get(anchor.sequence)
        if kept is not None and kept.key != anchor.key:
            problems.append(_("The database's checkpoint #%(n)d differs from the checkpoint file: it was "
                              "changed.") % {"n": anchor.sequence})
        elif kept is None and anchor.sequence > newest:
            problems.append(_("Checkpoint #%(n)d of the file is not in the database, whose newest is #%(newest)d: "
                              "the newest checkpoints were deleted.") % {"n": anchor.sequence, "newest": newest})
    return problems


def _disagreement(anchor: Anchor, event_id: int, digest: str, position: int, agreed: Anchor | None) -> str:
    if anchor.head_event_id < event_id:
        return _("event #%(head)d, the last event of %(anchor)s, is missing: the chain goes on with event "
                 "#%(id)d") % {"head": anchor.head_event_id, "anchor": anchor.label, "id": event_id}
    if digest != anchor.head_hash:
        where = (_("the change lies after event #%(good)d, which %(agreed)s confirms")
                 % {"good": agreed.head_event_id, "agreed": agreed.label} if agreed is not None else
                 _("no earlier checkpoint confirms any part of the chain"))
        return _("its hash differs from %(anchor)s (%(signed)s…, now %(found)s…): events up to it were changed "
                 "and the hashes recomputed after it was signed; %(where)s") % {
            "anchor": anchor.label, "signed": anchor.head_hash[:16], "found": digest[:16], "where": where}
    return _("%(anchor)s counted %(signed)d events up to here, the chain holds %(found)d") % {
        "anchor": anchor.label, "signed": anchor.event_count, "found": position}


def verify_chain(*, extra: Sequence[Anchor] = ()) -> ChainReport:
    """Recompute every hash, and hold the chain against every stored checkpoint and the `extra` ones (checkpoint
    files). Names the first event that disagrees; checkpoints missing from the database are `problems`."""
    stored, problems = stored_anchors()
    problems += _store_problems(stored, extra)
    unique: dict[tuple[int, int, str, int], Anchor] = {}
    for anchor in (*stored, *extra):
        unique.setdefault(anchor.key, anchor)
    pending = deque(sorted(unique.values(), key=lambda a: (a.head_event_id, a.event_count, a.sequence)))
    count = len(pending)
    next_head = pending[0].head_event_id if pending else None
    agreed: Anchor | None = None
    previous = GENESIS
    checked = 0
    last_id: int | None = None
    sha256 = hashlib.sha256
    for row in _rows():
        event_id = row[0]
        if row[11] != previous:
            return ChainReport(checked, event_id, _("prev_hash does not match the previous event's hash"),
                               count, agreed, problems)
        digest = sha256(canonical_row(*row[1:12])).hexdigest()
        if digest != row[12]:
            return ChainReport(checked, event_id, _("stored hash does not match the event's contents"),
                               count, agreed, problems)
        checked += 1
        while next_head is not None and next_head <= event_id:
            anchor = pending.popleft()
            next_head = pending[0].head_event_id if pending else None
            if anchor.head_event_id != event_id or digest != anchor.head_hash or checked != anchor.event_count:
                return ChainReport(checked - 1, event_id, _disagreement(anchor, event_id, digest, checked, agreed),
                                   count, agreed, problems)
            agreed = anchor
        previous = digest
        last_id = event_id
    if pending:
        anchor = pending[0]
        end = (_("the chain ends at event #%(id)d after %(n)d events") % {"id": last_id, "n": checked}
               if last_id is not None else _("the audit table is empty"))
        reason = _("event #%(head)d is missing: %(end)s, but %(anchor)s covers %(signed)d events up to event "
                   "#%(head)d; events were removed from the end") % {
            "head": anchor.head_event_id, "end": end, "anchor": anchor.label, "signed": anchor.event_count}
        return ChainReport(checked, anchor.head_event_id, reason, count, agreed, problems)
    return ChainReport(checked, None, "", count, agreed, problems)
