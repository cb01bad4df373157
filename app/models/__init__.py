from .audit import AuditEvent, Notification
from .evaluation import EvaluationRecord
from .mail import OutgoingMail
from .org import ApiToken, Unit, User
from .rules import Appointment, CalendarDay, Delegation, Membership, Scheme, SchemeAssignment
from .workflow import HumanTask, ProcessInstance, ProcessVersion

__all__ = ["Appointment", "CalendarDay", "Delegation", "Membership", "Scheme", "SchemeAssignment", "ApiToken", "AuditEvent", "EvaluationRecord", "HumanTask", "Notification", "OutgoingMail",
           "ProcessInstance", "ProcessVersion", "Unit", "User"]
