from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from accounts.models import Organization, Queue

from .choices import (
    OPEN_STATUSES,
    TLP,
    ItemKind,
    Outcome,
    Priority,
    RequestType,
    Side,
    Status,
)


class Category(models.Model):
    """Categories are data: a T&S manager can add one without a release."""

    slug = models.SlugField(unique=True)
    name = models.CharField(_("name"), max_length=120)
    name_id = models.CharField(_("name (Bahasa Indonesia)"), max_length=120, blank=True)
    default_priority = models.CharField(_("default priority"), max_length=16, choices=Priority.choices,
                                        default=Priority.NORMAL)
    sort_order = models.PositiveSmallIntegerField(default=100)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["sort_order", "name"]
        verbose_name = _("category")
        verbose_name_plural = _("categories")

    def __str__(self) -> str:
        if translation.get_language() == "id" and self.name_id:
            return self.name_id
        return self.name


class CaseSequence(models.Model):
    """The last reference number issued per country and year; locked while a case is created."""

    country = models.CharField(max_length=2)
    year = models.PositiveSmallIntegerField()
    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["country", "year"], name="case_sequence_unique")]

    def __str__(self) -> str:
        return f"{self.country}-{self.year}: {self.last_number}"


class Case(models.Model):
    reference = models.CharField(_("reference"), max_length=20, unique=True, editable=False)
    title = models.CharField(_("title"), max_length=200)
    request_type = models.CharField(_("request type"), max_length=32, choices=RequestType.choices,
                                    default=RequestType.REMOVAL)
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="cases",
                                 verbose_name=_("category"))
    legal_basis = models.TextField(_("legal basis"), blank=True)
    legal_article = models.CharField(_("article"), max_length=200, blank=True)
    description = models.TextField(_("description"), blank=True)
    priority = models.CharField(_("priority"), max_length=16, choices=Priority.choices, default=Priority.NORMAL)
    # Sortable form of priority and threat to life; kept by actions.
    priority_rank = models.PositiveSmallIntegerField(default=10, editable=False)
    threat_to_life = models.BooleanField(_("threat to life"), default=False)
    tlp = models.CharField(_("confidentiality"), max_length=8, choices=TLP.choices, default=TLP.AMBER)
    language = models.CharField(_("language"), max_length=8, default="en")
    territorial_scope = models.JSONField(_("territorial scope"), default=list, blank=True)
    requesting_org = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="requested_cases",
                                       verbose_name=_("requesting organisation"))
    responding_org = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="responding_cases",
                                       verbose_name=_("responding platform"))
    queue = models.ForeignKey(Queue, on_delete=models.SET_NULL, null=True, blank=True, related_name="cases",
                              verbose_name=_("queue"))
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="assigned_cases", verbose_name=_("assignee"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="created_cases")
    status = models.CharField(_("status"), max_length=24, choices=Status.choices, default=Status.DRAFT)
    outcome_summary = models.TextField(_("outcome summary"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)
    acknowledged_at = models.DateTimeField(_("acknowledged"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    withdrawn_at = models.DateTimeField(_("withdrawn"), null=True, blank=True)
    # For the dashboards: wall-clock seconds to acknowledge and to resolve, minus time paused.
    acknowledge_seconds = models.PositiveIntegerField(null=True, blank=True, editable=False)
    resolve_seconds = models.PositiveIntegerField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-priority_rank", "submitted_at", "id"]
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        indexes = [
            # The platform inbox: urgent first, then oldest.
            models.Index(F("priority_rank").desc(), "submitted_at", "id", name="case_inbox_order"),
            models.Index(fields=["requesting_org", "status"], name="case_requesting_status"),
            models.Index(fields=["responding_org", "status"], name="case_responding_status"),
            models.Index(fields=["queue", "status"], name="case_queue_status"),
            models.Index(fields=["assignee", "status"], name="case_assignee_status"),
            models.Index(fields=["-created_at"], name="case_created"),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(threat_to_life=True) | Q(priority=Priority.URGENT),
                                   name="case_threat_to_life_is_urgent"),
        ]

    def __str__(self) -> str:
        return f"{self.reference} — {self.title}"

    def get_absolute_url(self) -> str:
        return reverse("cases:detail", kwargs={"reference": self.reference})

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def is_red(self) -> bool:
        return self.tlp == TLP.RED


class CaseUserObjectPermission(UserObjectPermissionBase):
    """Per-case grants to named people (django-guardian, direct foreign key)."""

    content_object = models.ForeignKey(Case, on_delete=models.CASCADE)


class CaseGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Case, on_delete=models.CASCADE)


class ReportedItem(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveIntegerField(default=0)
    target = models.CharField(_("target"), max_length=2048)
    key = models.CharField(_("normalised key"), max_length=2048)
    kind = models.CharField(_("kind"), max_length=16, choices=ItemKind.choices, default=ItemKind.OTHER)
    note = models.TextField(_("note"), blank=True)
    outcome = models.CharField(_("outcome"), max_length=32, choices=Outcome.choices, default=Outcome.PENDING)
    outcome_reason = models.TextField(_("reason"), blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+")
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["case", "position", "id"]
        verbose_name = _("reported item")
        verbose_name_plural = _("reported items")
        indexes = [
            models.Index(fields=["key"], name="item_key"),
            models.Index(fields=["case", "outcome"], name="item_case_outcome"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["case", "key"], name="item_unique_key_per_case"),
        ]

    def __str__(self) -> str:
        return self.target

    @property
    def is_decided(self) -> bool:
        return self.outcome != Outcome.PENDING


class AuditEvent(models.Model):
    """Append-only, hash-chained record of every change and sensitive read.

    Each event holds the SHA-256 of the previous one; on PostgreSQL a trigger
    refuses UPDATE and DELETE (migration 0002).
    """

    occurred_at = models.DateTimeField(_("time"), db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                              related_name="+")
    actor_org = models.ForeignKey(Organization, on_delete=models.PROTECT, null=True, blank=True,
                                  related_name="+")
    action = models.CharField(_("action"), max_length=64)
    case = models.ForeignKey(Case, on_delete=models.PROTECT, null=True, blank=True, related_name="events")
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    side = models.CharField(_("visible to"), max_length=16, choices=Side.choices, blank=True, default="")
    data = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["case", "id"], name="audit_case")]
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")

    def __str__(self) -> str:
        return f"#{self.pk} {self.action}"


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


class Message(models.Model):
    """One entry of a case's thread: shared with both sides, internal to the author's side, or a system entry."""

    class Kind(models.TextChoices):
        SHARED = "shared", _("Shared with both sides")
        INTERNAL = "internal", _("Internal note")
        SYSTEM = "system", _("System entry")

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="messages")
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.SHARED)
    # For internal notes: the side that may read it. Empty for shared and system entries.
    side = models.CharField(_("visible to"), max_length=16, choices=Side.choices, blank=True, default="")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                               related_name="+")
    body = models.TextField(_("message"))
    system_action = models.CharField(max_length=64, blank=True)
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
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "case"], name="read_marker_unique")]

    def __str__(self) -> str:
        return f"{self.user_id}@{self.case_id}: {self.last_read_message_id}"


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


class InboundEmail(models.Model):
    """Every e-mail received, with what became of it. Nothing is silently dropped."""

    class Status(models.TextChoices):
        RECEIVED = "received", _("Received")
        REPLY = "reply", _("Added to a thread")
        DRAFT = "draft", _("Draft case created")
        QUARANTINED = "quarantined", _("Quarantined")
        RELEASED = "released", _("Released")
        REJECTED = "rejected", _("Rejected")

    message_id = models.CharField(max_length=255, unique=True)
    sender = models.CharField(_("from"), max_length=320, blank=True)
    subject = models.CharField(_("subject"), max_length=500, blank=True)
    received_at = models.DateTimeField(_("received"), auto_now_add=True)
    raw_storage_name = models.CharField(max_length=255, blank=True)
    raw_sha256 = models.CharField(max_length=64, blank=True)
    size = models.BigIntegerField(default=0)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.RECEIVED)
    reason = models.TextField(_("reason"), blank=True)
    case = models.ForeignKey(Case, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at"]
        indexes = [models.Index(fields=["status", "-received_at"], name="inbound_status")]
        verbose_name = _("inbound e-mail")
        verbose_name_plural = _("inbound e-mails")

    def __str__(self) -> str:
        return f"{self.sender}: {self.subject}"


class SLAPolicy(models.Model):
    """Time to acknowledge and to resolve for (category, priority), optionally for one requesting authority."""

    category = models.ForeignKey(Category, on_delete=models.CASCADE, null=True, blank=True, related_name="+",
                                 verbose_name=_("category (blank: any)"))
    priority = models.CharField(_("priority"), max_length=16, choices=Priority.choices)
    requesting_org = models.ForeignKey(Organization, on_delete=models.CASCADE, null=True, blank=True,
                                       related_name="+", verbose_name=_("requesting authority (blank: any)"))
    acknowledge_minutes = models.PositiveIntegerField(_("minutes to acknowledge"))
    resolve_minutes = models.PositiveIntegerField(_("minutes to resolve"))
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["priority", "category__sort_order", "requesting_org__name"]
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")
        constraints = [models.UniqueConstraint(fields=["category", "priority", "requesting_org"],
                                               name="sla_policy_unique", nulls_distinct=False)]

    def __str__(self) -> str:
        return f"{self.category or '*'} / {self.priority} / {self.requesting_org or '*'}"


class Deadline(models.Model):
    class Kind(models.TextChoices):
        ACKNOWLEDGE = "acknowledge", _("Acknowledge")
        RESOLVE = "resolve", _("Resolve")
        PROVIDE_INFORMATION = "provide_information", _("Provide information")
        CUSTOM = "custom", _("Custom")

    class State(models.TextChoices):
        OPEN = "open", _("Open")
        MET = "met", _("Met")
        BREACHED = "breached", _("Breached")
        WAIVED = "waived", _("Waived")
        CANCELLED = "cancelled", _("Cancelled")

    class Origin(models.TextChoices):
        POLICY = "policy", _("SLA policy")
        AGREEMENT = "agreement", _("Agreed by both sides")

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="deadlines")
    kind = models.CharField(_("kind"), max_length=24, choices=Kind.choices)
    title = models.CharField(_("title"), max_length=200, blank=True)
    # The side that must act before the due time.
    owner_side = models.CharField(_("who must act"), max_length=16)
    started_at = models.DateTimeField(_("clock started"))
    due_at = models.DateTimeField(_("due"))
    status = models.CharField(_("status"), max_length=16, choices=State.choices, default=State.OPEN)
    origin = models.CharField(_("origin"), max_length=16, choices=Origin.choices, default=Origin.POLICY)
    met_at = models.DateTimeField(_("met"), null=True, blank=True)
    breached_at = models.DateTimeField(_("breached"), null=True, blank=True)
    closed_at = models.DateTimeField(_("waived or cancelled"), null=True, blank=True)
    paused_at = models.DateTimeField(_("paused since"), null=True, blank=True)
    paused_seconds = models.PositiveIntegerField(_("time paused (s)"), default=0)
    # When the sweep must look at this deadline next (a reminder point or the due time); null when paused or closed.
    next_check_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["case", "due_at", "id"]
        verbose_name = _("deadline")
        verbose_name_plural = _("deadlines")
        indexes = [
            # The sweep reads only open rows whose check time has come.
            models.Index(fields=["next_check_at"], name="deadline_sweep", condition=Q(status="open")),
            models.Index(fields=["case", "status"], name="deadline_case_status"),
            models.Index(fields=["status", "due_at"], name="deadline_status_due"),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} {self.kind} due {self.due_at:%Y-%m-%d %H:%M}"

    @property
    def is_open(self) -> bool:
        return self.status == self.State.OPEN

    @property
    def is_paused(self) -> bool:
        return self.paused_at is not None


class DeadlinePause(models.Model):
    deadline = models.ForeignKey(Deadline, on_delete=models.PROTECT, related_name="pauses")
    paused_at = models.DateTimeField()
    resumed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["deadline", "paused_at"]

    def __str__(self) -> str:
        return f"{self.deadline_id} paused {self.paused_at}"


class DeadlineProposal(models.Model):
    """A change to the clock that takes effect only when the other side accepts. Kept whatever the answer."""

    class Kind(models.TextChoices):
        CHANGE_DUE = "change_due", _("New due time")
        NEW_CUSTOM = "new_custom", _("New deadline")
        WAIVE = "waive", _("Waive")

    class State(models.TextChoices):
        PENDING = "pending", _("Awaiting the other side")
        ACCEPTED = "accepted", _("Accepted")
        REJECTED = "rejected", _("Rejected")
        EXPIRED = "expired", _("Expired")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="deadline_proposals")
    deadline = models.ForeignKey(Deadline, on_delete=models.PROTECT, null=True, blank=True, related_name="proposals")
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    title = models.CharField(_("title"), max_length=200, blank=True)
    owner_side = models.CharField(_("who must act"), max_length=16, blank=True)
    proposed_due_at = models.DateTimeField(_("proposed due time"), null=True, blank=True)
    reason = models.TextField(_("reason"))
    proposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    proposed_side = models.CharField(max_length=16)
    proposed_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(_("status"), max_length=16, choices=State.choices, default=State.PENDING)
    answered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+")
    answered_at = models.DateTimeField(null=True, blank=True)
    answer_note = models.TextField(blank=True)

    class Meta:
        ordering = ["case", "-proposed_at"]
        verbose_name = _("deadline proposal")
        verbose_name_plural = _("deadline proposals")

    def __str__(self) -> str:
        return f"{self.case_id} {self.kind} {self.status}"


class DeadlineSignal(models.Model):
    """A reminder or breach notice already sent: the unique pair makes each one happen exactly once."""

    deadline = models.ForeignKey(Deadline, on_delete=models.PROTECT, related_name="signals")
    point = models.CharField(max_length=32)
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["deadline", "point"], name="deadline_signal_once")]

    def __str__(self) -> str:
        return f"{self.deadline_id} {self.point}"


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
    # When a worker claimed it; a claim older than a few minutes is taken to be a crashed worker's.
    started_at = models.DateTimeField(null=True, blank=True)
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
