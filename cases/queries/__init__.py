"""Reads that span relations, with their joins chosen so a page's query count does not grow with its rows.

One module per page group (inbox, case page, records); every read is importable from `cases.queries`.
"""

from .case_page import (
    AccessEntry,
    access_panel,
    assignee_candidates,
    case_items,
    grantable_people,
    item_tally,
    people_on_case,
    people_who_can_see,
    read_marker,
    timeline,
)
from .case_pages import PageCursor, inbox_listing
from .deconfliction import Sighting, deconfliction
from .inbox import (
    SEARCH_COUNT_CAP,
    CaseFilters,
    CasePage,
    InboxRow,
    capped_count,
    filtered_cases,
    filters_from_query,
    inbox_counts,
    inbox_page,
    list_scope,
    search_condition,
    sort_keys,
    total_from_counts,
    unread_badges,
)
from .records import (
    EmailReview,
    email_review,
    expired_evidence,
    issued_report,
    read_stored_email,
    verify_report,
)

__all__ = [
    "AccessEntry", "CaseFilters", "CasePage", "InboxRow", "inbox_page", "EmailReview", "capped_count", "search_condition", "total_from_counts", "SEARCH_COUNT_CAP", "unread_badges", "Sighting", "access_panel", "assignee_candidates", "case_items",
    "deconfliction", "email_review", "item_tally", "expired_evidence", "filtered_cases", "filters_from_query", "grantable_people", "inbox_counts", "inbox_listing",
    "PageCursor", "list_scope", "sort_keys", "issued_report", "people_on_case", "people_who_can_see", "read_marker", "read_stored_email",
    "timeline", "verify_report",
]
