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
