"""Other open cases reporting the same targets (deconfliction), as far as a person may know of them, and which
targets a case already reports: read for the case page, the intake preview and a list added to a case."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Exists, F, Lookup, OuterRef, Q, QuerySet
from django.db.models.lookups import In
from django.db.models.sql.compiler import SQLCompiler

from accounts.models import User
from accounts.roles import OrgKind

from .. import permissions
from ..choices import OPEN_STATUSES, TLP
from ..kept_statements import run_prepared
from ..models import Case, ReportedItem


@dataclass
class Sighting:
    reference: str
    organisation: str
    same_org: bool


class Sightings(list[Sighting]):
    """The other open cases reporting one target that the person may open, and how many more their side has that
    they may not (`outside`, say a moderator's case of another queue): counted, never named."""

    outside: int = 0


def deconfliction(user: User, keys: list[str], exclude_case: Case | None = None) -> dict[str, Sightings]:
    """Other open cases reporting the same targets, as far as this person may know of them.

    Platform staff learn of every other open (non-RED) case their platform received, but only the ones they may
    open by reference and authority (a moderator's queues): the rest are a count. An authority learns only of
    its own earlier cases; another authority's case is never revealed to it. One query: whether each case may be
    opened is asked inside it, of the policy's own queryset. Its SQL is prepared once per process for the person's
    side and role, whether a case is excluded and the number of keys rounded up to a power of two
    (kept_statements.run_prepared): the organisation, membership, person, case and keys are bound.
    """
    if not keys:
        return {}
    member = permissions.member_of(user)
    if member is None:
        return {}
    wanted = sorted(set(keys))
    excluded = () if exclude_case is None else (exclude_case.pk,)
    if len(wanted) <= MAX_KEPT_KEYS:
        # Padded with the last key (a repeated value changes nothing in IN): a few statements, not one per count.
        size = 1 << (len(wanted) - 1).bit_length()
        rows = run_prepared(_sightings_query, (member.shape, size, bool(excluded)),
                            *member.ids, *excluded, *wanted, *[wanted[-1]] * (size - len(wanted)))
    else:
        rows = list(_sightings_query((member.shape, len(wanted), bool(excluded)), *member.ids, *excluded, *wanted))
    found: dict[str, Sightings] = defaultdict(Sightings)
    outside: dict[str, set[int]] = defaultdict(set)
    for key, case_id, reference, org_name, org_id, may_open in rows:
        sightings = found[key]
        if not may_open:
            outside[key].add(case_id)
            continue
        sighting = Sighting(reference, org_name, org_id == member.organisation_id)
        if sighting not in sightings:
            sightings.append(sighting)
    for key, case_ids in outside.items():
        found[key].outside = len(case_ids)
    return dict(found)


# Beyond this many distinct keys (an intake of thousands of lines), the sightings run through the ORM as built, the
# keys bound as one array on PostgreSQL (InArray).
MAX_KEPT_KEYS = 512


class InArray(Lookup):
    """`column IN (values)`, written on PostgreSQL as `column IN (SELECT unnest(%s::<type>[]))` with the values bound
    as one array parameter.

    For the thousands of keys of an intake: Django's `__in` prepares, resolves and binds every value on its own (0.9 s
    of the preview's CPU for 10,000 keys) and writes a statement that grows with them; `= ANY(array)` binds one
    parameter, but PostgreSQL then reads the whole table (200 ms for 1,000,000 items), where the set-returning
    `unnest` lets it look each value up in the column's index (`item_key`, which carries the case id). The values
    are taken as the column stores them (here str keys); on other databases it is Django's `In`, as before."""

    lookup_name = "in_array"
    prepare_rhs = False

    def get_prep_lookup(self) -> list[Any]:
        return list(self.rhs)

    def as_sql(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper) -> tuple[str, Any]:
        return In(self.lhs, self.rhs).as_sql(compiler, connection)

    def as_postgresql(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper) -> tuple[str, Any]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        array_type = self.lhs.output_field.db_type(connection)
        return f"{lhs} IN (SELECT unnest(%s::{array_type}[]))", (*lhs_params, self.rhs)


def keys_already_in(case: Case, keys: list[str]) -> set[str]:
    """Which of these keys the case already reports (a list added to it skips them): the keys bound as one array on
    PostgreSQL (InArray), however many."""
    if not keys:
        return set()
    return set(case.items.filter(InArray(F("key"), sorted(set(keys)))).values_list("key", flat=True))


def _sightings_query(key: tuple[tuple[str, str], int, bool], *args: Any) -> QuerySet[ReportedItem, tuple[Any, ...]]:
    """The sightings' statement for (the member's shape, the number of keys, whether a case is excluded), from its
    arguments: the member's ids (permissions.Member.ids), the excluded case if any, then the keys."""
    shape, size, excluding = key
    ids, rest = args[:len(args) - size - excluding], args[len(args) - size - excluding:]
    organisation_id = ids[0]
    excluded, keys = (rest[0], rest[1:]) if excluding else (None, rest)
    matching = InArray(F("key"), keys) if size > MAX_KEPT_KEYS else Q(key__in=keys)
    items = ReportedItem.objects.filter(matching, case__status__in=OPEN_STATUSES).exclude(case__tlp=TLP.RED)
    if excluded is not None:
        items = items.exclude(case_id=excluded)
    if shape[0] == OrgKind.AUTHORITY:
        items = items.filter(case__requesting_org_id=organisation_id)
    else:
        items = items.filter(case__responding_org_id=organisation_id)
    openable = Exists(permissions.cases_visible_to_inside_of(shape, *ids).filter(pk=OuterRef("case_id")))
    return items.annotate(may_open=openable).values_list(
        "key", "case_id", "case__reference", "case__requesting_org__name", "case__requesting_org_id", "may_open"
    ).order_by("case__reference")[:5000]
