"""The audit chain's hash: the canonical form of an event and its SHA-256. Pure, no database.

Each event's hash covers its fields and the previous event's hash, so changing, removing or reordering any
event breaks every link after it. `verify_audit` and the checkpoints use the same function.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    from .models import AuditEvent

GENESIS = "0" * 64


# The columns an event's hash covers, in the order `canonical_row` takes them (a values_list row streams them).
HASHED_FIELDS = ("occurred_at", "actor_id", "actor_org_id", "action", "case_id", "object_type", "object_id", "ip",
                 "side", "data", "prev_hash")


def canonical_row(occurred_at: datetime, actor: int | None, actor_org: int | None, action: str, case: int | None,
                  object_type: str, object_id: str, ip: str | None, side: str, data: Any, prev_hash: str) -> bytes:
    """The bytes hashed for an event: its fields (not its own hash or id) as sorted, compact JSON."""
    return _canonical(occurred_at.isoformat(), actor, actor_org, action, case, object_type, object_id, ip, side, data,
                      prev_hash)


def _canonical(occurred_at: str, actor: int | None, actor_org: int | None, action: str, case: int | None,
               object_type: str, object_id: str, ip: str | None, side: str, data: Any, prev_hash: str) -> bytes:
    payload = {
        "occurred_at": occurred_at,
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


# --- The same digests, in bulk ----------------------------------------------------------------------------------
#
# `verify_audit` recomputes every hash of a chain of millions. orjson writes the canonical form several times faster
# than `json`, and byte for byte alike for what events hold (sorted keys, compact separators, raw UTF-8, the same
# escapes, shortest round-trip floats), with one known difference: floats under 1e-4 ("1e-05" here, "0.00001" there).
# So a fast digest is only ever trusted when it equals the stored hash; any other answer is recomputed the reference
# way. That is exact, not probable: both encoders are faithful (reading their output gives back exactly the values,
# types included), so fast bytes equal to the bytes hashed when the event was recorded mean the values read now are
# those values, whose reference form is those bytes. It needs the values read now to be the ones the reference reads:
# `load_data` reads `data` as Django's JSONField does, `_copy_row` a COPY line as psycopg and the ORM do (tests hold
# both against the reference on a corpus of awkward values).

_SORT_KEYS = orjson.OPT_SORT_KEYS


def read_data(text: str) -> Any:
    """The stored `data` exactly as JSONField.from_db_value reads it: json.loads, or the text when it is not JSON."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def load_data(text: str) -> Any:
    """`read_data`, faster, with one difference: orjson reads integers beyond 64 bits as floats (json as integers),
    which it then writes with an exponent ("1.8446744073709552e+19"): a fast form holding "e+" is not trusted."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:  # NaN, Infinity, nesting past 255, not JSON: as json reads it
        return read_data(text)


def fast_hash(occurred_at: str, actor: int | None, actor_org: int | None, action: str, case: int | None,
              object_type: str, object_id: str, ip: str | None, side: str, data: Any, prev_hash: str) -> str:
    """`hash_row`'s digest through orjson, `occurred_at` given as its isoformat(). Trust it only when it equals the
    stored hash (see above); "" when orjson cannot write the values (an integer beyond 64 bits)."""
    try:
        return hashlib.sha256(orjson.dumps({
            "occurred_at": occurred_at, "actor": actor, "actor_org": actor_org, "action": action, "case": case,
            "object_type": object_type, "object_id": object_id, "ip": ip, "side": side, "data": data,
            "prev_hash": prev_hash,
        }, option=_SORT_KEYS)).hexdigest()
    except orjson.JSONEncodeError:
        return ""


# PostgreSQL streams the rows as COPY text: its columns, in this order, with NULL written as "" (unambiguous: the
# nullable columns, actor_id, actor_org_id, case_id and ip, are numbers and addresses), timestamps in UTC with
# DateStyle ISO.
COPY_COLUMNS = ("id", *HASHED_FIELDS, "hash")
_UTC_TIMESTAMP = re.compile(r"([0-9]{4}-[0-9]{2}-[0-9]{2}) ([0-9]{2}:[0-9]{2}:[0-9]{2})(?:\.([0-9]{1,6}))?\+00")
_COPY_ESCAPE = re.compile(r"\\(.)", re.DOTALL)
_COPY_ESCAPES = {"\\": "\\", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}
LINK, HASH = "link", "hash"


def _copy_unescape(match: re.Match[str]) -> str:
    return _COPY_ESCAPES[match.group(1)]  # KeyError for what PostgreSQL never writes: the ORM reads the block


def _copy_row(line: bytes) -> list[Any] | None:
    """One COPY line as the reference reads the row: [id, *HASHED_FIELDS, hash] with isoformat() for the time and
    `data` still as text; None when anything is unusual (another time zone or DateStyle, BC, past 9999, an escape
    PostgreSQL does not write): the caller then reads those rows through the ORM."""
    text = line.decode()  # the connection's encoding is UTF-8
    raw = text.split("\t")
    if len(raw) != 13:  # COPY_COLUMNS
        return None
    if "\\" in text:
        try:
            raw = [_COPY_ESCAPE.sub(_copy_unescape, value) for value in raw]
        except KeyError:
            return None
    event_id, when, actor, actor_org, action, case, object_type, object_id, ip, side, data, prev_hash, stored = raw
    moment = _UTC_TIMESTAMP.fullmatch(when)
    if moment is None:
        return None
    fraction = moment[3]
    occurred_at = f"{moment[1]}T{moment[2]}.{fraction:0<6}+00:00" if fraction else f"{moment[1]}T{moment[2]}+00:00"
    return [int(event_id), occurred_at, int(actor) if actor else None, int(actor_org) if actor_org else None,
            action, int(case) if case else None, object_type, object_id, ip or None, side, data, prev_hash, stored]


@dataclass
class CopyCheck:
    """What `check_copy_rows` found in a block of rows. The caller holds `first_prev_hash` against the hash of the
    row before the block and carries `last_hash` to the next. `broken` is the first row inside the block that breaks
    the chain, as (position, id, reason: LINK, prev_hash is not the previous row's hash; HASH, the stored hash is
    not the row's); nothing after it is checked. `heads` holds (position, id, stored hash) of the first row at or
    after each checkpoint head asked about."""

    count: int
    first_id: int
    first_prev_hash: str
    last_hash: str
    broken: tuple[int, int, str] | None = None
    heads: list[tuple[int, int, str]] = field(default_factory=list)


def check_copy_rows(block: bytes, heads: Sequence[int] = ()) -> CopyCheck | None:
    """Check a block of COPY lines (COPY_COLUMNS, one per line): fast digests, and for any that differs from the
    stored hash the reference's. None when a row is unusual: the caller then checks the block through the ORM.
    Pure, so it runs in worker processes: only the block and the answer cross."""
    lines = block.split(b"\n")
    if lines and not lines[-1]:
        lines.pop()
    ids: list[int] = []
    stored_hashes: list[str] = []
    sha256, dumps, loads = hashlib.sha256, orjson.dumps, load_data
    previous = first_prev_hash = ""
    broken = None
    for position, line in enumerate(lines):
        row = _copy_row(line)
        if row is None:
            return None
        event_id, occurred_at, actor, actor_org, action, case, object_type, object_id, ip, side, text, \
            prev_hash, stored = row
        ids.append(event_id)
        stored_hashes.append(stored)
        if position == 0:
            first_prev_hash = prev_hash
        elif prev_hash != previous:
            broken = (position, event_id, LINK)
            break
        try:
            fast = dumps({
                "occurred_at": occurred_at, "actor": actor, "actor_org": actor_org, "action": action, "case": case,
                "object_type": object_type, "object_id": object_id, "ip": ip, "side": side, "data": loads(text),
                "prev_hash": prev_hash}, option=_SORT_KEYS)
            digest = "" if b"e+" in fast else sha256(fast).hexdigest()
        except orjson.JSONEncodeError:
            digest = ""
        if digest != stored and sha256(_canonical(occurred_at, actor, actor_org, action, case, object_type,
                                                  object_id, ip, side, read_data(text), prev_hash)).hexdigest() != stored:
            broken = (position, event_id, HASH)
            break
        previous = stored
    found = []
    for head in heads:
        position = bisect.bisect_left(ids, head)
        if position < len(ids):
            found.append((position, ids[position], stored_hashes[position]))
    return CopyCheck(len(lines), ids[0] if ids else 0, first_prev_hash, previous, broken, found)
