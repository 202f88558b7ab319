"""Case events (cases/case_events.py) become deliveries, in the transaction of the action that announced them."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from cases.case_events import Announcement, case_events

from .actions import record_events


@receiver(case_events)
def deliver_case_events(sender: Any, announcements: list[Announcement], **kwargs: Any) -> None:
    record_events(announcements)
