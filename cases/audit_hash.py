"""The audit chain's hash: the canonical form of an event and its SHA-256. Pure, no database.

Each event's hash covers its fields and the previous event's hash, so changing, removing or reordering any
event breaks every link after it. `verify_audit` and the checkpoints use the same function.
"""

from __future__ import annotations

import binascii
import bisect
import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import repeat
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


# PostgreSQL streams the rows as COPY text: these columns, in the table's own order (so it sends each row as stored,
# without projecting it), with NULL written as "" (unambiguous: the nullable columns, ip and the three ids, are an
# address and numbers), timestamps in UTC with DateStyle ISO.
COPY_COLUMNS = ("id", "occurred_at", "action", "object_type", "object_id", "ip", "side", "data", "prev_hash", "hash",
                "actor_id", "actor_org_id", "case_id")
_WIDTH = len(COPY_COLUMNS)
_UTC_TIMESTAMP = re.compile(r"([0-9]{4}-[0-9]{2}-[0-9]{2}) ([0-9]{2}:[0-9]{2}:[0-9]{2})(?:\.([0-9]{1,6}))?\+00")
_COPY_ESCAPE = re.compile(r"\\(.)", re.DOTALL)
_COPY_ESCAPES = {"\\": "\\", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}
LINK, HASH = "link", "hash"


def _copy_unescape(match: re.Match[str]) -> str:
    return _COPY_ESCAPES[match.group(1)]  # KeyError for what PostgreSQL never writes: the ORM reads the block


def _copy_row(raw: Sequence[bytes]) -> list[Any] | None:
    """One COPY row (its COPY_COLUMNS, split at the tabs) as the reference reads it: [id, *HASHED_FIELDS, hash] with
    isoformat() for the time and `data` still as text; None when anything is unusual (another time zone or
    DateStyle, BC, past 9999, an escape PostgreSQL does not write): the caller then reads those rows through the
    ORM."""
    text = [value.decode() for value in raw]  # the connection's encoding is UTF-8
    if any("\\" in value for value in text):
        try:
            text = [_COPY_ESCAPE.sub(_copy_unescape, value) for value in text]
        except KeyError:
            return None
    event_id, when, action, object_type, object_id, ip, side, data, prev_hash, stored, actor, actor_org, case = text
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


# --- Checking a block of COPY rows --------------------------------------------------------------------------------
#
# The fast path writes the canonical form straight from the COPY bytes, in precomputed pieces, instead of building a
# dict and serialising it: the form is `{"action":"…","actor":…,"actor_org":…,"case":…,"data":…,"ip":…,
# "object_id":"…","object_type":"…","occurred_at":"…","prev_hash":"…","side":"…"}` (keys sorted, compact). Its
# digest is trusted only when it equals the stored hash, and then it is the reference's, because each piece is
# what json.dumps writes for the value the ORM reads, or a piece json.dumps never writes:
# - the texts (action, object type and id, ip, side) hold no '"' and no backslash (checked for the whole block), so
#   JSON writes them as they are, UTF-8 included; a raw control character would stay raw, which json.dumps never
#   writes, so such a digest cannot equal a stored hash and the row goes to the reference;
# - the ids are bigint columns, whose digits PostgreSQL writes as Python does; "" is NULL, written null;
# - the time has the one shape PostgreSQL writes in UTC with DateStyle ISO (checked on each row; any other line
#   sends the block to the ORM): "2026-12-03 14:46:39.2258+00" is isoformat()'s "2026-12-03T14:46:39.225800+00:00",
#   with no fraction in either at 0 microseconds;
# - `data` is orjson's form of it, under the rule above;
# - prev_hash is the previous row's stored hash, which matched a digest (hex) or is GENESIS; the first row's is
#   the caller's to check against the row before, and a mismatch there is reported before anything in the block.
# A block whose texts need escaping goes row by row through the reference reading (`_check_rows`); a row whose
# fast digest differs from its stored hash is recomputed the reference way before it is called broken.

_SHA256 = hashlib.sha256()
_COPY_ESCAPE_BYTES = re.compile(rb"\\(.)", re.DOTALL)
_COPY_ESCAPES_BYTES = {ord(key): value.encode() for key, value in _COPY_ESCAPES.items()}
# By the length of the time as PostgreSQL writes it: where its fraction ends, what follows it up to the prev_hash
# (zeros padding the fraction to six digits), and the character after the seconds ('.', or '+' without a fraction).
_TIMES = {22: (19, b'+00:00","prev_hash":"', ord("+"))} | {
    19 + 1 + digits + 3: (20 + digits, b"0" * (6 - digits) + b'+00:00","prev_hash":"', ord("."))
    for digits in range(1, 7)}
# `data` texts up to this length are remembered within a block (`{}`, `{"note": ""}`, `{"point": "half"}` recur).
_SHORT_DATA = 64


def _copy_unescape_bytes(match: re.Match[bytes]) -> bytes:
    return _COPY_ESCAPES_BYTES[match.group(1)[0]]  # KeyError as above


def check_copy_rows(block: bytes, heads: Sequence[int] = (), rows: int | None = None) -> CopyCheck | None:
    """Check a block of COPY rows (COPY_COLUMNS, one line each; `rows` of them when the caller counted): fast
    digests, and for any that differs from the stored hash the reference's. None when a row is unusual: the caller
    then checks the block through the ORM. Pure, so it runs in worker processes."""
    if not block:
        return CopyCheck(0, 0, "", "")
    if not block.endswith(b"\n"):
        block += b"\n"
        rows = None
    return _check_block(block, heads, rows) or _check_row_by_row(block, heads)


def _check_row_by_row(block: bytes, heads: Sequence[int]) -> CopyCheck | None:
    """`check_copy_rows` a row at a time: it names the first row that breaks the chain."""
    count = block.count(b"\n")
    fields = block.replace(b"\n", b"\t").split(b"\t")
    fields.pop()  # after the last newline
    if len(fields) != _WIDTH * count:  # a row with other columns
        return None
    columns = [iter(fields)] * _WIDTH
    texts = b"".join([*fields[2::_WIDTH], *fields[3::_WIDTH], *fields[4::_WIDTH], *fields[5::_WIDTH],
                      *fields[6::_WIDTH]])
    if b'"' in texts or b"\\" in texts:
        return _check_rows(list(zip(*columns, strict=True)), heads)
    escaped = b"\\" in block  # then only in `data`: COPY's escapes are undone before it is read
    sha256, times, loads, dumps = _SHA256.copy, _TIMES.get, orjson.loads, orjson.dumps
    known: dict[bytes, bytes] = {}
    previous = fields[8]  # the first row's link is the caller's to check
    broken = None
    position = 0
    for (event_id, when, action, object_type, object_id, ip, side, text, prev_hash, stored, actor, actor_org,
         case) in zip(*columns, strict=True):
        if prev_hash != previous:
            broken = (position, int(event_id), LINK)
            break
        time = times(len(when))
        if time is None or when[10] != 32 or when[19] != time[2] or when[time[0]:] != b"+00":
            return None
        data = known.get(text)
        if data is None:
            raw = text
            if escaped and b"\\" in text:
                try:
                    raw = _COPY_ESCAPE_BYTES.sub(_copy_unescape_bytes, text)
                except KeyError:
                    return None
            try:
                data = dumps(loads(raw), option=_SORT_KEYS)
            except (orjson.JSONDecodeError, orjson.JSONEncodeError):  # NaN, Infinity, nesting past 255, not JSON
                data = b""
            if b"e+" in data:  # see `load_data`
                data = b""
            if len(text) <= _SHORT_DATA:
                known[text] = data
        if data:
            digest = sha256()
            digest.update(b"".join((
                b'{"action":"', action, b'","actor":', actor or b"null", b',"actor_org":', actor_org or b"null",
                b',"case":', case or b"null", b',"data":', data, b',"ip":', b'"' + ip + b'"' if ip else b"null",
                b',"object_id":"', object_id, b'","object_type":"', object_type, b'","occurred_at":"', when[:10],
                b"T", when[11:time[0]], time[1], prev_hash, b'","side":"', side, b'"}')))
        if not data or digest.hexdigest().encode() != stored:
            row = _copy_row((event_id, when, action, object_type, object_id, ip, side, text, prev_hash, stored,
                             actor, actor_org, case))
            if row is None:
                return None
            if not _reference_holds(row):
                broken = (position, row[0], HASH)
                break
        previous = stored
        position += 1
    return CopyCheck(count, int(fields[0]), fields[8].decode(), previous.decode() if position else "", broken,
                     _heads(fields[0::_WIDTH], fields[9::_WIDTH], heads))


# --- The same check for a whole block at once ---------------------------------------------------------------------
#
# `_check_block` writes exactly the bytes the row loop of `check_copy_rows` writes, from the same pieces under the
# same conditions (or stricter ones), but a column at a time: each column is a slice of the split block, the
# canonical forms are one join of all the pieces split again at the newline that ends each form, and the digests are
# held against the stored hashes as one string. It answers only when every row holds (each link, each digest equal
# to its stored hash); anything else, a break included, goes to the row loop, which names the row and its reason.
# What the row loop decides per row, this decides per column:
# - the texts hold no '"' or backslash, ids and NULLs are written as there;
# - each time has the shape PostgreSQL writes in UTC with DateStyle ISO: 10 characters, a space, 8, an optional
#   fraction of 1 to 6 digits, "+00", and no other space (so its length, the space at 10, the '.' or '+' at 19 and
#   the "+00" at the end are what the row loop asks for); the space becomes 'T', the "+00" goes, and the piece for
#   the length pads the fraction, as there;
# - `data` is a jsonb column, so each COPY text is one JSON value, and "[" + the distinct texts joined by "," + "]"
#   reads as those values in order (checked: as many values as texts); orjson writes each with sorted keys, as
#   there, and a form holding "e+" sends the block to the row loop;
# - no piece holds a newline (COPY escapes them in the texts, orjson in `data`), so the joined forms split at the
#   newlines are the rows' forms (checked: as many as rows).

_SHAPE_OF_TIMES = re.compile(rb"(?:.{10} .{8}(?:\.[0-9]{1,6})?\+00\n)*")
# By the length of the time without its "+00": what follows it up to the prev_hash (see _TIMES).
_AFTER_TIME = {length - 3: piece for length, (_cut, piece, _separator) in _TIMES.items()}
_PIECES = 22  # per row: the fixed texts between the fields, and the fields


def _check_block(block: bytes, heads: Sequence[int], rows: int | None) -> CopyCheck | None:
    """The whole block checked at once, or None: a row breaks the chain or is unusual (see above)."""
    count = block.count(b"\n") if rows is None else rows
    fields = block.replace(b"\n", b"\t").split(b"\t")
    fields.pop()  # after the last newline
    if not count or len(fields) != _WIDTH * count:
        return None
    texts = b"".join([*fields[2::_WIDTH], *fields[3::_WIDTH], *fields[4::_WIDTH], *fields[5::_WIDTH],
                      *fields[6::_WIDTH]])
    if b'"' in texts or b"\\" in texts:
        return None
    links, stored = fields[8::_WIDTH], fields[9::_WIDTH]
    if links[1:] != stored[:-1]:  # the first row's link is the caller's to check
        return None
    times = b"\n".join(fields[1::_WIDTH]) + b"\n"
    if times.count(b" ") != count or _SHAPE_OF_TIMES.fullmatch(times) is None:
        return None
    moments = times.replace(b" ", b"T").replace(b"+00\n", b"\n").split(b"\n")
    moments.pop()
    data_texts = fields[7::_WIDTH]
    distinct = list(dict.fromkeys(data_texts))
    array = b"[" + b",".join(distinct) + b"]"
    if b"\\" in array:
        try:
            array = _COPY_ESCAPE_BYTES.sub(_copy_unescape_bytes, array)
        except KeyError:
            return None
    try:
        values = orjson.loads(array)
        forms = list(map(orjson.dumps, values, repeat(None), repeat(_SORT_KEYS)))
    except (orjson.JSONDecodeError, orjson.JSONEncodeError):
        return None
    if len(forms) != len(distinct) or b"e+" in b"".join(forms):
        return None
    pieces: list[bytes] = [b""] * (_PIECES * count)
    pieces[0::_PIECES] = [b'"}\n{"action":"'] * count  # the end of the row before, then the start of this one
    pieces[1::_PIECES] = fields[2::_WIDTH]
    pieces[2::_PIECES] = [b'","actor":'] * count
    pieces[3::_PIECES] = [actor or b"null" for actor in fields[10::_WIDTH]]
    pieces[4::_PIECES] = [b',"actor_org":'] * count
    pieces[5::_PIECES] = [org or b"null" for org in fields[11::_WIDTH]]
    pieces[6::_PIECES] = [b',"case":'] * count
    pieces[7::_PIECES] = [case or b"null" for case in fields[12::_WIDTH]]
    pieces[8::_PIECES] = [b',"data":'] * count
    pieces[9::_PIECES] = (list(map(dict(zip(distinct, forms, strict=True)).__getitem__, data_texts))
                          if len(distinct) < count else forms)
    pieces[10::_PIECES] = [b',"ip":'] * count
    pieces[11::_PIECES] = [b'"' + ip + b'"' if ip else b"null" for ip in fields[5::_WIDTH]]
    pieces[12::_PIECES] = [b',"object_id":"'] * count
    pieces[13::_PIECES] = fields[4::_WIDTH]
    pieces[14::_PIECES] = [b'","object_type":"'] * count
    pieces[15::_PIECES] = fields[3::_WIDTH]
    pieces[16::_PIECES] = [b'","occurred_at":"'] * count
    pieces[17::_PIECES] = moments
    pieces[18::_PIECES] = list(map(_AFTER_TIME.__getitem__, map(len, moments)))
    pieces[19::_PIECES] = links
    pieces[20::_PIECES] = [b'","side":"'] * count
    pieces[21::_PIECES] = fields[6::_WIDTH]
    pieces.append(b'"}')
    canonical = b"".join(pieces).split(b"\n")
    if len(canonical) != count + 1:
        return None
    del canonical[0]
    # Every digest in hex, 64 characters a line, against the stored hashes one a line.
    digests = b"".join([digest.digest() for digest in map(hashlib.sha256, canonical)])
    if binascii.hexlify(digests, b"\n", 32) != b"\n".join(stored):
        return None
    return CopyCheck(count, int(fields[0]), links[0].decode(), stored[-1].decode(), None,
                     _heads(fields[0::_WIDTH], stored, heads))


def _reference_holds(row: list[Any]) -> bool:
    """The row's digest the reference way (`data` read as JSONField reads it) equals its stored hash."""
    _id, occurred_at, actor, actor_org, action, case, object_type, object_id, ip, side, text, prev_hash, stored = row
    return hashlib.sha256(_canonical(occurred_at, actor, actor_org, action, case, object_type, object_id, ip, side,
                                     read_data(text), prev_hash)).hexdigest() == stored


def _heads(ids: list[bytes], hashes: list[bytes], heads: Sequence[int]) -> list[tuple[int, int, str]]:
    """(position, id, stored hash) of the first row at or after each head."""
    if not heads:
        return []
    numbers = [int(event_id) for event_id in ids]
    found = []
    for head in heads:
        position = bisect.bisect_left(numbers, head)
        if position < len(numbers):
            found.append((position, numbers[position], hashes[position].decode()))
    return found


def _check_rows(rows: list[tuple[bytes, ...]], heads: Sequence[int]) -> CopyCheck | None:
    """`check_copy_rows` a row at a time, for blocks whose texts need escaping: each row read as the reference
    reads it, its digest through orjson (not trusted with "e+": an integer past 64 bits read as a float) and, when
    that differs from the stored hash, the reference's."""
    ids: list[int] = []
    stored_hashes: list[str] = []
    previous = first_prev_hash = ""
    broken = None
    for position, raw in enumerate(rows):
        row = _copy_row(raw)
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
            fast = orjson.dumps({
                "occurred_at": occurred_at, "actor": actor, "actor_org": actor_org, "action": action, "case": case,
                "object_type": object_type, "object_id": object_id, "ip": ip, "side": side, "data": load_data(text),
                "prev_hash": prev_hash}, option=_SORT_KEYS)
            digest = "" if b"e+" in fast else hashlib.sha256(fast).hexdigest()
        except orjson.JSONEncodeError:
            digest = ""
        if digest != stored and not _reference_holds(row):
            broken = (position, event_id, HASH)
            break
        previous = stored
    found = []
    for head in heads:
        position = bisect.bisect_left(ids, head)
        if position < len(ids):
            found.append((position, ids[position], stored_hashes[position]))
    return CopyCheck(len(rows), ids[0] if ids else 0, first_prev_hash, previous, broken, found)
