"""The Flask app served over real HTTP in a background thread, for the browser tests.

Each request in the server thread pushes its own app context, and Flask-SQLAlchemy scopes its
session to the app context, so the server never shares a SQLAlchemy session with the test thread
(which holds the `ctx` app context). The test thread must not keep a transaction open while the
browser writes: call :func:`fresh_session` before reading what the browser did.
"""

from __future__ import annotations

import threading

from flask import Flask
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from app.extensions import db


class _QuietHandler(WSGIRequestHandler):
    """No access log line per request (errors are still logged)."""

    def log_request(self, code="-", size="-") -> None:
        pass


class LiveServer:
    def __init__(self, app: Flask):
        self.app = app
        self.server: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, name="live-server", daemon=True)

    def start(self) -> "LiveServer":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)

    def __enter__(self) -> "LiveServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def fresh_session() -> None:
    """End the test thread's transaction and forget cached objects, so the next query sees what
    the server committed (and, on SQLite, no lock of ours blocks the server's next write). What the
    test ran directly is committed first: services never commit, the test is their outermost caller
    (a failed unit of work is rolled back instead)."""
    from app.services import transaction

    with transaction.committed():
        pass
    db.session.expire_all()
