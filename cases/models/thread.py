"""The case thread: messages, their earlier revisions, and each reader's read marker."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from ..choices import MessageKind, Side
from .cases import Case
from .evidence import Evidence


class Message(models.Model):
    """One entry of a case's thread: shared with both sides, internal to the author's side, or a system entry."""

    Kind = MessageKind

    # No index of its own: message_case (case, id) below serves every read by case, and also bounds a read of the
    # entries after a read marker (the planner took a lone case index and filtered every message of the case).
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="messages", db_index=False)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.SHARED)
    # For internal notes: the side that may read it. Empty for shared and system entries.
    side = models.CharField(_("visible to"), max_length=16, choices=Side.choices, blank=True, default="")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                               related_name="+")
    body = models.TextField(_("message"))
    system_action = models.CharField(max_length=64, blank=True)
    # A system entry's parameters (statuses and kinds as codes, times as ISO instants, counts, versions): the entry
    # is written from them when it is read, in the reader's language and zone (cases/event_text.py). Entries stored
    # before had none; their `body` is the sentence as it was written.
    system_params = models.JSONField(default=dict, blank=True)
    evidence = models.ManyToManyField(Evidence, blank=True, related_name="messages")
    created_at = models.DateTimeField(_("posted"), auto_now_add=True, db_index=True)
    edited_at = models.DateTimeField(_("edited"), null=True, blank=True)
    # The Message-ID of the e-mail it came from, so a message delivered twice is stored once.
    email_message_id = models.CharField(max_length=255, null=True, blank=True, unique=True)

    class Meta:
        ordering = ["case", "id"]
        indexes = [models.Index(fields=["case", "id"], name="message_case")]
        verbose_name = _("message")
        verbose_name_plural = _("messages")

    def __str__(self) -> str:
        return f"{self.case_id}#{self.pk} {self.kind}"

    @property
    def is_internal(self) -> bool:
        return self.kind == self.Kind.INTERNAL


class MessageRevision(models.Model):
    """The text a message had before an edit; shown to those who could see the message."""

    message = models.ForeignKey(Message, on_delete=models.PROTECT, related_name="revisions")
    body = models.TextField()
    replaced_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["message", "id"]

    def __str__(self) -> str:
        return f"revision of {self.message_id}"


class ReadMarker(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="read_markers")
    last_read_message_id = models.BigIntegerField(default=0)
    # The newest entry of the thread this person may see, moved forward by the thread actions as entries arrive:
    # the cases with something new for someone are those where it is past what they read (a partial index), so
    # the unread badge reads those few cases rather than every case the person ever opened.
    news_up_to = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "case"], name="read_marker_unique")]
        indexes = [models.Index(fields=["user", "case"], name="read_marker_news",
                                condition=models.Q(news_up_to__gt=models.F("last_read_message_id")))]

    def __str__(self) -> str:
        return f"{self.user_id}@{self.case_id}: {self.last_read_message_id}"
