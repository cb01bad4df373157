"""Hostile input against the JSON API: schemathesis generates requests for every operation of
/api/v1/openapi.json (valid and invalid bodies, odd strings, huge numbers); none may answer 5xx,
and a refused write changes nothing."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, EvaluationRecord

from .conftest import PERIOD
from .support import Api


def _state():
    db.session.expire_all()
    return (
        db.session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action.not_in(["login_failed", "login_succeeded"]))
        ),
        [(r.id, r.status, r.total, r.level) for r in db.session.scalars(select(EvaluationRecord))],
    )


def test_every_api_operation_survives_generated_input(ctx, client):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", ctx)
    hr = Api(client, "nva")
    assert hr.post("/cycles", {"unit": "SNV-TCCB", "period": PERIOD}).status_code == 200
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10
    failures, statuses = [], []
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=20, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        def run(case):
            before = _state()
            revoking = operation.method.upper() == "DELETE" and operation.path.endswith("/auth/token")
            caller = Api(client, "ttb") if revoking else hr  # revoking must not sign the HR officer out
            case.headers = {**(case.headers or {}), **caller.headers}
            response = case.call()
            statuses.append(response.status_code)
            if response.status_code >= 500:
                failures.append((operation.label, case.body, response.status_code))
            if (
                response.status_code >= 400
                and operation.method.upper() != "GET"
                and not operation.path.endswith("/auth/token")
            ):
                assert _state() == before, f"{operation.label} changed state on {response.status_code}"

        run()
    assert failures == []
    assert len(statuses) >= 100
    assert {200, 400} <= set(statuses) and (set(statuses) & {404, 422}), sorted(set(statuses))
