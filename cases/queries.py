"""Reads that span relations, with their joins chosen so a page's query count does not grow with its rows."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.files.storage import default_storage
from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Membership, User
from accounts.roles import OrgKind, Role

from . import permissions
from .choices import OPEN_STATUSES, TLP, Outcome, Status
from .email_parsing import ParsedEmail, error_text, parse_email
from .link_identity import TargetError, normalise_target
from .models import (
    AuditEvent,
    Case,
    CaseUserObjectPermission,
    Evidence,
    InboundEmail,
    LegalHold,
    Message,
    OutcomeReport,
    ReportedItem,
)
from .report_verification import IssuedReport, Verification, verify_report_bytes

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
    from django.db.models import OuterRef, Subquery

    from .models import Deadline

    return Subquery(
        Deadline.objects.filter(case=OuterRef("pk"), status=Deadline.State.OPEN, paused_at__isnull=True)
        .order_by("due_at").values("due_at")[:1]
    )


def _due_soon_deadlines() -> QuerySet[Any]:
    from django.conf import settings

    from .models import Deadline

    now = timezone.now()
    return Deadline.objects.filter(status=Deadline.State.OPEN, paused_at__isnull=True,
                                   due_at__lte=now + timedelta(minutes=settings.LIAISON_DUE_SOON_MINUTES))


def _breached_deadlines() -> QuerySet[Any]:
    """Deadlines marked breached, and open ones already past due that the next sweep will mark."""
    from .models import Deadline

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


def case_items(case: Case) -> QuerySet[ReportedItem]:
    return case.items.select_related("decided_by").order_by("position", "id")


@dataclass
class Sighting:
    reference: str
    organisation: str
    same_org: bool


def deconfliction(user: User, keys: list[str], exclude_case: Case | None = None) -> dict[str, list[Sighting]]:
    """Other open cases reporting the same targets, as far as this person may know of them.

    Platform staff learn every other open (non-RED) case; an authority learns only of
    its own earlier cases; another authority's case is never revealed to it.
    """
    if not keys:
        return {}
    membership = permissions.membership_of(user)
    if membership is None:
        return {}
    items = ReportedItem.objects.filter(key__in=set(keys), case__status__in=OPEN_STATUSES).exclude(
        case__tlp=TLP.RED
    )
    if exclude_case is not None:
        items = items.exclude(case_id=exclude_case.pk)
    if membership.organization.kind == OrgKind.AUTHORITY:
        items = items.filter(case__requesting_org_id=membership.organization_id)
    else:
        items = items.filter(case__responding_org_id=membership.organization_id)
    found: dict[str, list[Sighting]] = defaultdict(list)
    for key, reference, org_name, org_id in items.values_list(
        "key", "case__reference", "case__requesting_org__name", "case__requesting_org_id"
    ).order_by("case__reference")[:5000]:
        sighting = Sighting(reference, org_name, org_id == membership.organization_id)
        if sighting not in found[key]:
            found[key].append(sighting)
    return dict(found)


def timeline(user: User, case: Case) -> QuerySet[AuditEvent]:
    return (
        case.events.filter(side__in=permissions.visible_sides(user))
        .select_related("actor", "actor_org")
        .order_by("id")
    )


@dataclass
class AccessEntry:
    who: str
    why: str
    people: list[str] = field(default_factory=list)


def access_panel(case: Case) -> list[AccessEntry]:
    """Who can see this case and why, in words."""
    from django.utils.translation import gettext as _

    entries: list[AccessEntry] = []
    named = list(
        CaseUserObjectPermission.objects.filter(content_object_id=case.pk,
                                                permission__codename=permissions.VIEW_PERMISSION)
        .select_related("user", "user__membership__organization").order_by("user__full_name")
    )
    named_people = [f"{p.user.full_name} ({p.user.membership.organization.name})" for p in named
                    if hasattr(p.user, "membership")]
    if case.tlp == TLP.RED:
        entries.append(AccessEntry(_("Named people only"), _("TLP:RED: nobody else, on either side, can see it."),
                                   named_people))
        return entries
    entries.append(AccessEntry(case.requesting_org.name, _("Every member of the requesting authority")))
    if case.status != Status.DRAFT:
        platform = case.responding_org.name
        entries.append(AccessEntry(platform, _("T&S managers, legal and auditors of the platform")))
        if case.queue is not None:
            moderators = list(
                Membership.objects.filter(queues=case.queue_id, role=Role.MODERATOR, deactivated_at__isnull=True)
                .select_related("user").order_by("user__full_name")
            )
            entries.append(AccessEntry(
                _("Queue %(queue)s") % {"queue": case.queue.name}, _("Moderators of the queue"),
                [m.user.full_name for m in moderators],
            ))
        if case.assignee is not None:
            entries.append(AccessEntry(_("Assignee"), _("Assigned to work the case"), [case.assignee.full_name]))
    else:
        entries.append(AccessEntry(_("Not yet the platform"), _("Drafts stay with the requesting authority.")))
    if named_people:
        entries.append(AccessEntry(_("Named people"), _("Given access to this case by name"), named_people))
    return entries


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


def read_marker(user: User, case: Case) -> int:
    from .models import ReadMarker

    return ReadMarker.objects.filter(user=user, case=case).values_list("last_read_message_id", flat=True).first() or 0


def people_who_can_see(case: Case) -> list[User]:
    """Active people of the two organisations who can see the case (for @-mention suggestions)."""
    candidates = User.objects.filter(
        is_active=True, membership__deactivated_at__isnull=True,
        membership__organization__in=[case.requesting_org_id, case.responding_org_id],
    ).select_related("membership__organization").prefetch_related("membership__queues").order_by("full_name")
    return [u for u in candidates if permissions.can_view_case(u, case)][:200]


def unread_counts(user: User, case_ids: list[int]) -> dict[int, int]:
    """Unread messages per case (one query), for the rows of a list page."""
    from .models import Message, ReadMarker

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
    from django.db.models import F

    from .models import Message

    return (
        Message.objects.filter(case__read_markers__user=user, id__gt=F("case__read_markers__last_read_message_id"))
        .filter(permissions.message_visibility(user)).exclude(author=user).count()
    )


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


def expired_evidence() -> QuerySet[Evidence]:
    """Evidence of cases finished longer ago than the retention period, not under a legal hold."""
    cutoff = timezone.now() - timedelta(days=settings.LIAISON_EVIDENCE_RETENTION_DAYS)
    held = LegalHold.objects.filter(lifted_at__isnull=True).values("case_id")
    return (
        Evidence.objects.filter(purged_at__isnull=True)
        .filter(Q(case__status=Status.CLOSED, case__closed_at__lt=cutoff)
                | Q(case__status=Status.WITHDRAWN, case__withdrawn_at__lt=cutoff))
        .exclude(case_id__in=held)
        .select_related("case")
    )


# --- Inbound e-mail -----------------------------------------------------------------------------------


def read_stored_email(inbound: InboundEmail) -> bytes:
    with default_storage.open(inbound.raw_storage_name, "rb") as handle:
        data: bytes = handle.read()
    return data


@dataclass
class EmailReview:
    parsed: ParsedEmail | None
    error: str = ""

    @property
    def attachments(self) -> list[dict[str, Any]]:
        if self.parsed is None:
            return []
        return [{"name": a.name, "content_type": a.content_type, "size": len(a.data), "inline": a.inline,
                 "list": bool(a.spreadsheet_suffix)} for a in self.parsed.attachments]


def email_review(inbound: InboundEmail) -> EmailReview:
    """The stored message as a T&S manager reads it (plain text; the HTML only as source)."""
    try:
        return EmailReview(parse_email(read_stored_email(inbound)))
    except FileNotFoundError:
        return EmailReview(None, _("The stored message is missing."))
    except Exception as exc:
        return EmailReview(None, _("The message could not be read: %(error)s") % {"error": error_text(exc)})


# --- Outcome reports ----------------------------------------------------------------------------------


def issued_report(sha256: str) -> IssuedReport | None:
    """The issued report with exactly these bytes, and the latest version of its case."""
    report = (OutcomeReport.objects.filter(sha256=sha256, status=OutcomeReport.Status.READY)
              .select_related("case").first())
    if report is None:
        return None
    latest = (OutcomeReport.objects.filter(case_id=report.case_id, status=OutcomeReport.Status.READY)
              .order_by("-version").first()) or report
    return IssuedReport(reference=report.case.reference, version=report.version, issued_at=report.issued_at,
                        superseded=report.superseded_at is not None or latest.version > report.version,
                        latest_version=latest.version, latest_issued_at=latest.issued_at)


def verify_report(data: bytes) -> Verification:
    """What anyone may learn of a file they hold: is it a genuine, current outcome report?"""
    return verify_report_bytes(data, find_issued=issued_report)


def assignee_candidates(case: Case) -> QuerySet[User]:
    """Platform staff who may be assigned the case."""
    return User.objects.filter(
        is_active=True, membership__organization=case.responding_org,
        membership__role__in=[Role.MODERATOR, Role.TS_MANAGER], membership__deactivated_at__isnull=True,
    ).order_by("full_name")


def grantable_people(case: Case) -> QuerySet[User]:
    """People of the two organisations of the case, who may be named on it."""
    return User.objects.filter(
        is_active=True, membership__deactivated_at__isnull=True,
        membership__organization__in=[case.requesting_org_id, case.responding_org_id],
    ).select_related("membership__organization").order_by("membership__organization__name", "full_name")
