"""Reads of the case page: its items, other cases reporting the same targets, its timeline, who can see it and who
works it."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext as _

from accounts.models import Membership, User
from accounts.roles import OrgKind, Role

from .. import permissions
from ..choices import TLP, Outcome, Status
from ..kept_statements import run_prepared
from ..models import (
    AuditEvent,
    Case,
    CaseUserObjectPermission,
    Deadline,
    DeadlineProposal,
    Message,
    MessageRevision,
    ReadMarker,
    ReportedItem,
)

# The outcomes that leave an item up, whatever the reason: one filter, "no action", covers them all.
NO_ACTION_OUTCOMES = (Outcome.NO_ACTION_NOT_ILLEGAL, Outcome.NO_ACTION_INSUFFICIENT, Outcome.NO_ACTION_NOT_FOUND,
                      Outcome.NO_ACTION_ALREADY_REMOVED)
ITEM_FILTERS = ("pending", "decided", "no_action", *Outcome.values)
ITEM_ROW_FIELDS = ("pk", "position", "target", "key", "kind", "note", "warning", "outcome", "outcome_reason",
                   "decided_at", "decided_by__full_name")


def case_items(case: Case, *, show: str = "", search: str = "") -> QuerySet[ReportedItem]:
    """The items of a case in their order, narrowed to a filter of ITEM_FILTERS ("pending", "decided", "no_action"
    or one outcome) and to targets containing `search`; served by the (case, outcome) and (case, position) indexes.
    The page and a bulk decision on "all items matching this filter" read the same set."""
    return _narrowed(ReportedItem.objects.filter(case_id=case.pk).order_by("position", "id"), show, search)


def _narrowed(items: QuerySet[ReportedItem], show: str, search: str) -> QuerySet[ReportedItem]:
    if show == "decided":
        items = items.exclude(outcome=Outcome.PENDING)
    elif show == "no_action":
        items = items.filter(outcome__in=NO_ACTION_OUTCOMES)
    elif show in Outcome.values:
        items = items.filter(outcome=show)
    search = search.strip()
    if search:
        condition = Q(target__icontains=search) | Q(note__icontains=search)
        number = search.lstrip("#")
        if number.isascii() and number.isdigit() and len(number) < 10:  # int() reads "²" as no number
            condition |= Q(position=int(number))
        items = items.filter(condition)
    return items


def _item_page_query(key: tuple[Any, ...], case_id: int) -> QuerySet[ReportedItem, tuple[Any, ...]]:
    show, offset, limit = key
    return _narrowed(ReportedItem.objects.filter(case_id=case_id).order_by("position", "id"), show, "") \
        .values_list(*ITEM_ROW_FIELDS)[offset:offset + limit]


def item_page(case: Case, *, show: str, search: str, offset: int, limit: int) -> list[dict[str, Any]]:
    """One page of case_items(case, show=show, search=search) as dicts of ITEM_ROW_FIELDS. Without a search its SQL
    is prepared once per filter and page (kept_statements.run_prepared); a search is run through the ORM as typed."""
    if search.strip():
        rows: list[tuple[Any, ...]] = list(case_items(case, show=show, search=search)
                                           .values_list(*ITEM_ROW_FIELDS)[offset:offset + limit])
    else:
        rows = run_prepared(_item_page_query, (show, offset, limit), case.pk)
    return [dict(zip(ITEM_ROW_FIELDS, row, strict=True)) for row in rows]


@dataclass(frozen=True)
class ItemTally:
    """How many items a case has per outcome and per filter, and which kinds of item it holds."""

    by_outcome: dict[str, int]
    kinds: tuple[str, ...]

    @property
    def total(self) -> int:
        return sum(self.by_outcome.values())

    @property
    def pending(self) -> int:
        return self.by_outcome.get(Outcome.PENDING, 0)

    @property
    def decided(self) -> int:
        return self.total - self.pending

    @property
    def no_action(self) -> int:
        return sum(self.by_outcome.get(outcome, 0) for outcome in NO_ACTION_OUTCOMES)

    def count(self, show: str) -> int:
        """How many items a filter of ITEM_FILTERS (or "" for all) matches."""
        if show in ("", "pending", "decided", "no_action"):
            return {"": self.total, "pending": self.pending, "decided": self.decided,
                    "no_action": self.no_action}[show]
        return self.by_outcome.get(show, 0)


def _item_tally_query(key: tuple[()], case_id: int) -> QuerySet[ReportedItem, tuple[str, str, int]]:
    return ReportedItem.objects.filter(case_id=case_id).order_by().values_list("outcome", "kind") \
        .annotate(n=Count("id")).values_list("outcome", "kind", "n")


def item_tally(case: Case) -> ItemTally:
    """How many items the case has per outcome, and its kinds of item (one grouped query)."""
    by_outcome: dict[str, int] = defaultdict(int)
    kinds: set[str] = set()
    for outcome, kind, n in run_prepared(_item_tally_query, (), case.pk):
        by_outcome[outcome] += n
        kinds.add(kind)
    return ItemTally(dict(by_outcome), tuple(sorted(kinds)))


@dataclass(frozen=True)
class TimelineEvent:
    """An audit event of the case as its timeline shows it, read as values (no person or organisation is built as
    an object): who acted is None when nobody did (the system), and their organisation None when not recorded."""

    occurred_at: datetime
    action: str
    data: Any
    actor_name: str | None
    actor_org_name: str | None


def timeline(user: User, case: Case) -> list[TimelineEvent]:
    """The case's audit events this person may see (shared ones and their own side's), oldest first."""
    return [
        TimelineEvent(occurred_at, action, data, actor_name if actor_id is not None else None,
                      org_name if org_id is not None else None)
        for occurred_at, action, data, actor_id, actor_name, org_id, org_name in
        run_prepared(_timeline_query, tuple(sorted(permissions.visible_sides(user))), case.pk)
    ]


def _timeline_query(sides: tuple[str, ...], case_id: int) -> QuerySet[AuditEvent, tuple[Any, ...]]:
    return AuditEvent.objects.filter(case_id=case_id, side__in=sides).order_by("id").values_list(
        "occurred_at", "action", "data", "actor_id", "actor__full_name", "actor_org_id", "actor_org__name")


@dataclass
class ThreadEntry:
    """A thread entry as the case page shows it, read as values (no person, membership or organisation is built as
    an object): who wrote it by name and organisation ("" when nobody or none), and the earlier versions of its body
    as (replaced at, body), oldest first. The page adds what it decides for its reader (`html`, `revision_html`,
    `is_unread`, `can_edit`)."""

    pk: int
    kind: str
    author_id: int | None
    author_name: str
    organisation: str
    body: str
    system_action: str
    system_params: Any
    created_at: datetime
    edited_at: datetime | None
    revisions: list[tuple[datetime, str]] = field(default_factory=list)
    html: str = ""
    revision_html: list[tuple[datetime, str]] = field(default_factory=list)
    is_unread: bool = False
    can_edit: bool = False


def thread_entries(user: User, case: Case) -> list[ThreadEntry]:
    """The messages and system entries this person may see (permissions.messages_visible_to), oldest first, with
    their earlier versions: two queries whatever the length of the thread, each prepared once per process (the
    messages' by the reader's side, permissions.message_side_of)."""
    side = permissions.message_side_of(user, case)
    if side is None:
        return []
    entries = [
        ThreadEntry(pk, kind, author_id, (name or "") if author_id is not None else "", organisation or "", body,
                    system_action, system_params, created_at, edited_at)
        for pk, kind, author_id, name, organisation, body, system_action, system_params, created_at, edited_at in
        run_prepared(_thread_query, (side,), case.pk)
    ]
    if entries:
        by_id = {entry.pk: entry for entry in entries}
        for message_id, replaced_at, body in run_prepared(_revisions_query, (), case.pk):
            if message_id in by_id:
                by_id[message_id].revisions.append((replaced_at, body))
    return entries


def _thread_query(key: tuple[str], case_id: int) -> QuerySet[Message, tuple[Any, ...]]:
    return Message.objects.filter(case_id=case_id).filter(permissions.message_visibility_of(key[0])).order_by("id") \
        .values_list("id", "kind", "author_id", "author__full_name", "author__membership__organization__name", "body",
                     "system_action", "system_params", "created_at", "edited_at")


def _revisions_query(key: tuple[()], case_id: int) -> QuerySet[MessageRevision, tuple[int, datetime, str]]:
    return MessageRevision.objects.filter(message__case_id=case_id).order_by("id") \
        .values_list("message_id", "replaced_at", "body")


def _message_files_query(key: tuple[()], case_id: int) -> QuerySet[Any, tuple[int, int, str]]:
    return Message.evidence.through.objects.filter(message__case_id=case_id) \
        .order_by("evidence__case_id", "evidence__uploaded_at", "evidence_id") \
        .values_list("message_id", "evidence_id", "evidence__original_name")


def message_files(case: Case) -> dict[int, list[tuple[int, str]]]:
    """The files each message of the case refers to, as (id, original name) in the evidence's own order; read as
    values in one query (only the messages a person is shown are looked up in it)."""
    files: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for message_id, evidence_id, name in run_prepared(_message_files_query, (), case.pk):
        files[message_id].append((evidence_id, name))
    return files


@dataclass
class AccessEntry:
    who: str
    why: str
    people: list[str] = field(default_factory=list)


def _named_people_query(key: tuple[()], case_id: int) -> QuerySet[CaseUserObjectPermission, tuple[str, str]]:
    return CaseUserObjectPermission.objects.filter(
        content_object_id=case_id, permission__codename=permissions.VIEW_PERMISSION, user__membership__isnull=False,
    ).order_by("user__full_name").values_list("user__full_name", "user__membership__organization__name")


def _queue_moderators_query(key: tuple[()], queue_id: int) -> QuerySet[Membership, tuple[str]]:
    return Membership.objects.filter(queues=queue_id, role=Role.MODERATOR, deactivated_at__isnull=True) \
        .order_by("user__full_name").values_list("user__full_name")


def access_panel(case: Case) -> list[AccessEntry]:
    """Who can see this case and why, in words (names read as values: no person is built as an object)."""

    entries: list[AccessEntry] = []
    named_people = [
        f"{name} ({organisation})" for name, organisation in run_prepared(_named_people_query, (), case.pk)
    ]
    if case.tlp == TLP.RED:
        entries.append(AccessEntry(_("Named people only"), _("TLP:RED: nobody else, on either side, can see it."),
                                   named_people))
        return entries
    entries.append(AccessEntry(case.requesting_org.name, _("Every member of the requesting authority")))
    if case.status != Status.DRAFT:
        platform = case.responding_org.name
        entries.append(AccessEntry(platform, _("T&S managers, legal and auditors of the platform")))
        if case.queue is not None:
            moderators = [name for name, in run_prepared(_queue_moderators_query, (), case.queue_id)]
            entries.append(AccessEntry(
                _("Queue %(queue)s") % {"queue": case.queue.name}, _("Moderators of the queue"), moderators,
            ))
        if case.assignee is not None:
            entries.append(AccessEntry(_("Assignee"), _("Assigned to work the case"), [case.assignee.full_name]))
    else:
        entries.append(AccessEntry(_("Not yet the platform"), _("Drafts stay with the requesting authority.")))
    if named_people:
        entries.append(AccessEntry(_("Named people"), _("Given access to this case by name"), named_people))
    return entries


def read_marker(user: User, case: Case) -> int:
    """The last message this person has read on the case (0 when none), its statement prepared once per process."""
    rows = run_prepared(_read_marker_query, (), user.pk, case.pk)
    return (rows[0][0] if rows else None) or 0


def _read_marker_query(key: tuple[()], user_id: int, case_id: int) -> QuerySet[ReadMarker, tuple[int | None]]:
    return ReadMarker.objects.filter(user_id=user_id, case_id=case_id).order_by("id") \
        .values_list("last_read_message_id")[:1]


@dataclass(frozen=True)
class Mentionable:
    """A person the thread's @-mention suggestions name: their id, address and name only."""

    pk: int
    email: str
    full_name: str


def people_who_can_see(case: Case) -> list[Mentionable]:
    """Active people of the two organisations who can see the case (for @-mention suggestions): their names and
    addresses only, read as values (the statement prepared once per shape of case, permissions.viewers_of)."""
    shape, ids = permissions.viewers_of(case)
    return [Mentionable(*row) for row in run_prepared(_mention_query, shape, *ids)]


def _mention_query(key: tuple[bool, bool, bool, bool], *ids: int | None) -> QuerySet[User, tuple[int, str, str]]:
    return permissions.people_who_can_view_of(key, *ids).order_by("full_name").values_list("pk", "email",
                                                                                         "full_name")[:200]


def people_on_case(case: Case) -> dict[str, set[User]]:
    """The people working the case on each side (not everyone who could read it): who hears of its messages."""
    sides: dict[str, set[User]] = {OrgKind.AUTHORITY: set(), OrgKind.PLATFORM: set()}
    if case.created_by.is_active:
        sides[OrgKind.AUTHORITY].add(case.created_by)
    if case.assignee is not None and case.assignee.is_active:
        sides[OrgKind.PLATFORM].add(case.assignee)
    elif case.queue_id and case.status != Status.DRAFT:
        for membership in Membership.objects.filter(queues=case.queue_id, role=Role.MODERATOR,
                                                    deactivated_at__isnull=True).select_related("user"):
            sides[OrgKind.PLATFORM].add(membership.user)
    authors = User.objects.filter(
        # Who wrote in the thread; a system entry (acknowledging, assigning) makes nobody a participant.
        pk__in=Message.objects.filter(case=case, author__isnull=False).exclude(kind=Message.Kind.SYSTEM)
        .values("author_id"), is_active=True
    ).select_related("membership__organization")
    named = User.objects.filter(
        pk__in=CaseUserObjectPermission.objects.filter(content_object=case).values("user_id"), is_active=True
    ).select_related("membership__organization")
    for user in [*authors, *named]:
        member = getattr(user, "membership", None)
        if member is not None and member.role != Role.AUDITOR:
            sides.setdefault(member.organization.kind, set()).add(user)
    return {side: {u for u in users if permissions.can_view_case(u, case)} for side, users in sides.items()}


def assignee_candidates(case: Case) -> QuerySet[User]:
    """Platform staff who may be assigned the case."""
    return User.objects.filter(
        is_active=True, membership__organization=case.responding_org,
        membership__role__in=[Role.MODERATOR, Role.TS_MANAGER], membership__deactivated_at__isnull=True,
    ).order_by("full_name")


def _assignee_choices_query(key: tuple[()], organisation_id: int) -> QuerySet[User, tuple[int, str]]:
    return User.objects.filter(
        is_active=True, membership__organization_id=organisation_id,
        membership__role__in=[Role.MODERATOR, Role.TS_MANAGER], membership__deactivated_at__isnull=True,
    ).order_by("full_name").values_list("pk", "full_name")


def assignee_choices(case: Case) -> list[tuple[int, str]]:
    """assignee_candidates(case) as (id, name), its SQL prepared once (run_prepared): the organisation is bound."""
    if case.responding_org_id is None:
        return list(assignee_candidates(case).values_list("pk", "full_name"))
    return [(pk, name) for pk, name in run_prepared(_assignee_choices_query, (), case.responding_org_id)]


def grantable_people(case: Case) -> QuerySet[User]:
    """People of the two organisations of the case, who may be named on it."""
    return User.objects.filter(
        is_active=True, membership__deactivated_at__isnull=True,
        membership__organization__in=[case.requesting_org_id, case.responding_org_id],
    ).select_related("membership__organization").order_by("membership__organization__name", "full_name")


_DEADLINE_FIELDS = tuple(field.attname for field in Deadline._meta.concrete_fields)
_PROPOSAL_FIELDS = tuple(field.attname for field in DeadlineProposal._meta.concrete_fields)


def _deadlines_query(key: tuple[()], case_id: int) -> QuerySet[Deadline, tuple[Any, ...]]:
    return Deadline.objects.filter(case_id=case_id).order_by("due_at", "id").values_list(*_DEADLINE_FIELDS)


def case_deadlines(case: Case) -> list[Deadline]:
    """The case's deadlines by due time, read through a statement prepared once per process."""
    database = Deadline.objects.db
    return [Deadline.from_db(database, _DEADLINE_FIELDS, row)
            for row in run_prepared(_deadlines_query, (), case.pk, database=database)]


def _proposals_query(key: tuple[()], case_id: int) -> QuerySet[DeadlineProposal, tuple[Any, ...]]:
    return DeadlineProposal.objects.filter(case_id=case_id).order_by("-proposed_at", "-id") \
        .values_list(*_PROPOSAL_FIELDS, "proposed_by__full_name", "answered_by__full_name")


def deadline_proposals(case: Case) -> list[DeadlineProposal]:
    """The case's deadline proposals, newest first, each with `proposed_by_name` and `answered_by_name` (no person is
    built as an object; the latter None while unanswered) and `case` the given instance."""
    database = DeadlineProposal.objects.db
    proposals = []
    for row in run_prepared(_proposals_query, (), case.pk, database=database):
        proposal = DeadlineProposal.from_db(database, _PROPOSAL_FIELDS, row[:len(_PROPOSAL_FIELDS)])
        proposal.case = case
        proposal.proposed_by_name, proposal.answered_by_name = row[len(_PROPOSAL_FIELDS):]  # type: ignore[attr-defined]
        proposals.append(proposal)
    return proposals
