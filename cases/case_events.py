"""Case events announced to subscribers outside `cases` (webhooks), inside the action's own transaction.

`cases` must not import the apps built on it, so an action names what happened with `announce`, and the
subscriber's receiver (webhooks/receivers.py) writes its own rows beside the change: a rolled-back change
announces nothing, a committed one loses nothing. The event's data holds ids and codes as the action knows them;
what each organisation may read of it is the subscriber's to decide through the policy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import models
from django.dispatch import Signal
from django.utils.translation import gettext_lazy as _

# Sent with the keyword argument announcements: a list of Announcement, in the order they happened.
case_events = Signal()


class CaseEvent(models.TextChoices):
    SUBMITTED = "case.submitted", _("Case submitted")
    ACKNOWLEDGED = "case.acknowledged", _("Case acknowledged")
    INFORMATION_REQUESTED = "case.information_requested", _("Information requested")
    RESOLVED = "case.resolved", _("Case resolved")
    ITEM_OUTCOME_SET = "item.outcome_set", _("Item outcome set")
    DEADLINE_AT_RISK = "deadline.at_risk", _("Deadline at risk")
    DEADLINE_BREACHED = "deadline.breached", _("Deadline breached")
    REPORT_ISSUED = "report.issued", _("Outcome report issued")


# The workflow's moves that are announced, by transition.
TRANSITION_EVENTS: dict[str, str] = {
    "submit": CaseEvent.SUBMITTED,
    "acknowledge": CaseEvent.ACKNOWLEDGED,
    "request_information": CaseEvent.INFORMATION_REQUESTED,
    "resolve": CaseEvent.RESOLVED,
}


@dataclass(frozen=True)
class Announcement:
    case: Any  # the Case, as the action holds it
    event: str  # a CaseEvent value
    data: dict[str, Any] = field(default_factory=dict)  # ids, codes, ISO times


def announce(*, case: Any, event: str, data: dict[str, Any] | None = None) -> None:
    """Tell the subscribers of `event` on `case`; call it inside the transaction that made the change."""
    announce_many([Announcement(case=case, event=event, data=dict(data or {}))])


def announce_many(announcements: Sequence[Announcement]) -> None:
    """Several events at once (a batch of the deadline sweep): subscribers handle them together, so the cost does
    not grow with their number when nobody subscribes."""
    if announcements:
        case_events.send(sender=Announcement, announcements=list(announcements))
