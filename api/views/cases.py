"""Cases over the API: the inbox's list (its filters, cursor pages), a new draft with its items (the web path's
form and intake rules), one case (ETag), and the workflow's moves, each calling the same action as the case page."""

from __future__ import annotations

import hashlib
from typing import Any

from django.http import HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import User
from cases import item_lists, permissions
from cases.actions.cases import create_case, transition_case
from cases.choices import Status, Transition
from cases.forms import CaseForm
from cases.models import Case, Category
from cases.queries import case_pages
from cases.queries.inbox import CaseFilters, case_row_values, list_scope
from cases.queries.keyset import KEYSETS

from .. import pagination
from ..idempotency import idempotent
from ..problems import Unprocessable
from ..serializers import (
    CASE_DETAIL_COLUMNS,
    CASE_SUMMARY_COLUMNS,
    CaseCreatedSerializer,
    CaseCreateSerializer,
    CaseDetailSerializer,
    CaseListSerializer,
    ItemsInputSerializer,
    ProblemSerializer,
    TransitionInputSerializer,
    case_detail,
    case_summary,
)
from .base import ApiView

PROBLEM = OpenApiResponse(ProblemSerializer, description="A problem document (RFC 9457).")
PROBLEM_JSON = "application/problem+json"
ERRORS: dict[Any, Any] = {(code, PROBLEM_JSON): PROBLEM for code in (400, 401, 403, 404, 429)}
CONFLICT: dict[Any, Any] = {(409, PROBLEM_JSON): PROBLEM}
UNPROCESSABLE: dict[Any, Any] = {(422, PROBLEM_JSON): PROBLEM}
IDEMPOTENCY_KEY = OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, required=False,
                                   description="Retrying with the same key and body replays the first answer.")


LIST_FILTERS = [
    OpenApiParameter("status", str, description="A status, or `open`.",
                     enum=["open", *Status.values]),
    OpenApiParameter("priority", str, enum=["urgent", "high", "normal", "threat_to_life"]),
    OpenApiParameter("category", str, description="A category's slug."),
    OpenApiParameter("authority", int, description="The requesting organisation's id."),
    OpenApiParameter("assignee", str, description="A person's id, `me` or `none`."),
    OpenApiParameter("q", str, description="A reference, a link, or words of the title."),
    OpenApiParameter("deadline", str, enum=["due_soon", "breached"]),
    OpenApiParameter("sort", str, enum=list(KEYSETS)),
    OpenApiParameter("cursor", str, description="From the previous page's `next`."),
    OpenApiParameter("limit", int, description=f"1 to {pagination.MAX_LIMIT} (default {pagination.DEFAULT_LIMIT})."),
]


def case_for(user: User, reference: str) -> Case:
    """The case if this person may see it; 404 otherwise, whatever the reason."""
    return permissions.get_case_for_user(user, reference)


def case_payload(user: User, case: Case) -> dict[str, Any]:
    """The case as its reader gets it: its row's values with the counts the inbox shows (unread), and the moves
    the policy allows this person on `case` (an instance read through their visibility or by the action)."""
    row = case_row_values([case.pk], CASE_DETAIL_COLUMNS, reader=user)[0]
    return case_detail(row, permissions.available_transitions(user, case))


def filters_from(request: Request) -> CaseFilters:
    params = request.query_params
    sort = params.get("sort", "priority")
    if sort not in KEYSETS:
        raise exceptions.ValidationError({"sort": [_("Unknown sort.")]})
    return CaseFilters(status=params.get("status", ""), priority=params.get("priority", ""),
                       category=params.get("category", ""), authority=params.get("authority", ""),
                       assignee=params.get("assignee", ""), q=params.get("q", "")[:200], sort=sort,
                       deadline=params.get("deadline", ""))


def cursor_after(filters: CaseFilters, row: Case) -> str:
    """The cursor of the page after `row` in the list of `filters` (as a `next` link holds it)."""
    return pagination.encode_key(pagination.row_key(row, KEYSETS[filters.sort]), list_scope(filters))


def intake_from(data: dict[str, Any]) -> item_lists.Intake:
    """The rows of a request, read by the same rules as a pasted or uploaded list on the web."""
    if data.get("csv"):
        return item_lists.parse_csv(data["csv"].encode("utf-8"))
    if data.get("text"):
        return item_lists.parse_text(data["text"])
    return item_lists.parse_pairs((row["target"], row.get("note", "")) for row in data.get("items") or [])


def intake_payload(intake: item_lists.Intake, added: int, already: int) -> dict[str, Any]:
    return {
        "added": added, "already_in_case": already,
        "rejected": [{"line": r.line, "target": r.raw, "code": r.code, "reason": r.reason} for r in intake.rejected],
        "duplicates": [{"line": d.line, "target": d.target, "first_line": d.first_line} for d in intake.duplicates],
    }


def nothing_accepted(intake: item_lists.Intake) -> Unprocessable:
    return Unprocessable(
        _("No row was accepted. Correct the list and send it again."), code="no_row_accepted",
        errors=[{"field": f"items[{r.line - 1}].target", "detail": f"{r.line}: {r.reason}", "code": r.code}
                for r in intake.rejected])


class CaseListView(ApiView):
    @extend_schema(operation_id="cases_list", parameters=LIST_FILTERS, responses={200: CaseListSerializer, **ERRORS})
    def get(self, request: Request) -> Response:
        user = self.actor
        filters = filters_from(request)
        limit = pagination.limit_of(request)
        scope = list_scope(filters)  # a cursor of another list (filters or sort) is refused
        keys = KEYSETS[filters.sort]
        after = pagination.decode_key(request, scope, Case, keys)
        # The page's ids and sort keys first (through the ordering index, the same cost at any depth), then their
        # rows' values; the total counted up to the cap as the inbox counts it. Both statements kept (case_pages).
        keyed, count = case_pages.case_page(user, filters, keys, after, limit + 1)
        if after is None and len(keyed) <= limit:
            total, total_is_capped = len(keyed), False  # the first page holds the whole list: nothing to count
        else:
            total, total_is_capped = count()
        page = keyed[:limit]
        rows = case_row_values([row["id"] for row in page], CASE_SUMMARY_COLUMNS, reader=user)
        next_url = (pagination.next_key_link(request, pagination.row_key(page[-1], keys), scope)
                    if len(keyed) > limit else None)
        return Response({"results": [case_summary(row) for row in rows], "next": next_url,
                         "total": total, "total_is_capped": total_is_capped})

    @extend_schema(operation_id="cases_create", request=CaseCreateSerializer, parameters=[IDEMPOTENCY_KEY],
                   responses={201: CaseCreatedSerializer, **UNPROCESSABLE, **ERRORS})
    @idempotent
    def post(self, request: Request) -> Response:
        user = self.actor
        if not permissions.can_create_case(user):
            raise exceptions.PermissionDenied(_("Only liaisons and leads of an authority open cases."))
        serializer = CaseCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        form = CaseForm(_form_data(data))
        if not form.is_valid():
            raise exceptions.ValidationError({name: list(errors) for name, errors in form.errors.items()})
        intake = intake_from(data)
        if not intake.accepted:
            raise nothing_accepted(intake)
        clean = form.cleaned_data
        case = create_case(
            actor=user, title=clean["title"], category=clean["category"], responding_org=clean["responding_org"],
            request_type=clean["request_type"], legal_basis=clean["legal_basis"],
            legal_article=clean["legal_article"], description=clean["description"], priority=clean["priority"],
            threat_to_life=clean["threat_to_life"], tlp=clean["tlp"], language=clean["language"],
            territorial_scope=clean["territorial_scope"], items=intake.accepted)
        body = {"case": case_payload(user, case), "intake": intake_payload(intake, len(intake.accepted), 0)}
        return Response(body, status=status.HTTP_201_CREATED,
                        headers={"Location": reverse("api:case", args=[case.reference])})


def _form_data(data: dict[str, Any]) -> dict[str, Any]:
    """The request in the web form's terms, so the form's rules decide (categories by slug, scope as a list)."""
    category = Category.objects.filter(slug=data["category"], is_active=True).values_list("pk", flat=True).first()
    return {
        "title": data["title"], "request_type": data["request_type"], "category": category or "",
        "priority": data["priority"], "threat_to_life": "on" if data["threat_to_life"] else "",
        "tlp": data["tlp"], "legal_basis": data["legal_basis"], "legal_article": data["legal_article"],
        "description": data["description"], "language": data["language"],
        "territorial_scope": ",".join(data["territorial_scope"]), "responding_org": data["responding_org"],
    }


class CaseDetailView(ApiView):
    @extend_schema(operation_id="cases_retrieve",
                   parameters=[OpenApiParameter("If-None-Match", str, OpenApiParameter.HEADER, required=False)],
                   responses={200: CaseDetailSerializer, 304: OpenApiResponse(description="Not modified."),
                              **ERRORS})
    def get(self, request: Request, reference: str) -> Response:
        user = self.actor
        payload = case_payload(user, case_for(user, reference))
        # Rendered once, as DRF would render it for this request; the ETag is the hash of exactly these bytes.
        body = request.accepted_renderer.render(payload, request.accepted_media_type, self.get_renderer_context())
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        wanted = [tag.strip().removeprefix("W/") for tag in request.headers.get("If-None-Match", "").split(",")]
        if etag in wanted or "*" in wanted:
            return Response(status=status.HTTP_304_NOT_MODIFIED, headers={"ETag": etag})
        return HttpResponse(body, content_type=request.accepted_renderer.media_type, headers={"ETag": etag})


class CaseTransitionView(ApiView):
    """POST /cases/{reference}/{transition}/: the workflow move, by the same action as the case page's button."""

    transition = ""

    @extend_schema(request=TransitionInputSerializer,
                   responses={200: CaseDetailSerializer, **CONFLICT, **UNPROCESSABLE, **ERRORS})
    def post(self, request: Request, reference: str) -> Response:
        user = self.actor
        case = case_for(user, reference)
        serializer = TransitionInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        extra: dict[str, Any] = {}
        if self.transition == Transition.RESOLVE:
            extra["outcome_summary"] = data["outcome_summary"] or None
        case = transition_case(case=case, transition=self.transition, actor=user, note=data["note"], **extra)
        return Response(case_payload(user, case))


TRANSITION_VIEWS: dict[str, type[CaseTransitionView]] = {
    transition: type(f"Case{transition.title().replace('_', '')}View", (CaseTransitionView,),
                     {"transition": transition})
    for transition in Transition.values
}

__all__ = ["CaseDetailView", "CaseListView", "TRANSITION_VIEWS", "ItemsInputSerializer", "case_for",
           "intake_from", "intake_payload", "nothing_accepted"]
