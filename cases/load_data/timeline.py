"""The generated history in time order: thread messages, audit events and read markers of all cases, merged.

Cases are built one after another in the order they were created, each pushing its dated events here; an event is
written once no case still to come can precede it. So message and audit ids grow with time across cases, as in
production, and each audit event is chained to the one before it with the project's own hash (cases/audit_hash.py),
which is why `verify_audit` passes on the result.
"""

from __future__ import annotations

import hashlib
import heapq
from datetime import UTC, datetime, timedelta
from typing import Any

from ..audit_hash import canonical_row
from ..models import AuditEvent, Message, ReadMarker
from .people import Person
from .writer import Writer

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

AUDIT_FIELDS = ("id", "occurred_at", "actor_id", "actor_org_id", "action", "case_id", "object_type", "object_id",
                "ip", "side", "data", "prev_hash", "hash")
MESSAGE_FIELDS = ("id", "case_id", "kind", "side", "author_id", "body", "system_action", "system_params", "created_at")
MARKER_FIELDS = ("id", "user_id", "case_id", "last_read_message_id", "updated_at")

AUDIT, MESSAGE, READ = 0, 1, 2


def moment(micros: int) -> datetime:
    return EPOCH + timedelta(microseconds=micros)


def micros(when: datetime) -> int:
    delta = when - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


class Timeline:
    def __init__(self, writer: Writer, prev_hash: str) -> None:
        self.writer = writer
        self.audit = writer.table(AuditEvent, AUDIT_FIELDS)
        self.messages = writer.table(Message, MESSAGE_FIELDS)
        self.markers = writer.table(ReadMarker, MARKER_FIELDS)
        self.prev_hash = prev_hash
        self._heap: list[tuple[int, int, int, tuple[Any, ...]]] = []
        self._seq = 0
        self._last_message: dict[int, int] = {}
        self.system_messages = 0

    # --- what a case pushes -------------------------------------------------------------------------------

    def event(self, at: int, action: str, *, case_id: int | None, actor: Person | None = None, obj: str = "",
              obj_id: Any = "", side: str = "", data: dict[str, Any] | None = None, ip: bool = True) -> None:
        """An audit event; `ip` False for what the system does (sweep, purge)."""
        self._push(at, AUDIT, (case_id, actor, action, obj, str(obj_id), side, data or {}, ip))

    def message(self, at: int, *, case_id: int, kind: str, body: str = "", author: Person | None = None,
                side: str = "", system_action: str = "", params: dict[str, Any] | None = None,
                posted_event: bool = False) -> None:
        """A thread entry (a system entry as its action and `params`, like cases.actions.thread.add_system_entry);
        a person's message also writes its `message.posted` event (it names the message id)."""
        self._push(at, MESSAGE, (case_id, kind, side, author, body, system_action, params or {}, posted_event))

    def read(self, at: int, *, user_id: int, case_id: int) -> None:
        """The person's read marker of the case, up to the newest message written before `at` (one per person)."""
        self._push(at, READ, (user_id, case_id))

    def _push(self, at: int, kind: int, payload: tuple[Any, ...]) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (at, self._seq, kind, payload))

    # --- writing, in time order ----------------------------------------------------------------------------

    def release(self, until: int) -> None:
        """Write every event up to `until`: no case built later has an earlier one."""
        heap = self._heap
        pop = heapq.heappop
        while heap and heap[0][0] <= until:
            at, _seq, kind, payload = pop(heap)
            if kind == AUDIT:
                self._write_event(at, *payload)
            elif kind == MESSAGE:
                self._write_message(at, *payload)
            else:
                self._write_marker(at, *payload)

    def finish(self) -> None:
        self.release(2**62)

    def _write_event(self, at: int, case_id: int | None, actor: Person | None, action: str, obj: str, obj_id: str,
                     side: str, data: dict[str, Any], with_ip: bool) -> None:
        occurred = moment(at)
        actor_id = actor.id if actor is not None else None
        org_id = actor.org_id if actor is not None else None
        ip = actor.ip if actor is not None and with_ip else None
        digest = hashlib.sha256(canonical_row(occurred, actor_id, org_id, action, case_id, obj, obj_id, ip, side,
                                              data, self.prev_hash)).hexdigest()
        self.writer.add(self.audit, (self.audit.allocate(), occurred, actor_id, org_id, action, case_id, obj, obj_id,
                                     ip, side, data, self.prev_hash, digest))
        self.prev_hash = digest

    def _write_message(self, at: int, case_id: int, kind: str, side: str, author: Person | None, body: str,
                       system_action: str, params: dict[str, Any], posted_event: bool) -> None:
        message_id = self.messages.allocate()
        self.writer.add(self.messages, (message_id, case_id, kind, side, author.id if author else None, body,
                                        system_action, params, moment(at)))
        self._last_message[case_id] = message_id
        if kind == Message.Kind.SYSTEM:
            self.system_messages += 1
        if posted_event:
            self._write_event(at, case_id, author, "message.posted", "Message", str(message_id), side,
                              {"kind": kind, "length": len(body)}, True)

    def _write_marker(self, at: int, user_id: int, case_id: int) -> None:
        self.writer.add(self.markers, (self.markers.allocate(), user_id, case_id,
                                       self._last_message.get(case_id, 0), moment(at)))
