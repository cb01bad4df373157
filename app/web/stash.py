"""Post/redirect/get for HTML forms posted to an address that is not a page: a refused form is kept
in the session (its message, the message of each field, what was typed) and the browser is sent to
the page the form lives on, which shows the errors next to their fields. A reload then reads the page
again instead of posting again, and no error page ever sits at a POST address.

The session is a signed cookie: typed values longer than `MAX_VALUE` characters are not kept (the
field's error still is), so a refused long text can never push the cookie past what browsers store.
"""

from __future__ import annotations

import logging

from flask import session

from app.services import transaction
from app.services.errors import ServiceError

log = logging.getLogger(__name__)

KEY = "form_stash"
MAX_VALUE = 1500


class Refusal(ServiceError):
    """A stashed refusal, read back on the page: what templates expect of a ServiceError."""


def keep(form: str, exc: ServiceError, values: dict | None = None, **scope) -> None:
    """Remember a refused `form` for the page identified by `scope` (e.g. instance_id=12)."""
    transaction.mark_failed()  # the redirect answers 302: nothing of the refused post is kept
    details = [
        {k: d.get(k) for k in ("field", "message", "message_en", "element") if d.get(k) is not None}
        for d in exc.details
        if isinstance(d, dict)
    ]
    session[KEY] = {
        "form": form,
        "scope": scope,
        "status": exc.status,
        "message": exc.message,
        "message_en": exc.message_en,
        "details": details,
        "values": {k: v for k, v in (values or {}).items() if isinstance(v, str) and len(v) <= MAX_VALUE},
    }
    log.info("form %s refused (%s), shown again on its page", form, exc.status)


def take(**scope) -> dict:
    """The refused form kept for this page, once: {"form", "error", "fields", "values"}; {} if none.
    A stash kept for another page is dropped (the person went elsewhere)."""
    stashed = session.pop(KEY, None)
    if not isinstance(stashed, dict) or stashed.get("scope") != scope:
        return {}
    error = Refusal(
        str(stashed.get("message", "")), str(stashed.get("message_en", "")), list(stashed.get("details") or [])
    )
    error.status = int(stashed.get("status") or 400)
    fields = {d["field"]: d for d in error.details if isinstance(d, dict) and d.get("field")}
    return {"form": stashed.get("form"), "error": error, "fields": fields, "values": stashed.get("values") or {}}
