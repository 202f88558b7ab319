"""The audit chain: append-only events, each holding the SHA-256 of the previous one.

Appends are serialised (a PostgreSQL advisory lock; SQLite serialises writers)
so the chain never forks; `record_many` appends a batch under one lock with one
insert. `verify_chain` recomputes every hash, holds the chain against every
signed checkpoint (stored, or a file kept elsewhere) and names the first event
that disagrees; on PostgreSQL it streams the chain as COPY text and hashes it in
blocks, in worker processes that each read their own ranges when the chain is
long (cases/audit_stream.py; cases/audit_hash.py says why the fast digests are
exact).
"""

from __future__ import annotations

import contextvars
import json
import math
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.client_address import client_address
from accounts.models import User

from .audit_checkpoints import CheckpointError, CheckpointReader
from .audit_hash import GENESIS, HASHED_FIELDS, LINK, CopyCheck, compute_hash, fast_hash, hash_row
from .audit_stream import checked_blocks
from .models import AuditCheckpoint, AuditEvent, Case
from .signing_identity import load_trust_roots

# Arbitrary constant naming the advisory lock that serialises appends on PostgreSQL.
_CHAIN_LOCK_ID = 0x4C494149  # "LIAI"

# Rows per INSERT statement in record_many (PostgreSQL takes up to 65,535 parameters, SQLite 32,766; 12 a row).
_INSERT_BATCH = 2000

_request_ip: contextvars.ContextVar[str | None] = contextvars.ContextVar("audit_request_ip", default=None)
# How the actor acted, when not through the pages ("API token <name>"): recorded in each event's data as "via".
_via: contextvars.ContextVar[str | None] = contextvars.ContextVar("audit_via", default=None)


def client_ip(request: HttpRequest) -> str | None:
    """The client's address, read through the trusted proxies (LIAISON_TRUSTED_PROXIES)."""
    return client_address(request)


@contextmanager
def acting_via(label: str) -> Iterator[None]:
    """Every event recorded inside names how its actor acted (`data["via"]`, hashed with the rest): the API sets
    it for the request a token authenticated."""
    token = _via.set(label)
    try:
        yield
    finally:
        _via.reset(token)


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


def _jsonable(data: dict[str, Any]) -> Any:
    # Round-trip through JSON so the stored value and the hashed value are identical; numbers PostgreSQL's jsonb
    # would give back otherwise (1e+20 comes back as 100000000000000000000, -0.0 as 0.0) are stored as it reads them.
    return _as_stored(json.loads(json.dumps(data, default=str, ensure_ascii=False)))


def _as_stored(value: Any) -> Any:
    if isinstance(value, float):
        if value == 0:
            return 0.0
        # json writes these with an exponent ("-2.5e+30"); jsonb reads the decimal and gives back its digits.
        return int(Decimal(repr(value))) if abs(value) >= 1e16 and math.isfinite(value) else value
    if isinstance(value, dict):
        return {key: _as_stored(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_as_stored(item) for item in value]
    return value


def _with_via(data: dict[str, Any] | None, via: str | None) -> dict[str, Any]:
    return {**(data or {}), "via": via} if via else data or {}


@dataclass
class Entry:
    """One event to append with `record_many`: the arguments of `record`."""

    action: str
    actor: User | None = None
    case: Case | None = None
    obj: Any = None
    data: dict[str, Any] | None = None
    side: str = ""
    ip: str | None = None
    org: Any = None


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
    return record_many([Entry(action=action, actor=actor, case=case, obj=obj, data=data, side=side, ip=ip, org=org)])[0]


def record_many(entries: Iterable[Entry]) -> list[AuditEvent]:
    """Append events to the chain in the order given, inside the caller's transaction: one lock, one read of the
    head, the hashes chained here, one insert. For actions that record many events at once."""
    entries = list(entries)
    if not entries:
        return []
    ip_field = AuditEvent._meta.get_field("ip")
    default_ip = _request_ip.get()
    via = _via.get()
    with transaction.atomic(savepoint=False):  # a failure here fails the caller's transaction, as it must
        _lock_chain()
        previous = AuditEvent.objects.order_by("-id").values_list("hash", flat=True).first() or GENESIS
        now = timezone.now()
        events = []
        for entry in entries:
            actor, org, obj = entry.actor, entry.org, entry.obj
            if org is None and actor is not None:
                membership = getattr(actor, "membership", None)
                org = membership.organization if membership is not None else None
            event = AuditEvent(
                occurred_at=now,
                actor=actor if actor is not None and actor.pk else None,
                actor_org=org,
                action=entry.action,
                case=entry.case,
                object_type=type(obj).__name__ if obj is not None else "",
                object_id=str(getattr(obj, "pk", "") or "") if obj is not None else "",
                # In the form the column stores ("2001:DB8::1" is kept as "2001:db8::1"), so the hash matches on
                # reading.
                ip=ip_field.get_prep_value(entry.ip if entry.ip is not None else default_ip),
                side=entry.side,
                data=_jsonable(_with_via(entry.data, via if actor is not None else None)),
                prev_hash=previous,
            )
            event.hash = previous = compute_hash(event)
            events.append(event)
        if len(events) == 1:
            events[0].save(force_insert=True)
        else:
            AuditEvent.objects.bulk_create(events, batch_size=_INSERT_BATCH)
    return events


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


def _rows_between(after: int, last: int) -> Iterator[tuple[Any, ...]]:
    return (AuditEvent.objects.filter(id__gt=after, id__lte=last).order_by("id").values_list(*_ROW)
            .iterator(chunk_size=5000))


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


class _Walk:
    """Along the chain in order: the hash the next event must hold, how many events held, the checkpoints ahead."""

    def __init__(self, anchors: deque[Anchor], problems: list[str]) -> None:
        self.pending = anchors
        self.anchors = len(anchors)
        self.problems = problems
        self.agreed: Anchor | None = None
        self.previous = GENESIS
        self.checked = 0
        self.last_id: int | None = None

    def broken(self, event_id: int, reason: str) -> ChainReport:
        return ChainReport(self.checked, event_id, reason, self.anchors, self.agreed, self.problems)

    def held(self, event_id: int, digest: str) -> ChainReport | None:
        """An event whose link and hash hold: counted, and held against the checkpoints whose head it is (or, the
        head being gone, the first event after it)."""
        self.checked += 1
        while self.pending and self.pending[0].head_event_id <= event_id:
            anchor = self.pending.popleft()
            if anchor.head_event_id != event_id or digest != anchor.head_hash or self.checked != anchor.event_count:
                self.checked -= 1
                return self.broken(event_id, _disagreement(anchor, event_id, digest, self.checked + 1, self.agreed))
            self.agreed = anchor
        self.previous = digest
        self.last_id = event_id
        return None

    def rows(self, rows: Iterable[Sequence[Any]]) -> ChainReport | None:
        """Rows as the ORM reads them: (id, *HASHED_FIELDS, hash)."""
        for row in rows:
            event_id, stored = row[0], row[12]
            if row[11] != self.previous:
                return self.broken(event_id, _("prev_hash does not match the previous event's hash"))
            if fast_hash(row[1].isoformat(), *row[2:12]) != stored and hash_row(*row[1:12]) != stored:
                return self.broken(event_id, _("stored hash does not match the event's contents"))
            if report := self.held(event_id, stored):
                return report
        return None

    def block(self, check: CopyCheck, last_id: int) -> ChainReport | None:
        """A block of rows checked by `check_copy_rows`: the link into it, what broke inside it and the checkpoints
        at its rows, in the order of the rows."""
        if check.first_prev_hash != self.previous:
            return self.broken(check.first_id, _("prev_hash does not match the previous event's hash"))
        start = self.checked
        marks = [(position, 1, event_id, digest) for position, event_id, digest in check.heads]
        if check.broken is not None:
            marks.append((check.broken[0], 0, check.broken[1], check.broken[2]))
        for position, kind, event_id, detail in sorted(marks):
            self.checked = start + position
            if kind == 0:
                return self.broken(event_id, _("prev_hash does not match the previous event's hash")
                                   if detail == LINK else _("stored hash does not match the event's contents"))
            if report := self.held(event_id, detail):
                return report
        self.checked = start + check.count
        self.previous, self.last_id = check.last_hash, last_id
        return None

    def end(self) -> ChainReport:
        if not self.pending:
            return ChainReport(self.checked, None, "", self.anchors, self.agreed, self.problems)
        anchor = self.pending[0]
        end = (_("the chain ends at event #%(id)d after %(n)d events") % {"id": self.last_id, "n": self.checked}
               if self.last_id is not None else _("the audit table is empty"))
        reason = _("event #%(head)d is missing: %(end)s, but %(anchor)s covers %(signed)d events up to event "
                   "#%(head)d; events were removed from the end") % {
            "head": anchor.head_event_id, "end": end, "anchor": anchor.label, "signed": anchor.event_count}
        return self.broken(anchor.head_event_id, reason)


def verify_chain(*, extra: Sequence[Anchor] = (), workers: int | None = None) -> ChainReport:
    """Recompute every hash, and hold the chain against every stored checkpoint and the `extra` ones (checkpoint
    files). Names the first event that disagrees; checkpoints missing from the database are `problems`.

    On PostgreSQL the rows stream as COPY text and are hashed in blocks, by `workers` processes when the chain is
    long (default: one per core); elsewhere they stream through the ORM."""
    stored, problems = stored_anchors()
    problems += _store_problems(stored, extra)
    unique: dict[tuple[int, int, str, int], Anchor] = {}
    for anchor in (*stored, *extra):
        unique.setdefault(anchor.key, anchor)
    walk = _Walk(deque(sorted(unique.values(), key=lambda a: (a.head_event_id, a.event_count, a.sequence))), problems)
    if connection.vendor == "postgresql":
        report = _walk_copy(walk, workers)
    else:
        report = walk.rows(_rows())
    return report or walk.end()


def _walk_copy(walk: _Walk, workers: int | None) -> ChainReport | None:
    """The walk over the chain's blocks as cases/audit_stream.py reads and checks them, in id order."""
    blocks = checked_blocks(workers=workers, heads=[anchor.head_event_id for anchor in walk.pending])
    try:
        for block in blocks:
            report = (walk.rows(_rows_between(block.after, block.last_id)) if block.check is None  # an unusual row
                      else walk.block(block.check, block.last_id))
            if report:
                return report
        return None
    finally:
        blocks.close()
