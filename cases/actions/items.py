"""Reported items: adding them (from a reviewed list), removing them from a draft, deciding their outcomes."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User

from .. import audit, case_events, permissions, queries
from ..choices import Outcome, Status
from ..item_lists import AcceptedRow
from ..link_identity import MAX_WARNING_LENGTH, TargetError, normalise_target
from ..models import Case, ReportedItem

MAX_ITEMS_PER_CASE = 20000


def append_items(*, actor: User, case: Case, rows: Iterable[AcceptedRow]) -> list[ReportedItem]:
    """Add the rows not yet in the case, after its last item. The caller holds the case's row lock."""
    existing = set(case.items.values_list("key", flat=True))
    start = case.items.count()
    new_items: list[ReportedItem] = []
    for row in rows:
        if row.key in existing:
            continue
        existing.add(row.key)
        new_items.append(ReportedItem(case=case, position=start + len(new_items) + 1, target=row.target,
                                      key=row.key, kind=row.kind, note=row.note,
                                      warning=row.warning[:MAX_WARNING_LENGTH]))
    if start + len(new_items) > MAX_ITEMS_PER_CASE:
        raise ValidationError(_("A case holds at most %(max)d items.") % {"max": MAX_ITEMS_PER_CASE})
    created = ReportedItem.objects.bulk_create(new_items, batch_size=1000)
    if created:
        audit.record(actor=actor, action="items.added", case=case,
                     data={"count": len(created), "targets": [i.target for i in created[:50]]})
    return created


@transaction.atomic
def add_items(*, actor: User, case: Case, rows: Iterable[AcceptedRow]) -> list[ReportedItem]:
    """The accepted rows of a reviewed list; a list without one (every row rejected) adds nothing and says so."""
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
