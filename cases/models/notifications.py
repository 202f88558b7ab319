"""In-portal notifications and each person's choice of how to receive them."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .cases import Case


class NotificationKind(models.TextChoices):
    SHARED_MESSAGE = "shared_message", _("New shared message")
    INTERNAL_NOTE = "internal_note", _("New internal note")
    MENTION = "mention", _("You were mentioned")
    ASSIGNMENT = "assignment", _("Assignment")
    STATE_CHANGE = "state_change", _("Case status changed")
    DEADLINE = "deadline", _("Deadline reminder or breach")
    REPORT = "report", _("Outcome report")
    EMAIL_DRAFT = "email_draft", _("Draft created from your e-mail")


class Notification(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    case = models.ForeignKey(Case, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    kind = models.CharField(max_length=32, choices=NotificationKind.choices)
    # What the notification is about, so the same event never notifies the same person twice.
    source_key = models.CharField(max_length=120)
    # The event as data (an action and its parameters), written out when it is read, in the reader's language and
    # zone (cases/event_text.py); `title` and `body` keep it as first written, the fallback for older rows.
    event = models.JSONField(default=dict, blank=True)
    title = models.CharField(max_length=300)
    body = models.TextField(blank=True)
    url = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    digest = models.BooleanField(default=False)

    class Meta:
        ordering = ["-id"]
        constraints = [models.UniqueConstraint(fields=["user", "kind", "source_key"], name="notification_once")]
        indexes = [
            models.Index(fields=["user", "read_at"], name="notification_unread"),
            models.Index(fields=["digest", "emailed_at"], name="notification_digest"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.title}"


class NotificationPreference(models.Model):
    class Mode(models.TextChoices):
        IMMEDIATE = "immediate", _("Immediately")
        DIGEST = "digest", _("Daily digest")
        IN_APP = "in_app", _("In the portal only")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=32, choices=NotificationKind.choices)
    mode = models.CharField(max_length=16, choices=Mode.choices, default=Mode.IMMEDIATE)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "kind"], name="notification_preference_unique")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.kind}: {self.mode}"
