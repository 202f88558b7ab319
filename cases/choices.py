from __future__ import annotations

from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _


class Status(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")
    IN_PROGRESS = "in_progress", _("In progress")
    AWAITING_INFORMATION = "awaiting_information", _("Awaiting information")
    RESOLVED = "resolved", _("Resolved")
    CLOSED = "closed", _("Closed")
    WITHDRAWN = "withdrawn", _("Withdrawn")


OPEN_STATUSES = (Status.SUBMITTED, Status.IN_PROGRESS, Status.AWAITING_INFORMATION)
FINISHED_STATUSES = (Status.RESOLVED, Status.CLOSED, Status.WITHDRAWN)


class RequestType(models.TextChoices):
    REMOVAL = "removal", _("Removal")
    GEO_RESTRICTION = "geo_restriction", _("Geo-restriction")
    ACCOUNT_ACTION = "account_action", _("Account action")
    PRESERVATION = "preservation", _("Preservation")
    INFORMATION_REQUEST = "information_request", _("Information request")
    OTHER = "other", _("Other")


class Priority(models.TextChoices):
    URGENT = "urgent", _("Urgent")
    HIGH = "high", _("High")
    NORMAL = "normal", _("Normal")


PRIORITY_RANK = {Priority.NORMAL: 10, Priority.HIGH: 20, Priority.URGENT: 30}
THREAT_TO_LIFE_RANK = 40


def choice_label(choices: type[models.TextChoices], value: str) -> str:
    """What a field with these choices shows for a value (its `get_<field>_display()`): the label, translated, or the
    value itself when it is not one of them. One label is translated, where `get_<field>_display()` translates every
    label of the choices on each call (it hashes them). A label is translated once per process and language, as the
    catalogue it comes from is loaded once per process and kept (Django's trans_real); a value that is not a choice
    is given back as it is, never kept."""
    key = (get_language(), choices, value)
    label = _LABELS.get(key)
    if label is None:
        try:
            label = str(choices(value).label)
        except ValueError:
            return value
        _LABELS[key] = label
    return label


# choice_label's translated labels by (language, choices, value): bounded by the languages times the project's choices.
_LABELS: dict[tuple[str | None, type[models.TextChoices], str], str] = {}


def priority_rank(priority: str, threat_to_life: bool) -> int:
    """A sortable rank: threat to life floats above every urgent case."""
    return THREAT_TO_LIFE_RANK if threat_to_life else PRIORITY_RANK[Priority(priority)]


class TLP(models.TextChoices):
    RED = "red", _("TLP:RED")
    AMBER = "amber", _("TLP:AMBER")
    GREEN = "green", _("TLP:GREEN")
    CLEAR = "clear", _("TLP:CLEAR")


class ItemKind(models.TextChoices):
    CHANNEL = "channel", _("Channel")
    GROUP = "group", _("Group")
    MESSAGE = "message", _("Message")
    ACCOUNT = "account", _("Account")
    POST = "post", _("Post")
    FILE = "file", _("File")
    OTHER = "other", _("Other")


class Outcome(models.TextChoices):
    PENDING = "pending", _("Pending")
    REMOVED = "removed", _("Removed")
    RESTRICTED = "restricted", _("Restricted in the requesting country")
    NO_ACTION_NOT_ILLEGAL = "no_action_not_illegal", _("No action: not illegal")
    NO_ACTION_INSUFFICIENT = "no_action_insufficient", _("No action: insufficient information")
    NO_ACTION_NOT_FOUND = "no_action_not_found", _("No action: not found")
    NO_ACTION_ALREADY_REMOVED = "no_action_already_removed", _("No action: already removed")
    DUPLICATE = "duplicate", _("Duplicate")


DECIDED_OUTCOMES = [o for o in Outcome if o != Outcome.PENDING]


class Transition(models.TextChoices):
    SUBMIT = "submit", _("Submit")
    ACKNOWLEDGE = "acknowledge", _("Acknowledge")
    REQUEST_INFORMATION = "request_information", _("Request information")
    PROVIDE_INFORMATION = "provide_information", _("Provide information")
    RESOLVE = "resolve", _("Resolve")
    REOPEN = "reopen", _("Reopen")
    CLOSE = "close", _("Close")
    WITHDRAW = "withdraw", _("Withdraw")


# The workflow of DESIGN.md: transition -> (allowed from, to).
WORKFLOW: dict[str, tuple[tuple[str, ...], str]] = {
    Transition.SUBMIT: ((Status.DRAFT,), Status.SUBMITTED),
    Transition.ACKNOWLEDGE: ((Status.SUBMITTED,), Status.IN_PROGRESS),
    Transition.REQUEST_INFORMATION: ((Status.IN_PROGRESS,), Status.AWAITING_INFORMATION),
    Transition.PROVIDE_INFORMATION: ((Status.AWAITING_INFORMATION,), Status.IN_PROGRESS),
    Transition.RESOLVE: ((Status.IN_PROGRESS,), Status.RESOLVED),
    Transition.REOPEN: ((Status.RESOLVED,), Status.IN_PROGRESS),
    Transition.CLOSE: ((Status.RESOLVED,), Status.CLOSED),
    Transition.WITHDRAW: (
        (Status.DRAFT, Status.SUBMITTED, Status.IN_PROGRESS, Status.AWAITING_INFORMATION),
        Status.WITHDRAWN,
    ),
}


class DeadlineKind(models.TextChoices):
    """`Deadline.Kind`: here so that pure modules (the texts of recorded events) can name it."""

    ACKNOWLEDGE = "acknowledge", _("Acknowledge")
    RESOLVE = "resolve", _("Resolve")
    PROVIDE_INFORMATION = "provide_information", _("Provide information")
    CUSTOM = "custom", _("Custom")


class ProposalKind(models.TextChoices):
    """`DeadlineProposal.Kind`."""

    CHANGE_DUE = "change_due", _("New due time")
    NEW_CUSTOM = "new_custom", _("New deadline")
    WAIVE = "waive", _("Waive")


class MessageKind(models.TextChoices):
    """`Message.Kind`."""

    SHARED = "shared", _("Shared with both sides")
    INTERNAL = "internal", _("Internal note")
    SYSTEM = "system", _("System entry")


class Side(models.TextChoices):
    BOTH = "", _("Both sides")
    AUTHORITY = "authority", _("Authority only")
    PLATFORM = "platform", _("Platform only")
