"""A case's thread over the API: the messages the caller may see, newer than a cursor; a new message or note."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response

from cases import permissions
from cases.actions.thread import post_message

from .. import pagination
from ..idempotency import idempotent
from ..serializers import MessageCreateSerializer, MessageListSerializer, MessageSerializer
from .base import ApiView
from .cases import ERRORS, IDEMPOTENCY_KEY, UNPROCESSABLE, case_for


class MessagesView(ApiView):
    @extend_schema(operation_id="messages_list", parameters=[
        OpenApiParameter("since", int, description="Only messages after this id (the previous answer's next_since)."),
        OpenApiParameter("limit", int),
    ], responses={200: MessageListSerializer, **ERRORS})
    def get(self, request: Request, reference: str) -> Response:
        user = self.actor
        case = case_for(user, reference)
        raw = request.query_params.get("since", "0") or "0"
        if not raw.isascii() or not raw.isdigit() or len(raw) > 18:
            raise exceptions.ValidationError({"since": ["A message id."]})
        since, limit = int(raw), pagination.limit_of(request)
        rows = list(permissions.messages_visible_to(user, case).filter(id__gt=since)
                    .select_related("author").order_by("id")[:limit + 1])
        shown = rows[:limit]
        return Response({"results": MessageSerializer(shown, many=True).data,
                         "next_since": shown[-1].pk if shown else since, "has_more": len(rows) > limit})

    @extend_schema(operation_id="messages_create", request=MessageCreateSerializer, parameters=[IDEMPOTENCY_KEY],
                   responses={201: MessageSerializer, **UNPROCESSABLE, **ERRORS})
    @idempotent
    def post(self, request: Request, reference: str) -> Response:
        user = self.actor
        case = case_for(user, reference)
        serializer = MessageCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        message = post_message(actor=user, case=case, body=serializer.validated_data["body"],
                               internal=serializer.validated_data["internal"])
        return Response(MessageSerializer(message).data, status=201)
