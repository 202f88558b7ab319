"""Webhook endpoints over the API: an organisation's lead or T&S manager lists, registers (the secret shown once),
changes, disables, rotates and deletes endpoints and reads and re-sends deliveries, with the rules of the pages
(403 for others of the organisation, 404 for another organisation's endpoint), a read-only token refused every
change, the session asked to have re-authenticated, Idempotency-Key on registering, and no secret left readable."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from accounts.reauthentication import SIGNED_IN_AT_SESSION_KEY
from api.models import IdempotencyRecord
from cases.case_events import CaseEvent
from cases.models import AuditEvent
from tests.cases.conftest import make_case
from tests.factories import World
from tests.webhooks.conftest import Receiver, subscribe
from tests.webhooks.conftest import receiver as receiver  # noqa: F401 (the loopback receiver, a fixture)
from tests.webhooks.test_secret_encryption import every_stored_value
from webhooks import secret_encryption
from webhooks.models import Delivery, Endpoint

from .conftest import Api, token_for

pytestmark = pytest.mark.django_db

E = "/api/v1/webhooks/endpoints/"
NEW = {"url": "https://hooks.ministry.example/liaison", "events": ["case.submitted", "report.issued"],
       "description": "Case system"}


def test_the_lead_registers_an_endpoint_and_sees_its_secret_once(world: World) -> None:
    api = Api(token_for(world.lead, name="Ministry systems"))
    created = api.post(E, NEW)
    assert created.status_code == 201, created.json()
    body = created.json()
    endpoint = Endpoint.objects.get()
    assert created["Location"] == f"{E}{endpoint.pk}/" and "no-store" in created["Cache-Control"]
    assert body["secret"].startswith("whsec_") and secret_encryption.decrypt(endpoint.secret_encrypted) == body["secret"]
    Webhook(body["secret"])  # a secret the standardwebhooks package accepts
    assert body["url"] == NEW["url"] and body["events"] == ["case.submitted", "report.issued"]
    assert body["is_active"] is True and body["description"] == "Case system" and body["failing_deliveries"] == 0
    assert endpoint.organization == world.ministry and endpoint.created_by == world.lead
    listed = api.get(E)
    assert listed.status_code == 200 and [e["url"] for e in listed.json()["results"]] == [NEW["url"]]
    one = api.get(f"{E}{endpoint.pk}/")
    assert one.status_code == 200 and one.json()["id"] == endpoint.pk
    for answer in (listed, one):
        assert body["secret"] not in answer.content.decode() and "secret\"" not in answer.content.decode()
    assert body["secret"] not in every_stored_value()
    event = AuditEvent.objects.get(action="webhook.endpoint_created")
    assert event.actor == world.lead and event.data["via"] == "API token Ministry systems"


def test_registering_with_an_idempotency_key_creates_once_and_replays_the_secret_kept_encrypted(world: World) -> None:
    api = Api(token_for(world.manager))
    platform_hook = {**NEW, "url": "https://moderation.platform.example/liaison"}
    first = api.post(E, platform_hook, **{"Idempotency-Key": "hook-1"})
    again = api.post(E, platform_hook, **{"Idempotency-Key": "hook-1"})
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true" and again["Location"] == first["Location"]
    assert again.json() == first.json() and "no-store" in again["Cache-Control"]
    assert Endpoint.objects.count() == 1
    assert first.json()["secret"] not in str(IdempotencyRecord.objects.get().data)
    assert first.json()["secret"] not in every_stored_value()
    other = api.post(E, {**platform_hook, "description": "Another"}, **{"Idempotency-Key": "hook-1"})
    assert other.status_code == 422 and Endpoint.objects.count() == 1


@pytest.mark.parametrize("body", [
    {**NEW, "url": "http://hooks.ministry.example/liaison"},  # not https
    {**NEW, "url": "https://10.0.0.5/hook"},  # a private network
    {**NEW, "url": "https://169.254.169.254/latest/meta-data/"},
])
def test_an_address_the_page_refuses_is_refused(world: World, body: dict[str, Any]) -> None:
    response = Api(token_for(world.lead)).post(E, body)
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    assert [error["field"] for error in response.json()["errors"]] == ["url"]
    assert not Endpoint.objects.exists()


def test_an_endpoint_needs_a_known_event(world: World) -> None:
    api = Api(token_for(world.lead))
    assert api.post(E, {**NEW, "events": []}).status_code == 400
    assert api.post(E, {**NEW, "events": ["case.deleted"]}).status_code == 400
    assert not Endpoint.objects.exists()


@pytest.mark.parametrize("persona", ["liaison", "authority_auditor", "moderator", "legal", "auditor"])
def test_only_the_organisations_lead_or_manager_manages_endpoints(world: World, persona: str) -> None:
    user = getattr(world, persona)
    owner = world.lead if user.membership.organization == world.ministry else world.manager
    endpoint = subscribe(owner, "https://hooks.example.org/liaison")
    api = Api(token_for(user))
    for response in (api.get(E), api.post(E, NEW), api.get(f"{E}{endpoint.pk}/"),
                     api.client.patch(f"{E}{endpoint.pk}/", {"is_active": False}, content_type="application/json",
                                      headers=api.headers),
                     api.post(f"{E}{endpoint.pk}/rotate-secret/"), api.get(f"{E}{endpoint.pk}/deliveries/"),
                     api.client.delete(f"{E}{endpoint.pk}/", headers=api.headers)):
        assert response.status_code == 403, response.content
        assert response["Content-Type"] == "application/problem+json"
    endpoint.refresh_from_db()
    assert endpoint.is_active and Endpoint.objects.count() == 1


@pytest.mark.parametrize("outsider", ["other_lead", "manager"])
def test_another_organisations_endpoint_is_not_found(world: World, outsider: str, receiver: Receiver,
                                                     django_capture_on_commit_callbacks: Any) -> None:
    endpoint = subscribe(world.lead, receiver.url, [CaseEvent.SUBMITTED])
    with django_capture_on_commit_callbacks(execute=True):
        make_case(world)
    delivery = endpoint.deliveries.get()
    api = Api(token_for(getattr(world, outsider)))
    for response in (api.get(f"{E}{endpoint.pk}/"), api.get(f"{E}{endpoint.pk}/deliveries/"),
                     api.client.patch(f"{E}{endpoint.pk}/", {"is_active": False}, content_type="application/json",
                                      headers=api.headers),
                     api.post(f"{E}{endpoint.pk}/rotate-secret/"),
                     api.post(f"{E}{endpoint.pk}/deliveries/{delivery.pk}/redeliver/"),
                     api.client.delete(f"{E}{endpoint.pk}/", headers=api.headers)):
        assert response.status_code == 404, response.content
    assert receiver.url not in api.get(E).content.decode()
    assert len(receiver.requests) == 1 and Endpoint.objects.filter(pk=endpoint.pk, is_active=True).exists()


def test_a_read_only_token_reads_but_changes_nothing(world: World, receiver: Receiver,
                                                     django_capture_on_commit_callbacks: Any) -> None:
    endpoint = subscribe(world.lead, receiver.url, [CaseEvent.SUBMITTED])
    with django_capture_on_commit_callbacks(execute=True):
        make_case(world)
    delivery = endpoint.deliveries.get()
    api = Api(token_for(world.lead, read_only=True))
    assert api.get(E).status_code == 200 and api.get(f"{E}{endpoint.pk}/deliveries/").status_code == 200
    for response in (api.post(E, NEW),
                     api.client.patch(f"{E}{endpoint.pk}/", {"is_active": False}, content_type="application/json",
                                      headers=api.headers),
                     api.post(f"{E}{endpoint.pk}/rotate-secret/"),
                     api.post(f"{E}{endpoint.pk}/deliveries/{delivery.pk}/redeliver/"),
                     api.client.delete(f"{E}{endpoint.pk}/", headers=api.headers)):
        assert response.status_code == 403 and response.json()["detail"] == "This token is read-only."
    endpoint.refresh_from_db()
    assert Endpoint.objects.count() == 1 and endpoint.is_active and endpoint.secret_rotated_at is None
    assert len(receiver.requests) == 1


def session_client(user: Any, *, signed_in_ago: int) -> Client:
    client = Client()
    client.force_login(user)
    session = client.session
    session["liaison_mfa_enrolled"] = user.pk
    session[SIGNED_IN_AT_SESSION_KEY] = int(time.time()) - signed_in_ago
    session.save()
    return client


def test_the_session_must_have_reauthenticated_to_add_an_endpoint_or_rotate_its_secret(world: World) -> None:
    endpoint = subscribe(world.lead, "https://hooks.example.org/liaison")
    stale = session_client(world.lead, signed_in_ago=3600)
    assert stale.get(E).status_code == 200  # reading asks nothing more
    for response in (stale.post(E, NEW, content_type="application/json"),
                     stale.post(f"{E}{endpoint.pk}/rotate-secret/"),
                     stale.patch(f"{E}{endpoint.pk}/", {"url": "https://elsewhere.example/hook"},
                                 content_type="application/json")):
        assert response.status_code == 403
        assert response.json()["type"].endswith("/reauthentication_required")
    assert stale.patch(f"{E}{endpoint.pk}/", {"is_active": False}, content_type="application/json").status_code == 200
    assert Endpoint.objects.count() == 1 and Endpoint.objects.get().secret_rotated_at is None
    fresh = session_client(world.lead, signed_in_ago=10)
    assert fresh.post(E, NEW, content_type="application/json").status_code == 201
    assert fresh.post(f"{E}{endpoint.pk}/rotate-secret/").status_code == 200


def test_changing_events_address_and_description_and_disabling(world: World, receiver: Receiver,
                                                               django_capture_on_commit_callbacks: Any) -> None:
    endpoint = subscribe(world.lead, "https://hooks.example.org/liaison", [CaseEvent.RESOLVED])
    api = Api(token_for(world.lead))
    changed = api.client.patch(f"{E}{endpoint.pk}/", {"url": receiver.url, "events": ["case.submitted"],
                                                      "description": "Now the real one"},
                               content_type="application/json", headers=api.headers)
    assert changed.status_code == 200, changed.json()
    assert changed.json()["url"] == receiver.url and changed.json()["events"] == ["case.submitted"]
    event = AuditEvent.objects.get(action="webhook.endpoint_changed")
    assert event.data["previous_url"] == "https://hooks.example.org/liaison" and event.data["url"] == receiver.url
    with django_capture_on_commit_callbacks(execute=True):
        make_case(world)
    assert len(receiver.requests) == 1  # the new address hears the new event

    refused = api.client.patch(f"{E}{endpoint.pk}/", {"url": "https://10.0.0.5/x", "is_active": False},
                               content_type="application/json", headers=api.headers)
    assert refused.status_code == 422 and [e["field"] for e in refused.json()["errors"]] == ["url"]
    endpoint.refresh_from_db()
    assert endpoint.url == receiver.url and endpoint.is_active  # nothing of a refused change is kept

    off = api.client.patch(f"{E}{endpoint.pk}/", {"is_active": False}, content_type="application/json",
                           headers=api.headers)
    assert off.status_code == 200 and off.json()["is_active"] is False and off.json()["disabled_at"]
    with django_capture_on_commit_callbacks(execute=True):
        make_case(world)
    assert len(receiver.requests) == 1  # disabled: nothing sent
    on = api.client.patch(f"{E}{endpoint.pk}/", {"is_active": True}, content_type="application/json",
                          headers=api.headers)
    assert on.status_code == 200 and on.json()["is_active"] is True


def test_rotating_returns_the_new_secret_and_the_previous_one_signs_for_a_day(
        world: World, receiver: Receiver, django_capture_on_commit_callbacks: Any) -> None:
    endpoint = subscribe(world.lead, receiver.url, [CaseEvent.SUBMITTED])
    api = Api(token_for(world.lead))
    rotated = api.post(f"{E}{endpoint.pk}/rotate-secret/")
    assert rotated.status_code == 200 and "no-store" in rotated["Cache-Control"]
    new = rotated.json()["secret"]
    assert new.startswith("whsec_") and new != endpoint.secret
    until = timezone.datetime.fromisoformat(rotated.json()["previous_secret_signs_until"])
    assert timedelta(hours=23) < until - timezone.now() <= timedelta(hours=24)
    assert "secret\"" not in api.get(f"{E}{endpoint.pk}/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        make_case(world)
    [request] = receiver.requests
    Webhook(new).verify(request.body, request.headers)
    Webhook(endpoint.secret).verify(request.body, request.headers)
    assert new not in every_stored_value()


def test_deliveries_are_listed_with_status_attempts_and_response_code_and_re_sent(
        world: World, receiver: Receiver, django_capture_on_commit_callbacks: Any) -> None:
    receiver.answers = [500, 200]
    endpoint = subscribe(world.lead, receiver.url, [CaseEvent.SUBMITTED])
    with django_capture_on_commit_callbacks(execute=True):
        case = make_case(world)
    api = Api(token_for(world.lead))
    listed = api.get(f"{E}{endpoint.pk}/deliveries/")
    assert listed.status_code == 200
    [row] = listed.json()["results"]
    assert row["status"] == "retrying" and row["attempts"] == 1 and row["response_status"] == 500
    assert row["case"] == case.reference and row["event"] == "case.submitted" and row["message_id"].startswith("msg_")
    assert api.get(f"{E}{endpoint.pk}/").json()["failing_deliveries"] == 1
    assert api.get(f"{E}{endpoint.pk}/deliveries/?status=delivered").json()["results"] == []
    assert api.get(f"{E}{endpoint.pk}/deliveries/?status=nonsense").status_code == 400

    with django_capture_on_commit_callbacks(execute=True):
        again = api.post(f"{E}{endpoint.pk}/deliveries/{row['id']}/redeliver/")
    assert again.status_code == 202
    assert [r.headers["webhook-id"] for r in receiver.requests] == [row["message_id"]] * 2
    shown = api.get(f"{E}{endpoint.pk}/deliveries/").json()["results"][0]
    assert shown["status"] == "delivered" and shown["attempts"] == 2 and shown["response_status"] == 200
    assert AuditEvent.objects.filter(action="webhook.redelivered").get().data["via"].startswith("API token")

    api.client.patch(f"{E}{endpoint.pk}/", {"is_active": False}, content_type="application/json", headers=api.headers)
    refused = api.post(f"{E}{endpoint.pk}/deliveries/{row['id']}/redeliver/")
    assert refused.status_code == 409 and "Enable the endpoint" in refused.json()["detail"]
    assert api.post(f"{E}{endpoint.pk}/deliveries/999999/redeliver/").status_code == 404


def test_lists_cost_the_same_queries_however_many_rows(world: World) -> None:
    api = Api(token_for(world.lead))
    endpoint = subscribe(world.lead, "https://hooks.example.org/liaison")
    case = make_case(world)

    def add_deliveries(n: int) -> None:
        Delivery.objects.bulk_create(Delivery(endpoint=endpoint, message_id=f"msg_{endpoint.pk}_{i}_{time.time_ns()}",
                                              event="case.submitted", case=case, body="{}") for i in range(n))

    def queries(path: str) -> int:
        api.get(path)  # the token's last use is written at most once a minute: not in the count
        with CaptureQueriesContext(connection) as captured:
            assert api.get(path).status_code == 200
        return len(captured)

    add_deliveries(2)
    few = (queries(E), queries(f"{E}{endpoint.pk}/deliveries/"))
    for n in range(8):
        subscribe(world.lead, f"https://hooks.example.org/liaison-{n}")
    add_deliveries(60)
    many = (queries(E), queries(f"{E}{endpoint.pk}/deliveries/"))
    assert many == few == (2, 3), many  # the token and the endpoints with their failing counts; token, endpoint, page
    page = api.get(f"{E}{endpoint.pk}/deliveries/").json()
    assert len(page["results"]) == 50 and page["next"]
    rest = api.get(page["next"]).json()
    assert len(rest["results"]) == endpoint.deliveries.count() - 50 > 0 and rest["next"] is None


def test_deleting_removes_the_endpoint_and_its_deliveries(world: World) -> None:
    endpoint = subscribe(world.lead, "https://hooks.example.org/liaison")
    api = Api(token_for(world.lead))
    assert api.client.delete(f"{E}{endpoint.pk}/", headers=api.headers).status_code == 204
    assert not Endpoint.objects.exists()
    assert api.get(f"{E}{endpoint.pk}/").status_code == 404
    assert AuditEvent.objects.filter(action="webhook.endpoint_deleted").get().data["via"].startswith("API token")


def test_a_change_sent_to_no_route_is_a_problem_document_not_a_csrf_page(world: World) -> None:
    """An id beyond a bigint matches no route: 404 as a problem document, for PATCH and POST alike (the catch-all
    answer changes nothing, so no CSRF check turns it into an HTML 403)."""
    client = Client(enforce_csrf_checks=True)
    for method in (client.patch, client.post, client.delete):
        response = method(f"{E}8203372725785345024/", "{}", content_type="application/json")
        assert response.status_code == 404 and response["Content-Type"] == "application/problem+json"


def test_the_schema_names_the_delivery_status_apart_from_the_case_status() -> None:
    """A client generated from the schema keeps the case's StatusEnum; deliveries and events get their own names."""
    schema = Client().get("/api/v1/schema/", headers={"Accept": "application/vnd.oai.openapi+json"}).json()
    enums = schema["components"]["schemas"]
    assert enums["StatusEnum"]["enum"][:2] == ["draft", "submitted"]
    assert enums["WebhookDeliveryStatusEnum"]["enum"] == ["pending", "retrying", "delivered", "failed"]
    assert set(enums["CaseEventEnum"]["enum"]) == set(CaseEvent.values)
    assert "/api/v1/webhooks/endpoints/{endpoint_id}/rotate-secret/" in schema["paths"]
