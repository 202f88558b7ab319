"""A case's reported items over the API: read in pages, added in bulk (the intake's rules, a reason for every row
refused), decided in bulk (the items panel's action)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response

from cases import permissions, queries
from cases.actions.items import add_items, set_item_outcomes
from cases.queries.case_page import ITEM_FILTERS

from .. import pagination
from ..idempotency import idempotent
from ..serializers import (
    IntakeResultSerializer,
    ItemListSerializer,
    ItemSerializer,
    ItemsInputSerializer,
    OutcomesInputSerializer,
    OutcomesResultSerializer,
)
from .base import ApiView
from .cases import (
    ERRORS,
    IDEMPOTENCY_KEY,
    UNPROCESSABLE,
    case_for,
    intake_from,
    intake_payload,
    nothing_accepted,
)


class ItemsView(ApiView):
    @extend_schema(operation_id="items_list", parameters=[
        OpenApiParameter("show", str, enum=list(ITEM_FILTERS)),
        OpenApiParameter("search", str, description="Words of a target or note, or an item's number."),
        OpenApiParameter("cursor", str), OpenApiParameter("limit", int),
    ], responses={200: ItemListSerializer, **ERRORS})
    def get(self, request: Request, reference: str) -> Response:
        case = case_for(self.actor, reference)
        show = request.query_params.get("show", "")
        if show and show not in ITEM_FILTERS:
            raise exceptions.ValidationError({"show": ["Unknown filter."]})
        search = request.query_params.get("search", "")[:200]
        scope = f"items:{case.pk}:{show}:{search}"
        position, limit = pagination.decode_cursor(request, scope), pagination.limit_of(request)
        rows = list(queries.case_items(case, show=show, search=search)[position:position + limit + 1])
        next_url = pagination.next_link(request, position + limit, scope) if len(rows) > limit else None
        return Response({"results": ItemSerializer(rows[:limit], many=True).data, "next": next_url})

    @extend_schema(operation_id="items_add", request=ItemsInputSerializer, parameters=[IDEMPOTENCY_KEY],
                   responses={201: IntakeResultSerializer, **UNPROCESSABLE, **ERRORS})
    @idempotent
    def post(self, request: Request, reference: str) -> Response:
        user = self.actor
        case = case_for(user, reference)
        if not permissions.can_edit_items(user, case):
            raise exceptions.PermissionDenied("Only the requesting authority adds items, while the case is open.")
        serializer = ItemsInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        intake = intake_from(serializer.validated_data)
        if not intake.accepted:
            raise nothing_accepted(intake)
        created = add_items(actor=user, case=case, rows=intake.accepted)
        already = len(intake.accepted) - len(created)
        return Response(intake_payload(intake, len(created), already), status=201)


class OutcomesView(ApiView):
    @extend_schema(operation_id="items_set_outcomes", request=OutcomesInputSerializer,
                   responses={200: OutcomesResultSerializer, **UNPROCESSABLE, **ERRORS})
    def post(self, request: Request, reference: str) -> Response:
        user = self.actor
        case = case_for(user, reference)
        serializer = OutcomesInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        count = set_item_outcomes(actor=user, case=case, item_ids=data["items"], outcome=data["outcome"],
                                  reason=data["reason"])
        return Response({"decided": count})
