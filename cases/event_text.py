"""What a recorded event says to the person reading it: the thread's system entries, notifications (in the portal
and by e-mail) and the audit timeline, written when they are read, in the reader's language and time zone.

Pure, no database. An event is stored as data, never as a sentence: an action code and its parameters (statuses
and kinds as codes, times as ISO instants from cases.instants.as_iso, counts, report versions, names of people as
they were). So a line written when an English-speaking moderator acted reads in Bahasa Indonesia for the liaison,
and a due time proposed in Jakarta reads in Dublin time for the moderator, each with its UTC offset. Rows stored
before events had parameters keep their sentence as the fallback; no page ever shows a code.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import tzinfo
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import get_language, gettext_lazy

from .choices import DeadlineKind, MessageKind, ProposalKind, Status, Transition, choice_label
from .instants import format_instant, from_iso

# The thread's system entries: action code -> the sentence (parameters in cases.actions' add_system_entry calls).
# State changes are "case.<new status>", so their sentence is found by prefix.
STATUS_CHANGED = gettext_lazy("%(who)s changed the status from %(old)s to %(new)s.")
ASSIGNED = gettext_lazy("%(who)s assigned the case to %(to)s.")
NOBODY = gettext_lazy("nobody")
PROPOSED = gettext_lazy("%(who)s proposed %(what)s: %(reason)s")
PROPOSED_WHAT = {
    ProposalKind.CHANGE_DUE: gettext_lazy("a new due time (%(due)s) for the %(kind)s deadline"),
    ProposalKind.NEW_CUSTOM: gettext_lazy("a new deadline “%(title)s” due %(due)s"),
    ProposalKind.WAIVE: gettext_lazy("waiving the %(kind)s deadline"),
}
ACCEPTED = gettext_lazy("%(who)s accepted the deadline proposal.")
REJECTED = gettext_lazy("%(who)s rejected the deadline proposal.")
EXPIRED = gettext_lazy("A deadline proposal expired without an answer.")
BREACHED = gettext_lazy("The %(kind)s deadline was due at %(due)s and was not met.")
REPORT_ISSUED = gettext_lazy("%(who)s approved outcome report version %(version)d; it was signed and issued "
                             "(SHA-256 %(sha)s).")
SUPERSEDES = gettext_lazy("It supersedes version %(old)s.")

# Notifications: event action -> title (and body, where the event has one of its own).
NOTIFICATION_TITLES = {
    "case.status": gettext_lazy("%(ref)s is now %(status)s."),
    "case.assigned": gettext_lazy("%(reference)s was assigned to you"),
    "message.shared": gettext_lazy("New message from %(who)s (%(org)s)"),
    "message.internal": gettext_lazy("Internal note from %(who)s"),
    "message.mention": gettext_lazy("%(who)s mentioned you"),
    "deadline.reminder": gettext_lazy("Reminder: %(kind)s deadline of %(reference)s is due %(due)s"),
    "deadline.breached": gettext_lazy("BREACHED: %(kind)s deadline of %(reference)s was due %(due)s"),
    "report.issued": gettext_lazy("Outcome report %(reference)s, version %(version)d, is ready"),
    "email.draft_created": gettext_lazy("Draft %(reference)s created from your e-mail"),
}
REPORT_READY = gettext_lazy("%(platform)s issued a signed outcome report of %(reference)s. Download it from the "
                            "case page; anyone holding it can verify it at %(url)s.")

# The audit timeline: a label for every action recorded on a case (cases/views/case_timeline.py words state changes, items
# and access itself). Workflow moves ("case.submit") are named by their transition.
EVENT_LABELS = {
    "case.created": gettext_lazy("Case created"),
    "case.updated": gettext_lazy("Details changed"),
    "case.assigned": gettext_lazy("Assignment"),
    "items.added": gettext_lazy("Reported items"),
    "items.rekeyed": gettext_lazy("Reported links matched again"),
    "item.removed": gettext_lazy("Item removed from the draft"),
    "deadline.created": gettext_lazy("Deadline set"),
    "deadline.paused": gettext_lazy("Resolve clock paused"),
    "deadline.resumed": gettext_lazy("Resolve clock resumed"),
    "deadline.changed": gettext_lazy("Deadline changed by agreement"),
    "deadline.waived": gettext_lazy("Deadline waived by agreement"),
    "deadline.proposed": gettext_lazy("Deadline change proposed"),
    "deadline.accepted": gettext_lazy("Deadline proposal accepted"),
    "deadline.rejected": gettext_lazy("Deadline proposal rejected"),
    "deadline.proposal_expired": gettext_lazy("Deadline proposal expired"),
    "deadline.reminded": gettext_lazy("Deadline reminder sent"),
    "deadline.breached": gettext_lazy("Deadline breached"),
    "message.posted": gettext_lazy("Message posted"),
    "message.edited": gettext_lazy("Message edited"),
    "evidence.uploaded": gettext_lazy("Evidence uploaded"),
    "evidence.downloaded": gettext_lazy("Evidence downloaded"),
    "evidence.previewed": gettext_lazy("Evidence previewed"),
    "evidence.withdrawn": gettext_lazy("Evidence withdrawn"),
    "evidence.purged": gettext_lazy("Evidence purged after retention"),
    "evidence.integrity_failed": gettext_lazy("Evidence integrity check failed"),
    "legal_hold.placed": gettext_lazy("Legal hold placed"),
    "legal_hold.lifted": gettext_lazy("Legal hold lifted"),
    "report.requested": gettext_lazy("Outcome report requested"),
    "report.failed": gettext_lazy("Outcome report failed"),
    "report.issued": gettext_lazy("Outcome report issued"),
    "report.downloaded": gettext_lazy("Outcome report downloaded"),
    "email.draft_created": gettext_lazy("Draft created from an e-mail"),
    "email.reply_added": gettext_lazy("E-mail reply added to the thread"),
    "email.released": gettext_lazy("E-mail released from the quarantine"),
    "email.released_to_thread": gettext_lazy("E-mail released into the thread"),
    "email.downloaded": gettext_lazy("Stored e-mail downloaded"),
}
# The values of the choices this module names, read once (a choices class's `.values` builds a new list on each call).
_VALUES: dict[Any, frozenset[str]] = {kinds: frozenset(kinds.values)
                                      for kinds in (DeadlineKind, MessageKind, ProposalKind, Status, Transition)}


def _is_value(kinds: Any, value: object) -> bool:
    """`value in kinds.values`: only text equals a choice's value (stored data may hold anything JSON holds)."""
    return isinstance(value, str) and value in _VALUES[kinds]


OTHER_EVENT = gettext_lazy("Recorded event")
DUE = gettext_lazy("Due")
VERSION = gettext_lazy("Version %(version)s")


def event_label(action: str) -> str:
    """The name of a recorded action; a generic name, never the code, for one this list does not know. Each name is
    translated once per process and language (as choices.choice_label's labels)."""
    if action in EVENT_LABELS:
        key = (get_language(), action)
        label = _NAMES.get(key)
        if label is None:
            label = _NAMES[key] = str(EVENT_LABELS[action])
        return label
    name = action.removeprefix("case.")
    for kinds in (Transition, Status):
        if _is_value(kinds, name):
            return choice_label(kinds, name)
    return str(OTHER_EVENT)


# event_label's names by (language, action): bounded by the languages times EVENT_LABELS.
_NAMES: dict[tuple[str | None, str], str] = {}


def system_line(action: str, params: Mapping[str, Any] | None, *, who: str, zone: tzinfo,
                fallback: str = "") -> str:
    """A system entry of the thread as this reader reads it. `who` is the name of the person who acted; `fallback`
    the sentence stored before entries had parameters, shown as it was when the parameters are missing."""
    line = _line(action, params, who, zone) if params else None
    if line is None:
        line = fallback.strip() or event_label(action)
    return line


def _line(action: str, params: Mapping[str, Any], who: str, zone: tzinfo) -> str | None:
    if action == "case.assigned":
        return str(ASSIGNED) % {"who": who, "to": params.get("to_name") or str(NOBODY)}
    if action.startswith("case.") and "to" in params:
        text = str(STATUS_CHANGED) % {"who": who, "old": _status_label(params.get("from")),
                                      "new": _status_label(params["to"])}
        return _with_note(text, params.get("note"))
    if action == "deadline.proposed":
        what = PROPOSED_WHAT.get(params.get("kind", ""))
        if what is None:
            return None
        phrase = str(what) % {"due": _when(params.get("due_at"), zone), "title": params.get("title") or "",
                              "kind": deadline_name(params.get("deadline_kind"), params.get("deadline_title"))}
        return str(PROPOSED) % {"who": who, "what": phrase, "reason": params.get("reason") or ""}
    if action == "deadline.answered":
        text = str(ACCEPTED if params.get("accepted") else REJECTED) % {"who": who}
        return _with_note(text, params.get("note"))
    if action == "deadline.proposal_expired":
        return str(EXPIRED)
    if action == "deadline.breached":
        return breach_sentence(params, zone)
    if action == "report.issued":
        text = str(REPORT_ISSUED) % {"who": who, "version": int(params.get("version") or 0),
                                     "sha": params.get("sha256") or ""}
        if params.get("supersedes"):
            text += " " + str(SUPERSEDES) % {"old": ", ".join(str(v) for v in params["supersedes"])}
        return text
    return None


def breach_sentence(params: Mapping[str, Any], zone: tzinfo) -> str:
    return str(BREACHED) % {"kind": deadline_name(params.get("kind"), params.get("title")),
                            "due": _when(params.get("due_at"), zone)}


def notification_text(event: Mapping[str, Any] | None, *, zone: tzinfo) -> tuple[str, str | None] | None:
    """A notification's title and, where the event has its own, its body, as this reader reads them; None when it
    has no event (written before notifications kept one: its stored title and body stand)."""
    action = (event or {}).get("action", "")
    title = NOTIFICATION_TITLES.get(action)
    if event is None or title is None:
        return None
    values = {key: value for key, value in event.items() if key != "action"}
    # A message's notification carries the message's own words (the stored body); other events have their own.
    body: str | None = None if action.startswith("message.") else ""
    if action == "case.status":
        values = {"ref": event.get("reference", ""), "status": _status_label(event.get("to"))}
    elif action == "message.shared" and not event.get("org"):
        title = gettext_lazy("New message from %(who)s")
    elif action in ("deadline.reminder", "deadline.breached"):
        values = {"kind": _deadline_label(event.get("kind"), event.get("title")),
                  "reference": event.get("reference", ""), "due": _when(event.get("due_at"), zone)}
        body = breach_sentence(event, zone) if action == "deadline.breached" else ""
    elif action == "report.issued":
        values["version"] = int(event.get("version") or 0)
        body = str(REPORT_READY) % {"platform": event.get("platform", ""), "reference": event.get("reference", ""),
                                    "url": event.get("url", "")}
    try:
        return str(title) % values, body
    except (KeyError, TypeError, ValueError):
        return None


def event_details(action: str, data: Mapping[str, Any] | None, *, zone: tzinfo) -> str:
    """What the audit timeline adds after an event's label: kinds named, times in the reader's zone, versions,
    reasons and notes as written. Empty when there is nothing to add."""
    data = data or {}
    parts: list[str] = []
    if action in ("message.posted", "message.edited") and _is_value(MessageKind, data.get("kind")):
        parts.append(choice_label(MessageKind, data["kind"]))
    elif action.startswith("deadline."):
        kinds: Any = ProposalKind if action == "deadline.proposed" else DeadlineKind
        if _is_value(kinds, data.get("kind")):
            parts.append(choice_label(kinds, data["kind"]))
        if data.get("due_at"):
            parts.append(f"{DUE} {_when(data['due_at'], zone)}")
        if action == "deadline.changed":
            parts.append(f"{_when(data.get('from'), zone)} → {_when(data.get('to'), zone)}")
    elif action.startswith("report.") and data.get("version"):
        parts.append(str(VERSION) % {"version": data["version"]})
    elif action.startswith("evidence.") and data.get("name"):
        parts.append(str(data["name"]))
    parts += [str(data.get(key) or "") for key in ("reason", "note")]
    return " · ".join(part for part in parts if part.strip())


def deadline_name(kind: object, title: object = "") -> str:
    """How a sentence names a deadline: its title, or its kind in lower case (“the resolve deadline”)."""
    return str(title) if title else _deadline_label(kind).lower()


def _deadline_label(kind: object, title: object = "") -> str:
    if title:
        return str(title)
    return str(DeadlineKind(str(kind)).label) if _is_value(DeadlineKind, kind) else str(kind or "")


def _status_label(code: object) -> str:
    return str(Status(str(code)).label) if _is_value(Status, code) else str(code or "")


def _when(value: object, zone: tzinfo) -> str:
    moment = from_iso(value)
    return format_instant(moment, zone) if moment is not None else "—"


def _with_note(text: str, note: object) -> str:
    note = str(note or "").strip()
    return f"{text} {note}" if note else text


def sentences() -> list[Promise]:
    """Every sentence and label this module writes, for the test that each has its translations."""
    return [STATUS_CHANGED, ASSIGNED, NOBODY, PROPOSED, *PROPOSED_WHAT.values(), ACCEPTED, REJECTED, EXPIRED,
            BREACHED, REPORT_ISSUED, SUPERSEDES, *NOTIFICATION_TITLES.values(),
            gettext_lazy("New message from %(who)s"), REPORT_READY, *EVENT_LABELS.values(), OTHER_EVENT, DUE,
            VERSION]
