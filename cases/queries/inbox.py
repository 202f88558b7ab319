"""Reads of the inbox and the overview: the cases a person may see, filtered, searched, sorted and paged, and the
counts of open work. Their joins and indexes are chosen so a page costs the same at any depth and any size."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from accounts.models import User

from .. import permissions
from ..choices import OPEN_STATUSES, Outcome, Status
from ..link_identity import TargetError, normalise_target
from ..models import (
    Case,
    Deadline,
    Message,
    ReadMarker,
    ReportedItem,
)

SORTS = {
    "priority": ("-priority_rank", "submitted_at", "id"),
    "newest": ("-created_at", "-id"),
    "oldest": ("created_at", "id"),
    "reference": ("reference",),
    "updated": ("-updated_at", "-id"),
}


@dataclass
class CaseFilters:
    status: str = ""
    priority: str = ""
    category: str = ""
    authority: str = ""
    assignee: str = ""  # a user id, "me" or "none"
    q: str = ""
    sort: str = "priority"
    deadline: str = ""  # "due_soon" or "breached"


def filtered_cases(user: User, filters: CaseFilters) -> QuerySet[Case]:
    qs = permissions.cases_visible_to(user)
    if filters.status == "open":
        qs = qs.filter(status__in=OPEN_STATUSES)
    elif filters.status in Status.values:
        qs = qs.filter(status=filters.status)
    if filters.priority == "threat_to_life":
        qs = qs.filter(threat_to_life=True)
    elif filters.priority:
        qs = qs.filter(priority=filters.priority)
    if filters.category:
        qs = qs.filter(category__slug=filters.category)
    if filters.authority.isdigit():
        qs = qs.filter(requesting_org_id=int(filters.authority))
    if filters.assignee == "me":
        qs = qs.filter(assignee_id=user.pk)
    elif filters.assignee == "none":
        qs = qs.filter(assignee__isnull=True)
    elif filters.assignee.isdigit():
        qs = qs.filter(assignee_id=int(filters.assignee))
    if filters.q.strip():
        qs = qs.filter(_search(filters.q.strip()))
    if filters.deadline == "due_soon":
        qs = qs.filter(pk__in=_due_soon_deadlines().values("case_id"))
    elif filters.deadline == "breached":
        qs = qs.filter(pk__in=_breached_deadlines().values("case_id"))
    if filters.sort == "due":
        from django.db.models import F

        return qs.annotate(sort_due=_next_due_subquery()).order_by(
            F("sort_due").asc(nulls_last=True), "-priority_rank", "id")
    return qs.order_by(*SORTS.get(filters.sort, SORTS["priority"]))


def _next_due_subquery() -> Any:


    return Subquery(
        Deadline.objects.filter(case=OuterRef("pk"), status=Deadline.State.OPEN, paused_at__isnull=True)
        .order_by("due_at").values("due_at")[:1]
    )


def _due_soon_deadlines() -> QuerySet[Any]:


    now = timezone.now()
    return Deadline.objects.filter(status=Deadline.State.OPEN, paused_at__isnull=True,
                                   due_at__lte=now + timedelta(minutes=settings.LIAISON_DUE_SOON_MINUTES))


def _breached_deadlines() -> QuerySet[Any]:
    """Deadlines marked breached, and open ones already past due that the next sweep will mark."""

    return Deadline.objects.filter(Q(status=Deadline.State.BREACHED)
                                   | Q(status=Deadline.State.OPEN, paused_at__isnull=True, due_at__lte=timezone.now()))


def _search(text: str) -> Q:
    condition = Q(reference__iexact=text) | Q(title__icontains=text) | Q(reference__icontains=text)
    try:
        key = normalise_target(text).key
    except TargetError:
        return condition
    return condition | Q(pk__in=ReportedItem.objects.filter(key=key).values("case_id"))


def page_of_cases(qs: QuerySet[Case], page: int, per_page: int) -> tuple[list[Case], int]:
    """One page: select the ids first, then load those rows with their relations; plus the total."""
    total = qs.count()
    offset = max(page - 1, 0) * per_page
    ids = list(qs.values_list("id", flat=True)[offset:offset + per_page])
    rows = (
        Case.objects.filter(pk__in=ids)
        .select_related("category", "requesting_org", "responding_org", "queue", "assignee")
        .annotate(item_count=Count("items"),
                  pending_count=Count("items", filter=Q(items__outcome=Outcome.PENDING)),
                  next_due=_next_due_subquery())
    )
    by_id = {c.pk: c for c in rows}
    return [by_id[i] for i in ids if i in by_id], total


def inbox_counts(user: User) -> dict[str, Any]:
    qs = permissions.cases_visible_to(user)
    return qs.aggregate(
        open=Count("id", filter=Q(status__in=OPEN_STATUSES)),
        submitted=Count("id", filter=Q(status=Status.SUBMITTED)),
        urgent=Count("id", filter=Q(status__in=OPEN_STATUSES, priority_rank__gte=30)),
        mine=Count("id", filter=Q(status__in=OPEN_STATUSES, assignee_id=user.pk)),
        awaiting=Count("id", filter=Q(status=Status.AWAITING_INFORMATION)),
        drafts=Count("id", filter=Q(status=Status.DRAFT)),
        recent=Count("id", filter=Q(created_at__gte=timezone.now() - timedelta(days=7))),
        due_soon=Count("id", filter=Q(status__in=OPEN_STATUSES, pk__in=_due_soon_deadlines().values("case_id"))),
        breached=Count("id", filter=Q(status__in=OPEN_STATUSES, pk__in=_breached_deadlines().values("case_id"))),
    )


def unread_counts(user: User, case_ids: list[int]) -> dict[int, int]:
    """Unread messages per case (one query), for the rows of a list page."""

    markers = dict(ReadMarker.objects.filter(user=user, case_id__in=case_ids)
                   .values_list("case_id", "last_read_message_id"))
    rows = (
        Message.objects.filter(case_id__in=case_ids).filter(permissions.message_visibility(user))
        .exclude(author=user).values_list("case_id", "id")
    )
    counts: dict[int, int] = {}
    for case_id, message_id in rows.iterator():
        if message_id > markers.get(case_id, 0):
            counts[case_id] = counts.get(case_id, 0) + 1
    return counts


def unread_total(user: User) -> int:
    """Unread messages in the cases this person has opened (they hold a read marker there)."""


    return (
        Message.objects.filter(case__read_markers__user=user, id__gt=F("case__read_markers__last_read_message_id"))
        .filter(permissions.message_visibility(user)).exclude(author=user).count()
    )
