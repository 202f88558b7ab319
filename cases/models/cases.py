"""Cases and what they report: categories, references, the case itself, per-case grants, reported items."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from accounts.models import Organization, Queue

from ..choices import OPEN_STATUSES, TLP, ItemKind, Outcome, Priority, RequestType, Status


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
        return self.name_for_reader(self.name, self.name_id)

    @staticmethod
    def name_for_reader(name: str, name_id: str | None, language: str | None = None) -> str:
        """The name a reader of `language` (the active one unless given) reads: the Indonesian one where there is
        one. From the two columns as read (the inbox reads them as values, with no instance)."""
        if name_id and (translation.get_language() if language is None else language) == "id":
            return name_id
        return name


class CaseSequence(models.Model):
    """The last reference number issued per country and year; locked while a case is created."""

    country = models.CharField(max_length=2)
    year = models.PositiveSmallIntegerField()
    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["country", "year"], name="case_sequence_unique")]

    def __str__(self) -> str:
        return f"{self.country}-{self.year}: {self.last_number}"


# Open statuses as an OR of equalities: PostgreSQL proves "status IN (...)" in a query implies this index predicate
# (it cannot when the predicate is itself an IN over a cast array).
OPEN_WORK = Q(status=Status.SUBMITTED) | Q(status=Status.IN_PROGRESS) | Q(status=Status.AWAITING_INFORMATION)
# What an authority's inbox counts: its open work and its drafts.
REQUESTED_WORK = OPEN_WORK | Q(status=Status.DRAFT)


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
    # The state of its clocks, kept by every action that changes a deadline (actions/deadline_clocks.py), so
    # lists count and sort "due soon" and "breached" from the case row itself: the earliest due time of its
    # running deadlines (none when nothing runs), and whether any deadline was breached.
    next_due_at = models.DateTimeField(_("next deadline"), null=True, blank=True, editable=False)
    has_breached_deadline = models.BooleanField(default=False, editable=False)

    class Meta:
        ordering = ["-priority_rank", "submitted_at", "id"]
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        indexes = [
            # The platform inbox: urgent first, then oldest. It carries the columns the access policy filters on, so
            # a page at any depth is an index-only scan (PostgreSQL; other databases ignore `include`).
            models.Index(fields=["-priority_rank", "submitted_at", "id"], name="case_inbox_order",
                         include=["responding_org", "requesting_org", "status", "tlp", "queue", "assignee"]),
            # The same order over open work only (the platform's default list, "open, urgent first"): a tenth of
            # the cases, so a moderator's first page is found within a few hundred index entries.
            models.Index(fields=["-priority_rank", "submitted_at", "id"], name="case_open_inbox_order",
                         condition=OPEN_WORK,
                         include=["responding_org", "requesting_org", "status", "tlp", "queue", "assignee"]),
            # Open work by its next deadline (the "due" sort and the overview's attention list).
            models.Index(fields=["next_due_at", "-priority_rank", "id"], name="case_open_due_order",
                         condition=OPEN_WORK,
                         include=["responding_org", "requesting_org", "status", "tlp", "queue", "assignee"]),
            models.Index(fields=["requesting_org", "status"], name="case_requesting_status"),
            # The counts of open work (inbox badges, overview): a few thousand rows, read from the index alone.
            models.Index(fields=["responding_org", "status"], name="case_open_received",
                         condition=OPEN_WORK,
                         include=["id", "tlp", "queue", "assignee", "priority_rank", "next_due_at",
                                  "has_breached_deadline"]),
            models.Index(fields=["requesting_org", "status"], name="case_open_requested",
                         condition=OPEN_WORK,
                         include=["id", "tlp", "assignee", "priority_rank", "next_due_at", "has_breached_deadline"]),
            models.Index(fields=["responding_org", "status"], name="case_responding_status"),
            models.Index(fields=["queue", "status"], name="case_queue_status"),
            models.Index(fields=["assignee", "status"], name="case_assignee_status"),
            # An authority's list: newest first.
            models.Index(fields=["-created_at", "-id"], name="case_created",
                         include=["requesting_org", "responding_org", "status", "tlp"]),
            # The same order within one authority, with what its policy filters on: its list's pages and their capped
            # total read only its own entries, from the index alone (through case_created, a small authority's
            # first page skipped every other authority's cases, and the total of a large one read 45,000 entries).
            models.Index(fields=["requesting_org", "-created_at", "-id"], name="case_requested_created",
                         include=["status", "tlp"]),
            # An authority's inbox counts (open work and drafts), read from the index alone.
            models.Index(fields=["requesting_org", "status"], name="case_requested_work",
                         condition=REQUESTED_WORK,
                         include=["id", "tlp", "assignee", "priority_rank", "next_due_at", "has_breached_deadline"]),
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
    # No index of its own: item_case_outcome and item_unique_key_per_case both start with the case.
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="items", db_index=False)
    position = models.PositiveIntegerField(default=0)
    target = models.CharField(_("target"), max_length=2048)
    key = models.CharField(_("normalised key"), max_length=2048)
    kind = models.CharField(_("kind"), max_length=16, choices=ItemKind.choices, default=ItemKind.OTHER)
    note = models.TextField(_("note"), blank=True)
    # Why the target deserves a second look (a look-alike host, mixed scripts); empty when nothing is odd.
    warning = models.CharField(_("warning"), max_length=300, blank=True)
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
            # Deconfliction looks keys up here and reads their cases from the index alone (PostgreSQL; other databases
            # ignore `include`).
            models.Index(fields=["key"], name="item_key", include=["case"]),
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
