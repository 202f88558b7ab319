"""The audit chain at scale: batched appends (`record_many`) and the fast verification path, which must be exact,
never probable: it agrees byte for byte with the reference canonical form on awkward values, falls back to the
reference where it cannot, and still names the first broken event among many, in blocks, in worker processes."""

from __future__ import annotations

import json
import math
from collections import deque
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from django.db import connection, transaction
from django.db.models import F

from cases import audit, audit_stream
from cases.audit_hash import (
    COPY_COLUMNS,
    GENESIS,
    HASH,
    HASHED_FIELDS,
    LINK,
    _check_block,
    _check_row_by_row,
    canonical_row,
    check_copy_rows,
    fast_hash,
    hash_row,
    load_data,
    read_data,
)
from cases.models import AuditEvent
from tests.audit_triggers import append_only_suspended
from tests.factories import World

from .conftest import make_case, run_together

pytestmark = pytest.mark.django_db

postgresql_only = pytest.mark.skipif(connection.vendor != "postgresql",
                                     reason="needs PostgreSQL (COPY, row locks); CI runs it there")

# Values events hold, and the awkward ones: non-ASCII, every escape, nesting, floats of every shape, integers past
# 64 bits, None, times as strings.
TRICKY: list[dict[str, object]] = [
    {},
    {"text": "ünïcödé ✓ 😀 \u2028\u2029 ß", "ключ": "значение", "日本": ["語", {"ü": None}]},
    {"quotes": 'say "hi" \\ / \\n', "controls": "\x01\x1f\x7f\b\f\n\r\t", "tab\tkey": "a\tb"},
    {"nested": {"list": [1, 2.5, None, True, False, [], {}], "deep": [[[[{"x": [1]}]]]]}},
    {"floats": [0.1, 1 / 3, 2.5, 1.0, -1.5, 1e-05, 2.5e-07, 1e-4, 123456789.123, 1e15, 5e-324]},
    {"large floats": [1e16, 1e20, -2.5e30, 1.7976931348623157e308], "negative zero": -0.0, "zero": 0.0},
    {"ints": [0, -1, 2**31, 2**53 + 1, 2**63 - 1, -(2**63), 2**64 - 1]},
    {"big ints": [2**64, -(2**63) - 1, 10**30, -(10**40)], "exactly 19 digits": 1234567890123456789},
    {"when": "2026-03-01T10:00:00.123456+00:00", "due_at": "2026-03-01T10:00:00+00:00", "day": "2026-03-01"},
    {"sha256": "3e" * 32, "digits in text": "0" * 40, "e+ in text": "1e+5 and e+", "ip": "192.0.2.1"},
    {"B": 1, "a": 2, "é": 3, "Z": 4, "😀": 5, "\uffff": 6, "": 7, " ": 8},
]


def record_tricky(world: World) -> list[AuditEvent]:
    case = make_case(world)
    return audit.record_many([audit.Entry(action="test.tricky", actor=world.legal, case=case, data=data,
                                          ip="2001:DB8::1")
                              for data in TRICKY])


def reports_agree(*reports: audit.ChainReport) -> None:
    first = reports[0]
    for report in reports[1:]:
        assert (report.checked, report.broken_at, report.reason, report.anchors, report.latest, report.problems) == (
            first.checked, first.broken_at, first.reason, first.anchors, first.latest, first.problems)


def reference_report() -> audit.ChainReport:
    """What the ORM walk (the reference reading, every digest through `canonical_row` when the fast one differs)
    finds."""
    stored, problems = audit.stored_anchors()
    walk = audit._Walk(deque(sorted(stored, key=lambda a: (a.head_event_id, a.event_count, a.sequence))),
                       problems)
    return walk.rows(audit._rows()) or walk.end()


# --- The fast form against the reference, without a database -------------------------------------------------


def same(a: object, b: object) -> bool:
    """Equal values of the same types, all the way down (1 and 1.0 and True differ; so do 0.0 and -0.0)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)  # type: ignore[index]
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))  # type: ignore[arg-type]
    if isinstance(a, float):
        return math.copysign(1, a) == math.copysign(1, b) and (a == b or a != a and b != b)  # type: ignore[arg-type]
    return a == b


OTHER_VALUES = [{"value": value} for value in (1e-7, 3.14e-10, 6.02e23, 1e300, -1e-300, 0.5, 100.0, 2**70,
                                                -(2**70), "x" * 3000, float("nan"), float("inf"))]


@pytest.mark.parametrize("data", TRICKY + OTHER_VALUES)
def test_the_fast_form_is_the_reference_form_or_is_not_trusted(data):
    """Byte for byte alike, except floats under 1e-4 (json writes 1e-05, orjson 0.00001) and integers past 64 bits
    (orjson refuses them: no digest). A different fast digest is never trusted: the reference decides."""
    when = datetime(2026, 3, 1, 10, 0, 0, 120000, tzinfo=UTC)
    fields = (when, 7, None, "test.tricky", 3, "Case", "3", "2001:db8::1", "", data, GENESIS)
    if fast_hash(when.isoformat(), *fields[1:]) == hash_row(*fields):
        return
    # What makes the difference: tiny or non-finite floats, integers past 64 bits.
    numbers = [v for v in _leaves(data) if isinstance(v, float | int) and not isinstance(v, bool)]
    assert any(isinstance(v, float) and (abs(v) < 1e-4 or not math.isfinite(v)) and v != 0
               or isinstance(v, int) and not -(2**63) <= v < 2**64 for v in numbers), data


def _leaves(value: object) -> list[object]:
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in _leaves(item)]
    if isinstance(value, list):
        return [leaf for item in value for leaf in _leaves(item)]
    return [value]


@pytest.mark.parametrize("data", TRICKY + OTHER_VALUES)
def test_data_is_read_as_the_orm_reads_it(data):
    """`load_data` (orjson) gives the values Django's JSONField gives, types included; the one exception, integers
    past 64 bits, comes back as floats that the fast form writes with "e+" (so it is not trusted)."""
    for text in (json.dumps(data), json.dumps(data, ensure_ascii=False), json.dumps(data, indent=1)):
        fast, reference = load_data(text), read_data(text)
        if not same(fast, reference):
            big = [v for v in _leaves(reference) if isinstance(v, int) and not -(2**63) <= v < 2**64]
            assert big, (text, fast, reference)
            assert b"e+" in orjson.dumps(fast)


def test_data_that_is_not_json_is_read_as_the_orm_reads_it():
    for text in ("NaN", "[Infinity, -Infinity]", "not json", '{"a": 1e400}', "[" * 300 + "]" * 300):
        reference = read_data(text)
        assert canonical_row(datetime(2026, 1, 1, tzinfo=UTC), None, None, "x", None, "", "", None, "",
                             load_data(text), GENESIS) == canonical_row(
            datetime(2026, 1, 1, tzinfo=UTC), None, None, "x", None, "", "", None, "", reference, GENESIS)


def copy_line(event_id: int, fields: tuple, stored: str) -> bytes:
    """A row as PostgreSQL's COPY text writes it (NULL as "", the escapes it uses)."""

    def text(value: object) -> str:
        if value is None:
            return ""
        if isinstance(value, datetime):
            return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") + (
                f".{value.microsecond:06d}".rstrip("0") if value.microsecond else "") + "+00"
        value = json.dumps(value, ensure_ascii=False) if isinstance(value, dict) else str(value)
        for raw, escaped in (("\\", "\\\\"), ("\b", "\\b"), ("\f", "\\f"), ("\n", "\\n"), ("\r", "\\r"),
                             ("\t", "\\t"), ("\v", "\\v")):
            value = value.replace(raw, escaped)
        return value

    values = dict(zip(("id", *HASHED_FIELDS, "hash"), (event_id, *fields, stored), strict=True))
    return "\t".join(text(values[column]) for column in COPY_COLUMNS).encode()


@pytest.mark.parametrize("action", ["test.tricky", "test.tricky\tx\\y", 'say "hi"', "bell\x07"])
def test_blocks_of_copy_lines_verify_exactly_and_name_the_first_break(action):
    """Plain texts take the fast path (the canonical form from the COPY bytes), texts with escapes or quotes the row
    by row reading, a control character the reference; each verifies exactly and names the first break."""
    moments = [datetime(2026, 3, 1, 10, 0, 0, us, tzinfo=UTC) for us in (0, 1, 10, 100, 1000, 10000, 120000, 999999)]
    rows, previous = [], GENESIS
    for n, data in enumerate(TRICKY * 3):
        fields = (moments[n % 8], n % 5 or None, 2, action, None, "Case", str(n), "192.0.2.1", "",
                  read_data(json.dumps(data)), previous)
        previous = hash_row(*fields)
        rows.append((100 + n, fields, previous))
    block = b"\n".join(copy_line(*row) for row in rows) + b"\n"
    check = check_copy_rows(block, heads=[100, 105, 999])
    assert check is not None and check.broken is None
    assert (check.count, check.first_id, check.first_prev_hash, check.last_hash) == (len(rows), 100, GENESIS,
                                                                                    previous)
    assert check.heads == [(0, 100, rows[0][2]), (5, 105, rows[5][2])]

    # A changed value in the middle: named, with nothing after it checked.
    event_id, fields, stored = rows[17]
    rows[17] = (event_id, (*fields[:9], {"changed": True}, fields[10]), stored)
    check = check_copy_rows(b"\n".join(copy_line(*row) for row in rows) + b"\n")
    assert check is not None and check.broken == (17, 117, "hash")
    # A row removed: the next one's link is broken.
    del rows[17]
    check = check_copy_rows(b"\n".join(copy_line(*row) for row in rows) + b"\n")
    assert check is not None and check.broken == (17, 118, "link")


def test_the_fast_form_takes_no_shortcut_a_changed_row_could_use():
    """What the fast path writes as it is (texts without quotes or backslashes, ids, the time) can only match the
    stored hash when it is the reference form: a control character, a quote, a time PostgreSQL does not write, all
    end at the reference, which names the change."""
    fields = (datetime(2026, 3, 1, tzinfo=UTC), 7, None, "case.created", 3, "Case", "3", "192.0.2.1", "",
              {"note": "x"}, GENESIS)
    stored = hash_row(*fields)
    assert check_copy_rows(copy_line(1, fields, stored)).broken is None
    for changed in ((*fields[:3], "case.created\x01", *fields[4:]), (*fields[:5], "Case\"", *fields[6:]),
                    (*fields[:8], "platform", *fields[9:]), (*fields[:9], {"note": "y"}, GENESIS)):
        check = check_copy_rows(copy_line(1, changed, stored))
        assert check is not None and check.broken == (0, 1, "hash"), changed
    # The same values spelled in a way PostgreSQL never writes them: the ORM reads the block.
    line = copy_line(1, fields, stored)
    assert check_copy_rows(line.replace(b"00:00:00+00", b"00:00:00.+00")) is None


def test_unusual_copy_lines_send_the_block_to_the_orm():
    fields = (datetime(2026, 3, 1, tzinfo=UTC), None, None, "x", None, "", "", None, "", {}, GENESIS)
    line = copy_line(1, fields, hash_row(*fields))
    assert check_copy_rows(line) is not None
    for unusual in (line.replace(b"+00\t", b"+07\t", 1), line.replace(b"2026-03-01 00:00:00+00", b"2026-03-01 00:00:00+00 BC", 1),
                    line.replace(b"2026-03-01", b"12026-03-01", 1), line.replace(b"2026-03-01 00:00:00+00", b"infinity"),
                    line.replace(b"\tx\t", b"\tx\\N\t"), line + b"\tmore"):
        assert check_copy_rows(unusual) is None


# --- A whole block at once (`_check_block`) against the row loop ------------------------------------------------


PLAIN_DATA: list[dict[str, object]] = [
    {}, {"note": ""}, {"point": "half"}, {"text": "ünïcödé ✓ 😀", "n": 3, "at": "2026-03-01T10:00:00+00:00"},
    {"nested": {"b": [1, 2.5, None, True, {}]}, "a": "x", "B": -7}, {"quote": 'say "hi" \\ / \n\t', "e": "1e5"},
]


def plain_rows(count: int) -> list[tuple[int, tuple, str]]:
    """Rows as most of a chain holds them: times with no fraction and with 1 to 6 digits of it, NULL ids and
    addresses, texts without quotes, `data` with escapes and repeated values."""
    moments = [datetime(2026, 3, 1, 10, 0, n, us, tzinfo=UTC)
               for n, us in enumerate((0, 1, 10, 100, 1000, 10000, 120000, 999999, 123456))]
    rows, previous = [], GENESIS
    for n in range(count):
        fields = (moments[n % len(moments)], n % 3 or None, 2 if n % 4 else None, "evidence.viewed", n % 5 or None,
                  "Evidence", str(n), "192.0.2.1" if n % 2 else None, "platform" if n % 3 == 0 else "",
                  read_data(json.dumps(PLAIN_DATA[n % len(PLAIN_DATA)])), previous)
        previous = hash_row(*fields)
        rows.append((100 + n, fields, previous))
    return rows


def copy_block(rows: list[tuple[int, tuple, str]]) -> bytes:
    return b"\n".join(copy_line(*row) for row in rows) + b"\n"


def test_a_whole_block_is_checked_at_once_as_the_row_loop_checks_it():
    rows = plain_rows(90)
    block = copy_block(rows)
    heads = [100, 137, 189, 400]
    whole = _check_block(block, heads, None)
    assert whole is not None, "the block was not checked at once"
    assert whole == _check_block(block, heads, 90) == _check_row_by_row(block, heads) == check_copy_rows(block, heads)
    assert (whole.count, whole.first_id, whole.first_prev_hash, whole.last_hash, whole.broken) == (
        90, 100, GENESIS, rows[-1][2], None)
    assert whole.heads == [(0, 100, rows[0][2]), (37, 137, rows[37][2]), (89, 189, rows[89][2])]
    assert _check_block(block, (), 91) is None  # a count that is not the block's: the row loop counts


def _edited_data_byte(rows: list[tuple[int, tuple, str]]) -> bytes:
    block = copy_block(rows)
    line = copy_line(*rows[39])
    assert b"\\u00fc" not in line and "ünïcödé".encode() in line
    return block.replace(line, line.replace("ünïcödé".encode(), "ünïcödë".encode()))


def _changed_time(rows: list[tuple[int, tuple, str]]) -> bytes:
    event_id, fields, stored = rows[39]
    rows[39] = (event_id, (fields[0] + timedelta(microseconds=1), *fields[1:]), stored)
    return copy_block(rows)


def _reordered(rows: list[tuple[int, tuple, str]]) -> bytes:
    """Events 139 and 140 trade places: each id now holds the other's fields and hashes."""
    (first_id, first, first_hash), (second_id, second, second_hash) = rows[39], rows[40]
    rows[39], rows[40] = (first_id, second, second_hash), (second_id, first, first_hash)
    return copy_block(rows)


def _deleted(rows: list[tuple[int, tuple, str]]) -> bytes:
    del rows[39]
    return copy_block(rows)


@pytest.mark.parametrize(("change", "named"), [
    (_edited_data_byte, (39, 139, HASH)),
    (_changed_time, (39, 139, HASH)),
    (_reordered, (39, 139, LINK)),
    (_deleted, (39, 140, LINK)),
], ids=["a byte of data edited", "a time changed", "two events reordered", "an event deleted"])
def test_a_change_is_named_at_its_event_when_blocks_are_checked_at_once(change, named):
    """The whole-block check never answers for a block with a change in it; the row loop names the event."""
    rows = plain_rows(90)
    assert _check_block(copy_block(rows), (), None) is not None
    block = change(rows)
    assert _check_block(block, (), None) is None
    check = check_copy_rows(block)
    assert check is not None and check.broken == named


# --- Batched appends -----------------------------------------------------------------------------------------


def test_record_many_appends_a_chain_that_verifies(world):
    first = audit.record(action="test.before", actor=world.legal)
    events = record_tricky(world)
    assert [e.pk for e in events] == sorted(e.pk for e in events)
    assert events[0].prev_hash == AuditEvent.objects.filter(pk__lt=events[0].pk).order_by("-pk")[0].hash
    assert all(later.prev_hash == earlier.hash for earlier, later in zip(events, events[1:], strict=False))
    assert first.pk < events[0].pk
    stored = list(AuditEvent.objects.filter(action="test.tricky").order_by("id"))
    assert [e.hash for e in stored] == [e.hash for e in events]
    assert all(audit.compute_hash(e) == e.hash for e in stored)  # what was stored hashes as what was recorded
    assert stored[0].actor_org_id == world.platform.pk and stored[0].ip == "2001:db8::1"
    report = audit.verify_chain()
    assert report.ok and report.checked == AuditEvent.objects.count()
    assert audit.record_many([]) == []


def test_numbers_postgresql_would_give_back_differently_are_stored_as_it_reads_them(world):
    """jsonb keeps numbers as decimals: 1e+20 comes back as 100000000000000000000 and -0.0 as 0.0. They are stored
    (and hashed) in that form, so the chain verifies on PostgreSQL as on SQLite."""
    event = audit.record(action="test.numbers", actor=world.legal,
                         data={"big": 1e20, "huge": -2.5e30, "negative zero": -0.0, "small": 1e-05, "half": 0.5})
    event.refresh_from_db()
    assert event.data == {"big": 10**20, "huge": -(25 * 10**29), "negative zero": 0.0, "small": 1e-05, "half": 0.5}
    assert math.copysign(1, event.data["negative zero"]) == 1
    assert audit.verify_chain().ok


@postgresql_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_batches_and_single_appends_never_fork_the_chain(world: World):
    def batch(n: int) -> object:
        return audit.record_many([audit.Entry(action=f"test.batch{n}", data={"i": i}) for i in range(50)])

    def singles(n: int) -> object:
        return [audit.record(action=f"test.single{n}", data={"i": i}) for i in range(20)]

    results = run_together([lambda: batch(1), lambda: singles(1), lambda: batch(2), lambda: singles(2)])
    assert all(isinstance(r, list) for r in results), results
    hashes = list(AuditEvent.objects.order_by("id").values_list("prev_hash", "hash"))
    assert all(later[0] == earlier[1] for earlier, later in zip(hashes, hashes[1:], strict=False))
    assert len({prev for prev, _hash in hashes}) == len(hashes)  # no two events follow the same one
    # Each batch is contiguous: one lock, one insert.
    for n in (1, 2):
        ids = list(AuditEvent.objects.filter(action=f"test.batch{n}").order_by("id").values_list("id", flat=True))
        assert ids == list(range(ids[0], ids[0] + 50))
    assert audit.verify_chain().ok


# --- The fast verification names the same event as the reference ----------------------------------------------------


def many(world: World, count: int) -> list[int]:
    record_tricky(world)
    start = datetime(2026, 3, 1, tzinfo=UTC)
    entries = [audit.Entry(action="evidence.viewed", actor=world.legal, data={"n": n, "at": str(start)})
               for n in range(count)]
    audit.record_many(entries)
    return list(AuditEvent.objects.order_by("id").values_list("id", flat=True))


@pytest.fixture
def small_blocks(monkeypatch):
    """Blocks of 40 rows and COPY statements of 120, so a few hundred events cross both boundaries."""
    monkeypatch.setattr(audit_stream, "BLOCK_ROWS", 40)
    monkeypatch.setattr(audit_stream, "COPY_ROWS", 120)


@pytest.mark.parametrize("workers", [0, 2])
def test_a_corrupted_event_among_many_is_named_by_every_path(world, small_blocks, workers):
    ids = many(world, 400)
    assert audit.verify_chain(workers=workers).ok
    for victim_index in (len(ids) // 2, 40, 119, 120, len(ids) - 1):  # inside a block, at block and batch edges
        victim = ids[victim_index]
        with append_only_suspended():
            original = AuditEvent.objects.filter(pk=victim).values_list("data", flat=True).get()
            with connection.cursor() as cursor:
                cursor.execute("UPDATE cases_auditevent SET data = %s WHERE id = %s",
                               [json.dumps({"n": -1}), victim])
        fast = audit.verify_chain(workers=workers)
        assert (fast.broken_at, fast.checked) == (victim, victim_index)
        assert fast.reason == "stored hash does not match the event's contents"
        reports_agree(fast, reference_report())
        with append_only_suspended(), connection.cursor() as cursor:
            cursor.execute("UPDATE cases_auditevent SET data = %s WHERE id = %s", [json.dumps(original), victim])
    assert audit.verify_chain(workers=workers).ok


@pytest.mark.parametrize("workers", [0, 2])
def test_a_deleted_event_and_checkpoints_are_reported_alike(world, small_blocks, workers):
    from cases.actions.checkpoints import make_checkpoint
    from cases.models import AuditCheckpoint

    many(world, 150)
    make_checkpoint(reason=AuditCheckpoint.Reason.SCHEDULED)
    ids = many(world, 100)
    make_checkpoint(reason=AuditCheckpoint.Reason.SCHEDULED)
    report = audit.verify_chain(workers=workers)
    assert report.ok and report.anchors == 2 and report.latest.sequence == 2
    reports_agree(report, reference_report())

    with append_only_suspended(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM cases_auditevent WHERE id = %s", [ids[200]])
    report = audit.verify_chain(workers=workers)
    assert report.broken_at == ids[201] and "prev_hash" in report.reason
    reports_agree(report, reference_report())

    # The tail removed and the hashes after the change recomputed: only the checkpoint sees it.
    with append_only_suspended(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM cases_auditevent WHERE id >= %s", [ids[200]])
    report = audit.verify_chain(workers=workers)
    assert report.broken_at is not None and "removed from the end" in report.reason
    reports_agree(report, reference_report())


def _edit_data(victim: int, _following: int) -> None:
    data = AuditEvent.objects.filter(pk=victim).values_list("data", flat=True).get()
    data["at"] = data["at"].replace(":00:00+", ":00:01+")  # one character
    with connection.cursor() as cursor:
        cursor.execute("UPDATE cases_auditevent SET data = %s WHERE id = %s", [json.dumps(data), victim])


def _move_time(victim: int, _following: int) -> None:
    AuditEvent.objects.filter(pk=victim).update(occurred_at=F("occurred_at") + timedelta(microseconds=1))


def _swap(victim: int, following: int) -> None:
    """The two events trade places: each id now holds the other's fields and hashes."""
    first, second = (AuditEvent.objects.filter(pk__in=[victim, following]).order_by("id")
                     .values(*HASHED_FIELDS, "hash"))
    AuditEvent.objects.filter(pk=victim).update(hash="")  # SQLite keeps hashes unique
    AuditEvent.objects.filter(pk=following).update(**first)
    AuditEvent.objects.filter(pk=victim).update(**second)


def _delete(victim: int, _following: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM cases_auditevent WHERE id = %s", [victim])


@pytest.mark.parametrize("workers", [0, 2])
@pytest.mark.parametrize(("change", "named_after", "reason"), [
    (_edit_data, 0, "stored hash does not match the event's contents"),
    (_move_time, 0, "stored hash does not match the event's contents"),
    (_swap, 0, "prev_hash does not match the previous event's hash"),
    (_delete, 1, "prev_hash does not match the previous event's hash"),
], ids=["a byte of data edited", "a time moved", "two events reordered", "an event deleted"])
def test_each_kind_of_change_is_named_at_its_event(world, small_blocks, workers, change, named_after, reason):
    """Inside a block and at the first row of one, on either database, whether this process or workers check."""
    ids = many(world, 300)
    assert audit.verify_chain(workers=workers).ok
    for victim_index in (150, 160):  # inside a block of 40, and the first row of the next
        victim = ids[victim_index]
        with transaction.atomic():
            with append_only_suspended():
                change(victim, ids[victim_index + 1])
            report = audit.verify_chain(workers=workers)
            assert (report.broken_at, report.checked, report.reason) == (
                ids[victim_index + named_after], victim_index, reason)
            reports_agree(report, reference_report())
            transaction.set_rollback(True)
    assert audit.verify_chain(workers=workers).ok


@postgresql_only
def test_the_copy_path_reads_awkward_rows_as_the_orm_does(world, small_blocks):
    """Awkward values through PostgreSQL's own COPY text: each block is checked fast, or sent to the ORM; the
    answer is the reference's either way."""
    events = record_tricky(world)
    report = audit.verify_chain(workers=0)
    assert report.ok
    reports_agree(report, reference_report())
    with append_only_suspended(), connection.cursor() as cursor:
        # A time moved by a microsecond, an address spelled otherwise: each is a change.
        cursor.execute("UPDATE cases_auditevent SET occurred_at = occurred_at + interval '1 microsecond' "
                       "WHERE id = %s", [events[3].pk])
    report = audit.verify_chain(workers=0)
    assert report.broken_at == events[3].pk
    reports_agree(report, reference_report())


# --- Workers reading their own ranges --------------------------------------------------------------------------------


@pytest.fixture
def own_streams(monkeypatch):
    """Records each time the workers read their own ranges (cases/audit_stream.py: _own_streams)."""
    calls: list[tuple[object, ...]] = []
    original = audit_stream._own_streams

    def recording(*args):
        calls.append(args)
        return original(*args)

    monkeypatch.setattr(audit_stream, "_own_streams", recording)
    return calls


def change_data(event_id: int, data: object) -> None:
    with transaction.atomic(), append_only_suspended(), connection.cursor() as cursor:
        cursor.execute("UPDATE cases_auditevent SET data = %s WHERE id = %s", [json.dumps(data), event_id])


@postgresql_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_workers_reading_their_own_ranges_find_what_the_reference_finds(world, small_blocks, own_streams):
    """Committed events, nothing written in this connection's transaction: each worker reads ranges of ids over its
    own connection. A change is named wherever it lies, at the borders of ranges and blocks too; a removed event
    and a removed tail are found; the answers are the reference's."""
    from cases.actions.checkpoints import make_checkpoint
    from cases.models import AuditCheckpoint

    many(world, 200)
    make_checkpoint(reason=AuditCheckpoint.Reason.SCHEDULED)
    many(world, 200)
    make_checkpoint(reason=AuditCheckpoint.Reason.SCHEDULED)
    ids = list(AuditEvent.objects.order_by("id").values_list("id", flat=True))
    report = audit.verify_chain(workers=2)
    assert report.ok and report.checked == len(ids) and report.anchors == 2 and report.latest.sequence == 2
    assert own_streams, "the workers did not read their own ranges"
    reports_agree(report, reference_report())

    ranges = 2 * audit_stream.RANGES_PER_WORKER
    span = ids[-1] - ids[0] + 1
    borders = sorted({ids[0] - 1 + span * n // ranges for n in range(1, ranges)})
    victims = [ids[0], ids[-1], ids[len(ids) // 2]] + [i for border in borders[:3] for i in (border, border + 1)]
    for victim in victims:
        if victim not in ids:
            continue
        original = AuditEvent.objects.filter(pk=victim).values_list("data", flat=True).get()
        change_data(victim, {"n": -1})
        report = audit.verify_chain(workers=2)
        assert (report.broken_at, report.checked) == (victim, ids.index(victim)), victim
        assert report.reason == "stored hash does not match the event's contents"
        reports_agree(report, reference_report())
        change_data(victim, original)
    assert audit.verify_chain(workers=2).ok

    with transaction.atomic(), append_only_suspended(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM cases_auditevent WHERE id = %s", [borders[1] + 1])
    report = audit.verify_chain(workers=2)
    assert report.broken_at == borders[1] + 2 and "prev_hash" in report.reason
    reports_agree(report, reference_report())

    with transaction.atomic(), append_only_suspended(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM cases_auditevent WHERE id > %s", [borders[1]])
    report = audit.verify_chain(workers=2)
    assert report.broken_at is not None and "removed from the end" in report.reason
    reports_agree(report, reference_report())


@postgresql_only
def test_a_connection_that_wrote_reads_the_chain_itself(world, small_blocks, own_streams):
    """Events this transaction wrote are invisible to any other connection: the chain is read on this one."""
    many(world, 100)
    report = audit.verify_chain(workers=2)
    assert report.ok and report.checked == AuditEvent.objects.count()
    assert not own_streams
