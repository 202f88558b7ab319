"""The rows of an export: the person's inbox through its filters (cases.queries.filtered_cases over the policy's
cases_visible_to), never a second statement of who sees what. Each read loads its relations in the same query,
so an export costs the same number of queries at ten rows or a hundred thousand."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce

from accounts.models import User
from cases import queries as case_queries
from cases.choices import Outcome
from cases.models import Case, ReportedItem
from cases.queries import CaseFilters

from . import columns
from .models import ExportJob

# Rows fetched from the database per round trip while an export is written.
CHUNK_ROWS = 2000


def _count_in(grouped: QuerySet[Any]) -> Coalesce:
    return Coalesce(Subquery(grouped.annotate(n=Count("*")).values("n"), output_field=IntegerField()), 0)


def cases_for_export(user: User, filters: CaseFilters) -> QuerySet[Case]:
    """The cases of the person's inbox under `filters`, in the inbox's order, with what a row holds."""
    items = ReportedItem.objects.filter(case=OuterRef("pk")).order_by().values("case")
    return (case_queries.filtered_cases(user, filters)
            .select_related("category", "requesting_org", "responding_org", "assignee")
            .annotate(item_count=_count_in(items), pending_count=_count_in(items.filter(outcome=Outcome.PENDING))))


def items_for_export(user: User, filters: CaseFilters) -> QuerySet[ReportedItem]:
    """The reported items of those cases, case by case (by reference), in their order within the case."""
    cases = case_queries.filtered_cases(user, filters).order_by().values("pk")
    return (ReportedItem.objects.filter(case__in=cases)
            .select_related("case", "case__category", "case__requesting_org", "case__responding_org", "decided_by")
            .order_by("case__reference", "position", "id"))


def decisions_for_export(user: User, filters: CaseFilters) -> QuerySet[ReportedItem]:
    """The decided items of those cases whose decision restricts something (a statement of reasons each)."""
    return items_for_export(user, filters).filter(outcome__in=columns.STATED_OUTCOMES)


def rows_for_export(user: User, kind: str, filters: CaseFilters) -> QuerySet[Any]:
    if kind == ExportJob.Kind.CASES:
        return cases_for_export(user, filters)
    if kind == ExportJob.Kind.ITEMS:
        return items_for_export(user, filters)
    return decisions_for_export(user, filters)


def count_up_to(qs: QuerySet[Any], cap: int) -> tuple[int, bool]:
    """How many rows, counting at most cap + 1, and whether there are more than `cap`."""
    return case_queries.capped_count(qs, cap)


def iterate(qs: QuerySet[Any]) -> Iterator[Any]:
    """The rows in chunks (a server-side cursor on PostgreSQL): memory stays flat at any size."""
    return qs.iterator(chunk_size=CHUNK_ROWS)
