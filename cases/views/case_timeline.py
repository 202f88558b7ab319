"""The audit timeline of the case page, built in Python.

Through the template engine each event cost an include, a dozen variable lookups and filters, a translation and a
date format: for a case in progress (40 to 50 events) that was a sixth of the page's time. Here the words are
translated once a page and each event is one string; every value is escaped here, and nothing here decides who
sees what (the events are those `queries.timeline` let through). What each event says is what
`templates/cases/_event.html` said, with the same catalogue entries, in the reader's language and time zone.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from datetime import tzinfo
from typing import Any

from django.utils import timezone
from django.utils.formats import localize
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from ..choices import Outcome, Status, choice_label
from ..event_text import event_details, event_label
from ..instants import InstantWriter
from ..queries.case_page import TimelineEvent


def _value(data: Mapping[str, Any], key: str) -> str:
    """A value of the event's data as `{{ d.key }}` wrote it: missing is empty, anything else localised, escaped
    (text is its own localised form)."""
    if key not in data:
        return ""
    value = data[key]
    return html.escape(value if type(value) is str else str(localize(value)))


def _choice_label(choices: Any, value: object) -> str:
    """`status_label` / `outcome_label` of cases/templatetags/case_labels.py, escaped (choice_label: the label in
    the reader's language, or the value itself when it is not a choice)."""
    if type(value) is str:
        return html.escape(choice_label(choices, value))
    return str(conditional_escape(str(localize(value))))


def event_html(action: str, data: object, zone: tzinfo) -> str:
    """What one event says (the former cases/_event.html)."""
    d: Mapping[str, Any] = data if isinstance(data, dict) else {}
    esc = html.escape  # every value here is text (never marked safe)
    if action == "case.created":
        return str(esc(_("Case created")))
    if action == "items.added":
        return _("%(n)s item(s) added") % {"n": _value(d, "count")}
    if action == "items.decided":
        text = _("Outcome set for %(n)s item(s)") % {"n": _value(d, "count")}
        text += f": <strong>{_choice_label(Outcome, d.get('outcome', ''))}</strong>"
        return text + (f" — {_value(d, 'reason')}" if d.get("reason") else "")
    if action == "item.removed":
        removed = esc(_("Item removed from the draft"))  # outside the f-string: makemessages reads no call in one
        return f'{removed}: <span class="lx-target">{_value(d, "target")}</span>'
    if action == "case.assigned":
        return _("Assigned to %(to)s") % {"to": _value(d, "to")} if d.get("to") else str(esc(_("Unassigned")))
    if action == "access.granted":
        text = _("Access given to %(u)s") % {"u": _value(d, "user")}
        return text + (f" — {_value(d, 'reason')}" if d.get("reason") else "")
    if action == "access.revoked":
        return _("Access removed from %(u)s") % {"u": _value(d, "user")}
    if action == "case.updated":
        return str(esc(_("Details changed")))
    if action[:5] == "case.":
        text = (f"<strong>{_choice_label(Status, d.get('from', ''))} → "
                f"{_choice_label(Status, d.get('to', ''))}</strong>")
        return text + (f" — {_value(d, 'note')}" if d.get("note") else "")
    text = str(esc(event_label(action)))
    details = event_details(action, d if isinstance(data, dict) else None, zone=zone)
    return text + (f' <span class="lx-muted">— {esc(details)}</span>' if details else "")


def render_timeline(events: Sequence[TimelineEvent]) -> SafeString:
    """The <li> elements of the timeline, times to the second in the reader's zone (as `|instant:"seconds"`)."""
    instants = InstantWriter(timezone.get_current_timezone())
    zone = instants.zone
    esc = html.escape  # names as read from the database: text, never marked safe
    parts: list[str] = []
    for event in events:
        local = instants.local(event.occurred_at)
        words = instants.words(local, seconds=True)
        who = ""
        if event.actor_name is not None:
            who = f" · {esc(event.actor_name)}"
            if event.actor_org_name is not None:
                who += f" ({esc(event.actor_org_name)})"
        parts.append(f'<li><div class="small lx-muted"><time datetime="{local.isoformat()}">{words}</time>{who}'
                     f"</div>\n          <div>{event_html(event.action, event.data, zone)}</div></li>\n")
    return mark_safe("".join(parts))  # noqa: S308  every value above is escaped
