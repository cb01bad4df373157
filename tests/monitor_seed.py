"""A month of the demo agency (Sở Nội vụ, 12 people) in known states, for the dashboard, list,
export and operation tests (issue #5).

After `seed_month(client)` for PERIOD (2030-03):
  published (decided by gd):   ttb 92 → A, lvc 80 → B, tptc 75 → B        (SNV-TCCB)
  review (self-evaluated):     nva, ptd (held by tptc)                     (SNV-TCCB)
                               hve (held by tpcc)                          (SNV-CCVC)
  self_evaluation:             gd, admin (SNV-VP); tpcc, dtg, bti (SNV-CCVC); bti is suspended
  not evaluated:               vvh (marked by tpcc)                        (SNV-CCVC)
Self-evaluations are due at the end of 3 April 2030 (WD3), reviews at the end of 5 April (WD5):
at AFTER_SELF_DUE the five self-evaluations still waiting are overdue and nothing else is.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from app.extensions import db
from app.models import EvaluationRecord, HumanTask

from .conftest import PERIOD, user
from .support import Api, review_step, scores_for

AFTER_SELF_DUE = datetime.fromisoformat("2030-04-04T08:00:00+07:00")
SELF_EVALUATED = ("ttb", "lvc", "nva", "ptd", "tptc", "hve")
PUBLISHED = {"ttb": ("A", 92), "lvc": ("B", 80), "tptc": ("B", 75)}
SNV_PEOPLE = {"gd", "admin", "tpcc", "hve", "dtg", "vvh", "bti", "tptc", "nva", "ttb", "lvc", "ptd"}
TCCB_PEOPLE = {"tptc", "nva", "ttb", "lvc", "ptd"}


def record(username: str) -> EvaluationRecord:
    return db.session.scalars(
        select(EvaluationRecord).where(
            EvaluationRecord.subject_id == user(username).id, EvaluationRecord.period == PERIOD
        )
    ).one()


def instance_id(username: str) -> int:
    return record(username).instance_id


def ready_task(username: str, step: str | None = None) -> HumanTask:
    query = select(HumanTask).where(HumanTask.subject_id == user(username).id, HumanTask.status == "ready")
    if step:
        query = query.where(HumanTask.step == step)
    return db.session.scalars(query).one()


def open_month(client, unit: str = "SNV") -> Api:
    hr = Api(client, "nva")
    resp = hr.post("/cycles", {"unit": unit, "period": PERIOD, "include_subunits": True})
    assert resp.status_code == 200, resp.get_json()
    return hr


def self_evaluate(client, username: str, total: float = 85) -> None:
    api = Api(client, username)
    task = api.task_for(username, "self_evaluation")
    api.complete(
        task["id"], dict(scores_for(total, username in ("tptc", "tpcc", "gd")), comment=f"Tự đánh giá của {username}")
    )


def review(client, reviewer: str, subject: str, total: float) -> None:
    api = Api(client, reviewer)
    task = api.task_for(subject, review_step(subject))
    api.complete(
        task["id"],
        dict(scores_for(total, subject in ("tptc", "tpcc", "gd")), days_worked=21, comment=f"Nhận xét {subject}"),
    )


def seed_month(client) -> Api:
    hr = open_month(client)
    for username in SELF_EVALUATED:
        self_evaluate(client, username)
    review(client, "tptc", "ttb", 92)
    review(client, "tptc", "lvc", 80)
    review(client, "gd", "tptc", 75)
    gd = Api(client, "gd")
    resp = gd.post(
        "/decisions", {"unit": "SNV", "period": PERIOD, "items": [{"instance_id": instance_id(u)} for u in PUBLISHED]}
    )
    assert resp.status_code == 200, resp.get_json()
    resp = Api(client, "tpcc").post(f"/instances/{instance_id('vvh')}/not-evaluated", {"reason": "Nghỉ ốm cả tháng"})
    assert resp.status_code == 200, resp.get_json()
    resp = hr.post(f"/instances/{instance_id('bti')}/suspend", {"reason": "Đang xác minh việc điều động"})
    assert resp.status_code == 200, resp.get_json()
    db.session.expire_all()
    return hr
