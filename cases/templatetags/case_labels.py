from __future__ import annotations

from typing import TYPE_CHECKING

from django import template
from django.utils import timezone

from cases.choices import Outcome, Status
from cases.event_text import event_details as _event_details
from cases.event_text import event_label as _event_label
from cases.event_text import notification_text
from cases.event_text import system_line as _system_line

if TYPE_CHECKING:
    from cases.models import AuditEvent, Message, Notification

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


@register.filter
def event_label(action: str) -> str:
    return _event_label(action)


@register.filter
def event_details(event: AuditEvent) -> str:
    """What the timeline says of an event after its label, in the reader's language and zone."""
    return _event_details(event.action, event.data, zone=timezone.get_current_timezone())


@register.filter
def system_line(message: Message) -> str:
    """A system entry of the thread in the reader's language and zone, from its action and parameters (the author
    is loaded with the thread)."""
    return _system_line(message.system_action, message.system_params,
                        who=message.author.full_name if message.author_id and message.author else "",
                        zone=timezone.get_current_timezone(), fallback=message.body)


@register.filter
def notification_title(notification: Notification) -> str:
    text = notification_text(notification.event, zone=timezone.get_current_timezone())
    return text[0] if text is not None else notification.title


@register.filter
def notification_body(notification: Notification) -> str:
    text = notification_text(notification.event, zone=timezone.get_current_timezone())
    return text[1] if text is not None and text[1] is not None else notification.body
