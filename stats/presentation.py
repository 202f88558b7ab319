"""How figures are written for a reader: durations, rates and counts in the reader's language."""

from __future__ import annotations

from django.utils.formats import number_format
from django.utils.translation import gettext as _

DASH = "—"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return DASH
    minutes = int(round(seconds / 60))
    if minutes < 60:
        return _("%(minutes)s min") % {"minutes": minutes}
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return _("%(hours)s h %(minutes)s min") % {"hours": hours, "minutes": minutes}
    days, hours = divmod(hours, 24)
    return _("%(days)s d %(hours)s h") % {"days": days, "hours": hours}


def rate(value: float | None) -> str:
    if value is None:
        return DASH
    return _("%(percent)s %%") % {"percent": number_format(round(value * 100, 1), 1, use_l10n=True)}


def count(value: int) -> str:
    return number_format(value, 0, use_l10n=True, force_grouping=True)
