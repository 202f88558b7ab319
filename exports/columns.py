"""What each export holds: its columns (headers in the reader's language) and the values of one row.

Headers are translated when the file is written, under the requester's language; every time is an instant in UTC
written as ISO 8601 (`2026-12-05T10:00:00Z`) and its header says so. The statements of reasons follow the
attributes of the EU's DSA Transparency Database (Art. 17 and 24(5) DSA): JSON uses the attribute names, CSV the
translated header with the attribute name after it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils.functional import Promise
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from cases.choices import TLP, ItemKind, Outcome, Priority, RequestType, Status
from cases.instants import as_iso
from cases.models import Case, ReportedItem

Value = str | int | None


def iso(value: datetime | None) -> str:
    return as_iso(value) if value is not None else ""


def _label(choices: Any, value: str) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return value


def _yes_no(value: bool) -> str:
    return str(_("Yes")) if value else str(_("No"))


def _name(user: Any) -> str:
    return (user.full_name or user.email) if user is not None else ""


@dataclass(frozen=True)
class Column:
    header: Promise | str
    value: Callable[[Any], Value]


def headers(columns: Sequence[Column]) -> list[str]:
    return [str(column.header) for column in columns]


def values(columns: Sequence[Column], row: Any) -> list[Value]:
    return [column.value(row) for column in columns]


CASE_COLUMNS: tuple[Column, ...] = (
    Column(_("Reference"), lambda c: c.reference),
    Column(_("Title"), lambda c: c.title),
    Column(_("Status"), lambda c: _label(Status, c.status)),
    Column(_("Request type"), lambda c: _label(RequestType, c.request_type)),
    Column(_("Category"), lambda c: str(c.category)),
    Column(_("Priority"), lambda c: _label(Priority, c.priority)),
    Column(_("Threat to life"), lambda c: _yes_no(c.threat_to_life)),
    Column(_("Confidentiality"), lambda c: _label(TLP, c.tlp)),
    Column(_("Requesting authority"), lambda c: c.requesting_org.name),
    Column(_("Platform"), lambda c: c.responding_org.name),
    Column(_("Assignee"), lambda c: _name(c.assignee)),
    Column(_("Legal basis"), lambda c: c.legal_basis),
    Column(_("Article"), lambda c: c.legal_article),
    Column(_("Territorial scope"), lambda c: " ".join(c.territorial_scope or [])),
    Column(_("Items"), lambda c: c.item_count),
    Column(_("Pending items"), lambda c: c.pending_count),
    Column(_("Created (UTC, ISO 8601)"), lambda c: iso(c.created_at)),
    Column(_("Submitted (UTC, ISO 8601)"), lambda c: iso(c.submitted_at)),
    Column(_("Acknowledged (UTC, ISO 8601)"), lambda c: iso(c.acknowledged_at)),
    Column(_("Resolved (UTC, ISO 8601)"), lambda c: iso(c.resolved_at)),
    Column(_("Closed (UTC, ISO 8601)"), lambda c: iso(c.closed_at)),
    Column(_("Withdrawn (UTC, ISO 8601)"), lambda c: iso(c.withdrawn_at)),
    Column(_("Next deadline (UTC, ISO 8601)"), lambda c: iso(c.next_due_at)),
)

ITEM_COLUMNS: tuple[Column, ...] = (
    Column(_("Case reference"), lambda i: i.case.reference),
    Column(_("Position"), lambda i: i.position),
    Column(_("Target"), lambda i: i.target),
    Column(_("Kind"), lambda i: _label(ItemKind, i.kind)),
    Column(_("Note"), lambda i: i.note),
    Column(_("Outcome"), lambda i: _label(Outcome, i.outcome)),
    Column(_("Reason"), lambda i: i.outcome_reason),
    Column(_("Decided by"), lambda i: _name(i.decided_by)),
    Column(_("Decided (UTC, ISO 8601)"), lambda i: iso(i.decided_at)),
    Column(_("Added (UTC, ISO 8601)"), lambda i: iso(i.created_at)),
)

# --- Statements of reasons -----------------------------------------------------------------------------------

# Decisions that restrict something are stated; "no action" and duplicates restrict nothing (Art. 17 DSA).
STATED_OUTCOMES = (Outcome.REMOVED, Outcome.RESTRICTED)

VISIBILITY = {
    Outcome.REMOVED: "DECISION_VISIBILITY_CONTENT_REMOVED",
    # Restricted in the requesting country: access disabled there (the territorial scope says where).
    Outcome.RESTRICTED: "DECISION_VISIBILITY_CONTENT_DISABLED",
}

# Our categories (data, by slug) in the DSA database's statement categories; a category added later and not
# listed here is stated as outside the platform's terms of service scope, its own name in `category_specification`.
STATEMENT_CATEGORIES = {
    "terrorism": "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY",
    "csam": "STATEMENT_CATEGORY_PROTECTION_OF_MINORS",
    "illegal-gambling": "STATEMENT_CATEGORY_UNSAFE_AND_ILLEGAL_PRODUCTS",
    "fraud": "STATEMENT_CATEGORY_SCAMS_AND_FRAUD",
    "hate-speech": "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH",
    "disinformation": "STATEMENT_CATEGORY_NEGATIVE_EFFECTS_ON_CIVIC_DISCOURSE_OR_ELECTIONS",
    "privacy": "STATEMENT_CATEGORY_DATA_PROTECTION_AND_PRIVACY_VIOLATIONS",
    "intellectual-property": "STATEMENT_CATEGORY_INTELLECTUAL_PROPERTY_INFRINGEMENTS",
}
OTHER_CATEGORY = "STATEMENT_CATEGORY_SCOPE_OF_PLATFORM_SERVICE"


def _legal_ground(case: Case) -> str:
    return " — ".join(part for part in (case.legal_article.strip(), case.legal_basis.strip()) if part)


def _scope(case: Case) -> list[str]:
    """The territory the request named (the requesting country when it named none). A removal takes effect
    everywhere; a restriction only there."""
    return list(case.territorial_scope or [case.requesting_org.country])


def statement_of_reasons(item: ReportedItem) -> dict[str, Any]:
    """One decided item as a DSA statement-of-reasons record (attribute names of the DSA Transparency Database)."""
    case = item.case
    account = item.kind == ItemKind.ACCOUNT and item.outcome == Outcome.REMOVED
    category = STATEMENT_CATEGORIES.get(case.category.slug)
    return {
        "puid": f"{case.reference}-{item.pk}",
        "case_reference": case.reference,
        "content_location": item.target,
        "decision_visibility": [VISIBILITY[Outcome(item.outcome)]],
        "decision_account": "DECISION_ACCOUNT_TERMINATED" if account else None,
        "decision_ground": "DECISION_GROUND_ILLEGAL_CONTENT",
        "illegal_content_legal_ground": _legal_ground(case),
        "illegal_content_explanation": item.outcome_reason,
        "decision_facts": item.outcome_reason,
        "category": category or OTHER_CATEGORY,
        "category_specification": "" if category else case.category.name,
        "territorial_scope": _scope(case),
        "content_type": ["CONTENT_TYPE_OTHER"],
        "content_type_other": item.kind,
        # Times as instants in UTC (ISO 8601). When the content itself was posted is not known to the portal.
        "content_date": None,
        "notice_received_at": iso(case.submitted_at) or None,
        "application_date": iso(item.decided_at) or None,
        "end_date_visibility_restriction": None,
        "source_type": "SOURCE_TYPE_OTHER_NOTIFICATION",
        "source_identity": case.requesting_org.name,
        "automated_detection": "No",
        "automated_decision": "AUTOMATED_DECISION_NOT_AUTOMATED",
        "platform_name": case.responding_org.name,
    }


def _joined(value: Any) -> Value:
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    return value if value is not None else ""


# The CSV form: a translated header naming the attribute it holds.
STATEMENT_FIELDS: tuple[tuple[str, Promise], ...] = (
    ("puid", _("Statement identifier")),
    ("case_reference", _("Case reference")),
    ("content_location", _("Content")),
    ("decision_visibility", _("Decision type")),
    ("decision_account", _("Decision on the account")),
    ("decision_ground", _("Decision ground")),
    ("illegal_content_legal_ground", _("Legal reference")),
    ("illegal_content_explanation", _("Explanation")),
    ("decision_facts", _("Facts and circumstances")),
    ("category", _("Category")),
    ("category_specification", _("Category specification")),
    ("territorial_scope", _("Territorial scope")),
    ("content_type", _("Content type")),
    ("content_type_other", _("Content type (other)")),
    ("content_date", _("Content date (UTC, ISO 8601)")),
    ("notice_received_at", _("Notice received (UTC, ISO 8601)")),
    ("application_date", _("Decision applied (UTC, ISO 8601)")),
    ("end_date_visibility_restriction", _("Restriction ends (UTC, ISO 8601)")),
    ("source_type", _("Source type")),
    ("source_identity", _("Source")),
    ("automated_detection", _("Automated detection")),
    ("automated_decision", _("Automated decision")),
    ("platform_name", _("Platform")),
)



def _statement_value(name: str) -> Callable[[dict[str, Any]], Value]:
    return lambda statement: _joined(statement[name])


STATEMENT_COLUMNS: tuple[Column, ...] = tuple(
    Column(format_lazy("{} ({})", label, name), _statement_value(name)) for name, label in STATEMENT_FIELDS
)
