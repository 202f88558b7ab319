"""`{{ value|instant }}`: a stored instant in the reader's zone with its UTC offset (cases/instants.py), the one
way templates write a time that both sides read. `{{ value|instant:"seconds" }}` for the record. The value is a
datetime or an ISO 8601 string from stored data; the reader's zone is the active one (the person's own, set by
accounts.middleware for pages and by the e-mail code for e-mails)."""

from __future__ import annotations

from django import template
from django.utils import timezone

from cases.instants import format_instant, from_iso

register = template.Library()


@register.filter
def instant(value: object, precision: str = "") -> str:
    moment = from_iso(value)
    if moment is None:
        return ""
    return format_instant(moment, timezone.get_current_timezone(), seconds=precision == "seconds")
