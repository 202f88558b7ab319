"""Endpoints an organisation registered, and one delivery per (endpoint, event) with its attempts."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Organization


class Endpoint(models.Model):
    """An HTTPS address of an organisation's own system and the case events it hears of."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="webhook_endpoints",
                                     verbose_name=_("organisation"))
    url = models.URLField(_("URL"), max_length=2048)
    description = models.CharField(_("description"), max_length=200, blank=True)
    events = models.JSONField(_("events"), default=list)
    # The signing key, `whsec_<base64>`, encrypted (webhooks/secret_encryption.py: a Fernet token under a key that is
    # not in the database), because signing needs the key itself (an HMAC key cannot be kept as a hash); decrypted
    # only to sign a delivery, shown once when it is made. After a rotation the previous key also signs until
    # previous_until, so a receiver can switch keys without missing a delivery.
    secret_encrypted = models.TextField(editable=False)
    previous_secret_encrypted = models.TextField(blank=True, editable=False)
    previous_until = models.DateTimeField(null=True, blank=True, editable=False)
    secret_rotated_at = models.DateTimeField(_("secret rotated"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    disabled_at = models.DateTimeField(_("disabled"), null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("created by"))
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    # The new secret in clear, on the instance register_endpoint or rotate_secret returns (to be shown once) and
    # nowhere else: never a column, empty on an endpoint read from the database.
    secret: str = ""

    class Meta:
        ordering = ["organization", "-created_at"]
        indexes = [models.Index(fields=["organization", "is_active"])]
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")

    def __str__(self) -> str:
        return self.url


class Delivery(models.Model):
    """One event for one endpoint: its body as signed (the same on every attempt and re-delivery, with the same
    webhook-id, so the receiver can drop a repeat), and how far it got."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        RETRYING = "retrying", _("Retrying")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed")

    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="deliveries")
    message_id = models.CharField(_("webhook-id"), max_length=64, unique=True, editable=False)
    event = models.CharField(_("event"), max_length=64)
    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    body = models.TextField(editable=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    # When the next attempt is due (pending or retrying); the retry sweep sends what is due.
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    # A sender holds the delivery until then while it posts: a second run of the task (the outbox delivers at
    # least once) finds it held or its attempt already counted, and sends nothing.
    claimed_until = models.DateTimeField(null=True, blank=True, editable=False)
    last_attempt_at = models.DateTimeField(_("last attempt"), null=True, blank=True)
    response_status = models.PositiveSmallIntegerField(_("response code"), null=True, blank=True)
    response_body = models.TextField(_("response"), blank=True)
    error = models.TextField(_("error"), blank=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["endpoint", "-created_at"]),
            # The retry sweep's one question: what is due and not finished.
            models.Index(fields=["next_attempt_at"], condition=Q(status__in=["pending", "retrying"]),
                         name="webhook_delivery_due"),
        ]
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")

    def __str__(self) -> str:
        return f"{self.message_id} {self.event}"


class Attempt(models.Model):
    """One POST of a delivery: when, what came back (truncated), how long it took."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveIntegerField()
    attempted_at = models.DateTimeField(default=timezone.now)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True)
    error = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    redelivery = models.BooleanField(default=False)

    class Meta:
        ordering = ["delivery", "number"]
        constraints = [models.UniqueConstraint(fields=["delivery", "number"], name="webhook_attempt_unique_number")]

    def __str__(self) -> str:
        return f"{self.delivery_id} #{self.number}"
