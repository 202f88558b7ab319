"""The outcome report's content: the case's record (timeline, deadlines, items, shared evidence and thread; never
internal notes) as the template reads it, in the report's language, every time exact in the requesting authority's
zone with its UTC offset. Reads only; report_rendering lays it out as a PDF."""

from __future__ import annotations

import zoneinfo
from collections import Counter
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from .choices import TLP, Outcome
from .event_text import system_line
from .instants import format_instant
from .markdown import plain_text

if TYPE_CHECKING:
    from accounts.models import User

    from .models import AuditCheckpoint, Case

# The named destination (an element id in the report template) where the visible signature goes, and its size.
SIGNATURE_ANCHOR = "liaison-signature"
SIGNATURE_FIELD = "LiaisonApproval"
SIGNATURE_WIDTH_MM = 95
SIGNATURE_HEIGHT_MM = 30


def _tlp_description(tlp: str) -> str:
    if tlp == TLP.RED:
        return _("For the eyes and ears of individual recipients only, no further disclosure.")
    if tlp == TLP.AMBER:
        return _("Limited disclosure: recipients may share it only on a need-to-know basis within their "
                 "organisation.")
    if tlp == TLP.GREEN:
        return _("Limited disclosure: recipients may share it within their community, not publicly.")
    return _("Disclosure is not limited.")


def verify_url() -> str:
    return settings.SITE_URL + "/reports/verify/"


def ca_url() -> str:
    return settings.SITE_URL + "/reports/ca.pem"


def _zone(case: Case) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(case.requesting_org.time_zone or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


class Clock:
    """Exact times in the requesting authority's zone, each with its UTC offset: the portal's one format for a
    time both sides read (cases/instants.py), to the second."""

    def __init__(self, zone: zoneinfo.ZoneInfo) -> None:
        self.zone = zone

    def __call__(self, value: datetime | None) -> str:
        if value is None:
            return ""
        return format_instant(value, self.zone, seconds=True)


def _duration(seconds: float) -> str:
    minutes = int(round(seconds / 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = []
    if days:
        parts.append(_("%(n)d d") % {"n": days})
    if hours:
        parts.append(_("%(n)d h") % {"n": hours})
    if minutes or not parts:
        parts.append(_("%(n)d min") % {"n": minutes})
    return " ".join(parts)


def css_string(text: str) -> SafeString:
    """A CSS string literal, safe inside <style> (quotes, backslashes, newlines and '<' escaped)."""
    escaped = (str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ").replace("<", "\\3C ")
               .replace(">", "\\3E "))
    return mark_safe(f'"{escaped}"')  # noqa: S308 (escaped above for a CSS context)


def _page_numbers_css() -> SafeString:
    """“Page X of Y” as CSS content with counters, from one translatable string."""
    template = _("Page %(page)s of %(pages)s")
    before, _sep, rest = template.partition("%(page)s")
    middle, _sep, after = rest.partition("%(pages)s")
    return mark_safe(" ".join([css_string(before), "counter(page)", css_string(middle), "counter(pages)",  # noqa: S308
                               css_string(after)]))


def _person(user: Any) -> str:
    if user is None:
        return _("System")
    membership = getattr(user, "membership", None)
    org = membership.organization.name if membership is not None else ""
    return f"{user.full_name} ({org})" if org else user.full_name


def _role_of(user: User) -> str:
    membership = getattr(user, "membership", None)
    return str(membership.get_role_display()) if membership is not None else ""


def _timeline(case: Case, clock: Clock) -> list[dict[str, str]]:
    from .choices import Status

    labels = dict(Status.choices)
    rows = []
    events = (case.events.filter(action__startswith="case.", side="").select_related("actor", "actor_org")
              .order_by("id"))
    for event in events:
        data = event.data or {}
        if event.action == "case.created":
            what = _("Case created")
        elif event.action == "case.updated":
            what = _("Details changed")
        elif "from" in data and "to" in data:
            what = f"{labels.get(data['from'], data['from'])} → {labels.get(data['to'], data['to'])}"
        else:
            continue
        actor = ""
        if event.actor is not None:
            actor = event.actor.full_name + (f" ({event.actor_org.name})" if event.actor_org else "")
        rows.append({"at": clock(event.occurred_at), "what": str(what), "who": actor,
                     "note": str(data.get("note") or "")})
    return rows


def _deadlines(case: Case, clock: Clock) -> list[dict[str, Any]]:
    from accounts.roles import OrgKind

    from .models import Deadline, DeadlineProposal

    sides: dict[str, str] = {OrgKind.AUTHORITY: _("The requesting authority"), OrgKind.PLATFORM: _("The platform")}
    moved_from = {}
    for event in case.events.filter(action="deadline.changed").only("data"):
        if event.data.get("proposal"):
            moved_from[event.data["proposal"]] = event.data.get("from")
    rows = []
    deadlines = case.deadlines.prefetch_related("pauses").order_by("started_at", "id")
    proposals = list(case.deadline_proposals.filter(status=DeadlineProposal.State.ACCEPTED)
                     .select_related("proposed_by", "answered_by").order_by("answered_at", "id"))
    for deadline in deadlines:
        state = deadline.status
        if state == Deadline.State.MET:
            outcome = _("Met at %(when)s") % {"when": clock(deadline.met_at)}
        elif state == Deadline.State.BREACHED:
            outcome = _("Breached at %(when)s") % {"when": clock(deadline.breached_at or deadline.due_at)}
            if deadline.met_at:
                outcome += "; " + _("met late at %(when)s") % {"when": clock(deadline.met_at)}
        elif state == Deadline.State.WAIVED:
            outcome = _("Waived by agreement at %(when)s") % {"when": clock(deadline.closed_at)}
        elif state == Deadline.State.CANCELLED:
            outcome = _("Cancelled at %(when)s") % {"when": clock(deadline.closed_at)}
        else:
            outcome = _("Open")
        pauses = []
        for pause in deadline.pauses.all():
            if pause.resumed_at:
                pauses.append(_("Paused %(start)s – %(end)s (%(length)s)") % {
                    "start": clock(pause.paused_at), "end": clock(pause.resumed_at),
                    "length": _duration((pause.resumed_at - pause.paused_at).total_seconds())})
            else:
                pauses.append(_("Paused since %(start)s") % {"start": clock(pause.paused_at)})
        changes = []
        for proposal in proposals:
            if proposal.deadline_id != deadline.pk:
                continue
            who = {"proposer": _person(proposal.proposed_by), "answerer": _person(proposal.answered_by),
                   "when": clock(proposal.answered_at), "reason": proposal.reason}
            if proposal.kind == DeadlineProposal.Kind.CHANGE_DUE:
                previous = moved_from.get(proposal.pk)
                who["due"] = clock(proposal.proposed_due_at)
                who["previous"] = clock(datetime.fromisoformat(previous)) if previous else "—"
                changes.append(_("Due time moved from %(previous)s to %(due)s, proposed by %(proposer)s, agreed by "
                                 "%(answerer)s at %(when)s. Reason: %(reason)s") % who)
            elif proposal.kind == DeadlineProposal.Kind.WAIVE:
                changes.append(_("Waiver proposed by %(proposer)s, agreed by %(answerer)s at %(when)s. "
                                 "Reason: %(reason)s") % who)
            else:
                changes.append(_("Deadline proposed by %(proposer)s, agreed by %(answerer)s at %(when)s. "
                                 "Reason: %(reason)s") % who)
        rows.append({
            "title": deadline.title or str(Deadline.Kind(deadline.kind).label),
            "owner": sides.get(deadline.owner_side, deadline.owner_side),
            "origin": str(Deadline.Origin(deadline.origin).label),
            "started": clock(deadline.started_at), "due": clock(deadline.due_at), "status": state,
            "status_label": str(Deadline.State(state).label), "outcome": outcome, "pauses": pauses,
            "changes": changes,
        })
    return rows


def _items(case: Case, clock: Clock) -> tuple[list[str], Counter[str]]:
    """Each item as the one line of text the report prints (“12. target (Channel) — Removed, when — reason”), in
    the order reported: with thousands of items, one value per line is what the template can loop over fast."""
    from .choices import ItemKind

    outcomes = {value: str(label) for value, label in Outcome.choices}
    kinds = {value: str(label) for value, label in ItemKind.choices}
    counts: Counter[str] = Counter()
    lines = []
    values = case.items.order_by("position", "id").values_list("position", "target", "kind", "outcome",
                                                                 "outcome_reason", "decided_at")
    for position, target, kind, outcome, reason, decided_at in values.iterator(chunk_size=2000):
        counts[outcome] += 1
        line = f"{position}. {target} ({kinds.get(kind, kind)}) — {outcomes.get(outcome, outcome)}"
        if decided_at:
            line += f", {clock(decided_at)}"
        if reason:
            line += f" — {reason}"
        lines.append(line)
    return lines, counts


def _evidence(case: Case, clock: Clock) -> list[dict[str, Any]]:
    from accounts.roles import OrgKind

    sides: dict[str, str] = {OrgKind.AUTHORITY: _("Requesting authority"), OrgKind.PLATFORM: _("Platform")}
    rows = []
    # Shared evidence only: a platform-internal file never leaves the platform, not even as a fingerprint.
    for evidence in case.evidence.filter(internal=False).select_related("item").order_by("uploaded_at", "id"):
        notes = []
        if evidence.withdrawn_at:
            notes.append(_("Withdrawn at %(when)s: %(reason)s") % {"when": clock(evidence.withdrawn_at),
                                                                    "reason": evidence.withdrawn_reason})
        if evidence.purged_at:
            notes.append(_("File deleted at %(when)s after the retention period; the fingerprint is kept.")
                         % {"when": clock(evidence.purged_at)})
        rows.append({"name": evidence.original_name, "type": evidence.content_type, "size": evidence.size,
                     "sha256": evidence.sha256, "uploaded": clock(evidence.uploaded_at),
                     "side": sides.get(evidence.side, evidence.side),
                     "item": evidence.item.position if evidence.item_id and evidence.item else None,
                     "notes": notes})
    return rows


def _thread(case: Case, clock: Clock) -> list[dict[str, Any]]:
    from .models import Message

    rows = []
    # Shared messages and shared system entries; internal notes of either side never appear.
    entries = (case.messages.filter(kind__in=[Message.Kind.SHARED, Message.Kind.SYSTEM], side="")
               .select_related("author", "author__membership__organization").order_by("id"))
    for entry in entries:
        system = entry.kind == Message.Kind.SYSTEM
        # A system entry is written from its parameters in the report's language, its times in the report's zone.
        body = (system_line(entry.system_action, entry.system_params, zone=clock.zone, fallback=entry.body,
                            who=entry.author.full_name if entry.author_id and entry.author else "")
                if system else plain_text(entry.body))
        rows.append({"at": clock(entry.created_at), "who": _person(entry.author) if entry.author_id else _("System"),
                     "system": system, "body": body,
                     "edited": clock(entry.edited_at) if entry.edited_at else ""})
    return rows


def _checkpoint(checkpoint: AuditCheckpoint | None, clock: Clock) -> dict[str, Any] | None:
    if checkpoint is None:
        return None
    return {"sequence": checkpoint.sequence, "made_at": clock(checkpoint.made_at),
            "head_event_id": checkpoint.head_event_id, "head_hash": checkpoint.head_hash,
            "event_count": checkpoint.event_count}


def report_context(case: Case, *, language: str, include_thread: bool, approver: User, version: int,
                   issued_at: datetime, checkpoint: AuditCheckpoint | None = None) -> dict[str, Any]:
    """Everything the template shows, in the active language (the caller overrides it). `checkpoint` is the
    signed head of the audit chain the report is issued under."""
    from .models import Deadline, OutcomeReport

    zone = _zone(case)
    clock = Clock(zone)
    items, counts = _items(case, clock)
    deadlines = _deadlines(case, clock)
    evidence = _evidence(case, clock)
    thread = _thread(case, clock) if include_thread else []
    previous = (OutcomeReport.objects.filter(case=case, status=OutcomeReport.Status.READY, version__lt=version)
                .order_by("-version").first())
    decided = sum(n for outcome, n in counts.items() if outcome != Outcome.PENDING)
    summary = [(str(label), counts[value]) for value, label in Outcome.choices if counts.get(value)]
    deadline_states = Counter(d["status"] for d in deadlines)
    membership = getattr(approver, "membership", None)
    return {
        "case": case,
        "language": language,
        "version": version,
        "issued_at": clock(issued_at),
        "issued_iso": issued_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "time_zone": str(zone),
        "authority": case.requesting_org,
        "platform": case.responding_org,
        "request_type": case.get_request_type_display(),
        "category": str(case.category),
        "priority": case.get_priority_display(),
        "tlp": case.tlp,
        "tlp_label": case.get_tlp_display(),
        "tlp_description": _tlp_description(case.tlp),
        "scope": ", ".join(case.territorial_scope or []) or "—",
        "dates": [(label, clock(value)) for label, value in (
            (_("Submitted"), case.submitted_at), (_("Acknowledged"), case.acknowledged_at),
            (_("Resolved"), case.resolved_at), (_("Closed"), case.closed_at)) if value],
        "timeline": _timeline(case, clock),
        "deadlines": deadlines,
        "deadlines_met": deadline_states.get(Deadline.State.MET, 0),
        "deadlines_breached": deadline_states.get(Deadline.State.BREACHED, 0),
        "items": items,
        "item_count": len(items),
        "decided_count": decided,
        "summary": summary,
        "evidence": evidence,
        "include_thread": include_thread,
        "thread": thread,
        "approver_name": approver.full_name,
        "approver_role": _role_of(approver),
        "approver_org": membership.organization.name if membership is not None else case.responding_org.name,
        "previous": {"version": previous.version, "issued_at": clock(previous.issued_at)} if previous else None,
        "checkpoint": _checkpoint(checkpoint, clock),
        "verify_url": verify_url(),
        "ca_url": ca_url(),
        "signature_anchor": SIGNATURE_ANCHOR,
        "signature_width_mm": SIGNATURE_WIDTH_MM,
        "signature_height_mm": SIGNATURE_HEIGHT_MM,
        "css_header": css_string(_("Outcome report %(reference)s · version %(version)d")
                                 % {"reference": case.reference, "version": version}),
        "css_tlp": css_string(case.get_tlp_display()),
        "css_footer": css_string(_("Verify this signed report at %(url)s") % {"url": verify_url()}),
        "css_page_numbers": _page_numbers_css(),
    }
