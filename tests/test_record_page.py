"""A person's own record page: where the month stands, the history by step title and name, their last
months, the diagram behind a summary; one language at a time."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone

from sqlalchemy import select

from app.extensions import db
from app.models import EvaluationRecord
from app.services.evaluation import record_page

from .conftest import PERIOD, user
from .support import Api, scores_for
from .test_pages import login


def _record(username, period=PERIOD):
    return db.session.scalars(
        select(EvaluationRecord).where(
            EvaluationRecord.subject_id == user(username).id, EvaluationRecord.period == period
        )
    ).one()


def test_stepper_places_each_status():
    states = {
        s: [st.state for st in record_page.stepper(s)]
        for s in ("self_evaluation", "decision", "appeal", "locked", "terminated")
    }
    assert states["self_evaluation"] == ["current", "todo", "todo", "todo", "todo"]
    assert states["decision"] == ["done", "done", "current", "todo", "todo"]
    assert states["appeal"] == ["done", "done", "done", "current", "todo"]
    assert states["locked"] == ["done"] * 5
    assert states["terminated"] == ["todo"] * 5


def test_own_record_shows_the_stage_step_titles_and_recent_months(client):
    assert Api(client, "nva").post("/cycles", {"unit": "SNV-TCCB", "period": PERIOD}).status_code == 200
    api = Api(client, "ttb")
    api.complete(api.task_for("ttb", "self_evaluation")["id"], scores_for(80))
    record = _record("ttb")
    # two earlier months, their results published (set directly: only the history matters here)
    for period, total, level in (("2030-01", 88.0, "B"), ("2030-02", 91.0, "A")):
        assert Api(client, "nva").post("/cycles", {"unit": "SNV-TCCB", "period": period}).status_code == 200
        earlier = _record("ttb", period)
        earlier.total, earlier.level = total, level
        earlier.published_at = datetime(2030, 3, 1, tzinfo=timezone.utc)
        db.session.commit()

    login(client, "ttb")
    html = client.get(f"/instances/{record.instance_id}").get_data(as_text=True)
    current = re.search(
        r'<li class="stage-current" aria-current="step">\s*<span[^>]*>[^<]*</span>\s*([^<]+)</li>', html
    )
    assert current and current.group(1).strip() == "Lãnh đạo chấm điểm"
    # history: the step's title from the process, not its id
    history = html[html.index('id="history"') :]
    assert "Cá nhân tự đánh giá, chấm điểm" in history and ">self_evaluation<" not in history
    data = json.loads(
        re.search(r'<script type="application/json" id="recent-data">(.*?)</script>', html, re.S).group(1)
    )
    assert data["labels"] == ["01/2030", "02/2030"] and data["totals"] == [88.0, 91.0] and data["levels"] == ["B", "A"]
    # the diagram waits behind its summary for the person; one language on the page
    assert re.search(r'<details class="diagram-details" id="diagram-details">', html)
    assert "Recent months" not in html

    en = client.get(f"/instances/{record.instance_id}?lang=en").get_data(as_text=True)
    assert re.search(r'aria-current="step">\s*<span[^>]*>Now:</span>\s*Manager\'s review', en)
    assert "Recent months" in en and "Kết quả các tháng gần đây" not in en
