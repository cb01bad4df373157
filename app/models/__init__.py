from .activation import AccountToken
from .agency_month import AgencyMonth
from .audit import AuditEvent, Notification
from .drafts import TaskDraft
from .designer import ProcessDraft
from .evaluation import EvaluationRecord
from .evidence import Comment, Evidence
from .mail import OutgoingMail
from .monitor import SavedFilter
from .plans import PlanItem
from .preferences import UserPreference
from .org import ApiToken, Unit, User
from .summary import OverdueSnapshot, RecordSummary, RecordSummaryDelta, RecordUnitSummary
from .rules import Appointment, CalendarDay, Delegation, Membership, Scheme, SchemeAssignment
from .workflow import HumanTask, ProcessInstance, ProcessVersion

__all__ = [
    "AgencyMonth",
    "AccountToken",
    "TaskDraft",
    "Appointment",
    "CalendarDay",
    "Delegation",
    "Membership",
    "Scheme",
    "SchemeAssignment",
    "ApiToken",
    "AuditEvent",
    "Comment",
    "EvaluationRecord",
    "Evidence",
    "HumanTask",
    "Notification",
    "OutgoingMail",
    "PlanItem",
    "ProcessDraft",
    "ProcessInstance",
    "ProcessVersion",
    "OverdueSnapshot",
    "RecordSummary",
    "RecordSummaryDelta",
    "RecordUnitSummary",
    "SavedFilter",
    "Unit",
    "User",
    "UserPreference",
]
