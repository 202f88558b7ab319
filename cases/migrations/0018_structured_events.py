"""System entries and notifications keep their event as data (an action and its parameters), written out when they
are read, in the reader's language and zone (cases/event_text.py).

The thread's system entries stored so far are sentences in the language of whoever acted. Those in English that
this migration can read become parameters: state changes, assignments, deadline proposals and answers, expiries,
breaches and issued reports. A proposal's due time is taken from its DeadlineProposal row, never from the
sentence, which printed the proposer's local time labelled "UTC". Every other entry (another language, a sentence
that does not match, a proposal whose row is not found) keeps its sentence, shown as it was. Notifications keep
their stored title and body.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import migrations, models

# The English labels of the time the sentences were written (cases/choices.py then), frozen here.
STATUS_CODES = {"Draft": "draft", "Submitted": "submitted", "In progress": "in_progress",
                "Awaiting information": "awaiting_information", "Resolved": "resolved", "Closed": "closed",
                "Withdrawn": "withdrawn"}
DEADLINE_KIND_CODES = {"acknowledge": "acknowledge", "resolve": "resolve",
                       "provide information": "provide_information", "custom": "custom"}
_STATUS = "|".join(re.escape(label) for label in STATUS_CODES)
_WHEN = r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}"

STATUS_CHANGED = re.compile(rf"(?P<who>.+?) changed the status from (?P<old>{_STATUS}) to (?P<new>{_STATUS})\."
                            r"(?: (?P<note>.*))?", re.DOTALL)
ASSIGNED = re.compile(r"(?P<who>.+?) assigned the case to (?P<to>.+)\.", re.DOTALL)
PROPOSED = re.compile(rf"(?P<who>.+?) proposed (?:a new due time \({_WHEN} UTC\) for the (?P<kind>.+?) deadline"
                      rf"|a new deadline “(?P<title>.*?)” due {_WHEN} UTC|waiving the (?P<waived>.+?) deadline)"
                      r": (?P<reason>.*)", re.DOTALL)
ANSWERED = re.compile(r"(?P<who>.+?) (?P<answer>accepted|rejected) the deadline proposal\.(?: (?P<note>.*))?",
                      re.DOTALL)
EXPIRED = "A deadline proposal expired without an answer."
BREACHED = re.compile(rf"The (?P<kind>.+?) deadline was due at (?P<due>{_WHEN}) UTC and was not met\.")
REPORT_ISSUED = re.compile(r"(?P<who>.+?) approved outcome report version (?P<version>[0-9]+); it was signed and "
                           r"issued \(SHA-256 (?P<sha>[0-9a-f]{64})\)\.(?: It supersedes version (?P<old>[0-9, ]+)\.)?")


def parse_line(action: str, body: str) -> dict[str, Any] | None:
    """The parameters an English system line states, or None when it is not one this migration reads. Proposals
    and answers are completed from their rows by `_proposal_params` (their times are not read from the text)."""
    body = body.strip()
    if action == "case.assigned":
        match = ASSIGNED.fullmatch(body)
        if match is None:
            return None
        to = match["to"]
        return {"to": None, "to_name": None if to == "nobody" else to}
    if action.startswith("case."):
        match = STATUS_CHANGED.fullmatch(body)
        if match is None:
            return None
        return {"from": STATUS_CODES[match["old"]], "to": STATUS_CODES[match["new"]],
                "note": (match["note"] or "").strip()}
    if action == "deadline.proposed":
        match = PROPOSED.fullmatch(body)
        if match is None:
            return None
        kind = "change_due" if match["kind"] else "new_custom" if match["title"] is not None else "waive"
        return {"kind": kind, "reason": match["reason"].strip()}
    if action == "deadline.answered":
        match = ANSWERED.fullmatch(body)
        if match is None:
            return None
        return {"proposal": None, "accepted": match["answer"] == "accepted", "note": (match["note"] or "").strip()}
    if action == "deadline.proposal_expired":
        return {"proposal": None} if body == EXPIRED else None
    if action == "deadline.breached":
        match = BREACHED.fullmatch(body)
        if match is None or match["kind"] not in DEADLINE_KIND_CODES:
            return None
        # Written from the stored due time, which is in UTC: the label was true here.
        due = datetime.strptime(match["due"], "%Y-%m-%d %H:%M").replace(tzinfo=UTC)
        return {"kind": DEADLINE_KIND_CODES[match["kind"]], "title": "", "due_at": due.strftime("%Y-%m-%dT%H:%M:%SZ")}
    if action == "report.issued":
        match = REPORT_ISSUED.fullmatch(body)
        if match is None:
            return None
        old = [int(v) for v in re.findall(r"[0-9]+", match["old"] or "")]
        return {"version": int(match["version"]), "sha256": match["sha"], "supersedes": old}
    return None


def _proposal_params(proposal: Any, reason: str) -> dict[str, Any]:
    deadline = proposal.deadline
    due = proposal.proposed_due_at
    return {"proposal": proposal.pk, "kind": proposal.kind, "reason": reason,
            "deadline_kind": deadline.kind if deadline is not None and proposal.kind != "new_custom" else "",
            "deadline_title": deadline.title if deadline is not None and proposal.kind != "new_custom" else "",
            "due_at": due.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if due is not None else None,
            "title": proposal.title}


def _closest(candidates: Any, field: str, moment: datetime) -> Any:
    window = timedelta(minutes=5)
    rows = [row for row in candidates if getattr(row, field) is not None
            and abs(getattr(row, field) - moment) <= window]
    return min(rows, key=lambda row: abs(getattr(row, field) - moment), default=None)


def convert(apps: Any, schema_editor: Any) -> None:
    Message = apps.get_model("cases", "Message")
    DeadlineProposal = apps.get_model("cases", "DeadlineProposal")
    entries = (Message.objects.filter(kind="system").exclude(body="")
               .only("id", "case_id", "author_id", "system_action", "body", "created_at").order_by("id"))
    batch: list[Any] = []
    for entry in entries.iterator(chunk_size=2000):
        params = parse_line(entry.system_action, entry.body)
        if params is None:
            continue
        if entry.system_action == "deadline.proposed":
            proposal = _closest(DeadlineProposal.objects.filter(
                case_id=entry.case_id, proposed_by_id=entry.author_id, kind=params["kind"],
                reason=params["reason"]).select_related("deadline"), "proposed_at", entry.created_at)
            if proposal is None:
                continue  # the true instant is unknown: the sentence stays
            params = _proposal_params(proposal, params["reason"])
        elif entry.system_action == "deadline.answered":
            proposal = _closest(DeadlineProposal.objects.filter(case_id=entry.case_id,
                                                                answered_by_id=entry.author_id),
                                "answered_at", entry.created_at)
            params["proposal"] = proposal.pk if proposal is not None else None
        entry.system_params = params
        batch.append(entry)
        if len(batch) >= 2000:
            Message.objects.bulk_update(batch, ["system_params"])
            batch = []
    if batch:
        Message.objects.bulk_update(batch, ["system_params"])


class Migration(migrations.Migration):

    dependencies = [
        ("cases", "0017_open_work_order"),
    ]

    operations = [
        migrations.AddField(
            model_name="message",
            name="system_params",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name="notification",
            name="event",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.RunPython(convert, migrations.RunPython.noop),
    ]
