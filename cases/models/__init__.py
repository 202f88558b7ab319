"""The models of cases, one module per concern; every model is importable from `cases.models`."""

from .audit import AuditCheckpoint, AuditEvent
from .cases import (
    Case,
    CaseGroupObjectPermission,
    CaseSequence,
    CaseUserObjectPermission,
    Category,
    ReportedItem,
)
from .deadlines import Deadline, DeadlinePause, DeadlineProposal, DeadlineSignal, SLAPolicy
from .evidence import Evidence, LegalHold
from .inbound import InboundEmail
from .notifications import Notification, NotificationKind, NotificationPreference
from .reports import OutcomeReport
from .thread import Message, MessageRevision, ReadMarker

__all__ = [
    "AuditCheckpoint", "AuditEvent", "Case", "CaseGroupObjectPermission", "CaseSequence", "CaseUserObjectPermission", "Category",
    "Deadline", "DeadlinePause", "DeadlineProposal", "DeadlineSignal", "Evidence", "InboundEmail", "LegalHold",
    "Message", "MessageRevision", "Notification", "NotificationKind", "NotificationPreference", "OutcomeReport",
    "ReadMarker", "ReportedItem", "SLAPolicy",
]
