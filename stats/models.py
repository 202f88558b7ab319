"""The figures' summary: one row per submitted case, kept from the record by `stats.summary.refresh_case_figures`.

Every figure of the dashboards and of the transparency page is a grouped query over these rows (at most one per
case, 100,000 at national scale) instead of over a million items and a few hundred thousand deadlines. The rows
carry the case's scope columns under the case's own names (requesting_org, responding_org, queue), so the policy's
condition on cases (`cases.permissions.figures.figures_scope`) filters them unchanged.
"""

from __future__ import annotations

from django.db import models

from accounts.models import Organization, Queue
from cases.models import Case, Category


class CaseFigures(models.Model):
    case = models.OneToOneField(Case, on_delete=models.CASCADE, primary_key=True, related_name="+")
    # The case's scope and dimensions, under the names they have on Case.
    requesting_org = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    responding_org = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    queue = models.ForeignKey(Queue, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="+")
    country = models.CharField(max_length=2)  # the requesting authority's
    request_type = models.CharField(max_length=32)
    priority = models.CharField(max_length=16)
    status = models.CharField(max_length=24)
    # When it was received (submitted), and its UTC day and month: the figures' periods.
    received_at = models.DateTimeField()
    received_on = models.DateField()
    received_month = models.DateField()
    # Wall-clock seconds, pauses excluded (Case.acknowledge_seconds / resolve_seconds, kept by the clock actions).
    acknowledge_seconds = models.PositiveIntegerField(null=True, blank=True)
    resolve_seconds = models.PositiveIntegerField(null=True, blank=True)
    # Its items by outcome.
    items_total = models.PositiveIntegerField(default=0)
    items_pending = models.PositiveIntegerField(default=0)
    items_removed = models.PositiveIntegerField(default=0)
    items_restricted = models.PositiveIntegerField(default=0)
    items_not_illegal = models.PositiveIntegerField(default=0)
    items_insufficient = models.PositiveIntegerField(default=0)
    items_not_found = models.PositiveIntegerField(default=0)
    items_already_removed = models.PositiveIntegerField(default=0)
    items_duplicate = models.PositiveIntegerField(default=0)
    # Its acknowledge and resolve deadlines that ended met on time or breached (met late or not at all).
    acknowledge_met = models.PositiveSmallIntegerField(default=0)
    acknowledge_breached = models.PositiveSmallIntegerField(default=0)
    resolve_met = models.PositiveSmallIntegerField(default=0)
    resolve_breached = models.PositiveSmallIntegerField(default=0)
    refreshed_at = models.DateTimeField()

    class Meta:
        indexes = [
            # A period's rows, read from the index alone on PostgreSQL for the counts by scope.
            models.Index(fields=["received_on"], name="figures_received_on"),
            models.Index(fields=["requesting_org", "received_on"], name="figures_authority_received_on"),
        ]

    def __str__(self) -> str:
        return f"figures of case {self.case_id}"


class FiguresWatermark(models.Model):
    """How far the summary has read the audit chain: the id of the last event whose case was refreshed."""

    name = models.CharField(max_length=32, unique=True)
    last_event_id = models.BigIntegerField(default=0)
    refreshed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name}: {self.last_event_id}"
