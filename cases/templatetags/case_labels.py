from django import template
from django.utils.translation import gettext_lazy as _

from cases.choices import Outcome, Status

register = template.Library()


@register.filter
def status_label(value: str) -> str:
    try:
        return str(Status(value).label)
    except ValueError:
        return value


@register.filter
def outcome_label(value: str) -> str:
    try:
        return str(Outcome(value).label)
    except ValueError:
        return value


@register.filter
def div60(value: int) -> int:
    return int(value or 0) // 60


@register.filter
def timeuntil_td(value: object) -> str:
    """A duration (timedelta) in words, like Django's timeuntil."""
    from datetime import timedelta

    from django.utils import timezone
    from django.utils.timesince import timeuntil

    if not isinstance(value, timedelta):
        return ""
    now = timezone.now()
    return timeuntil(now + value, now)


EVENT_LABELS = {
    "deadline.created": _("Deadline set"),
    "deadline.paused": _("Resolve clock paused"),
    "deadline.resumed": _("Resolve clock resumed"),
    "deadline.changed": _("Deadline changed by agreement"),
    "deadline.waived": _("Deadline waived by agreement"),
    "deadline.proposed": _("Deadline change proposed"),
    "deadline.accepted": _("Deadline proposal accepted"),
    "deadline.rejected": _("Deadline proposal rejected"),
    "deadline.proposal_expired": _("Deadline proposal expired"),
    "deadline.reminded": _("Deadline reminder sent"),
    "deadline.breached": _("Deadline breached"),
    "message.posted": _("Message posted"),
    "message.edited": _("Message edited"),
    "evidence.uploaded": _("Evidence uploaded"),
    "evidence.downloaded": _("Evidence downloaded"),
    "evidence.previewed": _("Evidence previewed"),
    "evidence.withdrawn": _("Evidence withdrawn"),
    "evidence.purged": _("Evidence purged after retention"),
    "evidence.integrity_failed": _("Evidence integrity check failed"),
    "legal_hold.placed": _("Legal hold placed"),
    "legal_hold.lifted": _("Legal hold lifted"),
    "report.requested": _("Outcome report requested"),
    "report.issued": _("Outcome report issued"),
    "report.downloaded": _("Outcome report downloaded"),
    "email.draft_created": _("Draft created from an e-mail"),
    "email.reply_added": _("E-mail reply added to the thread"),
}


@register.filter
def event_label(action: str) -> str:
    label = EVENT_LABELS.get(action)
    return str(label) if label is not None else action
