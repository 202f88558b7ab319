"""Reported items: adding them (from a reviewed list), removing them from a draft, deciding their outcomes."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User

from .. import audit, case_events, permissions, queries
from ..choices import Outcome, Status
from ..item_lists import AcceptedRow
from ..link_identity import MAX_WARNING_LENGTH, TargetError, normalise_target
from ..models import Case, ReportedItem

MAX_ITEMS_PER_CASE = 20000


def append_items(*, actor: User, case: Case, rows: Iterable[AcceptedRow]) -> list[AcceptedRow]:
    """Add the rows not yet in the case, after its last item, and return the rows added. The caller holds the case's
    row lock."""
    existing = set(case.items.values_list("key", flat=True))
    start = case.items.count()
    added: list[AcceptedRow] = []
    for row in rows:
        if row.key in existing:
            continue
        existing.add(row.key)
        added.append(row)
    if start + len(added) > MAX_ITEMS_PER_CASE:
        raise ValidationError(_("A case holds at most %(max)d items.") % {"max": MAX_ITEMS_PER_CASE})
    if added:
        _insert_items(case=case, start=start, rows=added)
        audit.record(actor=actor, action="items.added", case=case,
                     data={"count": len(added), "targets": [row.target for row in added[:50]]})
    return added


# The columns an added item is written with, in this order; the rest (decided_by, decided_at) stay NULL.
_CONSTANT_COLUMNS = ("case", "outcome", "outcome_reason", "created_at")
_ROW_COLUMNS = ("position", "target", "key", "kind", "note", "warning")


def _insert_items(*, case: Case, start: int, rows: Sequence[AcceptedRow]) -> None:
    """One INSERT of the rows as items at positions start+1, start+2, ... with the values `ReportedItem(...).save()`
    would write (pending, no reason, created now). Written as SQL, not `bulk_create`: building and preparing field by
    field 10,000 model instances cost 2.3-2.8 s of CPU (liaison_bench), the INSERT itself 0.1-0.2 s in the database.
    On PostgreSQL the rows go as one array per column (`unnest`), else as one `executemany`."""
    meta = ReportedItem._meta
    by_name = {column.name: column for column in meta.concrete_fields}
    columns = [by_name[name] for name in (*_CONSTANT_COLUMNS, *_ROW_COLUMNS)]
    constants = [column.get_db_prep_save(value, connection) for column, value in zip(
        columns[:len(_CONSTANT_COLUMNS)], (case.pk, Outcome.PENDING.value, "", timezone.now()), strict=True)]
    # One list per column, in the order of _ROW_COLUMNS.
    arrays: list[list[Any]] = [list(range(start + 1, start + len(rows) + 1)), [row.target for row in rows],
                               [row.key for row in rows], [row.kind for row in rows], [row.note for row in rows],
                               [row.warning[:MAX_WARNING_LENGTH] for row in rows]]
    quote = connection.ops.quote_name
    names = ", ".join(quote(column.column) for column in columns)
    table = quote(meta.db_table)
    # Only the model's own table and column names and their types are written into the text; every value is bound.
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            casts = [column.db_type(connection) for column in columns]
            constant_sql = ", ".join(f"%s::{cast}" for cast in casts[:len(_CONSTANT_COLUMNS)])
            array_sql = ", ".join(f"%s::{cast}[]" for cast in casts[len(_CONSTANT_COLUMNS):])
            sql = f"INSERT INTO {table} ({names}) SELECT {constant_sql}, * FROM unnest({array_sql})"  # noqa: S608
            cursor.execute(sql, [*constants, *arrays])
        else:
            placeholders = ", ".join(["%s"] * len(columns))
            sql = f"INSERT INTO {table} ({names}) VALUES ({placeholders})"  # noqa: S608
            cursor.executemany(sql, [(*constants, *values) for values in zip(*arrays, strict=True)])


@transaction.atomic
def add_items(*, actor: User, case: Case, rows: Iterable[AcceptedRow]) -> list[AcceptedRow]:
    """The accepted rows of a reviewed list, returning those added (a row whose target the case already reports is
    not); a list without one (every row rejected) adds nothing and says so."""
    case = Case.objects.select_for_update().get(pk=case.pk)
    permissions.ensure_can_view(actor, case)
    if not permissions.can_edit_items(actor, case):
        raise PermissionDenied(_("Only the requesting authority adds items, while the case is open."))
    rows = list(rows)
    if not rows:
        raise ValidationError(_("No row was accepted. Correct the list and preview again."))
    return append_items(actor=actor, case=case, rows=rows)


@transaction.atomic
def remove_item(*, actor: User, item: ReportedItem) -> None:
    """Items leave a case only while it is a draft; afterwards they stay and get an outcome."""
    case = Case.objects.select_for_update().get(pk=item.case_id)
    permissions.ensure_can_view(actor, case)
    if not permissions.can_edit_items(actor, case) or case.status != Status.DRAFT:
        raise PermissionDenied(_("Items can be removed only from a draft."))
    audit.record(actor=actor, action="item.removed", case=case, obj=item, data={"target": item.target})
    item.delete()


@transaction.atomic
def set_item_outcomes(*, actor: User, case: Case, item_ids: Sequence[int], outcome: str, reason: str = "") -> int:
    """One outcome and reason for one or many items of a case."""
    case = _case_to_decide(actor=actor, case=case, outcome=outcome, reason=reason)
    ids = list(case.items.filter(pk__in=item_ids).order_by("position", "id").values_list("pk", flat=True))
    return _decide(actor=actor, case=case, item_ids=ids, outcome=outcome, reason=reason)


@transaction.atomic
def set_outcome_of_matching_items(*, actor: User, case: Case, show: str, search: str, expected: int, outcome: str,
                                  reason: str = "") -> int:
    """One outcome for every item matching the case page's filter (`show`, `search`: see
    `queries.case_items`), as many as the person saw: if the filter now matches another number of items (someone
    decided or added some meanwhile), nothing changes and the person is told to look again."""
    case = _case_to_decide(actor=actor, case=case, outcome=outcome, reason=reason)
    ids = list(queries.case_items(case, show=show, search=search).values_list("pk", flat=True))
    if len(ids) != expected:
        raise ValidationError(
            _("The filter now matches %(now)d items, not the %(seen)d you saw; nothing was changed. Look at them "
              "again and apply.") % {"now": len(ids), "seen": expected})
    return _decide(actor=actor, case=case, item_ids=ids, outcome=outcome, reason=reason,
                   matching={"show": show, "search": search})


def _case_to_decide(*, actor: User, case: Case, outcome: str, reason: str) -> Case:
    """The case, locked (decisions on it queue behind each other), once the person and the outcome may decide."""
    case = Case.objects.select_for_update().get(pk=case.pk)
    permissions.ensure_can_view(actor, case)
    if not permissions.can_decide_items(actor, case):
        raise PermissionDenied(_("Only platform staff working the case decide items, while it is in progress."))
    if outcome not in Outcome.values or outcome == Outcome.PENDING:
        raise ValidationError(_("Choose an outcome."))
    if outcome != Outcome.REMOVED and not reason.strip():
        raise ValidationError(_("Give a reason for this outcome."))
    return case


def _decide(*, actor: User, case: Case, item_ids: list[int], outcome: str, reason: str,
            matching: dict[str, str] | None = None) -> int:
    """One UPDATE for all the items (they take the same values) and one audit event."""
    if not item_ids:
        raise ValidationError(_("Select at least one item of this case."))
    ReportedItem.objects.filter(case=case, pk__in=item_ids).update(
        outcome=outcome, outcome_reason=reason.strip(), decided_by=actor, decided_at=timezone.now())
    data: dict[str, object] = {"outcome": outcome, "reason": reason.strip(), "count": len(item_ids),
                               "items": item_ids[:200]}
    if matching is not None:
        data["matching"] = matching
    audit.record(actor=actor, action="items.decided", case=case, data=data)
    case_events.announce(case=case, event=case_events.CaseEvent.ITEM_OUTCOME_SET,
                         data={"outcome": outcome, "count": len(item_ids), "items": item_ids[:200]})
    return len(item_ids)


@dataclass
class Rekeyed:
    cases: int = 0
    changed: int = 0
    refused: list[tuple[str, int]] = field(default_factory=list)  # (reference, item position): rules now refuse
    kept_apart: list[tuple[str, int]] = field(default_factory=list)  # would now merge with an earlier item


def rekey_items(*, case_ids: Iterable[int] | None = None) -> Rekeyed:
    """Recompute every item's normalised key and warning from its target, after the link rules changed.

    Idempotent and safe to run again. An item whose target the rules now refuse keeps its key; an item whose new
    key an earlier item of the same case already holds keeps its old key too (the one-key-per-case rule holds),
    and both are listed for a person to look at. Each case that changed gets one audit event.
    """
    result = Rekeyed()
    ids = list(case_ids) if case_ids is not None else list(
        ReportedItem.objects.order_by().values_list("case_id", flat=True).distinct())
    for case_id in sorted(set(ids)):
        with transaction.atomic():
            case = Case.objects.select_for_update().get(pk=case_id)
            items = list(case.items.order_by("position", "id"))
            claimed: set[str] = set()
            planned: list[tuple[ReportedItem, str, str]] = []
            for item in items:
                try:
                    normalised = normalise_target(item.target)
                except TargetError:
                    result.refused.append((case.reference, item.position))
                    claimed.add(item.key)
                    continue
                key = normalised.key
                if key in claimed:
                    result.kept_apart.append((case.reference, item.position))
                    key = item.key
                claimed.add(key)
                warning = normalised.warning[:MAX_WARNING_LENGTH]
                if (key, warning) != (item.key, item.warning):
                    planned.append((item, key, warning))
            if not planned:
                continue
            # Two steps, so that swapping keys between items never meets the unique (case, key) constraint.
            for item, _key, _warning in planned:
                item.key = f"rekey:{item.pk}"
            ReportedItem.objects.bulk_update([p[0] for p in planned], ["key"], batch_size=1000)
            for item, key, warning in planned:
                item.key, item.warning = key, warning
            ReportedItem.objects.bulk_update([p[0] for p in planned], ["key", "warning"], batch_size=1000)
            audit.record(action="items.rekeyed", case=case, data={"count": len(planned)})
            result.cases += 1
            result.changed += len(planned)
    return result
