"""What a delivery says: the event, its time and the case as the receiving organisation may read it.

Only facts both sides read on the case page go out (reference, title, state, priority, category, the requesting
and responding organisations, the workflow's times, shared notes of a move, item outcomes and reasons, deadlines,
issued report versions); never internal notes, the platform's queue or assignee, evidence, or anything of a case
the organisation may not see (cases.permissions.organization_can_view_case decides, per organisation). Times are
ISO 8601 in UTC.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.urls import reverse

from accounts.models import Organization
from cases.case_events import CaseEvent
from cases.instants import as_iso
from cases.models import Case, Deadline, OutcomeReport, ReportedItem
from cases.permissions import organization_can_view_case

API_CASE_PATH = "/api/v1/cases/{reference}/"
# An item-outcome event lists at most this many items; `count` says how many were decided.
MAX_ITEMS = 200


def api_url(reference: str) -> str:
    return settings.SITE_URL + API_CASE_PATH.format(reference=reference)


def build(*, organization: Organization, case: Case, event: str, data: dict[str, Any],
          occurred_at: datetime) -> dict[str, Any] | None:
    """The payload for `organization`, or None when it may not hear of this case at all."""
    if not organization_can_view_case(organization, case):
        return None
    details: dict[str, Any] = {"case": _case(case)}
    if event in (CaseEvent.SUBMITTED, CaseEvent.ACKNOWLEDGED, CaseEvent.INFORMATION_REQUESTED, CaseEvent.RESOLVED):
        details["transition"] = {"from": str(data.get("from", "")), "to": str(data.get("to", "")),
                                 "note": str(data.get("note", ""))}
    elif event == CaseEvent.ITEM_OUTCOME_SET:
        details["items"] = _items(case, data)
    elif event in (CaseEvent.DEADLINE_AT_RISK, CaseEvent.DEADLINE_BREACHED):
        details["deadline"] = _deadline(case, data)
    elif event == CaseEvent.REPORT_ISSUED:
        details["report"] = _report(case, data)
    return {"type": str(event), "timestamp": as_iso(occurred_at), "data": details}


def _when(value: datetime | None) -> str | None:
    return as_iso(value) if value is not None else None


def _case(case: Case) -> dict[str, Any]:
    return {
        "reference": case.reference,
        "title": case.title,
        "status": case.status,
        "request_type": case.request_type,
        "category": case.category.slug,
        "priority": case.priority,
        "threat_to_life": case.threat_to_life,
        "tlp": case.tlp,
        "language": case.language,
        "requesting_organization": {"name": case.requesting_org.name, "country": case.requesting_org.country},
        "responding_organization": {"name": case.responding_org.name},
        "submitted_at": _when(case.submitted_at),
        "acknowledged_at": _when(case.acknowledged_at),
        "resolved_at": _when(case.resolved_at),
        "outcome_summary": case.outcome_summary,
        "url": api_url(case.reference),
        "web_url": settings.SITE_URL + reverse("cases:detail", args=[case.reference]),
    }


def _items(case: Case, data: dict[str, Any]) -> dict[str, Any]:
    ids = [int(pk) for pk in data.get("items", [])][:MAX_ITEMS]
    items = ReportedItem.objects.filter(case=case, pk__in=ids).order_by("position", "id")
    return {
        "outcome": str(data.get("outcome", "")),
        "count": int(data.get("count", len(ids))),
        "listed": [{"id": item.pk, "position": item.position, "target": item.target, "outcome": item.outcome,
                    "reason": item.outcome_reason, "decided_at": _when(item.decided_at)} for item in items],
    }


def _deadline(case: Case, data: dict[str, Any]) -> dict[str, Any]:
    deadline = Deadline.objects.filter(case=case, pk=int(data.get("deadline") or 0)).first()
    if deadline is None:
        return {"id": data.get("deadline")}
    return {"id": deadline.pk, "kind": deadline.kind, "title": deadline.title, "status": deadline.status,
            "who_must_act": deadline.owner_side, "due_at": _when(deadline.due_at),
            "breached_at": _when(deadline.breached_at), "reminder": str(data.get("point", ""))}


def _report(case: Case, data: dict[str, Any]) -> dict[str, Any]:
    report = OutcomeReport.objects.filter(case=case, pk=int(data.get("report") or 0),
                                          status=OutcomeReport.Status.READY).first()
    if report is None:
        return {"version": data.get("version")}
    return {"version": report.version, "issued_at": _when(report.issued_at), "sha256": report.sha256,
            "size": report.size, "language": report.language}
