"""Celery tasks of the figures."""

from __future__ import annotations

from celery import shared_task

from .summary import refresh_case_figures


@shared_task
def refresh_case_figures_task() -> int:
    """Every minute: the summary rows of the cases named by audit events since the last run (idempotent)."""
    return refresh_case_figures()
