"""Probes and metrics for the load balancer, the orchestrator and Prometheus (docs/operations.md).

None of them needs a session, and none of them says why it failed: a probe answers to anyone who can
reach the port, so the reason goes to the log, not to the caller."""

from __future__ import annotations

import logging
import time

from flask import Blueprint, Response, abort, current_app, g, jsonify, request

from app.extensions import csrf
from app.services import metrics, transaction

bp = Blueprint("ops", __name__)
log = logging.getLogger(__name__)


@bp.route("/healthz")
def healthz():
    """The process is up and answers; the database is not asked (a restart would not fix it)."""
    return jsonify({"status": "ok"})


@bp.route("/readyz")
def readyz():
    """Ready for traffic: the database answers and its schema is the one this code expects."""
    try:
        current, heads = metrics.schema_revisions(current_app._get_current_object())
        ready = current == heads
        if not ready:
            log.warning("readyz: database at %s, code expects %s", sorted(current), sorted(heads))
    except Exception:
        log.warning("readyz: database unreachable", exc_info=True)
        ready = False
    finally:
        transaction.discard()
    return jsonify({"status": "ok" if ready else "unavailable"}), (200 if ready else 503)


@bp.route("/metrics", endpoint="metrics")
def metrics_page():
    if not metrics.scrape_allowed(request.remote_addr, request.headers.get("Authorization"), current_app.config):
        abort(403)
    return Response(
        metrics.render(current_app._get_current_object()), mimetype="text/plain; version=0.0.4; charset=utf-8"
    )


def init_app(app) -> None:
    app.register_blueprint(bp)
    for view in (healthz, readyz, metrics_page):
        csrf.exempt(view)

    @app.before_request
    def start_timer():
        g._request_started = time.perf_counter()

    @app.teardown_request
    def observe(exc):
        started = g.pop("_request_started", None)
        if started is not None and request.endpoint not in ("ops.metrics", "static"):
            metrics.observe_request(request.endpoint, request.method, time.perf_counter() - started)
