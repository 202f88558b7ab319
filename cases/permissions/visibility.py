"""Who sees which case: the organisation's scope, the role's baseline, and the people named on a case.

The baseline is a plain predicate on indexed columns of Case; guardian holds the exceptions (per-case grants, the
named people of a TLP:RED case). Each yes/no check is paired with the queryset it must agree with.
"""

from __future__ import annotations

import copy
from collections.abc import Container, Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from django.db import connections
from django.db.models import Q, QuerySet
from django.db.models.query import get_related_populators  # type: ignore[attr-defined]  # not in django-stubs
from django.http import Http404
from django.utils.translation import gettext as _

from accounts.models import Membership, User
from accounts.permissions import membership_of
from accounts.roles import OrgKind, Role

from ..choices import TLP, Status
from ..kept_statements import KeptStatements, run_kept_sql, run_prepared
from ..models import Case, CaseUserObjectPermission

VIEW_PERMISSION = "view_case"

AUTHORITY_WORKERS = (Role.LIAISON, Role.AUTHORITY_LEAD)
PLATFORM_WORKERS = (Role.MODERATOR, Role.TS_MANAGER)
PLATFORM_READERS_OF_EVERYTHING = (Role.TS_MANAGER, Role.LEGAL, Role.AUDITOR)


class InvalidTransition(Exception):
    """The case is not in a state where this move is possible; the message says why."""


def _membership(user: User) -> Membership | None:
    return membership_of(user)


def is_authority(membership: Membership | None) -> bool:
    return membership is not None and membership.organization.kind == OrgKind.AUTHORITY


def is_platform(membership: Membership | None) -> bool:
    return membership is not None and membership.organization.kind == OrgKind.PLATFORM


def side_of(user: User) -> str:
    membership = _membership(user)
    return membership.organization.kind if membership is not None else ""


# Up to this many grants are OR'ed in as a literal id list (the planner combines index scans); beyond it, as a
# semi-join on the grants table, so a T&S manager named on every TLP:RED case does not send thousands of ids.
INLINE_GRANTS = 100


def _grants(user_id: int) -> QuerySet[CaseUserObjectPermission]:
    return CaseUserObjectPermission.objects.filter(user_id=user_id, permission__codename=VIEW_PERMISSION)


def granted_case_ids(user: User) -> list[int]:
    """The cases named to this person through guardian (direct foreign-key table)."""
    return list(_grants(user.pk).values_list("content_object_id", flat=True))


# The statement reading a person's first INLINE_GRANTS + 1 granted ids, compiled once per process per database and
# person: its text and parameters are a function of exactly those two (the permission's codename and the limit are
# constants), so a kept statement is the one building it again would give. Only SQL is kept, never an id: the grants
# are read afresh on every call.
_GRANT_STATEMENTS: KeptStatements[tuple[str, tuple[Any, ...]]] = KeptStatements()


def _granted_ids(user: User) -> list[int]:
    database = CaseUserObjectPermission.objects.db

    def build() -> tuple[str, tuple[Any, ...]]:
        query = _grants(user.pk).values_list("content_object_id", flat=True)[:INLINE_GRANTS + 1].query
        sql, params = query.get_compiler(using=database).as_sql()
        return sql, tuple(params)

    sql, params = _GRANT_STATEMENTS.get((database, user.pk), build)
    return [row[0] for row in run_kept_sql(sql, params, database=database)]


def _granted_condition(user: User) -> Q | None:
    return _named_condition(user, _granted_ids(user))


def _named_condition(user: User, ids: list[int]) -> Q | None:
    if not ids:
        return None
    if len(ids) <= INLINE_GRANTS:
        return Q(pk__in=ids)
    return Q(pk__in=_grants(user.pk).values("content_object_id"))


def _scope(membership: Membership) -> Q:
    """The cases of the person's organisation on its side, which nothing outside can widen: an authority's own
    requests (drafts included), a platform's received requests (never drafts). Named people are named only on
    cases of their own organisation (grant_access), so the scope holds for them too."""
    return _scope_of(membership.organization.kind, membership.organization_id)


def _scope_of(kind: str, organisation_id: int) -> Q:
    if kind == OrgKind.AUTHORITY:
        return Q(requesting_org_id=organisation_id)
    return Q(responding_org_id=organisation_id) & ~Q(status=Status.DRAFT)


def _baseline(membership: Membership, user: User) -> Q | None:
    """Within the scope, what the role sees of non-RED cases: everything (None), a moderator's queues and
    assignments, or nothing."""
    return _baseline_of(membership.organization.kind, membership.role, membership.pk, user.pk)


def _baseline_of(kind: str, role: str, membership_id: int, user_id: int) -> Q | None:
    if kind == OrgKind.AUTHORITY or role in PLATFORM_READERS_OF_EVERYTHING:
        return None
    if role == Role.MODERATOR:
        # The membership's queues as a semi-join: no query of its own, and always the current assignment.
        queue_ids = Membership.queues.through.objects.filter(membership_id=membership_id).values("queue_id")
        return Q(queue_id__in=queue_ids) | Q(assignee_id=user_id)
    return Q(pk__in=[])


def cases_visible_to(user: User) -> QuerySet[Case]:
    """scope AND ((baseline AND NOT RED) OR named): the scope's indexed columns lead, so lists and counts are
    read through (org, status) or the inbox order index whatever the number of named cases."""
    membership = _membership(user)
    if membership is None:
        return Case.objects.none()
    return _visible_cases(membership, user, _granted_condition(user))


@dataclass(frozen=True)
class VisibleCases:
    """cases_visible_to(user), with `key`: everything the predicate's SQL and parameters depend on (the
    organisation, its side, the role, the membership whose queues a moderator reads, the person, and the named cases
    as the literal ids OR'ed in, or "semi-join" beyond INLINE_GRANTS). Two people, or one person at two moments,
    with the same key get the same statement; a statement kept under it is therefore exact. The queryset is built
    only when asked for."""

    key: tuple[Any, ...]
    membership: Membership
    user: User
    named_ids: tuple[int, ...]

    @cached_property
    def queryset(self) -> QuerySet[Case]:
        return _visible_cases(self.membership, self.user, _named_condition(self.user, list(self.named_ids)))


def visible_cases_of(user: User) -> VisibleCases | None:
    """The person's visible cases with their key (see VisibleCases); None without a membership (they see none)."""
    membership = _membership(user)
    if membership is None:
        return None
    ids = tuple(_granted_ids(user))
    named = ids if len(ids) <= INLINE_GRANTS else "semi-join"
    key = (membership.organization_id, membership.organization.kind, membership.role, membership.pk, user.pk, named)
    return VisibleCases(key=key, membership=membership, user=user, named_ids=ids)


def cases_visible_to_inside(user: User) -> QuerySet[Case]:
    """cases_visible_to as a subquery that costs no query of its own (the named cases a semi-join on the grants,
    not a list read first): for asking, inside one query over other rows, which of their cases the person may
    open. The same set as cases_visible_to."""
    member = member_of(user)
    if member is None:
        return Case.objects.none()
    return cases_visible_to_inside_of(member.shape, *member.ids)


@dataclass(frozen=True)
class Member:
    """What cases_visible_to_inside depends on, as values: the side and role (`shape`, which chooses the predicate)
    and the ids that fill it in (`ids`: the organisation and the person, and a moderator's membership, whose queues
    count). A statement built from cases_visible_to_inside_of(shape, *ids) with stand-ins for the ids can be kept by
    the shape alone and run with any member's ids bound."""

    kind: str
    role: str
    organisation_id: int
    membership_id: int
    user_id: int

    @property
    def shape(self) -> tuple[str, str]:
        return (self.kind, self.role)

    @property
    def ids(self) -> tuple[int, ...]:
        if _reads_queues(self.kind, self.role):
            return (self.organisation_id, self.user_id, self.membership_id)
        return (self.organisation_id, self.user_id)


def member_of(user: User) -> Member | None:
    """The person's Member (see Member); None without a membership (they see no case)."""
    membership = _membership(user)
    if membership is None:
        return None
    return Member(membership.organization.kind, membership.role, membership.organization_id, membership.pk, user.pk)


def _reads_queues(kind: str, role: str) -> bool:
    return kind != OrgKind.AUTHORITY and role == Role.MODERATOR


def cases_visible_to_inside_of(shape: tuple[str, str], organisation_id: int, user_id: int,
                               membership_id: int = 0) -> QuerySet[Case]:
    """cases_visible_to_inside for the Member of this shape and ids (Member.ids), built from the values alone: the
    same predicate (scope AND ((baseline AND NOT RED) OR named), the named cases a semi-join on the grants)."""
    kind, role = shape
    named = Q(pk__in=_grants(user_id).values("content_object_id"))
    return _visible_from(_scope_of(kind, organisation_id), _baseline_of(kind, role, membership_id, user_id), named)


def _visible_cases(membership: Membership, user: User, named: Q | None) -> QuerySet[Case]:
    return _visible_from(_scope(membership), _baseline(membership, user), named)


def _visible_from(scope: Q, baseline: Q | None, named: Q | None) -> QuerySet[Case]:
    seen = ~Q(tlp=TLP.RED) if baseline is None else baseline & ~Q(tlp=TLP.RED)
    if named is not None:
        seen |= named
    return Case.objects.filter(scope & seen)


def can_view_case(user: User, case: Case) -> bool:
    membership = _membership(user)
    if membership is None:
        return False
    if getattr(case, "_visible_to_user_id", None) == user.pk:
        return True
    if not _in_scope(membership, case):
        return False
    if CaseUserObjectPermission.objects.filter(
        user=user, permission__codename=VIEW_PERMISSION, content_object_id=case.pk
    ).exists():
        return True
    if case.tlp == TLP.RED:
        return False
    return _matches_baseline(membership, user, case)


def _in_scope(membership: Membership, case: Case) -> bool:
    if membership.organization.kind == OrgKind.AUTHORITY:
        return case.requesting_org_id == membership.organization_id
    return case.responding_org_id == membership.organization_id and case.status != Status.DRAFT


def _matches_baseline(membership: Membership, user: User, case: Case,
                      queue_ids: Container[int] | None = None) -> bool:
    """The role's baseline for this case; a moderator's queues are asked for unless given (`queue_ids`)."""
    if membership.organization.kind == OrgKind.AUTHORITY:
        return True
    if membership.role in PLATFORM_READERS_OF_EVERYTHING:
        return True
    if membership.role == Role.MODERATOR:
        if case.assignee_id == user.pk:
            return True
        if case.queue_id is None:
            return False
        if queue_ids is not None:
            return case.queue_id in queue_ids
        return in_queue(membership, case.queue_id)
    return False


def in_queue(membership: Membership, queue_id: int) -> bool:
    """Whether the membership holds this queue (membership.queues.filter(pk=queue_id).exists()), its statement prepared
    once per process with both ids bound."""
    return bool(run_prepared(_in_queue_query, (), membership.pk, queue_id))


def _in_queue_query(key: tuple[()], membership_id: int, queue_id: int) -> QuerySet[Any, tuple[int]]:
    return Membership.queues.through.objects.filter(membership_id=membership_id, queue_id=queue_id) \
        .order_by().values_list("pk")[:1]


def cases_visible_to_each(people: Iterable[User], cases: Sequence[Case]) -> dict[int, set[int]]:
    """For each person, which of these cases they may see: can_view_case for many people and cases at once (a batch
    of notices), decided on the cases' own columns with the grants and the moderators' queues read once for all,
    so two queries at most whatever the number of people and cases. People without a membership see none."""
    people = list(people)
    members = {user.pk: (user, membership) for user in people if (membership := _membership(user)) is not None}
    visible: dict[int, set[int]] = {user.pk: set() for user in people}
    if not members or not cases:
        return visible
    granted = set(CaseUserObjectPermission.objects.filter(
        user_id__in=list(members), content_object_id__in=[case.pk for case in cases],
        permission__codename=VIEW_PERMISSION).values_list("user_id", "content_object_id"))
    moderators = [membership.pk for _user, membership in members.values() if membership.role == Role.MODERATOR]
    queues: dict[int, set[int]] = {pk: set() for pk in moderators}
    if moderators:
        for membership_id, queue_id in Membership.queues.through.objects.filter(
                membership_id__in=moderators).values_list("membership_id", "queue_id"):
            queues[membership_id].add(queue_id)
    for user_id, (user, membership) in members.items():
        seen = visible[user_id]
        for case in cases:  # the order of can_view_case
            if not _in_scope(membership, case):
                continue
            if (user_id, case.pk) in granted:
                seen.add(case.pk)
            elif case.tlp == TLP.RED:
                continue
            elif _matches_baseline(membership, user, case, queues.get(membership.pk, set())):
                seen.add(case.pk)
    return visible


def people_who_can_view(case: Case) -> QuerySet[User]:
    """Everyone who may see the case, in one query: the set form of can_view_case, for "who can see this" and
    @-mention suggestions (which must not ask can_view_case once per person)."""
    shape, ids = viewers_of(case)
    return people_who_can_view_of(shape, *ids)


def viewers_of(case: Case) -> tuple[tuple[bool, bool, bool, bool], tuple[int | None, ...]]:
    """people_who_can_view's arguments for this case: its shape (draft, TLP:RED, a queue counts, an assignee
    counts), which chooses the predicate, and the ids that fill it in (see people_who_can_view_of)."""
    draft, red = case.status == Status.DRAFT, case.tlp == TLP.RED
    shape = (draft, red, bool(case.queue_id) and not red, case.assignee_id is not None and not red)
    ids: list[int | None] = [case.pk, case.requesting_org_id]
    if not draft:
        ids.append(case.responding_org_id)
    if shape[2]:
        ids.append(case.queue_id)
    if shape[3]:
        ids.append(case.assignee_id)
    return shape, tuple(ids)


def people_who_can_view_of(shape: tuple[bool, bool, bool, bool], *ids: int | None) -> QuerySet[User]:
    """people_who_can_view from viewers_of(case): the statement's text depends on the shape only, so it can be kept
    by the shape and run with any case's ids bound."""
    draft, red, has_queue, has_assignee = shape
    rest = list(ids)
    case_id, requesting_org_id = rest.pop(0), rest.pop(0)
    responding_org_id = None if draft else rest.pop(0)
    queue_id = rest.pop(0) if has_queue else None
    assignee_id = rest.pop(0) if has_assignee else None
    active = User.objects.filter(is_active=True, membership__isnull=False, membership__deactivated_at__isnull=True)
    named = Q(pk__in=CaseUserObjectPermission.objects.filter(
        content_object_id=case_id, permission__codename=VIEW_PERMISSION).values("user_id"))
    authority = Q(membership__organization_id=requesting_org_id,
                  membership__organization__kind=OrgKind.AUTHORITY)
    platform = Q(membership__organization_id=responding_org_id,
                 membership__organization__kind=OrgKind.PLATFORM)
    if draft:
        platform = Q(pk__in=[])
    if red:
        return active.filter((authority | platform) & named)
    in_queue = Q(membership__in=Membership.objects.filter(queues=queue_id)) if has_queue else Q(pk__in=[])
    platform_baseline = (Q(membership__role__in=PLATFORM_READERS_OF_EVERYTHING)
                         | Q(membership__role=Role.MODERATOR) & (Q(pk=assignee_id) | in_queue))
    return active.filter(authority | (platform & (platform_baseline | named)))


def get_case_for_user(user: User, reference: str) -> Case:
    """The case, if this person may see it; Http404 otherwise (never a hint that it exists)."""
    visible = visible_cases_of(user)
    case = None if visible is None else _case_by_reference(visible, reference)
    if case is None:
        raise Http404(_("No such case."))
    # This instance was just read through the person's visibility: checks on it during the same page need not
    # ask again. Actions re-read the case under a lock, so they always decide afresh.
    case._visible_to_user_id = user.pk  # type: ignore[attr-defined]
    return case


# What a case page shows of the case's relations, read with it in one statement (not its author: no page shows it,
# and a seventh relation doubled the statement's planning time on liaison_bench, 1.0 -> 2.1 ms).
_CASE_RELATIONS = ("category", "requesting_org", "responding_org", "queue", "assignee")
_REFERENCE_STAND_IN = "\x00reference-stand-in"

# get_case_for_user's statement by database and VisibleCases.key (everything the predicate's SQL depends on), with
# a stand-in where the reference goes: only its text and parameters are kept, never a row; the reference is bound
# on every run. The columns' reader (which turns a row into the case and its relations) is the same for every person
# and kept once per database.
_CASE_STATEMENTS: KeptStatements[tuple[str, tuple[Any, ...]] | None] = KeptStatements()
_CASE_READERS: KeptStatements[Any] = KeptStatements(limit=16)


def _case_query(cases: QuerySet[Case], reference: str) -> QuerySet[Case]:
    # The reference is unique: no order is needed to take the one row.
    return cases.select_related(*_CASE_RELATIONS).filter(reference=reference).order_by()[:1]


def _case_by_reference(visible: VisibleCases, reference: str) -> Case | None:
    database = Case.objects.db
    reader = _CASE_READERS.get(database, lambda: _case_reader(database))

    def build() -> tuple[str, tuple[Any, ...]] | None:
        compiler = _case_query(visible.queryset, _REFERENCE_STAND_IN).query.get_compiler(database)
        sql, params = compiler.as_sql()
        same_columns = [column.target for column, _sql, _alias in compiler.select] == \
            [column.target for column, _sql, _alias in reader.select]
        stand_ins = [p for p in params if isinstance(p, str) and p == _REFERENCE_STAND_IN]
        if not same_columns or len(stand_ins) != 1 or _REFERENCE_STAND_IN.strip("\x00") in sql:
            return None
        return sql, tuple(params)

    statement = _CASE_STATEMENTS.get((database, visible.key), build)
    if statement is None:
        return _case_query(visible.queryset, reference).first()
    sql, kept_params = statement
    params = [reference if isinstance(p, str) and p == _REFERENCE_STAND_IN else p for p in kept_params]
    connection = connections[database]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if not rows:
        return None
    return _read_case(reader, database, rows[0])


def _case_reader(database: str) -> Any:
    """A compiler of the case statement's columns, set up and detached from its connection (each read binds a copy
    to its own): it turns a row into the case and its relations."""
    compiler = _case_query(Case.objects.all(), "").query.get_compiler(database)
    compiler.as_sql()
    compiler.connection = None
    return compiler


def _read_case(reader: Any, database: str, raw: tuple[Any, ...]) -> Case:
    """The case and its relations from one row of the statement, as Django's ModelIterable builds them."""
    compiler = copy.copy(reader)
    compiler.connection = connections[database]
    row = next(iter(compiler.results_iter(results=[[raw]])))
    select, klass_info = compiler.select, compiler.klass_info
    start, end = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
    case = Case.from_db(database, [column[0].target.attname for column in select[start:end]], row[start:end])
    for populator in get_related_populators(klass_info, select, database):
        populator.populate(row, case)
    return case


def ensure_can_view(user: User, case: Case) -> None:
    if not can_view_case(user, case):
        raise Http404(_("No such case."))


def visible_sides(user: User) -> tuple[str, ...]:
    """Audit and thread entries a person may see: shared ones and their own side's."""
    side = side_of(user)
    return ("", side) if side else ("",)


def message_visibility(user: User) -> Q:
    """Shared messages and shared system entries, plus internal ones of the person's own side."""
    return message_visibility_of(side_of(user))


def message_visibility_of(side: str) -> Q:
    """message_visibility of a person on this side ("" without a membership)."""
    shared = Q(kind__in=["shared", "system"], side="")
    return shared | Q(side=side) if side else shared


def message_side_of(user: User, case: Case) -> str | None:
    """The side whose messages this person reads on this case (message_visibility_of(side) of case.messages, the
    rows messages_visible_to returns), or None when they may not see the case (no message at all)."""
    if not can_view_case(user, case):
        return None
    return side_of(user)


def messages_visible_to(user: User, case: Case) -> QuerySet[Any]:
    side = message_side_of(user, case)
    if side is None:
        return case.messages.none()
    return case.messages.filter(message_visibility_of(side))
