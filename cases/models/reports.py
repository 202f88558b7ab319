"""Signed outcome reports: immutable versions of a case's record."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .cases import Case


class OutcomeReport(models.Model):
    """One signed outcome report of a case. Issued files are immutable; a new version supersedes, never overwrites.

    The version is fixed when the report is requested; a failed attempt keeps its row (and reason) but does not
    use up the number, so issued versions of a case run 1, 2, 3 without gaps.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RENDERING = "rendering", _("Rendering")
        SIGNING = "signing", _("Signing")
        READY = "ready", _("Ready")
        FAILED = "failed", _("Failed")

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="reports")
    version = models.PositiveIntegerField(_("version"))
    language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES, default="en")
    include_thread = models.BooleanField(_("includes the shared thread"), default=False)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.QUEUED)
    status_reason = models.TextField(_("reason"), blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    # The T&S manager whose approval the signature carries.
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(_("requested"), default=timezone.now)
    # When it was last put in the queue (requested, or sent again after its worker died or its task was lost).
    queued_at = models.DateTimeField(default=timezone.now)
    # When a worker claimed it; a claim older than LIAISON_REPORT_CLAIM_STALE_SECONDS is taken to be a dead worker's.
    started_at = models.DateTimeField(null=True, blank=True)
    # How many times a worker claimed it: after LIAISON_REPORT_MAX_ATTEMPTS dead workers it fails instead.
    attempts = models.PositiveSmallIntegerField(default=0)
    issued_at = models.DateTimeField(_("issued"), null=True, blank=True)
    storage_name = models.CharField(max_length=255, blank=True, editable=False)
    sha256 = models.CharField(_("SHA-256"), max_length=64, blank=True, editable=False)
    size = models.BigIntegerField(_("size in bytes"), null=True, blank=True, editable=False)
    superseded_by = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    superseded_at = models.DateTimeField(_("superseded"), null=True, blank=True)

    class Meta:
        ordering = ["case", "-version", "-id"]
        verbose_name = _("outcome report")
        verbose_name_plural = _("outcome reports")
        constraints = [
            models.UniqueConstraint(fields=["case", "version"], condition=~Q(status="failed"),
                                    name="report_version_once"),
        ]
        indexes = [
            models.Index(fields=["sha256"], name="report_sha256"),
            models.Index(fields=["case", "status"], name="report_case_status"),
            # The sweep for dead workers and lost tasks (cases/actions/reports.py) reads only reports in flight.
            models.Index(fields=["status"], condition=Q(status__in=["queued", "rendering", "signing"]),
                         name="report_in_flight"),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} v{self.version} {self.status}"

    @property
    def is_ready(self) -> bool:
        return self.status == self.Status.READY

    @property
    def in_flight(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RENDERING, self.Status.SIGNING)

    @property
    def is_superseded(self) -> bool:
        return self.superseded_at is not None
