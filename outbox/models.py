"""One row per piece of work an action started: which task, with which arguments, and how far it got."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class OutboxMessage(models.Model):
    task = models.CharField(_("task"), max_length=200)
    # The task's keyword arguments (JSON, as the broker carries them); emptied once the task is done, so secrets
    # such as an invitation's link do not outlive their delivery here.
    kwargs = models.JSONField(_("arguments"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    # When a relay may next offer it: held a little while a sender has it in hand (`claim`), pushed back after a
    # failed attempt, and after a send pushed to the time by which its task should have finished.
    due_at = models.DateTimeField(_("due"), default=timezone.now)
    claim = models.CharField(max_length=32, blank=True, editable=False)
    attempts = models.PositiveIntegerField(_("failed attempts"), default=0)
    sends = models.PositiveIntegerField(_("times sent"), default=0)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    done_at = models.DateTimeField(_("done"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("outbox message")
        verbose_name_plural = _("outbox messages")
        indexes = [
            # The relay's one question: what is due and not done.
            models.Index(fields=["due_at"], condition=Q(done_at__isnull=True), name="outbox_due"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.task}"
