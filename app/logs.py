"""Logging for the app, the CLI and the worker: every line names the request, the user and the
instance it is about, so one completion can be followed through its log lines.

    2026-12-03 14:05:01,123 INFO app.uow [req=3f9c1a2b7d4e user=ttb instance=412] task_completed: ...

The request id comes from an `X-Request-Id` header set by the proxy (letters, digits, dashes, at most
64) or is made up, and is sent back in the answer. Bodies, passwords and tokens are never logged.
"""

from __future__ import annotations

import logging
import re
import uuid

from flask import Flask, g, has_request_context, request

FORMAT = "%(asctime)s %(levelname)s %(name)s [req=%(request_id)s user=%(user)s instance=%(instance_id)s] %(message)s"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9-]{1,64}$")


class RequestContext(logging.Filter):
    """Adds request_id, user and instance_id to each record (a dash outside a request). Reads only
    what the request already holds: logging never loads a user."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = record.user = record.instance_id = "-"
        if has_request_context():
            record.request_id = g.get("request_id", "-")
            user = g.get("_login_user") or g.get("api_user")
            # only what is loaded already: an expired row would query, and in a failed transaction raise
            username = vars(user).get("username") if user is not None and hasattr(user, "__dict__") else None
            record.user = username or "-"
            record.instance_id = g.get("instance_id", "-")
        return True


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class OneLine(logging.Formatter):
    """A record's message stays on its line: text from a request (a path with `%0A`, a username) cannot
    start a line that reads like another record. An exception's traceback still follows on its own lines."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        record.message = _CONTROL.sub(lambda m: repr(m.group())[1:-1], record.message)
        return super().formatMessage(record)


def configure(app: Flask) -> None:
    level = str(app.config.get("LOG_LEVEL") or "INFO").upper()
    logger = logging.getLogger("app")  # the app's modules log under app.*; Flask's app.logger is "app"
    if not any(getattr(h, "_danhgia", False) for h in logger.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(OneLine(FORMAT))
        handler.addFilter(RequestContext())
        handler._danhgia = True  # one handler however many apps a process creates (tests)
        logger.addHandler(handler)
    logger.setLevel(level)

    @app.before_request
    def request_id():
        given = request.headers.get("X-Request-Id", "")
        g.request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex[:12]

    @app.after_request
    def send_request_id(response):
        if "request_id" in g:
            response.headers.setdefault("X-Request-Id", g.request_id)
        return response
