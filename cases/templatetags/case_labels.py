from django import template

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
