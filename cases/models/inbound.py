"""Every e-mail received, stored whole, with what became of it."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .cases import Case


class InboundEmail(models.Model):
    """Every e-mail received, with what became of it. Nothing is silently dropped.

    The same bytes delivered twice are one row; two different messages claiming one Message-ID are two rows,
    the later one quarantined as a clash.
    """

    class Status(models.TextChoices):
        RECEIVED = "received", _("Received")
        REPLY = "reply", _("Added to a thread")
        DRAFT = "draft", _("Draft case created")
        QUARANTINED = "quarantined", _("Quarantined")
        RELEASED = "released", _("Released")
        REJECTED = "rejected", _("Rejected")

    message_id = models.CharField(max_length=255, db_index=True)
    sender = models.CharField(_("from"), max_length=320, blank=True)
    subject = models.CharField(_("subject"), max_length=500, blank=True)
    received_at = models.DateTimeField(_("received"), auto_now_add=True)
    raw_storage_name = models.CharField(max_length=255, blank=True)
    raw_sha256 = models.CharField(max_length=64, blank=True)
    size = models.BigIntegerField(default=0)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.RECEIVED)
    reason = models.TextField(_("reason"), blank=True)
    # Why it was quarantined, as a stable code (cases/inbound_reasons.py); empty when it was not.
    reason_code = models.CharField(max_length=40, blank=True)
    # The receiving server's verdict on the sender, as read (cases/email_authentication.py).
    authentication = models.JSONField(default=dict, blank=True)
    case = models.ForeignKey(Case, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    # The case a quarantined message looks like a reply to (never trusted: a T&S manager may release it there).
    reply_case = models.ForeignKey(Case, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at"]
        indexes = [models.Index(fields=["status", "-received_at"], name="inbound_status")]
        constraints = [models.UniqueConstraint(fields=["raw_sha256"], condition=~models.Q(raw_sha256=""),
                                               name="inbound_once_per_bytes")]
        verbose_name = _("inbound e-mail")
        verbose_name_plural = _("inbound e-mails")

    def __str__(self) -> str:
        return f"{self.sender}: {self.subject}"
