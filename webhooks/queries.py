"""Reads of the webhooks pages, through the policy: an admin's own organisation's endpoints only."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from accounts.models import User
from cases.permissions import can_manage_webhooks

from .models import Delivery, Endpoint


def endpoints_for_admin(user: User) -> QuerySet[Endpoint]:
    """The endpoints of the person's organisation, with their delivery counts; PermissionDenied for anyone who
    does not manage webhooks."""
    if not can_manage_webhooks(user):
        raise PermissionDenied(_("Only your organisation's lead or T&S manager manages webhooks."))
    return (Endpoint.objects.filter(organization_id=user.membership.organization_id)
            .annotate(failing=Count("deliveries", filter=Q(deliveries__status__in=[Delivery.Status.RETRYING,
                                                                                   Delivery.Status.FAILED])))
            .order_by("-created_at", "-id"))


def get_endpoint_for_admin(user: User, pk: int) -> Endpoint:
    """403 for someone who does not manage webhooks, 404 for another organisation's endpoint."""
    endpoint = endpoints_for_admin(user).filter(pk=pk).first()
    if endpoint is None:
        raise Http404(_("No such endpoint."))
    return endpoint


def deliveries_of(endpoint: Endpoint) -> QuerySet[Delivery]:
    return Delivery.objects.filter(endpoint=endpoint).select_related("case").order_by("-created_at", "-id")


def get_delivery(endpoint: Endpoint, pk: int) -> Delivery:
    delivery = deliveries_of(endpoint).filter(pk=pk).select_related("endpoint").first()
    if delivery is None:
        raise Http404(_("No such delivery."))
    return delivery
