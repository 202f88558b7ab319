"""Writes of the webhooks app: endpoints (register, disable, enable, rotate, delete), deliveries made from case
events in the event's own transaction, one POST per attempt, retries with growing pauses, re-delivery.

Every delivery is a row here plus an outbox row for its send task, written beside the change that caused it: a
broker outage delays a delivery and never loses one. The send task is idempotent: an attempt is claimed on the
row (its number and a short hold), so the outbox delivering the task twice posts once.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from cases import audit
from cases.case_events import Announcement, CaseEvent
from cases.permissions import can_manage_webhooks
from outbox import relay

from . import destinations, payloads, secret_encryption, sending, signing
from .models import Attempt, Delivery, Endpoint

SEND_TASK = "webhooks.tasks.send_delivery_task"
# What a delivery keeps of the receiver's answer (the attempt log keeps the same).
RESPONSE_KEEP_CHARS = 2000


def _setting(name: str, default: Any) -> Any:
    return getattr(settings, name, default)


def allow_local_http() -> bool:
    return bool(_setting("LIAISON_WEBHOOKS_ALLOW_LOCAL_HTTP", False))


def retry_delay(attempts: int) -> timedelta:
    """The pause after `attempts` failed attempts: base, 2×base, 4×base, … up to the cap."""
    base = float(_setting("LIAISON_WEBHOOKS_RETRY_BASE_SECONDS", 30))
    cap = float(_setting("LIAISON_WEBHOOKS_RETRY_MAX_SECONDS", 6 * 3600))
    return timedelta(seconds=min(cap, base * 2 ** max(attempts - 1, 0)))


def _timeout() -> float:
    return float(_setting("LIAISON_WEBHOOKS_TIMEOUT_SECONDS", 10))


def _hold() -> timedelta:
    """How long a queued or running attempt keeps the delivery from the retry sweep: longer than a POST may take."""
    return timedelta(seconds=_timeout() + 60)


def _max_attempts() -> int:
    return int(_setting("LIAISON_WEBHOOKS_MAX_ATTEMPTS", 10))


# --- Endpoints --------------------------------------------------------------------------------------


def _ensure_admin(actor: User, endpoint: Endpoint | None = None) -> None:
    if not can_manage_webhooks(actor):
        raise PermissionDenied(_("Only your organisation's lead or T&S manager manages webhooks."))
    if endpoint is not None and endpoint.organization_id != actor.membership.organization_id:
        raise PermissionDenied(_("This endpoint belongs to another organisation."))


def _clean(url: str, events: list[str]) -> tuple[str, list[str]]:
    url = url.strip()
    try:
        destinations.parse(url, allow_local_http=allow_local_http())
    except destinations.RefusedDestination as exc:
        raise ValidationError({"url": str(exc)}) from exc
    chosen = [event for event in CaseEvent.values if event in set(events)]
    if not chosen:
        raise ValidationError({"events": _("Choose at least one event.")})
    return url, chosen


@transaction.atomic
def register_endpoint(*, actor: User, url: str, events: list[str], description: str = "") -> Endpoint:
    """A new endpoint of the actor's organisation with a new signing secret (read it from the result once)."""
    _ensure_admin(actor)
    url, chosen = _clean(url, events)
    secret = signing.new_secret()
    endpoint = Endpoint.objects.create(organization=actor.membership.organization, url=url, events=chosen,
                                       description=description.strip()[:200],
                                       secret_encrypted=secret_encryption.encrypt(secret), created_by=actor)
    audit.record(actor=actor, action="webhook.endpoint_created", obj=endpoint,
                 data={"url": url, "events": chosen})
    endpoint.secret = secret  # for the one answer that shows it; only its encryption is stored
    return endpoint


def _locked(endpoint: Endpoint) -> Endpoint:
    return Endpoint.objects.select_for_update().get(pk=endpoint.pk)


@transaction.atomic
def update_endpoint(*, actor: User, endpoint: Endpoint, url: str | None = None, events: list[str] | None = None,
                    description: str | None = None) -> Endpoint:
    """A new address, events or description (what is not given stays): checked as when registering. Deliveries
    already made keep their body and go to the new address from their next attempt."""
    _ensure_admin(actor, endpoint)
    endpoint = _locked(endpoint)
    new_url, chosen = _clean(endpoint.url if url is None else url, endpoint.events if events is None else events)
    changes: dict[str, Any] = {}
    if new_url != endpoint.url:
        changes["url"] = new_url
    if chosen != endpoint.events:
        changes["events"] = chosen
    if description is not None and description.strip()[:200] != endpoint.description:
        changes["description"] = description.strip()[:200]
    if not changes:
        return endpoint
    data = {"url": new_url, "events": chosen}
    if "url" in changes:
        data["previous_url"] = endpoint.url
    for field, value in changes.items():
        setattr(endpoint, field, value)
    endpoint.save(update_fields=list(changes))
    audit.record(actor=actor, action="webhook.endpoint_changed", obj=endpoint, data=data)
    return endpoint


@transaction.atomic
def set_endpoint_active(*, actor: User, endpoint: Endpoint, active: bool) -> Endpoint:
    """Disable (nothing is sent; deliveries wait) or enable again (waiting deliveries go out)."""
    _ensure_admin(actor, endpoint)
    endpoint = _locked(endpoint)
    if endpoint.is_active == active:
        return endpoint
    endpoint.is_active = active
    endpoint.disabled_at = None if active else timezone.now()
    endpoint.save(update_fields=["is_active", "disabled_at"])
    if active:
        Delivery.objects.filter(endpoint=endpoint, status__in=[Delivery.Status.PENDING, Delivery.Status.RETRYING],
                                next_attempt_at__gt=timezone.now()).update(next_attempt_at=timezone.now())
    audit.record(actor=actor, action="webhook.endpoint_enabled" if active else "webhook.endpoint_disabled",
                 obj=endpoint, data={"url": endpoint.url})
    return endpoint


@transaction.atomic
def rotate_secret(*, actor: User, endpoint: Endpoint) -> Endpoint:
    """A new signing secret; the previous one also signs for LIAISON_WEBHOOKS_ROTATION_HOURS, so the receiver can
    change keys without refusing a delivery."""
    _ensure_admin(actor, endpoint)
    endpoint = _locked(endpoint)
    now = timezone.now()
    secret = signing.new_secret()
    endpoint.previous_secret_encrypted = endpoint.secret_encrypted
    endpoint.previous_until = now + timedelta(hours=float(_setting("LIAISON_WEBHOOKS_ROTATION_HOURS", 24)))
    endpoint.secret_encrypted = secret_encryption.encrypt(secret)
    endpoint.secret_rotated_at = now
    endpoint.save(update_fields=["previous_secret_encrypted", "previous_until", "secret_encrypted",
                                 "secret_rotated_at"])
    audit.record(actor=actor, action="webhook.secret_rotated", obj=endpoint, data={"url": endpoint.url})
    endpoint.secret = secret  # for the one answer that shows it; only its encryption is stored
    return endpoint


def reencrypt_secrets() -> int:
    """Every stored signing secret encrypted again under the first LIAISON_WEBHOOK_SECRET_KEY (after a new key was
    put first); each row under its lock, so a rotation at the same moment is not undone. Returns the rows."""
    done = 0
    for pk in Endpoint.objects.order_by("pk").values_list("pk", flat=True):
        with transaction.atomic():
            endpoint = Endpoint.objects.select_for_update().filter(pk=pk).first()
            if endpoint is None:
                continue
            endpoint.secret_encrypted = secret_encryption.reencrypt(endpoint.secret_encrypted)
            if endpoint.previous_secret_encrypted:
                endpoint.previous_secret_encrypted = secret_encryption.reencrypt(endpoint.previous_secret_encrypted)
            endpoint.save(update_fields=["secret_encrypted", "previous_secret_encrypted"])
            done += 1
    return done


@transaction.atomic
def delete_endpoint(*, actor: User, endpoint: Endpoint) -> None:
    """The endpoint and its deliveries go; the audit chain keeps that it existed and who removed it."""
    _ensure_admin(actor, endpoint)
    endpoint = _locked(endpoint)
    audit.record(actor=actor, action="webhook.endpoint_deleted", obj=endpoint,
                 data={"url": endpoint.url, "events": endpoint.events})
    endpoint.delete()


# --- Deliveries -------------------------------------------------------------------------------------


def record_events(announcements: Sequence[Announcement]) -> list[Delivery]:
    """A delivery for every active endpoint subscribed to each event whose organisation may see its case, each
    with the payload that organisation may read, and its send task in the outbox: in the caller's transaction.
    One query when nobody subscribes, however many events."""
    org_ids = {org_id for a in announcements for org_id in (a.case.requesting_org_id, a.case.responding_org_id)}
    endpoints: dict[int, list[Endpoint]] = {}
    for endpoint in Endpoint.objects.filter(organization_id__in=org_ids, is_active=True).select_related(
            "organization").order_by("id"):
        endpoints.setdefault(endpoint.organization_id, []).append(endpoint)
    if not endpoints:
        return []
    now = timezone.now()
    deliveries = []
    for announcement in announcements:
        case, event = announcement.case, announcement.event
        for org_id in dict.fromkeys((case.requesting_org_id, case.responding_org_id)):
            subscribed = [e for e in endpoints.get(org_id, []) if event in e.events]
            if not subscribed:
                continue
            payload = payloads.build(organization=subscribed[0].organization, case=case, event=event,
                                     data=announcement.data, occurred_at=now)
            if payload is None:
                continue
            body = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
            for endpoint in subscribed:
                delivery = Delivery.objects.create(endpoint=endpoint, message_id=signing.new_message_id(),
                                                   event=event, case=case, body=body, created_at=now,
                                                   next_attempt_at=now + _hold())
                relay.enqueue(SEND_TASK, delivery_id=delivery.pk, attempt=0)
                deliveries.append(delivery)
    return deliveries


def _secrets(endpoint: Endpoint, now: datetime) -> list[str]:
    """The signing secrets in use, decrypted here and only here (SecretUnavailable without the key: nothing is sent
    unsigned)."""
    keys = [secret_encryption.decrypt(endpoint.secret_encrypted)]
    if endpoint.previous_secret_encrypted and endpoint.previous_until is not None and endpoint.previous_until > now:
        keys.append(secret_encryption.decrypt(endpoint.previous_secret_encrypted))
    return keys


def send_delivery(*, delivery_id: int, attempt: int, redelivery: bool = False) -> str:
    """Attempt number `attempt` + 1 of a delivery, once: claimed on the row (a second run of the same task finds
    the attempt counted or held and sends nothing), posted outside any transaction, then recorded."""
    now = timezone.now()
    endpoint = Endpoint.objects.filter(deliveries=delivery_id, is_active=True).first()
    if endpoint is None:
        return "skipped"  # disabled (or gone): the delivery waits, or went with its endpoint
    # Decrypted before the claim: without the key the task fails (the outbox and the retry sweep try again later)
    # and no attempt is counted or sent.
    secrets_in_use = _secrets(endpoint, now)
    # Conditions on the row itself only: PostgreSQL checks them again on the row a concurrent claim just wrote,
    # so of two workers claiming at once one gets it (a join would be answered from the older snapshot).
    claimed = Delivery.objects.filter(
        Q(claimed_until__isnull=True) | Q(claimed_until__lt=now),
        pk=delivery_id, attempts=attempt, status__in=[Delivery.Status.PENDING, Delivery.Status.RETRYING],
    ).update(claimed_until=now + _hold())
    if not claimed:
        return "skipped"
    delivery = Delivery.objects.get(pk=delivery_id)
    headers = signing.headers(secrets_in_use=secrets_in_use, message_id=delivery.message_id,
                              timestamp=int(time.time()), body=delivery.body)
    result = sending.post(endpoint.url, body=delivery.body, headers=headers, timeout=_timeout(),
                          allow_local_http=allow_local_http())
    return _record_attempt(delivery_id=delivery_id, result=result, redelivery=redelivery)


@transaction.atomic
def _record_attempt(*, delivery_id: int, result: sending.Result, redelivery: bool) -> str:
    delivery = Delivery.objects.select_for_update().get(pk=delivery_id)
    at = timezone.now()
    number = delivery.attempts + 1
    Attempt.objects.create(delivery=delivery, number=number, attempted_at=at, response_status=result.status,
                           response_body=result.body[:RESPONSE_KEEP_CHARS], error=result.error[:RESPONSE_KEEP_CHARS],
                           duration_ms=result.duration_ms, redelivery=redelivery)
    delivery.attempts = number
    delivery.last_attempt_at = at
    delivery.response_status = result.status
    delivery.response_body = result.body[:RESPONSE_KEEP_CHARS]
    delivery.error = result.error[:RESPONSE_KEEP_CHARS]
    delivery.claimed_until = None
    if result.ok:
        delivery.status, delivery.delivered_at, delivery.next_attempt_at = Delivery.Status.DELIVERED, at, None
    elif number >= _max_attempts():
        delivery.status, delivery.next_attempt_at = Delivery.Status.FAILED, None
    else:
        delivery.status, delivery.next_attempt_at = Delivery.Status.RETRYING, at + retry_delay(number)
    delivery.save()
    return delivery.status


def send_due_deliveries(*, now: datetime | None = None, limit: int = 200) -> int:
    """The retry sweep: every delivery whose next attempt is due (of an active endpoint) gets its send task in
    the outbox, and is held meanwhile so the next sweep does not queue it again. Safe to run concurrently."""
    now = now or timezone.now()
    with transaction.atomic():
        due = list(Delivery.objects.select_for_update(skip_locked=True, of=("self",)).filter(
            status__in=[Delivery.Status.PENDING, Delivery.Status.RETRYING], next_attempt_at__lte=now,
            endpoint__is_active=True,
        ).order_by("next_attempt_at", "id")[:limit])
        for delivery in due:
            delivery.next_attempt_at = now + _hold()
            relay.enqueue(SEND_TASK, delivery_id=delivery.pk, attempt=delivery.attempts)
        Delivery.objects.bulk_update(due, ["next_attempt_at"])
    return len(due)


@transaction.atomic
def redeliver(*, actor: User, delivery: Delivery) -> Delivery:
    """Send a delivery again now, with the same webhook-id and body; a failure is retried like any other while
    attempts remain (LIAISON_WEBHOOKS_MAX_ATTEMPTS)."""
    _ensure_admin(actor, delivery.endpoint)
    delivery = Delivery.objects.select_for_update().select_related("endpoint").get(pk=delivery.pk)
    if not delivery.endpoint.is_active:
        raise ValidationError(_("Enable the endpoint before re-delivering."))
    delivery.status = Delivery.Status.PENDING
    delivery.next_attempt_at = timezone.now() + _hold()
    delivery.save(update_fields=["status", "next_attempt_at"])
    relay.enqueue(SEND_TASK, delivery_id=delivery.pk, attempt=delivery.attempts, redelivery=True)
    audit.record(actor=actor, action="webhook.redelivered", obj=delivery,
                 data={"message_id": delivery.message_id, "event": delivery.event, "url": delivery.endpoint.url})
    return delivery
