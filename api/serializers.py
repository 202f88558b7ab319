"""The API's shapes: what a case, an item, a message looks like on the wire (times in UTC, ISO 8601), and what a
request may send. Rules are not here: input is checked by the web path's forms and by the actions."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.urls import reverse
from rest_framework import serializers

from cases.choices import DECIDED_OUTCOMES, TLP, Outcome, Priority, RequestType, Status
from cases.item_lists import MAX_ROWS


class UtcDateTimeField(serializers.DateTimeField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("default_timezone", UTC)
        kwargs.setdefault("read_only", True)
        super().__init__(**kwargs)


class OrganizationRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class PersonRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(source="full_name")


class CaseSummarySerializer(serializers.Serializer):
    reference = serializers.CharField()
    title = serializers.CharField()
    status = serializers.ChoiceField(choices=Status.choices)
    request_type = serializers.ChoiceField(choices=RequestType.choices)
    category = serializers.CharField(source="category.slug")
    priority = serializers.ChoiceField(choices=Priority.choices)
    threat_to_life = serializers.BooleanField()
    tlp = serializers.ChoiceField(choices=TLP.choices)
    language = serializers.CharField()
    requesting_org = OrganizationRefSerializer()
    responding_org = OrganizationRefSerializer()
    queue = serializers.CharField(source="queue.name", allow_null=True, default=None)
    assignee = PersonRefSerializer(allow_null=True)
    item_count = serializers.IntegerField()
    pending_count = serializers.IntegerField()
    unread_count = serializers.IntegerField(source="unread", default=0)
    created_at = UtcDateTimeField()
    updated_at = UtcDateTimeField()
    submitted_at = UtcDateTimeField(allow_null=True)
    next_due_at = UtcDateTimeField(allow_null=True)


class CaseDetailSerializer(CaseSummarySerializer):
    legal_basis = serializers.CharField()
    legal_article = serializers.CharField()
    description = serializers.CharField()
    territorial_scope = serializers.ListField(child=serializers.CharField())
    outcome_summary = serializers.CharField()
    acknowledged_at = UtcDateTimeField(allow_null=True)
    resolved_at = UtcDateTimeField(allow_null=True)
    closed_at = UtcDateTimeField(allow_null=True)
    withdrawn_at = UtcDateTimeField(allow_null=True)
    has_breached_deadline = serializers.BooleanField()
    available_transitions = serializers.ListField(child=serializers.CharField())


# A case's shape written directly from its row's values (cases.queries.inbox.case_row_values), key for key and
# value for value what the two serializers above write for the same case (tests/api/test_case_shapes.py holds them
# together): DRF's field-by-field serialisation took most of a list page's time. The serializers stay the schema.
CASE_SUMMARY_COLUMNS = (
    "reference", "title", "status", "request_type", "category__slug", "priority", "threat_to_life", "tlp",
    "language", "requesting_org_id", "requesting_org__name", "responding_org_id", "responding_org__name",
    "queue__name", "assignee_id", "assignee__full_name", "created_at", "updated_at", "submitted_at", "next_due_at",
)
CASE_DETAIL_COLUMNS = (
    *CASE_SUMMARY_COLUMNS, "legal_basis", "legal_article", "description", "territorial_scope", "outcome_summary",
    "acknowledged_at", "resolved_at", "closed_at", "withdrawn_at", "has_breached_deadline",
)


def utc_iso(value: datetime | None) -> str | None:
    """A time as UtcDateTimeField writes it: in UTC, ISO 8601, `Z` for +00:00."""
    if not value:
        return None
    text = value.astimezone(UTC).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def case_summary(row: Mapping[str, Any]) -> dict[str, Any]:
    """CaseSummarySerializer's representation of a case, from its values (CASE_SUMMARY_COLUMNS and the counts)."""
    return {
        "reference": row["reference"],
        "title": row["title"],
        "status": row["status"],
        "request_type": row["request_type"],
        "category": row["category__slug"],
        "priority": row["priority"],
        "threat_to_life": row["threat_to_life"],
        "tlp": row["tlp"],
        "language": row["language"],
        "requesting_org": {"id": row["requesting_org_id"], "name": row["requesting_org__name"]},
        "responding_org": {"id": row["responding_org_id"], "name": row["responding_org__name"]},
        "queue": row["queue__name"],
        "assignee": (None if row["assignee_id"] is None
                     else {"id": row["assignee_id"], "name": row["assignee__full_name"]}),
        "item_count": row["item_count"],
        "pending_count": row["pending_count"],
        "unread_count": row.get("unread", 0),
        "created_at": utc_iso(row["created_at"]),
        "updated_at": utc_iso(row["updated_at"]),
        "submitted_at": utc_iso(row["submitted_at"]),
        "next_due_at": utc_iso(row["next_due_at"]),
    }


def case_detail(row: Mapping[str, Any], transitions: Iterable[str]) -> dict[str, Any]:
    """CaseDetailSerializer's representation of a case, from its values (CASE_DETAIL_COLUMNS and the counts) and
    the moves its reader may make."""
    scope = row["territorial_scope"]
    return {
        **case_summary(row),
        "legal_basis": row["legal_basis"],
        "legal_article": row["legal_article"],
        "description": row["description"],
        "territorial_scope": None if scope is None else [None if code is None else str(code) for code in scope],
        "outcome_summary": row["outcome_summary"],
        "acknowledged_at": utc_iso(row["acknowledged_at"]),
        "resolved_at": utc_iso(row["resolved_at"]),
        "closed_at": utc_iso(row["closed_at"]),
        "withdrawn_at": utc_iso(row["withdrawn_at"]),
        "has_breached_deadline": row["has_breached_deadline"],
        "available_transitions": [str(transition) for transition in transitions],
    }


class CaseListSerializer(serializers.Serializer):
    results = CaseSummarySerializer(many=True)
    next = serializers.URLField(allow_null=True)
    total = serializers.IntegerField()
    total_is_capped = serializers.BooleanField()


class ItemRowSerializer(serializers.Serializer):
    target = serializers.CharField(max_length=4096, allow_blank=True)
    note = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")


class ItemsInputSerializer(serializers.Serializer):
    """The rows: as objects, as a pasted list (one target per line, a note after a tab or a comma), or as the text
    of a CSV file (a header row such as `url,note` is recognised, as in a web upload)."""

    items = ItemRowSerializer(many=True, required=False, max_length=MAX_ROWS)
    text = serializers.CharField(required=False, allow_blank=True, max_length=settings.LIAISON_INTAKE_MAX_UPLOAD_BYTES,
                                 trim_whitespace=False)
    csv = serializers.CharField(required=False, allow_blank=True, max_length=settings.LIAISON_INTAKE_MAX_UPLOAD_BYTES,
                                trim_whitespace=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if sum(1 for name in ("items", "text", "csv") if attrs.get(name)) > 1:
            raise serializers.ValidationError("Send one of items, text or csv.")
        return attrs


class CaseCreateSerializer(ItemsInputSerializer):
    title = serializers.CharField(max_length=200)
    category = serializers.SlugField(help_text="A category's slug.")
    responding_org = serializers.IntegerField(min_value=1, max_value=2**63 - 1, help_text="The platform's id.")
    request_type = serializers.ChoiceField(choices=RequestType.choices, default=RequestType.REMOVAL)
    priority = serializers.ChoiceField(choices=[("", "Category default"), *Priority.choices], default="",
                                       allow_blank=True)
    threat_to_life = serializers.BooleanField(default=False)
    tlp = serializers.ChoiceField(choices=TLP.choices, default=TLP.AMBER)
    legal_basis = serializers.CharField(required=False, allow_blank=True, default="", max_length=20000)
    legal_article = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="", max_length=20000)
    language = serializers.ChoiceField(choices=settings.LANGUAGES, required=False, allow_blank=True, default="")
    territorial_scope = serializers.ListField(child=serializers.CharField(max_length=8), required=False,
                                              default=list, max_length=300)


class RejectedRowSerializer(serializers.Serializer):
    line = serializers.IntegerField()
    target = serializers.CharField(source="raw")
    code = serializers.CharField()
    reason = serializers.CharField()


class DuplicateRowSerializer(serializers.Serializer):
    line = serializers.IntegerField()
    target = serializers.CharField()
    first_line = serializers.IntegerField()


class ItemSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    position = serializers.IntegerField()
    target = serializers.CharField()
    key = serializers.CharField()
    kind = serializers.CharField()
    note = serializers.CharField()
    warning = serializers.CharField()
    outcome = serializers.ChoiceField(choices=Outcome.choices)
    outcome_reason = serializers.CharField()
    decided_at = UtcDateTimeField(allow_null=True)


class IntakeResultSerializer(serializers.Serializer):
    added = serializers.IntegerField(help_text="Items added to the case.")
    already_in_case = serializers.IntegerField(help_text="Accepted rows whose target the case already lists.")
    rejected = RejectedRowSerializer(many=True, help_text="Rows refused, by line and reason.")
    duplicates = DuplicateRowSerializer(many=True, help_text="Rows repeating an earlier row of the list.")


class CaseCreatedSerializer(serializers.Serializer):
    case = CaseDetailSerializer()
    intake = IntakeResultSerializer()


class ItemListSerializer(serializers.Serializer):
    results = ItemSerializer(many=True)
    next = serializers.URLField(allow_null=True)


class OutcomesInputSerializer(serializers.Serializer):
    items = serializers.ListField(child=serializers.IntegerField(min_value=1, max_value=2**63 - 1), min_length=1,
                                  max_length=20000, help_text="Ids of the case's items.")
    outcome = serializers.ChoiceField(choices=[(o.value, o.label) for o in DECIDED_OUTCOMES])
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class OutcomesResultSerializer(serializers.Serializer):
    decided = serializers.IntegerField()


class TransitionInputSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=4000)
    outcome_summary = serializers.CharField(required=False, allow_blank=True, default="", max_length=4000,
                                            help_text="Resolve only.")


class MessageSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    author = PersonRefSerializer(allow_null=True)
    body = serializers.CharField()
    system_action = serializers.CharField()
    created_at = UtcDateTimeField()
    edited_at = UtcDateTimeField(allow_null=True)


class MessageListSerializer(serializers.Serializer):
    results = MessageSerializer(many=True)
    next_since = serializers.IntegerField(help_text="Pass as `since` to read what is newer.")
    has_more = serializers.BooleanField()


class MessageCreateSerializer(serializers.Serializer):
    body = serializers.CharField(max_length=20000)
    internal = serializers.BooleanField(default=False, help_text="An internal note, seen by your side only.")


class FieldErrorSerializer(serializers.Serializer):
    field = serializers.CharField(help_text="The input's name (`items[2].target`); empty for the whole request.")
    detail = serializers.CharField()
    code = serializers.CharField()


class ProblemSerializer(serializers.Serializer):
    """RFC 9457 problem details."""

    type = serializers.CharField()
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField(required=False)
    errors = FieldErrorSerializer(many=True, required=False)


class EvidenceSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    item = serializers.IntegerField(source="item.position", allow_null=True, default=None,
                                    help_text="The number of the item it documents, if any.")
    sha256 = serializers.CharField()
    size = serializers.IntegerField()
    content_type = serializers.CharField()
    original_name = serializers.CharField()
    description = serializers.CharField()
    documents_url = serializers.CharField()
    captured_at = UtcDateTimeField(allow_null=True)
    uploaded_at = UtcDateTimeField()
    uploaded_by = PersonRefSerializer()
    side = serializers.CharField()
    internal = serializers.BooleanField()
    withdrawn_at = UtcDateTimeField(allow_null=True)
    purged_at = UtcDateTimeField(allow_null=True)


class EvidenceUploadSerializer(serializers.Serializer):
    """multipart/form-data: one or more `file` parts and the fields of the web form."""

    file = serializers.ListField(child=serializers.FileField(), help_text="One or more files.")
    item = serializers.IntegerField(required=False, min_value=1, max_value=10**6)
    description = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    documents_url = serializers.URLField(required=False, allow_blank=True, max_length=2048)
    captured_at = serializers.DateTimeField(required=False)
    internal = serializers.BooleanField(required=False, help_text="Platform only: hidden from the authority.")


class EvidenceFileResultSerializer(serializers.Serializer):
    name = serializers.CharField()
    ok = serializers.BooleanField()
    created = serializers.BooleanField(required=False, help_text="False: the same bytes were already attached.")
    evidence = EvidenceSerializer(required=False)
    detail = serializers.CharField(required=False)


class EvidenceUploadResultSerializer(serializers.Serializer):
    files = EvidenceFileResultSerializer(many=True)


class DeadlineSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    title = serializers.CharField()
    owner_side = serializers.CharField()
    started_at = UtcDateTimeField()
    due_at = UtcDateTimeField()
    status = serializers.CharField()
    origin = serializers.CharField()
    met_at = UtcDateTimeField(allow_null=True)
    breached_at = UtcDateTimeField(allow_null=True)
    paused_at = UtcDateTimeField(allow_null=True)


class ProposalSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    deadline = serializers.IntegerField(source="deadline_id", allow_null=True)
    kind = serializers.CharField()
    title = serializers.CharField()
    owner_side = serializers.CharField()
    proposed_due_at = UtcDateTimeField(allow_null=True)
    reason = serializers.CharField()
    proposed_by = PersonRefSerializer()
    proposed_side = serializers.CharField()
    proposed_at = UtcDateTimeField()
    status = serializers.CharField()
    answered_at = UtcDateTimeField(allow_null=True)
    answer_note = serializers.CharField()


class DeadlineListSerializer(serializers.Serializer):
    deadlines = DeadlineSerializer(many=True)
    proposals = ProposalSerializer(many=True)


class ProposalInputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["change_due", "waive", "new_custom"])
    reason = serializers.CharField(max_length=4000)
    deadline = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1,
                                        help_text="The deadline to change or waive.")
    due_at = serializers.DateTimeField(required=False, help_text="ISO 8601 with its offset (UTC: Z).")
    title = serializers.CharField(required=False, allow_blank=True, max_length=200)
    owner_side = serializers.ChoiceField(choices=["authority", "platform"], required=False)


class AnswerInputSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=4000)


class ReportSerializer(serializers.Serializer):
    version = serializers.IntegerField()
    language = serializers.CharField()
    include_thread = serializers.BooleanField()
    status = serializers.CharField()
    requested_at = UtcDateTimeField()
    issued_at = UtcDateTimeField(allow_null=True)
    sha256 = serializers.CharField()
    size = serializers.IntegerField(allow_null=True)
    superseded_at = UtcDateTimeField(allow_null=True)
    download = serializers.SerializerMethodField(help_text="Where to download it, once issued.")

    def get_download(self, report: Any) -> str | None:
        if report.status != "ready":
            return None
        return reverse("api:report_download", args=[report.case.reference, report.version])


class ReportRequestSerializer(serializers.Serializer):
    language = serializers.ChoiceField(choices=settings.LANGUAGES, default="en")
    include_thread = serializers.BooleanField(default=False)


class VerifyInputSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="The PDF to check.")


class IssuedReportSerializer(serializers.Serializer):
    reference = serializers.CharField()
    version = serializers.IntegerField()
    issued_at = UtcDateTimeField(allow_null=True)
    superseded = serializers.BooleanField()
    latest_version = serializers.IntegerField()
    latest_issued_at = UtcDateTimeField(allow_null=True)


class VerificationSerializer(serializers.Serializer):
    verdict = serializers.CharField(help_text="As on the verification page: genuine, superseded, tampered, untrusted, unsigned, unknown, damaged or unreadable.")
    ok = serializers.BooleanField()
    sha256 = serializers.CharField()
    size = serializers.IntegerField()
    signed = serializers.BooleanField()
    intact = serializers.BooleanField()
    valid = serializers.BooleanField()
    trusted = serializers.BooleanField()
    whole_file = serializers.BooleanField()
    signer = serializers.CharField()
    signed_at = UtcDateTimeField(allow_null=True)
    timestamped_at = UtcDateTimeField(allow_null=True)
    problems = serializers.ListField(child=serializers.CharField())
    report = IssuedReportSerializer(allow_null=True)


class CheckpointSerializer(serializers.Serializer):
    sequence = serializers.IntegerField()
    made_at = UtcDateTimeField()
    head_event_id = serializers.IntegerField()
    head_hash = serializers.CharField()
    event_count = serializers.IntegerField()
    reason = serializers.CharField()
    signer = serializers.CharField()
    timestamped_at = UtcDateTimeField(allow_null=True)
    download = serializers.SerializerMethodField()

    def get_download(self, checkpoint: Any) -> str:
        return reverse("api:checkpoint", args=[checkpoint.sequence])


class NotificationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    case = serializers.CharField(source="case.reference", allow_null=True, default=None)
    title = serializers.CharField()
    body = serializers.CharField()
    created_at = UtcDateTimeField()
    read_at = UtcDateTimeField(allow_null=True)


class NotificationListSerializer(serializers.Serializer):
    results = NotificationSerializer(many=True)
    next = serializers.URLField(allow_null=True)
