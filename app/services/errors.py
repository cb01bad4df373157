"""Errors a use case reports to its caller, with an HTTP status the routes and the API share."""

from __future__ import annotations


class ServiceError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, message_en: str = "", details: list | None = None):
        super().__init__(message)
        self.message, self.message_en, self.details = message, message_en or message, details or []

    def to_json(self) -> dict:
        return {"error": self.code, "message": self.message, "message_en": self.message_en, "details": self.details}


class BadRequest(ServiceError):
    status, code = 400, "bad_request"


class Forbidden(ServiceError):
    status, code = 403, "forbidden"


class NotFound(ServiceError):
    status, code = 404, "not_found"


class Conflict(ServiceError):
    status, code = 409, "conflict"


class Invalid(ServiceError):
    """422: the data was read but breaks a rule; `details` lists the fields."""

    status, code = 422, "invalid"


def field_details(errors) -> list[dict]:
    return [{"field": e.field, "message": e.message, "message_en": e.message_en} for e in errors]


class Unavailable(ServiceError):
    """503: the database (or another service the request needs) cannot be reached; nothing was written."""

    status, code = 503, "unavailable"


# One answer per cause, wherever the instance is changed (docs/architecture.md, "Error mapping").
STALE_VI = "Hồ sơ vừa được người khác thay đổi. Hãy tải lại trang và thử lại."
STALE_EN = "The evaluation changed meanwhile. Reload the page and try again."
BUSY_VI = "Dữ liệu này đang được người khác thay đổi, hãy thử lại sau giây lát."
BUSY_EN = "Someone else is changing this right now; try again in a moment."
UNAVAILABLE_VI = "Cơ sở dữ liệu tạm thời không truy cập được; thao tác chưa được ghi. Hãy thử lại sau ít phút."
UNAVAILABLE_EN = "The database is unavailable; nothing was saved. Try again in a few minutes."


def stale() -> Conflict:
    return Conflict(STALE_VI, STALE_EN)


def busy() -> Conflict:
    err = Conflict(BUSY_VI, BUSY_EN)
    err.code = "busy"
    return err


def unavailable() -> Unavailable:
    return Unavailable(UNAVAILABLE_VI, UNAVAILABLE_EN)


def engine_failed(exc) -> Conflict:
    """The process itself failed (a script, a condition, a timer expression) at a BPMN element."""
    element = getattr(exc, "element", None) or "?"
    return Conflict(
        f"Quy trình gặp lỗi tại bước {element}: {exc}",
        f"The process failed at {element}: {exc}",
        [{"field": "element", "element": element, "message": str(exc), "message_en": str(exc)}],
    )


_CONTENTION = (
    "database is locked",
    "could not obtain lock",
    "lock timeout",
    "lock_timeout",
    "deadlock detected",
    "could not serialize access",
    "canceling statement due to lock timeout",
)


def is_lock_contention(exc: BaseException) -> bool:
    """An OperationalError that says another transaction holds what we need (try again), as opposed
    to a database that cannot be reached (come back later)."""
    text = str(getattr(exc, "orig", None) or exc).lower()
    return any(marker in text for marker in _CONTENTION)


def from_database(exc: BaseException) -> ServiceError:
    return busy() if is_lock_contention(exc) else unavailable()
