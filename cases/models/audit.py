"""The audit log: one append-only, hash-chained event per change or sensitive read."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Organization

from ..choices import Side
from .cases import Case


class AuditEvent(models.Model):
    """Append-only, hash-chained record of every change and sensitive read.

    Each event holds the SHA-256 of the previous one; triggers refuse UPDATE and
    DELETE (PostgreSQL and SQLite) and TRUNCATE (PostgreSQL): migrations 0002 and 0011.
    """

    occurred_at = models.DateTimeField(_("time"), db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                              related_name="+")
    actor_org = models.ForeignKey(Organization, on_delete=models.PROTECT, null=True, blank=True,
                                  related_name="+")
    action = models.CharField(_("action"), max_length=64)
    # No index of its own: audit_case (case, id) serves every lookup by case, and each index slows every append.
    case = models.ForeignKey(Case, on_delete=models.PROTECT, null=True, blank=True, related_name="events",
                             db_index=False)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    side = models.CharField(_("visible to"), max_length=16, choices=Side.choices, blank=True, default="")
    data = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64)
    # Not unique: a unique index over random digests cost each append a write to a random page of an index as large
    # as the chain (four times the rest of a 500-event batch on 2.4 million events). Nothing looks an event up by its
    # hash, and the chain's proof is the link of each event to the one before, which verify_audit recomputes.
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["case", "id"], name="audit_case")]
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")

    def __str__(self) -> str:
        return f"#{self.pk} {self.action}"


class AuditCheckpoint(models.Model):
    """The head of the audit chain (event id, hash, count, time) signed with the platform's key.

    Append-only like the events (migration 0011). `signed_file` is the checkpoint as a CMS file
    (cases/audit_checkpoints.py); the other fields repeat its payload so pages and `verify_audit` need not parse it.
    """

    class Reason(models.TextChoices):
        SCHEDULED = "scheduled", _("Scheduled")
        ON_DEMAND = "on_demand", _("On demand")
        REPORT = "report", _("Outcome report")

    sequence = models.PositiveBigIntegerField(_("number"), unique=True)
    made_at = models.DateTimeField(_("signed at"))
    head_event_id = models.PositiveBigIntegerField(_("last event"))
    head_hash = models.CharField(_("hash of the last event"), max_length=64)
    event_count = models.PositiveBigIntegerField(_("events"))
    reason = models.CharField(_("reason"), max_length=16, choices=Reason.choices)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                     related_name="+")
    signer = models.CharField(_("signer"), max_length=255)
    timestamped_at = models.DateTimeField(_("timestamped at"), null=True, blank=True)
    signed_file = models.BinaryField()

    class Meta:
        ordering = ["sequence"]
        verbose_name = _("audit checkpoint")
        verbose_name_plural = _("audit checkpoints")

    def __str__(self) -> str:
        return f"checkpoint #{self.sequence}"
