"""Case events reach the subscribers' own systems: signed (Standard Webhooks, checked with the standardwebhooks
package), carrying only what the receiving organisation may see, retried with growing pauses, re-delivered on
request, and posted once however many times the task runs."""

from __future__ import annotations

import json
import re
import time
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from cases.actions.cases import acknowledge_case, resolve_case
from cases.actions.deadline_sweep import sweep_deadlines
from cases.actions.thread import post_message
from cases.case_events import CaseEvent
from cases.choices import TLP, Outcome, Status
from outbox.models import OutboxMessage
from tests.cases.conftest import decide_all, make_case
from tests.factories import World
from webhooks.actions import retry_delay, send_due_deliveries
from webhooks.models import Delivery
from webhooks.tasks import send_delivery_task

from .conftest import Receiver, subscribe

ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def verified(endpoint_secret: str, request: Any) -> dict[str, Any]:
    """The payload, once the standardwebhooks package accepts its signature."""
    return Webhook(endpoint_secret).verify(request.body, request.headers)  # type: ignore[no-any-return]


def by_org(receiver: Receiver) -> dict[str, list[Any]]:
    seen: dict[str, list[Any]] = {}
    for request in receiver.requests:
        seen.setdefault(request.path.rsplit("org=", 1)[-1], []).append(request)
    return seen


def test_submitting_a_case_on_its_page_sends_each_side_a_signed_event(
        world: World, mfa_client: Any, receiver: Receiver, django_capture_on_commit_callbacks: Any) -> None:
    ministry = subscribe(world.lead, f"{receiver.url}?org=ministry")
    commission = subscribe(world.other_lead, f"{receiver.url}?org=commission")
    platform = subscribe(world.manager, f"{receiver.url}?org=platform")
    case = make_case(world, submit=False, title="Channels of the network")
    mfa_client.force_login(world.liaison)

    with django_capture_on_commit_callbacks(execute=True):
        response = mfa_client.post(reverse("cases:transition", args=[case.reference, "submit"]))
    assert response.status_code in (200, 302)

    seen = by_org(receiver)
    assert sorted(seen) == ["ministry", "platform"]  # the other authority hears nothing of this case
    assert commission.deliveries.count() == 0
    for name, endpoint in (("ministry", ministry), ("platform", platform)):
        [request] = seen[name]
        payload = verified(endpoint.secret, request)
        assert request.headers["webhook-id"].startswith("msg_")
        assert request.headers["webhook-signature"].startswith("v1,")
        assert payload["type"] == "case.submitted"
        assert ISO_UTC.match(payload["timestamp"])
        data = payload["data"]["case"]
        assert data["reference"] == case.reference
        assert data["status"] == Status.SUBMITTED
        assert data["url"].endswith(f"/api/v1/cases/{case.reference}/")
        assert ISO_UTC.match(data["submitted_at"])
        assert "Commission" not in request.body
        assert "queue" not in request.body and "assignee" not in request.body
        delivery = endpoint.deliveries.get()
        assert delivery.status == Delivery.Status.DELIVERED
        assert delivery.response_status == 200
        assert delivery.message_id == request.headers["webhook-id"]


def test_payloads_carry_no_internal_note_and_nothing_of_a_case_the_organisation_may_not_see(
        world: World, receiver: Receiver, django_capture_on_commit_callbacks: Any) -> None:
    ministry = subscribe(world.lead, f"{receiver.url}?org=ministry")
    platform = subscribe(world.manager, f"{receiver.url}?org=platform")
    with django_capture_on_commit_callbacks(execute=True):
        case = make_case(world, state=Status.IN_PROGRESS)
        post_message(actor=world.manager, case=case, body="Internal: the uploader is a known reseller",
                     internal=True)
        decide_all(case, world.manager, outcome=Outcome.REMOVED)
        resolve_case(case=case, actor=world.manager, outcome_summary="Both channels removed.")
        # Cases of another authority, and a TLP:RED case of the ministry (named people only), are not announced
        # to the ministry's system.
        make_case(world, actor=world.other_liaison, state=Status.IN_PROGRESS, title="Commission's own case")
        make_case(world, tlp=TLP.RED, title="Red case")

    seen = by_org(receiver)
    ministry_events = [verified(ministry.secret, r) for r in seen["ministry"]]
    assert [p["type"] for p in ministry_events] == [
        "case.submitted", "case.acknowledged", "item.outcome_set", "case.resolved"]
    assert {p["data"]["case"]["reference"] for p in ministry_events} == {case.reference}
    for request in seen["ministry"] + seen["platform"]:
        assert "known reseller" not in request.body
        assert "Red case" not in request.body
    assert all("Commission's own case" not in r.body for r in seen["ministry"])
    # The platform receives the commission's case: it responds to it.
    platform_titles = {verified(platform.secret, r)["data"]["case"]["title"] for r in seen["platform"]}
    assert "Commission's own case" in platform_titles and "Red case" not in platform_titles

    decided = next(p for p in ministry_events if p["type"] == "item.outcome_set")["data"]["items"]
    assert decided["outcome"] == Outcome.REMOVED and decided["count"] == 2
    assert [item["outcome"] for item in decided["listed"]] == [Outcome.REMOVED, Outcome.REMOVED]
    assert all(ISO_UTC.match(item["decided_at"]) for item in decided["listed"])
    resolved = next(p for p in ministry_events if p["type"] == "case.resolved")["data"]
    assert resolved["case"]["outcome_summary"] == "Both channels removed."
    assert ISO_UTC.match(resolved["case"]["resolved_at"])


def test_information_requested_carries_the_shared_question(
        world: World, receiver: Receiver, django_capture_on_commit_callbacks: Any) -> None:
    ministry = subscribe(world.lead, f"{receiver.url}?org=ministry", [CaseEvent.INFORMATION_REQUESTED])
    with django_capture_on_commit_callbacks(execute=True):
        make_case(world, state=Status.AWAITING_INFORMATION)
    [request] = receiver.requests
    payload = verified(ministry.secret, request)
    assert payload["type"] == "case.information_requested"
    assert payload["data"]["transition"] == {"from": Status.IN_PROGRESS, "to": Status.AWAITING_INFORMATION,
                                             "note": "Which posts exactly?"}


def test_a_breached_deadline_is_announced_once(
        world: World, receiver: Receiver, django_capture_on_commit_callbacks: Any) -> None:
    ministry = subscribe(world.lead, f"{receiver.url}?org=ministry",
                         [CaseEvent.DEADLINE_BREACHED, CaseEvent.DEADLINE_AT_RISK])
    with django_capture_on_commit_callbacks(execute=True):
        case = make_case(world)
    later = timezone.now() + timedelta(days=30)
    with django_capture_on_commit_callbacks(execute=True):
        sweep_deadlines(now=later)
    with django_capture_on_commit_callbacks(execute=True):
        sweep_deadlines(now=later)  # run again: nothing new
    payloads = [verified(ministry.secret, r) for r in receiver.requests]
    breached = set(case.deadlines.filter(status="breached").values_list("pk", flat=True))
    assert breached
    assert [p["type"] for p in payloads] == ["deadline.breached"] * len(breached)
    assert {p["data"]["deadline"]["id"] for p in payloads} == breached
    for payload in payloads:
        deadline = payload["data"]["deadline"]
        assert deadline["status"] == "breached" and ISO_UTC.match(deadline["due_at"])
        assert ISO_UTC.match(deadline["breached_at"])


def test_the_send_task_run_twice_posts_once(
        world: World, receiver: Receiver, django_capture_on_commit_callbacks: Any) -> None:
    ministry = subscribe(world.lead, f"{receiver.url}?org=ministry", [CaseEvent.SUBMITTED])
    with django_capture_on_commit_callbacks(execute=True):
        make_case(world)
    delivery = ministry.deliveries.get()
    [row] = OutboxMessage.objects.filter(task="webhooks.tasks.send_delivery_task")
    # The outbox delivers at least once: the same message again, with and without its outbox row.
    send_delivery_task.apply(kwargs={"delivery_id": delivery.pk, "attempt": 0, "outbox_id": row.pk})
    send_delivery_task.apply(kwargs={"delivery_id": delivery.pk, "attempt": 0})
    assert len(receiver.requests) == 1
    delivery.refresh_from_db()
    assert delivery.attempts == 1 and delivery.attempt_log.count() == 1


def test_a_failing_receiver_is_retried_with_growing_pauses_until_it_gives_up(
        world: World, receiver: Receiver, settings: Any, django_capture_on_commit_callbacks: Any) -> None:
    settings.LIAISON_WEBHOOKS_RETRY_BASE_SECONDS = 0.2
    settings.LIAISON_WEBHOOKS_MAX_ATTEMPTS = 4
    receiver.answers = [500]
    receiver.reply = "upstream exploded " + "x" * 5000
    ministry = subscribe(world.lead, f"{receiver.url}?org=ministry", [CaseEvent.SUBMITTED])
    with django_capture_on_commit_callbacks(execute=True):
        make_case(world)
    delivery = ministry.deliveries.get()
    scheduled = []
    for _round in range(10):
        delivery.refresh_from_db()
        if delivery.status != Delivery.Status.RETRYING:
            break
        scheduled.append((delivery.next_attempt_at - delivery.last_attempt_at).total_seconds())
        assert send_due_deliveries(now=delivery.next_attempt_at - timedelta(milliseconds=5)) == 0  # not yet due
        time.sleep(max(0.0, (delivery.next_attempt_at - timezone.now()).total_seconds()) + 0.01)
        with django_capture_on_commit_callbacks(execute=True):
            assert send_due_deliveries() == 1
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.FAILED
    assert delivery.attempts == 4 and len(receiver.requests) == 4
    assert scheduled == pytest.approx([0.2, 0.4, 0.8])
    attempts = list(delivery.attempt_log.order_by("number"))
    gaps = [(b.attempted_at - a.attempted_at).total_seconds() for a, b in zip(attempts, attempts[1:], strict=False)]
    assert all(gap >= delay for gap, delay in zip(gaps, scheduled, strict=True))  # never before its time
    assert delivery.response_status == 500
    assert delivery.response_body.startswith("upstream exploded") and len(delivery.response_body) <= 2000
    # Every attempt is the same message: one webhook-id and body, signed afresh.
    assert len({r.headers["webhook-id"] for r in receiver.requests}) == 1
    assert len({r.body for r in receiver.requests}) == 1


def test_retry_pauses_double_up_to_the_cap(settings: Any) -> None:
    settings.LIAISON_WEBHOOKS_RETRY_BASE_SECONDS = 30
    settings.LIAISON_WEBHOOKS_RETRY_MAX_SECONDS = 3600
    assert [retry_delay(n).total_seconds() for n in range(1, 9)] == [30, 60, 120, 240, 480, 960, 1920, 3600]


def test_re_delivering_sends_the_same_message_again(
        world: World, mfa_client: Any, receiver: Receiver, django_capture_on_commit_callbacks: Any) -> None:
    ministry = subscribe(world.lead, f"{receiver.url}?org=ministry", [CaseEvent.SUBMITTED])
    with django_capture_on_commit_callbacks(execute=True):
        make_case(world)
    delivery = ministry.deliveries.get()
    mfa_client.force_login(world.lead)
    with django_capture_on_commit_callbacks(execute=True):
        response = mfa_client.post(reverse("webhooks:redeliver", args=[ministry.pk, delivery.pk]))
    assert response.status_code == 302
    assert len(receiver.requests) == 2
    first, second = receiver.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == delivery.message_id
    assert first.body == second.body
    verified(ministry.secret, second)
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.DELIVERED and delivery.attempts == 2
    assert [a.redelivery for a in delivery.attempt_log.order_by("number")] == [False, True]


def test_a_rotated_secret_and_the_previous_one_both_sign_for_a_while(
        world: World, receiver: Receiver, django_capture_on_commit_callbacks: Any) -> None:
    from webhooks.actions import rotate_secret

    ministry = subscribe(world.lead, f"{receiver.url}?org=ministry", [CaseEvent.SUBMITTED])
    old_secret = ministry.secret
    ministry = rotate_secret(actor=world.lead, endpoint=ministry)
    assert ministry.secret != old_secret
    with django_capture_on_commit_callbacks(execute=True):
        make_case(world)
    [request] = receiver.requests
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    verified(ministry.secret, request)
    verified(old_secret, request)


def test_the_address_is_checked_again_when_sending(
        world: World, receiver: Receiver, settings: Any, django_capture_on_commit_callbacks: Any) -> None:
    """Registered while loopback was allowed, refused once it is not: nothing reaches the address."""
    ministry = subscribe(world.lead, f"{receiver.url}?org=ministry", [CaseEvent.SUBMITTED])
    settings.LIAISON_WEBHOOKS_ALLOW_LOCAL_HTTP = False
    with django_capture_on_commit_callbacks(execute=True):
        make_case(world)
    assert receiver.requests == []
    delivery = ministry.deliveries.get()
    assert delivery.status == Delivery.Status.RETRYING
    assert delivery.response_status is None and "https" in delivery.error


def test_a_rolled_back_change_sends_nothing(world: World, receiver: Receiver,
                                            django_capture_on_commit_callbacks: Any) -> None:
    from django.db import transaction

    from cases.actions.cases import submit_case

    ministry = subscribe(world.lead, f"{receiver.url}?org=ministry", [CaseEvent.SUBMITTED])
    case = make_case(world, submit=False)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        with transaction.atomic():
            submit_case(case=case, actor=world.liaison)
            raise RuntimeError("the request failed after the move")
    assert ministry.deliveries.count() == 0 and receiver.requests == []


def test_acknowledging_is_announced_to_the_authority_without_who_took_the_case(
        world: World, receiver: Receiver, django_capture_on_commit_callbacks: Any) -> None:
    ministry = subscribe(world.lead, f"{receiver.url}?org=ministry", [CaseEvent.ACKNOWLEDGED])
    with django_capture_on_commit_callbacks(execute=True):
        case = make_case(world)
        acknowledge_case(case=case, actor=world.moderator)
    [request] = receiver.requests
    payload = verified(ministry.secret, request)
    assert payload["data"]["case"]["status"] == Status.IN_PROGRESS
    assert world.moderator.full_name not in request.body and world.moderator.email not in request.body
    assert json.loads(request.body) == payload


def test_an_issued_report_is_announced_with_its_version_and_fingerprint(
        world: World, receiver: Receiver, django_capture_on_commit_callbacks: Any) -> None:
    from cases.actions.reports import generate_report, request_report

    ministry = subscribe(world.lead, f"{receiver.url}?org=ministry", [CaseEvent.REPORT_ISSUED])
    platform = subscribe(world.manager, f"{receiver.url}?org=platform", [CaseEvent.REPORT_ISSUED])
    case = make_case(world, state=Status.RESOLVED)
    with django_capture_on_commit_callbacks(execute=True):
        report = request_report(actor=world.manager, case=case, language="en", include_thread=False,
                                enqueue=False)
        generate_report(report_id=report.pk)
    report.refresh_from_db()
    seen = by_org(receiver)
    for name, endpoint in (("ministry", ministry), ("platform", platform)):
        [request] = seen[name]
        payload = verified(endpoint.secret, request)
        assert payload["type"] == "report.issued"
        assert payload["data"]["report"]["version"] == report.version == 1
        assert payload["data"]["report"]["sha256"] == report.sha256
        assert ISO_UTC.match(payload["data"]["report"]["issued_at"])


def test_a_deadline_at_risk_is_announced_at_its_reminder_point(
        world: World, receiver: Receiver, django_capture_on_commit_callbacks: Any) -> None:
    from cases import deadline_clock

    ministry = subscribe(world.lead, f"{receiver.url}?org=ministry", [CaseEvent.DEADLINE_AT_RISK])
    with django_capture_on_commit_callbacks(execute=True):
        case = make_case(world)
    first = min(case.deadlines.all(), key=lambda d: deadline_clock.points_for(d)[0].at)
    point = deadline_clock.points_for(first)[0]
    assert point.at < first.due_at
    with django_capture_on_commit_callbacks(execute=True):
        sweep_deadlines(now=point.at + timedelta(seconds=1))
    payloads = [verified(ministry.secret, r) for r in receiver.requests]
    assert payloads and {p["type"] for p in payloads} == {"deadline.at_risk"}
    mine = next(p for p in payloads if p["data"]["deadline"]["id"] == first.pk)["data"]["deadline"]
    assert mine["reminder"] == point.name and mine["status"] == "open" and mine["breached_at"] is None


@pytest.mark.skipif(connection.vendor != "postgresql", reason="two sessions at once need PostgreSQL; CI runs it there")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_workers_sending_the_same_attempt_at_once_post_once(world: World, receiver: Receiver) -> None:
    import threading

    from webhooks.actions import send_delivery

    receiver.answers = [500, 200]
    ministry = subscribe(world.lead, f"{receiver.url}?org=ministry", [CaseEvent.SUBMITTED])
    make_case(world)  # committed at once: the first attempt fails (500)
    delivery = ministry.deliveries.get()
    assert delivery.status == Delivery.Status.RETRYING and delivery.attempts == 1
    receiver.delay = 0.5
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def worker() -> None:
        try:
            start.wait()
            outcomes.append(send_delivery(delivery_id=delivery.pk, attempt=1))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["delivered", "skipped"]
    assert len(receiver.requests) == 2  # the failed first attempt and one second attempt
    delivery.refresh_from_db()
    assert delivery.attempts == 2 and delivery.status == Delivery.Status.DELIVERED
