from .audit import AuditEvent, Notification
from .evaluation import EvaluationRecord
from .org import ApiToken, Unit, User
from .workflow import HumanTask, ProcessInstance, ProcessVersion

__all__ = ["ApiToken", "AuditEvent", "EvaluationRecord", "HumanTask", "Notification", "ProcessInstance",
           "ProcessVersion", "Unit", "User"]
