"""The designer's test run finds its person through the service (the route runs no query): an unknown
username is a 400 in the page's language and writes nothing."""

from __future__ import annotations

from app.extensions import db

from .conftest import PERIOD
from .test_designer import counts, json_token, login, new_draft


def test_a_test_run_for_nobody_is_refused_and_writes_nothing(client):
    login(client, "admin")
    draft_id = new_draft(client)
    token = json_token(client, draft_id)
    before = counts()
    resp = client.post(
        f"/designer/drafts/{draft_id}/test-run.json",
        json={"subject": "nobody", "period": PERIOD},
        headers={"X-CSRFToken": token},
    )
    assert resp.status_code == 400
    body = resp.get_json()
    assert "chạy thử" in str(body) or "test run" in str(body)
    db.session.expire_all()
    assert counts() == before
