"""SLA policies and the deadlines of a case: pauses, proposals to change them, and signals sent."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from accounts.models import Organization

from ..choices import DeadlineKind, Priority, ProposalKind
from .cases import Case, Category


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
    Kind = DeadlineKind

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

    Kind = ProposalKind

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
