"""The inbox (the case list with its filters) and the overview page: what needs this person's attention."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from accounts.http import AuthenticatedRequest
from accounts.models import Organization
from accounts.roles import OrgKind

from .. import permissions, queries
from ..choices import Priority, Status
from ..models import Category


@login_required
def case_list(request: AuthenticatedRequest) -> HttpResponse:
    user = request.user
    if permissions.membership_of(user) is None:
        raise PermissionDenied(_("Your account has no active organisation."))
    filters = queries.CaseFilters(**{k: request.GET.get(k, "").strip()[:200] for k in
                                     ("status", "priority", "category", "authority", "assignee", "q", "sort",
                                      "deadline")})
    if not filters.sort:
        filters.sort = "priority" if permissions.side_of(user) == OrgKind.PLATFORM else "newest"
    try:
        page = max(int(request.GET.get("page", "1")), 1)
    except ValueError:
        page = 1
    per_page = settings.LIAISON_CASES_PER_PAGE
    visible = permissions.cases_visible_to(user)
    listing = queries.case_page(queries.filtered_cases(user, filters, visible=visible), page, per_page,
                                count_cap=queries.SEARCH_COUNT_CAP if filters.q else None)
    rows = listing.rows
    unread = queries.unread_counts(user, [c.pk for c in rows])
    for row in rows:
        row.unread = unread.get(row.pk, 0)  # type: ignore[attr-defined]  # display only, for the template
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "cases": rows, "total": listing.total, "total_capped": listing.total_is_capped, "page": listing.page,
        "pages": listing.pages, "has_next": listing.has_next, "filters": filters,
        "query": query.urlencode(), "statuses": [("open", _("Open")), *Status.choices],
        "priorities": [("threat_to_life", _("Threat to life")), *Priority.choices],
        "categories": Category.objects.all(),
        "authorities": Organization.objects.filter(kind=OrgKind.AUTHORITY).order_by("name")
        if permissions.side_of(user) == OrgKind.PLATFORM else [],
        "counts": queries.inbox_counts(user, visible=visible),
        "can_create": permissions.can_create_case(user),
        "sorts": [("priority", _("Priority, then oldest")), ("due", _("Next deadline first")),
                  ("newest", _("Newest first")),
                  ("oldest", _("Oldest first")), ("updated", _("Recently updated")), ("reference", _("Reference"))],
    }
    template = "cases/_case_table.html" if request.htmx and request.htmx.target == "case-table" else "cases/list.html"
    return render(request, template, context)


@login_required
def overview(request: AuthenticatedRequest) -> HttpResponse:
    """The home page: what needs this person's attention now."""
    user = request.user
    context: dict[str, Any] = {}
    if permissions.membership_of(user) is not None:
        side = permissions.side_of(user)
        context["counts"] = queries.inbox_counts(user)
        context["side"] = side
        if side == OrgKind.PLATFORM:
            attention = queries.filtered_cases(user, queries.CaseFilters(status="open", sort="due"))
        else:
            attention = queries.filtered_cases(user, queries.CaseFilters(status="awaiting_information",
                                                                         sort="updated"))
        context["attention"] = queries.case_page(attention, 1, 8, with_total=False).rows
    return render(request, "home.html", context)
