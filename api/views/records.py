"""The audit chain's signed checkpoints (list, download) and the caller's own notifications."""

from __future__ import annotations

from datetime import UTC

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response

from cases import permissions
from cases.actions.checkpoints import record_checkpoint_download
from cases.audit_checkpoints import MEDIA_TYPE, filename
from cases.event_text import notification_text
from cases.models import AuditCheckpoint, Notification

from .. import pagination
from ..serializers import CheckpointSerializer, NotificationListSerializer, NotificationSerializer
from .base import ApiView, FileView
from .cases import ERRORS


def _ensure_can_view_checkpoints(request: Request) -> None:
    if not permissions.can_view_audit_checkpoints(request.user):
        raise exceptions.PermissionDenied("Your role does not give access to the audit checkpoints.")


class CheckpointsView(ApiView):
    @extend_schema(operation_id="checkpoints_list", parameters=[OpenApiParameter("limit", int)],
                   responses={200: CheckpointSerializer(many=True), **ERRORS})
    def get(self, request: Request) -> Response:
        _ensure_can_view_checkpoints(request)
        rows = AuditCheckpoint.objects.defer("signed_file").order_by("-sequence")[:pagination.limit_of(request)]
        return Response(CheckpointSerializer(rows, many=True).data)


class CheckpointDownloadView(FileView):
    @extend_schema(operation_id="checkpoints_download",
                   responses={(200, MEDIA_TYPE): OpenApiResponse(OpenApiTypes.BINARY), **ERRORS})
    def get(self, request: Request, sequence: int) -> HttpResponse:
        _ensure_can_view_checkpoints(request)
        checkpoint = AuditCheckpoint.objects.filter(sequence=sequence).first()
        if checkpoint is None:
            raise exceptions.NotFound("No such checkpoint.")
        record_checkpoint_download(actor=self.actor, checkpoint=checkpoint)
        response = HttpResponse(bytes(checkpoint.signed_file), content_type=MEDIA_TYPE)
        response["Content-Disposition"] = f'attachment; filename="{filename(checkpoint.sequence)}"'
        response["X-Content-Type-Options"] = "nosniff"
        return response


class NotificationsView(ApiView):
    @extend_schema(operation_id="notifications_list", parameters=[
        OpenApiParameter("unread", bool, description="Only those not yet read."),
        OpenApiParameter("cursor", str), OpenApiParameter("limit", int),
    ], responses={200: NotificationListSerializer, **ERRORS})
    def get(self, request: Request) -> Response:
        unread = request.query_params.get("unread", "") in ("1", "true")
        scope = f"notifications:{request.user.pk}:{unread}"
        position, limit = pagination.decode_cursor(request, scope), pagination.limit_of(request)
        rows = Notification.objects.filter(user=request.user).select_related("case").order_by("-created_at", "-id")
        if unread:
            rows = rows.filter(read_at__isnull=True)
        page = list(rows[position:position + limit + 1])
        results = []
        for notification in page[:limit]:
            data = dict(NotificationSerializer(notification).data)
            written = notification_text(notification.event, zone=UTC)
            if written is not None:  # in the reader's language, from the event (older rows keep their text)
                data["title"] = written[0]
                data["body"] = written[1] if written[1] is not None else notification.body
            results.append(data)
        next_url = pagination.next_link(request, position + limit, scope) if len(page) > limit else None
        return Response({"results": results, "next": next_url})

