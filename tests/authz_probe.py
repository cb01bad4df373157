"""Shared set-up for the authorization matrix: people in every role and an evaluation to poke at."""

from __future__ import annotations

import io

from sqlalchemy import select

from app.extensions import db
from app.models import HumanTask, ProcessVersion, User

from .conftest import PERIOD, user
from .support import Api, scores_for

ROLES = ["anonymous", "other_staff", "subject", "manager", "decider", "hr", "designer", "admin"]
USERS = {
    "other_staff": "hve",
    "subject": "ttb",
    "manager": "tptc",
    "decider": "gd",
    "hr": "nva",
    "designer": "tkqt",
    "admin": "admin",
}


def scenario(client) -> dict:
    designer = User(
        username="tkqt",
        full_name="Thiết Kế Quy Trình",
        unit_id=user("admin").unit_id,
        position_group="staff",
        roles="designer",
    )
    designer.set_password("DanhGia@2026")
    db.session.add(designer)
    db.session.commit()
    assert Api(client, "nva").post("/cycles", {"unit": "SNV-TCCB", "period": PERIOD}).status_code == 200
    ttb = Api(client, "ttb")
    ttb.complete(ttb.task_for("ttb", "self_evaluation")["id"], scores_for(80))
    review = db.session.scalars(
        select(HumanTask).where(HumanTask.subject_id == user("ttb").id, HumanTask.step == "review")
    ).one()
    version = db.session.scalars(select(ProcessVersion)).first()
    upload = client.post(
        f"/api/v1/instances/{review.instance_id}/evidence",
        headers=ttb.headers,
        data={"file": (io.BytesIO(b"%PDF-1.4\n%%EOF\n"), "minh-chung.pdf")},
        content_type="multipart/form-data",
    )
    assert upload.status_code == 201, upload.get_json()
    return {
        "instance_id": review.instance_id,
        "task_id": review.id,
        "version_id": version.id,
        "evidence_id": upload.get_json()["id"],
        "filter_id": 1,
        "draft_id": 1,
        "code": "hanoi-monthly",
        "name": "review.json",
        "op": "suspend",
        "filename": "app.css",
    }
