"""An organisation's webhook endpoints over the API: what Organisation → Webhooks lets its lead or T&S manager do,
through the same queries (403 for anyone else of the organisation, 404 for another organisation's endpoint) and the
same actions of `webhooks/actions.py`.

Re-authentication: the pages ask for the password again before adding an endpoint or rotating its secret. A
read-write token was itself made only after that re-authentication (Preferences → API tokens), so a token's
request passes; a request with the signed-in session (the portal's own scripts) must have signed in or
re-authenticated within ACCOUNT_REAUTHENTICATION_TIMEOUT, as the page asks, or it is refused (403,
`reauthentication_required`). The same holds for a new address of an existing endpoint. A read-only token reads the
lists and is refused every change (403, by the API's scope check).

The signing secret is in the answer that creates or rotates it, and only there (`Cache-Control: no-store`). An
Idempotency-Key's replay of the creating answer shows it again to the same person for the same request (a
connection lost before the answer arrived must not leave an endpoint whose secret nobody saw); the kept answer
holds it encrypted, like the endpoint's own row.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import User
from accounts.reauthentication import authenticated_recently
from cases.case_events import CaseEvent
from webhooks import actions, queries, secret_encryption
from webhooks.models import Delivery, Endpoint

from .. import pagination
from ..idempotency import idempotent
from ..models import ApiToken
from ..problems import Conflict
from ..serializers import UtcDateTimeField
from .base import ApiView
from .cases import CONFLICT, ERRORS, IDEMPOTENCY_KEY, UNPROCESSABLE

NO_STORE = {"Cache-Control": "no-store, private"}


# --- Shapes ---------------------------------------------------------------------------------------------------------


class EndpointSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.CharField()
    description = serializers.CharField()
    events = serializers.ListField(child=serializers.ChoiceField(choices=CaseEvent.choices))
    is_active = serializers.BooleanField()
    disabled_at = UtcDateTimeField(allow_null=True)
    created_at = UtcDateTimeField()
    secret_rotated_at = UtcDateTimeField(allow_null=True)
    previous_secret_signs_until = serializers.SerializerMethodField()
    failing_deliveries = serializers.IntegerField(source="failing", help_text="Deliveries retrying or failed.")
    deliveries = serializers.SerializerMethodField()

    def get_previous_secret_signs_until(self, endpoint: Endpoint) -> str | None:
        """Until when the secret before the last rotation also signs (null when it no longer does)."""
        until = endpoint.previous_until
        if not endpoint.previous_secret_encrypted or until is None or until <= self.context["now"]:
            return None
        return UtcDateTimeField().to_representation(until)

    def get_deliveries(self, endpoint: Endpoint) -> str:
        return reverse("api:webhook_deliveries", args=[endpoint.pk])


class EndpointWithSecretSerializer(EndpointSerializer):
    secret = serializers.CharField(help_text="The signing secret (whsec_…): shown in this answer only.")


class EndpointListSerializer(serializers.Serializer):
    results = EndpointSerializer(many=True)
    next = serializers.URLField(allow_null=True)


class EndpointInputSerializer(serializers.Serializer):
    url = serializers.CharField(max_length=2048, help_text="An https:// address of your own system.")
    events = serializers.ListField(child=serializers.ChoiceField(choices=CaseEvent.choices), allow_empty=False)
    description = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class EndpointChangeSerializer(serializers.Serializer):
    url = serializers.CharField(max_length=2048, required=False)
    events = serializers.ListField(child=serializers.ChoiceField(choices=CaseEvent.choices), allow_empty=False,
                                   required=False)
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)
    is_active = serializers.BooleanField(required=False, help_text="false disables (nothing is sent; deliveries "
                                                                   "wait), true enables again.")


class DeliverySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    message_id = serializers.CharField(help_text="The webhook-id header: the same on every attempt.")
    event = serializers.ChoiceField(choices=CaseEvent.choices)
    case = serializers.CharField(source="case.reference", allow_null=True, default=None)
    status = serializers.ChoiceField(choices=Delivery.Status.choices)
    attempts = serializers.IntegerField()
    response_status = serializers.IntegerField(allow_null=True, help_text="The receiver's last response code.")
    response_body = serializers.CharField(help_text="The start of the receiver's last response (2,000 characters).")
    error = serializers.CharField(help_text="The last network error, if the receiver did not answer.")
    created_at = UtcDateTimeField()
    last_attempt_at = UtcDateTimeField(allow_null=True)
    next_attempt_at = UtcDateTimeField(allow_null=True)
    delivered_at = UtcDateTimeField(allow_null=True)


class DeliveryListSerializer(serializers.Serializer):
    results = DeliverySerializer(many=True)
    next = serializers.URLField(allow_null=True)


# --- Helpers --------------------------------------------------------------------------------------------------------


def _ensure_recently_authenticated(request: Request) -> None:
    """The pages' re-authentication, over the API (see the module's docstring)."""
    if isinstance(request.auth, ApiToken):
        return
    if not authenticated_recently(request._request):
        raise exceptions.PermissionDenied(
            _("Confirm your password in the portal again (or use a read-write API token, made after that "
              "confirmation), then retry."), code="reauthentication_required")


def _context() -> dict[str, Any]:
    return {"now": timezone.now()}


def _with_secret(user: User, endpoint: Endpoint) -> dict[str, Any]:
    """The endpoint as listed (its failing count by the list's own query), and the new secret the action returned
    on it."""
    shown = queries.get_endpoint_for_admin(user, endpoint.pk)
    shown.secret = endpoint.secret
    return dict(EndpointWithSecretSerializer(shown, context=_context()).data)


ENDPOINT_ID = OpenApiParameter("endpoint_id", int, OpenApiParameter.PATH)


# --- Views ----------------------------------------------------------------------------------------------------------


class EndpointsView(ApiView):
    @extend_schema(operation_id="webhook_endpoints_list", parameters=[
        OpenApiParameter("cursor", str), OpenApiParameter("limit", int),
    ], responses={200: EndpointListSerializer, **ERRORS})
    def get(self, request: Request) -> Response:
        rows = queries.endpoints_for_admin(self.actor)
        scope = f"webhook-endpoints:{self.actor.pk}"
        position, limit = pagination.decode_cursor(request, scope), pagination.limit_of(request)
        page = list(rows[position:position + limit + 1])
        next_url = pagination.next_link(request, position + limit, scope) if len(page) > limit else None
        return Response({"results": EndpointSerializer(page[:limit], many=True, context=_context()).data,
                         "next": next_url})

    @extend_schema(operation_id="webhook_endpoints_create", request=EndpointInputSerializer,
                   parameters=[IDEMPOTENCY_KEY], responses={201: EndpointWithSecretSerializer, **UNPROCESSABLE, **ERRORS})
    @idempotent
    def post(self, request: Request) -> Response:
        user = self.actor
        queries.endpoints_for_admin(user)  # 403 before anything else, then re-authentication, as the page
        _ensure_recently_authenticated(request)
        serializer = EndpointInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        endpoint = actions.register_endpoint(actor=user, url=data["url"], events=data["events"],
                                             description=data["description"])
        return Response(_with_secret(user, endpoint), status=201,
                        headers={"Location": reverse("api:webhook_endpoint", args=[endpoint.pk]), **NO_STORE})

    @staticmethod
    def idempotency_seal(data: dict[str, Any]) -> dict[str, Any]:
        """The creating answer as kept for a replay: its secret encrypted, as on the endpoint's row."""
        sealed = dict(data)
        sealed["secret"] = {"encrypted": secret_encryption.encrypt(str(data["secret"]))}
        return sealed

    @staticmethod
    def idempotency_unseal(data: dict[str, Any]) -> dict[str, Any]:
        opened = dict(data)
        opened["secret"] = secret_encryption.decrypt(data["secret"]["encrypted"])
        return opened


class EndpointView(ApiView):
    @extend_schema(operation_id="webhook_endpoints_retrieve", parameters=[ENDPOINT_ID],
                   responses={200: EndpointSerializer, **ERRORS})
    def get(self, request: Request, endpoint_id: int) -> Response:
        endpoint = queries.get_endpoint_for_admin(self.actor, endpoint_id)
        return Response(EndpointSerializer(endpoint, context=_context()).data)

    @extend_schema(operation_id="webhook_endpoints_update", parameters=[ENDPOINT_ID], request=EndpointChangeSerializer,
                   responses={200: EndpointSerializer, **UNPROCESSABLE, **ERRORS})
    def patch(self, request: Request, endpoint_id: int) -> Response:
        user = self.actor
        endpoint = queries.get_endpoint_for_admin(user, endpoint_id)
        serializer = EndpointChangeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if "url" in data and data["url"].strip() != endpoint.url:
            _ensure_recently_authenticated(request)  # a new destination for the organisation's events, as adding
        with transaction.atomic():
            if {"url", "events", "description"} & set(data):
                endpoint = actions.update_endpoint(actor=user, endpoint=endpoint, url=data.get("url"),
                                                   events=data.get("events"), description=data.get("description"))
            if "is_active" in data:
                actions.set_endpoint_active(actor=user, endpoint=endpoint, active=data["is_active"])
        return Response(EndpointSerializer(queries.get_endpoint_for_admin(user, endpoint_id), context=_context()).data)

    @extend_schema(operation_id="webhook_endpoints_destroy", parameters=[ENDPOINT_ID],
                   responses={204: None, **ERRORS})
    def delete(self, request: Request, endpoint_id: int) -> Response:
        endpoint = queries.get_endpoint_for_admin(self.actor, endpoint_id)
        actions.delete_endpoint(actor=self.actor, endpoint=endpoint)
        return Response(status=204)


class RotateSecretView(ApiView):
    @extend_schema(operation_id="webhook_endpoints_rotate_secret", parameters=[ENDPOINT_ID], request=None,
                   responses={200: EndpointWithSecretSerializer, **ERRORS})
    def post(self, request: Request, endpoint_id: int) -> Response:
        user = self.actor
        endpoint = queries.get_endpoint_for_admin(user, endpoint_id)
        _ensure_recently_authenticated(request)
        endpoint = actions.rotate_secret(actor=user, endpoint=endpoint)
        return Response(_with_secret(user, endpoint), headers=NO_STORE)


class DeliveriesView(ApiView):
    @extend_schema(operation_id="webhook_deliveries_list", parameters=[
        ENDPOINT_ID,
        OpenApiParameter("status", str, enum=Delivery.Status.values),
        OpenApiParameter("cursor", str), OpenApiParameter("limit", int),
    ], responses={200: DeliveryListSerializer, **ERRORS})
    def get(self, request: Request, endpoint_id: int) -> Response:
        endpoint = queries.get_endpoint_for_admin(self.actor, endpoint_id)
        rows = queries.deliveries_of(endpoint)
        status = request.query_params.get("status", "")
        if status:
            if status not in Delivery.Status.values:
                raise exceptions.ValidationError({"status": [_("Unknown status.")]})
            rows = rows.filter(status=status)
        scope = f"webhook-deliveries:{endpoint.pk}:{status}"
        position, limit = pagination.decode_cursor(request, scope), pagination.limit_of(request)
        page = list(rows[position:position + limit + 1])
        next_url = pagination.next_link(request, position + limit, scope) if len(page) > limit else None
        return Response({"results": DeliverySerializer(page[:limit], many=True).data, "next": next_url})


class RedeliverView(ApiView):
    @extend_schema(operation_id="webhook_deliveries_redeliver", parameters=[
        ENDPOINT_ID, OpenApiParameter("delivery_id", int, OpenApiParameter.PATH),
    ], request=None, responses={202: DeliverySerializer, **CONFLICT, **ERRORS})
    def post(self, request: Request, endpoint_id: int, delivery_id: int) -> Response:
        endpoint = queries.get_endpoint_for_admin(self.actor, endpoint_id)
        delivery = queries.get_delivery(endpoint, delivery_id)
        try:
            delivery = actions.redeliver(actor=self.actor, delivery=delivery)
        except ValidationError as exc:
            raise Conflict(" ".join(exc.messages), code="endpoint_disabled") from None
        delivery = queries.get_delivery(endpoint, delivery.pk)
        return Response(DeliverySerializer(delivery).data, status=202)
