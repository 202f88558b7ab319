"""Evidence files of a case (metadata and fingerprint; the bytes live in private storage) and legal holds."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .cases import Case, ReportedItem


class Evidence(models.Model):
    """A file proving a request or documenting an action. Never edited, never deleted by users."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="evidence")
    item = models.ForeignKey(ReportedItem, on_delete=models.SET_NULL, null=True, blank=True,
                             related_name="evidence", verbose_name=_("reported item"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    size = models.BigIntegerField(_("size in bytes"))
    content_type = models.CharField(_("type"), max_length=120)
    original_name = models.CharField(_("original file name"), max_length=255)
    # Generated; the original name is never used as a path.
    storage_name = models.CharField(max_length=255, unique=True, editable=False)
    description = models.TextField(_("description"), blank=True)
    documents_url = models.URLField(_("URL it documents"), max_length=2048, blank=True)
    captured_at = models.DateTimeField(_("captured (as stated)"), null=True, blank=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(_("uploaded"), auto_now_add=True)
    side = models.CharField(_("uploaded by side"), max_length=16)
    internal = models.BooleanField(_("internal to the uploader's side"), default=False)
    withdrawn_at = models.DateTimeField(_("withdrawn"), null=True, blank=True)
    withdrawn_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                     related_name="+")
    withdrawn_reason = models.TextField(_("reason for withdrawal"), blank=True)
    purged_at = models.DateTimeField(_("purged"), null=True, blank=True)
    last_verified_at = models.DateTimeField(_("last integrity check"), null=True, blank=True)
    integrity_ok = models.BooleanField(_("integrity intact"), null=True, blank=True)

    class Meta:
        ordering = ["case", "uploaded_at", "id"]
        verbose_name = _("evidence")
        verbose_name_plural = _("evidence")
        # The same bytes are one record per case and audience: a platform-internal copy never hides
        # (or reveals) a file the authority later shares.
        constraints = [models.UniqueConstraint(fields=["case", "sha256", "internal", "side"],
                                               name="evidence_unique_per_case_audience")]
        indexes = [models.Index(fields=["sha256"], name="evidence_sha256")]

    def __str__(self) -> str:
        return f"{self.original_name} ({self.sha256[:12]}…)"

    @property
    def is_previewable(self) -> bool:
        return self.content_type.startswith("image/") or self.content_type == "application/pdf"

    @property
    def is_available(self) -> bool:
        return self.purged_at is None


class LegalHold(models.Model):
    """While a hold is in place, nothing of the case is purged. Holds are lifted, never deleted."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="legal_holds")
    reason = models.TextField(_("reason"))
    placed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    placed_at = models.DateTimeField(_("placed"), auto_now_add=True)
    lifted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                  related_name="+")
    lifted_at = models.DateTimeField(_("lifted"), null=True, blank=True)

    class Meta:
        ordering = ["-placed_at"]
        verbose_name = _("legal hold")
        verbose_name_plural = _("legal holds")

    def __str__(self) -> str:
        return f"{self.case.reference}: {self.reason[:40]}"

    @property
    def is_active(self) -> bool:
        return self.lifted_at is None
