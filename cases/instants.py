"""Stored instants written out for people: one format for every time that both sides read.

Pure, no database. A time is kept as an instant — an aware datetime in the database, an ISO 8601 string in UTC
(``2026-12-05T10:00:00Z``) inside stored data such as a system entry's parameters — and becomes text only when it
is shown, in the reader's zone: ``5 Dec 2026, 17:00 WIB (UTC+07:00)``. The zone's abbreviation where it has one
and always the offset from UTC, so a reader in another zone (the other side of a case) knows the exact instant.
UTC itself is written ``5 Dec 2026, 10:00 UTC``. Month names follow the active language.

Never write a local time into stored text: store the instant (``as_iso``) and format it when it is read.
"""

from __future__ import annotations

import re
import zoneinfo
from datetime import UTC, datetime, tzinfo

from django.utils.dates import MONTHS_3

_NUMERIC_NAME = re.compile(r"[+-][0-9]{2,4}")


def zone_named(name: str | None) -> tzinfo:
    """The zone of that IANA name (a person's or organisation's setting); UTC when it is empty or unknown."""
    try:
        return zoneinfo.ZoneInfo(name) if name else UTC
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return UTC


def as_iso(value: datetime) -> str:
    """The instant as stored in data: ISO 8601 in UTC, to the second, ``Z`` for the zone."""
    return _aware(value).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def from_iso(value: object) -> datetime | None:
    """An instant read back from data (``as_iso``, any ISO 8601 with an offset, or a datetime); None when it is
    missing or unreadable. A time without a zone is taken as UTC, the zone everything is stored in."""
    if isinstance(value, datetime):
        return _aware(value)
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return _aware(datetime.fromisoformat(value.strip().replace("Z", "+00:00")))
    except ValueError:
        return None


def offset_label(local: datetime) -> str:
    """``UTC+07:00``, ``UTC-03:30``, ``UTC+00:00``: the offset of a zone-aware time."""
    offset = local.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    sign = "-" if minutes < 0 else "+"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{rest:02d}"


def zone_label(local: datetime) -> str:
    """How the time's zone is written after it: ``WIB (UTC+07:00)``, ``(UTC+04:00)`` for a zone whose only name
    is its offset, ``UTC`` for UTC."""
    name = local.tzname() or ""
    offset = offset_label(local)
    if offset == "UTC+00:00" and name in ("UTC", "Z", "UCT", "Etc/UTC", ""):
        return "UTC"
    if not name or _NUMERIC_NAME.fullmatch(name) or name.startswith("UTC"):
        return f"({offset})"
    return f"{name} ({offset})"


def format_instant(value: datetime, zone: tzinfo, *, seconds: bool = False) -> str:
    """``5 Dec 2026, 17:00 WIB (UTC+07:00)``: the instant in that zone (the reader's), with its offset; to the
    second for the record (outcome reports, the audit timeline)."""
    local = _aware(value).astimezone(zone)
    return _written(local, MONTHS_3[local.month].title(), seconds)


class InstantWriter:
    """format_instant for the many instants of one page (its rows), in one zone and language: a month's name is
    translated once, when the page first writes a time in it, not once a row (nor the eleven months it never
    shows)."""

    def __init__(self, zone: tzinfo) -> None:
        self.zone = zone
        self._months: dict[int, str] = {}

    @property
    def months(self) -> dict[int, str]:
        """Every month's name by number."""
        for number in MONTHS_3:
            self._month(number)
        return self._months

    def local(self, value: datetime) -> datetime:
        """The instant in the page's zone."""
        return _aware(value).astimezone(self.zone)

    def words(self, local: datetime, *, seconds: bool = False) -> str:
        """format_instant of a time already in the page's zone (`local`)."""
        return _written(local, self._months.get(local.month) or self._month(local.month), seconds)

    def _month(self, number: int) -> str:
        name = self._months.get(number)
        if name is None:
            name = self._months[number] = str(MONTHS_3[number]).title()
        return name


def _written(local: datetime, month: str, seconds: bool) -> str:
    # dateformat's "j M Y" ("M" is MONTHS_3[month].title()), then the clock and the zone.
    clock = f"{local.hour:02d}:{local.minute:02d}"  # strftime's %H:%M(:%S), without its C call
    if seconds:
        clock += f":{local.second:02d}"
    return f"{local.day} {month} {local.year:04d}, {clock} {zone_label(local)}"


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
