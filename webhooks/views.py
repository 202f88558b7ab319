"""Pages of an organisation's webhooks: endpoints (add, list, disable or enable, rotate the secret, delete) and
each endpoint's deliveries (status, response code, the start of the response, re-deliver). For the
organisation's lead or T&S manager only (403 for others of the organisation, 404 for another's endpoint)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from accounts.http import AuthenticatedRequest
from accounts.reauthentication import reauthentication_response
from cases.case_events import CaseEvent
from liaison.input_policy import page_number

from . import actions, queries
from .forms import EndpointForm
from .models import Endpoint

DELIVERIES_PER_PAGE = 50
# What the deliveries table shows of a response; the rest is kept on the row.
SHOWN_RESPONSE_CHARS = 200


def _event_labels() -> dict[str, str]:
    return {value: str(label) for value, label in CaseEvent.choices}


def _list(request: AuthenticatedRequest, form: EndpointForm, status: int = 200) -> HttpResponse:
    endpoints = list(queries.endpoints_for_admin(request.user))
    labels = _event_labels()
    for endpoint in endpoints:
        endpoint.event_labels = [labels.get(e, e) for e in endpoint.events]  # type: ignore[attr-defined]
    return render(request, "webhooks/endpoints.html", {
        "endpoints": endpoints, "form": form,
        "local_http": actions.allow_local_http(),
    }, status=status)


@login_required
@require_safe
def endpoints(request: AuthenticatedRequest) -> HttpResponse:
    return _list(request, EndpointForm())


def _secret_page(request: AuthenticatedRequest, endpoint: Endpoint, *, rotated: bool) -> HttpResponse:
    """The secret, this once: the page is not kept by the browser (no-store) and the secret is never shown again."""
    response = render(request, "webhooks/secret.html", {"endpoint": endpoint, "rotated": rotated})
    response["Cache-Control"] = "no-store, private"
    return response


@login_required
@require_POST
def add_endpoint(request: AuthenticatedRequest) -> HttpResponse:
    queries.endpoints_for_admin(request.user)  # 403 before asking for a password
    if (reauthenticate := reauthentication_response(request)) is not None:
        return reauthenticate
    form = EndpointForm(request.POST)
    if not form.is_valid():
        return _list(request, form, status=400)
    try:
        endpoint = actions.register_endpoint(actor=request.user, url=form.cleaned_data["url"],
                                             events=form.cleaned_data["events"],
                                             description=form.cleaned_data["description"])
    except ValidationError as exc:
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
        return _list(request, form, status=400)
    return _secret_page(request, endpoint, rotated=False)


@login_required
@require_safe
def endpoint_detail(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    endpoint = queries.get_endpoint_for_admin(request.user, pk)
    page = Paginator(queries.deliveries_of(endpoint), DELIVERIES_PER_PAGE).get_page(page_number(request.GET.get("page")))
    labels = _event_labels()
    for delivery in page.object_list:
        delivery.event_label = labels.get(delivery.event, delivery.event)
        delivery.response_excerpt = (delivery.response_body[:SHOWN_RESPONSE_CHARS]
                                     + ("…" if len(delivery.response_body) > SHOWN_RESPONSE_CHARS else ""))
    return render(request, "webhooks/endpoint.html", {
        "endpoint": endpoint, "page": page, "event_labels": [labels.get(e, e) for e in endpoint.events],
    })


@login_required
@require_POST
def set_active(request: AuthenticatedRequest, pk: int, active: bool) -> HttpResponse:
    endpoint = queries.get_endpoint_for_admin(request.user, pk)
    actions.set_endpoint_active(actor=request.user, endpoint=endpoint, active=active)
    messages.success(request, _("Endpoint enabled; waiting deliveries go out now.") if active
                     else _("Endpoint disabled; nothing is sent until you enable it."))
    return redirect("webhooks:endpoint", pk=endpoint.pk)


@login_required
@require_POST
def rotate(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    endpoint = queries.get_endpoint_for_admin(request.user, pk)
    if (reauthenticate := reauthentication_response(request)) is not None:
        return reauthenticate
    endpoint = actions.rotate_secret(actor=request.user, endpoint=endpoint)
    return _secret_page(request, endpoint, rotated=True)


@login_required
@require_POST
def delete(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    endpoint = queries.get_endpoint_for_admin(request.user, pk)
    actions.delete_endpoint(actor=request.user, endpoint=endpoint)
    messages.success(request, _("Endpoint %(url)s deleted.") % {"url": endpoint.url})
    return redirect("webhooks:endpoints")


@login_required
@require_POST
def redeliver(request: AuthenticatedRequest, pk: int, delivery_pk: int) -> HttpResponse:
    endpoint = queries.get_endpoint_for_admin(request.user, pk)
    delivery = queries.get_delivery(endpoint, delivery_pk)
    try:
        actions.redeliver(actor=request.user, delivery=delivery)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Delivery %(id)s queued again.") % {"id": delivery.message_id})
    return redirect("webhooks:endpoint", pk=endpoint.pk)
