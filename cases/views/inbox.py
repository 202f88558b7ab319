"""The inbox (the case list with its filters) and the overview page: what needs this person's attention."""

from __future__ import annotations

from collections.abc import Iterable
from html import escape
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpResponse, QueryDict
from django.shortcuts import render
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from accounts.http import AuthenticatedRequest
from accounts.middleware import has_second_factor
from accounts.models import Organization
from accounts.roles import OrgKind
from liaison.input_policy import page_number

from .. import permissions, queries
from ..choices import Priority, Status
from ..kept_statements import run_prepared
from ..models import Case, Category
from ..queries.keyset import key_from_json
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
    visible = permissions.visible_cases_of(user)
    assert visible is not None  # a membership was found above
    counts = queries.inbox_counts(user, visible=visible)
    scope = queries.list_scope(filters)
    cursor = _cursor(request.GET, filters, scope, page)
    listing = queries.inbox_listing(user, filters, visible, page, per_page, counts=counts, cursor=cursor)
    rows = listing.rows
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("cursor", None)
    columns = case_rows.Columns(authority=side == OrgKind.PLATFORM)
    context = {
        "cases": rows, "case_header": case_rows.header(columns), "case_rows": case_rows.rows(rows, columns),
        "total": listing.total, "total_capped": listing.total_is_capped, "page": listing.page,
        "pages": listing.pages, "has_next": listing.has_next, "filters": filters,
        # The links to the pages around this one hold the key of its first or last row (signed, bound to this list):
        # read from there, a page costs the same at any depth. The page's number is for display, and for a link
        # whose cursor no longer holds (its page is then read by number).
        "next_cursor": encode_cursor(listing.last_key, False, listing.page + 1, scope) if listing.has_next else "",
        "previous_cursor": encode_cursor(listing.first_key, True, listing.page - 1, scope) if listing.page > 2 else "",
        "query": query.urlencode(),
        "counts": counts,
        "can_create": permissions.can_create_case(user),
        "can_export_cases": permissions.can_export_cases(user),
        "can_export_decisions": permissions.can_export_decisions(user),
    }
    if request.htmx and request.htmx.target == "case-table":
        return render(request, "cases/_case_table.html", context)
    # The filter form's choices as <option> lists built once here (five template loops resolving a variable and a
    # comparison per option cost more than the table's fifty rows).
    context |= {
        "status_options": _options([("open", _("Open")), *Status.choices], filters.status),
        "priority_options": _options([("threat_to_life", _("Threat to life")), *Priority.choices], filters.priority),
        "category_options": _options(((slug, Category.name_for_reader(name, name_id))
                                      for slug, name, name_id in run_prepared(_categories, ())), filters.category),
        "authority_options": _options(((str(pk), name) for pk, name in run_prepared(_authorities, ())),
                                      filters.authority) if side == OrgKind.PLATFORM else "",
        "sort_options": _options([("priority", _("Priority, then oldest")), ("due", _("Next deadline first")),
                                  ("newest", _("Newest first")), ("oldest", _("Oldest first")),
                                  ("updated", _("Recently updated")), ("reference", _("Reference"))], filters.sort),
    }
    return render(request, "cases/list.html", context)


def _categories(key: tuple[()]) -> QuerySet[Category, tuple[str, str, str]]:
    """(For run_prepared: the filter's options are read on every inbox page.) Every category in its order, with the
    names a reader's language picks from."""
    return Category.objects.values_list("slug", "name", "name_id")


def _authorities(key: tuple[()]) -> QuerySet[Organization, tuple[int, str]]:
    return Organization.objects.filter(kind=OrgKind.AUTHORITY).order_by("name").values_list("pk", "name")


_CURSOR_SALT = "cases.inbox.cursor"


def encode_cursor(key: list[Any] | None, backwards: bool, page: int, scope: str) -> str:
    """The `cursor` of a link to page `page`: after the row whose sort key is `key` (`backwards`: before it)."""
    if key is None:
        return ""
    return signing.dumps({"k": key, "b": backwards, "p": page, "s": scope}, salt=_CURSOR_SALT, compress=True)


def _cursor(params: QueryDict, filters: queries.CaseFilters, scope: str, page: int) -> queries.PageCursor | None:
    """The cursor of a "Next" or "Previous" link, if it proves itself: signed here, for this list (its filters and
    sort) and the page the link names. Anything else (forged, stale, another list's) is ignored: the page is then
    read by its number."""
    raw = params.get("cursor", "")
    if not raw:
        return None
    try:
        value: Any = signing.loads(raw, salt=_CURSOR_SALT)
        if not isinstance(value, dict) or value.get("s") != scope or value.get("p") != page \
                or not isinstance(value.get("b"), bool) or not isinstance(value.get("k"), list):
            return None
        key = key_from_json(Case, queries.sort_keys(filters), value["k"])
    except (signing.BadSignature, ValueError, TypeError, ValidationError):
        return None
    return queries.PageCursor(key=key, backwards=value["b"], page=page)


def _options(choices: Iterable[tuple[str, Any]], selected: str) -> SafeString:
    """A filter's <option> elements, values and labels escaped, the chosen one marked selected (what the template's
    loop wrote)."""
    return mark_safe("".join(  # noqa: S308 (every value escaped)
        f'<option value="{escape(str(value))}"{" selected" if selected == value else ""}>{escape(str(label))}</option>'
        for value, label in choices))


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
