"""The rows of the inbox table, built in Python.

Fifty rows through the template engine (two includes, a dozen filters and translations each) cost more than every
query of the page together; here each label is translated once per page and each row is one f-string over escaped
values (`html.escape`, what Django's `escape` calls, without its lazy-string wrapper). Nothing here decides who sees
what: the rows are what the policy let through.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from functools import lru_cache
from html import escape
from typing import Any

from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils import timezone, translation
from django.utils.html import avoid_wrapping, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.timesince import TIME_CHUNKS, TIME_STRINGS, TIME_STRINGS_KEYS, timeuntil
from django.utils.translation import gettext as _

from ..choices import Priority, Status
from ..instants import InstantWriter
from ..queries import InboxRow


@dataclass(frozen=True)
class Columns:
    """Which columns say something to this reader: an authority's people see only their own organisation's
    cases, so the authority column would repeat it on every row."""

    authority: bool


def _column_names() -> dict[str, str]:
    return {"reference": _("Reference"), "title": _("Title"), "status": _("Status"), "items": _("Items"),
            "authority": _("Authority"), "assignee": _("Assignee"), "next_due": _("Next due"),
            "submitted": _("Submitted")}


def header(columns: Columns) -> SafeString:
    names = _column_names()
    shown = [name for key, name in names.items() if key != "authority" or columns.authority]
    return format_html_join("", '<th scope="col">{}</th>', ((name,) for name in shown))


def rows(cases: Sequence[InboxRow], columns: Columns) -> SafeString:
    labels = _labels(translation.get_language(), timezone.get_current_timezone(), get_script_prefix(), get_urlconf())
    now = timezone.now()
    return mark_safe("".join(_row(case, columns, labels, now) for case in cases))  # noqa: S308 (every value escaped)


class _Once:
    """A translated "%(num)d …" string, formatted once per number (timeuntil asks it for every row), in the language
    of the labels that hold it."""

    def __init__(self, lazy: Any) -> None:
        self.lazy = lazy
        self.formatted: dict[int, str] = {}

    def __mod__(self, params: dict[str, int]) -> str:
        num = params["num"]
        if num not in self.formatted:
            self.formatted[num] = avoid_wrapping(str(self.lazy % params))  # as timesince writes each unit
        return self.formatted[num]


@lru_cache(maxsize=64)
def _labels(language: str | None, zone: tzinfo, prefix: str, urlconf: str | None) -> _Labels:
    """The labels of a reader's language and zone (and the site's address prefix), made once per process: what they
    hold (translations, month names, the case address's prefix) is fixed for a process, as Django's own catalogues
    are, which it loads once per language and keeps; so this is exactly what making them again would give."""
    return _Labels()


class _Labels:
    """A reader's translated words and time zone, looked up once (`_labels`)."""

    def __init__(self) -> None:
        # Every label is escaped here once; rows put them in as they are.
        self.unread = escape(_("unread messages"))
        self.overdue_by = escape(_("overdue by"))
        self.pending = _("%(n)s pending")
        self.priority = {value: escape(str(label)) for value, label in Priority.choices}
        self.status = {value: escape(str(label)) for value, label in Status.choices}
        self.threat_to_life = escape(_("Threat to life"))
        self.columns = {key: escape(name) for key, name in _column_names().items()}
        self.url_prefix = reverse("cases:detail", args=["X"]).rsplit("X", 1)[0]
        self.time_strings = {unit: _Once(text) for unit, text in TIME_STRINGS.items()}
        self.comma = _(", ")  # timesince's separator
        # The zone read and the month names translated once for the page (what dateformat's "M" gives).
        instants = InstantWriter(timezone.get_current_timezone())
        self.months = {month: escape(name) for month, name in instants.months.items()}
        self.local = instants.local

    def day_month(self, local: datetime) -> str:
        """dateformat's "j M"."""
        return f"{local.day} {self.months[local.month]}"


def _row(case: InboxRow, columns: Columns, labels: _Labels, now: datetime) -> str:
    column = labels.columns
    unread = case.unread
    badges = ""
    if unread:
        badges += (f' <span class="badge rounded-pill text-bg-warning" title="{labels.unread}">{int(unread)}<span '
                   f'class="visually-hidden"> {labels.unread}</span></span>')
    if case.tlp == "red":
        badges += ' <span class="badge lx-tlp-red">TLP:RED</span>'
    row_class = "lx-row-critical" if case.threat_to_life else "lx-row-urgent" if case.priority == "urgent" else ""
    pending = case.pending_count
    items = str(int(case.item_count))
    if pending and case.status != Status.DRAFT:
        items += f'<div class="lx-muted">{escape(labels.pending % {"n": pending})}</div>'
    reference = escape(case.reference)
    status = escape(case.status)
    cells = [
        _cell("lx-c-ref", column["reference"],
              f'<a class="fw-semibold" href="{labels.url_prefix}{reference}/">{reference}</a>{badges}'),
        _cell("lx-c-title", column["title"],
              f'{escape(case.title)}<div class="small lx-muted">{escape(case.category)}</div>'),
        _cell("lx-c-state", column["status"], f'<span class="badge lx-status lx-status-{status}">'
              f'{labels.status.get(case.status, status)}</span> {_priority_badge(case, labels)}'),
        _cell("lx-c-items small", column["items"], items),
    ]
    if columns.authority:
        cells.append(_cell("lx-c-org small", column["authority"], escape(case.authority)))
    cells.append(_cell("lx-c-person small", column["assignee"], escape(case.assignee) or "—"))
    cells.append(_cell("lx-c-when small", column["next_due"], _due(case.next_due, labels, now)))
    submitted = case.submitted_at
    when = "—"
    if submitted:
        local = labels.local(submitted)
        when = (f'<time datetime="{local.isoformat()}">{labels.day_month(local)} {local.year:04d}'
                f'<span class="lx-muted d-block">{local.hour:02d}:{local.minute:02d}</span></time>')
    cells.append(_cell("lx-c-when small", column["submitted"], when))
    return f'<tr class="{row_class}">{"".join(cells)}</tr>'


def _cell(css: str, label: str, value: str) -> str:
    """A cell that names its column (the phone layout shows the name beside the value)."""
    return f'<td class="{css}" data-label="{label}"><div class="lx-v">{value}</div></td>'


def _priority_badge(case: InboxRow, labels: _Labels) -> str:
    if case.threat_to_life:
        return (f'<span class="badge lx-prio-critical"><i class="bi bi-exclamation-octagon-fill" aria-hidden="true">'
                f'</i> {labels.threat_to_life}</span>')
    label = labels.priority.get(case.priority) or escape(case.priority)
    if case.priority == "urgent":
        return (f'<span class="badge lx-prio-urgent"><i class="bi bi-exclamation-triangle-fill" aria-hidden="true">'
                f'</i> {label}</span>')
    if case.priority == "high":
        return f'<span class="badge lx-prio-high"><i class="bi bi-arrow-up" aria-hidden="true"></i> {label}</span>'
    return f'<span class="badge lx-prio-normal">{label}</span>'


def _due(due: datetime | None, labels: _Labels, now: datetime) -> str:
    if due is None:
        return "—"
    local = labels.local(due)
    countdown = _until(due, now, labels)
    return (f'<span class="lx-countdown" data-due="{local.isoformat()}" data-overdue-label="{labels.overdue_by}">'
            f'{escape(countdown)}</span><div class="lx-muted">{labels.day_month(local)}, '
            f'{local.hour:02d}:{local.minute:02d}</div>')


_FOUR_WEEKS = timedelta(days=28)
_UNITS = tuple(zip(TIME_STRINGS_KEYS[2:], TIME_CHUNKS, strict=True))  # weeks, days, hours, minutes


def _until(due: datetime, now: datetime, labels: _Labels) -> str:
    """What Django's timeuntil(due, now) says ("3 hours, 20 minutes": two adjacent units at most), without its
    per-call lazy wrappers. A deadline four weeks or more away may count months and years, by the calendar: that
    is left to timeuntil itself."""
    delta = due - now
    if delta >= _FOUR_WEEKS:
        return timeuntil(due, now, time_strings=labels.time_strings)  # type: ignore[arg-type]  # _Once formats as the lazy strings do
    if delta.days * 86400 + delta.seconds <= 0:
        return labels.time_strings["minute"] % {"num": 0}
    remaining = delta.total_seconds()  # as timesince counts within a month: microseconds included
    parts: list[str] = []
    for name, seconds in _UNITS:
        count = int(remaining // seconds)
        remaining -= seconds * count
        if count:
            parts.append(labels.time_strings[name] % {"num": count})
        elif parts:
            break  # only adjacent units
        if len(parts) == 2:
            break
    if not parts:
        return labels.time_strings["minute"] % {"num": 0}
    return labels.comma.join(parts)
