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
from accounts.middleware import has_second_factor
from accounts.models import Organization
from accounts.roles import OrgKind
from liaison.input_policy import page_number

from .. import permissions, queries
from ..choices import Priority, Status
from ..models import Category
from . import case_rows


@login_required
def case_list(request: AuthenticatedRequest) -> HttpResponse:
    user = request.user
    if permissions.membership_of(user) is None:
        raise PermissionDenied(_("Your account has no active organisation."))
    filters = queries.filters_from_query(user, request.GET)
    side = permissions.side_of(user)
    page = page_number(request.GET.get("page"))
    per_page = settings.LIAISON_CASES_PER_PAGE
    visible = permissions.cases_visible_to(user)
    counts = queries.inbox_counts(user, visible=visible)
    listing = queries.inbox_page(queries.filtered_cases(user, filters, visible=visible), page, per_page,
                                 count_cap=queries.SEARCH_COUNT_CAP if filters.q else None, reader=user,
                                 known_total=queries.total_from_counts(filters, counts))
    rows = listing.rows
    query = request.GET.copy()
    query.pop("page", None)
    columns = case_rows.Columns(authority=side == OrgKind.PLATFORM)
    context = {
        "cases": rows, "case_header": case_rows.header(columns), "case_rows": case_rows.rows(rows, columns),
        "total": listing.total, "total_capped": listing.total_is_capped, "page": listing.page,
        "pages": listing.pages, "has_next": listing.has_next, "filters": filters,
        "query": query.urlencode(), "statuses": [("open", _("Open")), *Status.choices],
        "priorities": [("threat_to_life", _("Threat to life")), *Priority.choices],
        "categories": Category.objects.all(),
        "authorities": Organization.objects.filter(kind=OrgKind.AUTHORITY).order_by("name")
        if side == OrgKind.PLATFORM else [],
        "counts": counts,
        "can_create": permissions.can_create_case(user),
        "can_export_cases": permissions.can_export_cases(user),
        "can_export_decisions": permissions.can_export_decisions(user),
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
    context: dict[str, Any] = {"mfa_required": settings.LIAISON_REQUIRE_MFA}
    if not settings.LIAISON_REQUIRE_MFA:  # with it on, nobody reaches this page without a second factor
        context["has_second_factor"] = has_second_factor(user)
    if permissions.membership_of(user) is not None:
        side = permissions.side_of(user)
        context["counts"] = queries.inbox_counts(user)
        context["side"] = side
        if side == OrgKind.PLATFORM:
            wanted = queries.CaseFilters(status="open", sort="due")
        else:
            wanted = queries.CaseFilters(status="awaiting_information", sort="updated")
        attention = queries.inbox_page(queries.filtered_cases(user, wanted), 1, 8, with_total=False).rows
        columns = case_rows.Columns(authority=side == OrgKind.PLATFORM)  # an authority sees only its own cases
        context["attention"] = attention
        context["attention_header"] = case_rows.header(columns)
        context["attention_rows"] = case_rows.rows(attention, columns)
        context["attention_query"] = f"status={wanted.status}&sort={wanted.sort}"
    return render(request, "home.html", context)
