"""Errors a use case reports to its caller, with an HTTP status the routes and the API share."""
from __future__ import annotations


class ServiceError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, message_en: str = "", details: list | None = None):
        super().__init__(message)
        self.message, self.message_en, self.details = message, message_en or message, details or []

    def to_json(self) -> dict:
        return {"error": self.code, "message": self.message, "message_en": self.message_en,
                "details": self.details}


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
