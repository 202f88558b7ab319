"""The webhooks pages: an organisation's lead or T&S manager adds, lists, disables, rotates and deletes endpoints
and re-delivers; everyone else is refused (403 in their own organisation, 404 for another's endpoint)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.urls import reverse
from standardwebhooks.webhooks import Webhook

from cases.case_events import CaseEvent
from tests.cases.conftest import make_case
from tests.factories import World
from webhooks import secret_encryption
from webhooks.models import Delivery, Endpoint

from .conftest import Receiver, subscribe


def shown_secret(html: str) -> str:
    """The signing secret a page shows (its one read-only field)."""
    found = re.search(r'value="(whsec_[^"]+)"[^>]*data-testid="signing-secret"', html)
    assert found, "no signing secret on the page"
    return found.group(1)


NOT_ADMINS = ("liaison", "authority_auditor", "moderator", "legal", "auditor")


@pytest.mark.parametrize("persona", NOT_ADMINS)
def test_only_an_organisations_lead_or_manager_manages_webhooks(world: World, mfa_client: Any, persona: str) -> None:
    endpoint = subscribe(world.lead if getattr(world, persona).membership.organization == world.ministry
                         else world.manager, "https://hooks.example.org/liaison")
    mfa_client.force_login(getattr(world, persona))
    assert mfa_client.get(reverse("webhooks:endpoints")).status_code == 403
    assert mfa_client.get(reverse("webhooks:endpoint", args=[endpoint.pk])).status_code == 403
    assert mfa_client.post(reverse("webhooks:add"), {"url": "https://hooks.example.org/x",
                                                     "events": [CaseEvent.SUBMITTED]}).status_code == 403
    for name in ("disable", "rotate", "delete"):
        assert mfa_client.post(reverse(f"webhooks:{name}", args=[endpoint.pk])).status_code == 403
    endpoint.refresh_from_db()
    assert endpoint.is_active


@pytest.mark.parametrize("outsider", ["other_lead", "manager"])
def test_another_organisations_endpoint_is_not_found(world: World, mfa_client: Any, outsider: str,
                                                     receiver: Receiver,
                                                     django_capture_on_commit_callbacks: Any) -> None:
    endpoint = subscribe(world.lead, receiver.url, [CaseEvent.SUBMITTED])
    with django_capture_on_commit_callbacks(execute=True):
        make_case(world)
    delivery = endpoint.deliveries.get()
    mfa_client.force_login(getattr(world, outsider))
    assert mfa_client.get(reverse("webhooks:endpoint", args=[endpoint.pk])).status_code == 404
    for name in ("disable", "enable", "rotate", "delete"):
        assert mfa_client.post(reverse(f"webhooks:{name}", args=[endpoint.pk])).status_code == 404
    assert mfa_client.post(reverse("webhooks:redeliver", args=[endpoint.pk, delivery.pk])).status_code == 404
    listing = mfa_client.get(reverse("webhooks:endpoints"))
    assert listing.status_code == 200 and receiver.url not in listing.content.decode()
    assert len(receiver.requests) == 1 and Endpoint.objects.filter(pk=endpoint.pk, is_active=True).exists()


def test_adding_an_endpoint_shows_its_secret_once(world: World, mfa_client: Any) -> None:
    mfa_client.force_login(world.manager)
    response = mfa_client.post(reverse("webhooks:add"), {
        "url": "https://moderation.platform.example/liaison", "description": "Moderation queue",
        "events": [CaseEvent.SUBMITTED, CaseEvent.DEADLINE_AT_RISK]})
    assert response.status_code == 200
    endpoint = Endpoint.objects.get(organization=world.platform)
    secret = shown_secret(response.content.decode())
    assert secret.startswith("whsec_") and secret_encryption.decrypt(endpoint.secret_encrypted) == secret
    assert "no-store" in response["Cache-Control"]
    Webhook(secret)  # a secret the standardwebhooks package accepts
    assert endpoint.events == [CaseEvent.SUBMITTED, CaseEvent.DEADLINE_AT_RISK]
    listing = mfa_client.get(reverse("webhooks:endpoints")).content.decode()
    page = mfa_client.get(reverse("webhooks:endpoint", args=[endpoint.pk])).content.decode()
    assert "https://moderation.platform.example/liaison" in listing and "Deadline at risk" in listing
    assert secret not in listing and secret not in page


@pytest.mark.parametrize("url", [
    "http://hooks.example.org/liaison",  # not https
    "https://127.0.0.1/hook",  # this host
    "https://localhost:8443/hook",
    "https://10.0.0.5/hook",  # a private network
    "https://169.254.169.254/latest/meta-data/",  # the cloud's metadata service
    "https://[::ffff:192.168.1.1]/hook",
    "https://user:pass@hooks.example.org/",
    "ftp://hooks.example.org/",
])
def test_an_address_outside_the_public_internet_or_without_https_is_refused(world: World, mfa_client: Any,
                                                                           url: str) -> None:
    mfa_client.force_login(world.lead)
    response = mfa_client.post(reverse("webhooks:add"), {"url": url, "events": [CaseEvent.SUBMITTED]})
    assert response.status_code == 400
    assert not Endpoint.objects.exists()


def test_an_endpoint_needs_an_event(world: World, mfa_client: Any) -> None:
    mfa_client.force_login(world.lead)
    response = mfa_client.post(reverse("webhooks:add"), {"url": "https://hooks.example.org/liaison"})
    assert response.status_code == 400 and not Endpoint.objects.exists()


def test_the_deliveries_list_shows_status_code_and_the_start_of_the_response(
        world: World, mfa_client: Any, receiver: Receiver, django_capture_on_commit_callbacks: Any,
        django_assert_max_num_queries: Any) -> None:
    receiver.answers = [503]
    receiver.reply = "maintenance window " + "y" * 1000
    endpoint = subscribe(world.lead, receiver.url, [CaseEvent.SUBMITTED])
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(5):
            make_case(world)
    mfa_client.force_login(world.lead)
    mfa_client.get(reverse("webhooks:endpoint", args=[endpoint.pk]))
    with django_assert_max_num_queries(12):
        page = mfa_client.get(reverse("webhooks:endpoint", args=[endpoint.pk])).content.decode()
    assert page.count('data-testid="delivery-row"') == 5
    assert page.count(">503<") == 5
    assert "maintenance window yyy" in page and "y" * 300 not in page
    assert "Retrying" in page


def test_disabling_stops_deliveries_and_enabling_resumes_them(
        world: World, mfa_client: Any, receiver: Receiver, django_capture_on_commit_callbacks: Any) -> None:
    endpoint = subscribe(world.lead, receiver.url, [CaseEvent.SUBMITTED])
    mfa_client.force_login(world.lead)
    assert mfa_client.post(reverse("webhooks:disable", args=[endpoint.pk])).status_code == 302
    with django_capture_on_commit_callbacks(execute=True):
        make_case(world)
    assert receiver.requests == [] and not Delivery.objects.exists()
    assert mfa_client.post(reverse("webhooks:enable", args=[endpoint.pk])).status_code == 302
    with django_capture_on_commit_callbacks(execute=True):
        make_case(world)
    assert len(receiver.requests) == 1


def test_rotating_shows_the_new_secret_and_deleting_removes_the_endpoint(world: World, mfa_client: Any) -> None:
    endpoint = subscribe(world.lead, "https://hooks.example.org/liaison")
    old = endpoint.secret
    mfa_client.force_login(world.lead)
    response = mfa_client.post(reverse("webhooks:rotate", args=[endpoint.pk]))
    endpoint.refresh_from_db()
    new = shown_secret(response.content.decode())
    assert response.status_code == 200 and new.startswith("whsec_") and new != old
    assert old not in response.content.decode()
    assert secret_encryption.decrypt(endpoint.secret_encrypted) == new
    assert secret_encryption.decrypt(endpoint.previous_secret_encrypted) == old
    assert mfa_client.post(reverse("webhooks:delete", args=[endpoint.pk])).status_code == 302
    assert not Endpoint.objects.exists()


def test_changes_to_endpoints_are_in_the_audit_chain(world: World) -> None:
    from cases.models import AuditEvent
    from webhooks.actions import delete_endpoint, rotate_secret, set_endpoint_active

    endpoint = subscribe(world.lead, "https://hooks.example.org/liaison")
    set_endpoint_active(actor=world.lead, endpoint=endpoint, active=False)
    rotated = rotate_secret(actor=world.lead, endpoint=endpoint)
    delete_endpoint(actor=world.lead, endpoint=endpoint)
    actions = list(AuditEvent.objects.filter(action__startswith="webhook.").order_by("id")
                   .values_list("action", flat=True))
    assert actions == ["webhook.endpoint_created", "webhook.endpoint_disabled", "webhook.secret_rotated",
                       "webhook.endpoint_deleted"]
    for secret in (endpoint.secret, rotated.secret):
        assert not any(secret in str(data) for data in AuditEvent.objects.values_list("data", flat=True))

