"""Timers through `flask timers run --now`, and the other commands of README.md."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from app.extensions import db
from app.models import EvaluationRecord, HumanTask, Notification, ProcessInstance, Unit, User

from .conftest import PERIOD, user
from .support import Api, scores_for

# WD3 of April 2030 is Wednesday 3 April; WD2 is Tuesday 2 April (Vietnam time).
BEFORE_REMINDER = "2030-04-02T10:00:00+07:00"
AFTER_REMINDER = "2030-04-03T08:00:00+07:00"
AFTER_DEADLINE = "2030-04-04T08:00:00+07:00"


def _cli(ctx, *args):
    result = ctx.test_cli_runner().invoke(args=list(args))
    return result


def test_open_month_command_is_idempotent(ctx):
    first = _cli(ctx, "open-month", "--unit", "SNV", "--period", PERIOD, "--include-subunits")
    assert first.exit_code == 0 and "started=12 skipped=0" in first.output
    again = _cli(ctx, "open-month", "--unit", "SNV", "--period", PERIOD, "--include-subunits")
    assert "started=0 skipped=12" in again.output
    division = _cli(ctx, "open-month", "--unit", "SNV-CCVC", "--period", "2030-04")
    assert "started=5 skipped=0" in division.output
    bad = _cli(ctx, "open-month", "--unit", "SNV", "--period", "2030/04")
    assert bad.exit_code != 0 and "YYYY-MM" in bad.output
    assert db.session.scalar(select(func.count()).select_from(ProcessInstance)) == 17


def test_self_evaluation_deadline_passes(ctx, client):
    _cli(ctx, "open-month", "--unit", "SNV-TCCB", "--period", PERIOD)
    ttb = Api(client, "ttb")
    done = ttb.task_for("ttb", "self_evaluation")
    ttb.complete(done["id"], scores_for(85))

    early = _cli(ctx, "timers", "run", "--now", BEFORE_REMINDER)
    assert early.exit_code == 0 and "fired=0" in early.output

    reminded = _cli(ctx, "timers", "run", "--now", AFTER_REMINDER)
    assert reminded.exit_code == 0
    lvc = user("lvc")
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(Notification.user_id == lvc.id, Notification.kind == "reminder")
        )
        == 1
    )
    assert (
        db.session.scalars(select(HumanTask).where(HumanTask.subject_id == lvc.id, HumanTask.step == "self_evaluation"))
        .one()
        .status
        == "ready"
    )

    _cli(ctx, "timers", "run", "--now", AFTER_DEADLINE)
    db.session.expire_all()
    closed = db.session.scalars(
        select(HumanTask).where(HumanTask.subject_id == lvc.id, HumanTask.step == "self_evaluation")
    ).one()
    assert closed.status == "cancelled"
    review = db.session.scalars(
        select(HumanTask).where(HumanTask.subject_id == lvc.id, HumanTask.step == "review")
    ).one()
    assert review.status == "ready" and review.assignee.username == "tptc"
    record = db.session.scalars(select(EvaluationRecord).where(EvaluationRecord.subject_id == lvc.id)).one()
    assert record.self_evaluation_missed and record.self_total is None and record.status == "review"
    # ttb had submitted in time: untouched by the deadline, no reminder
    ttb_record = db.session.scalars(select(EvaluationRecord).where(EvaluationRecord.subject_id == user("ttb").id)).one()
    assert not ttb_record.self_evaluation_missed and ttb_record.self_total == 85
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(Notification.user_id == user("ttb").id, Notification.kind == "reminder")
        )
        == 0
    )

    # the manager scores without a self-evaluation
    tptc = Api(client, "tptc")
    task = tptc.task_for("lvc", "review")
    detail = tptc.get(f"/tasks/{task['id']}").get_json()
    # nothing to take over from a self-evaluation: no scores, only the month's 21 working days prefilled
    assert detail["data"] == {"days_worked": 21, "items": []}
    tptc.complete(task["id"], dict(scores_for(72), days_worked=20))
    db.session.expire_all()
    assert record.total == 72 and record.level == "B"

    # running the same instant again fires nothing twice
    assert "fired=0" in _cli(ctx, "timers", "run", "--now", AFTER_DEADLINE).output
    assert "needs an offset" in _cli(ctx, "timers", "run", "--now", "2030-04-04T08:00:00").output


def test_import_org_is_idempotent_and_all_or_nothing(ctx, tmp_path):
    good = {
        "units": [
            {"code": "SXD", "name": "Sở Xây dựng", "parent": "UBTP", "is_agency": True},
            {"code": "SXD-QLN", "name": "Phòng Quản lý nhà", "parent": "SXD", "is_agency": False},
        ],
        "people": [
            {
                "username": "gdxd",
                "full_name": "Ngô Văn Xây",
                "unit": "SXD",
                "position_group": "leader",
                "manager": "chutich",
                "password": "MatKhau@123",
            },
            {"username": "nvxd", "full_name": "Đặng Thị Nhà", "unit": "SXD-QLN", "manager": "gdxd"},
        ],
        "heads": [{"unit": "SXD", "username": "gdxd"}],
    }
    path = tmp_path / "org.json"
    path.write_text(json.dumps(good, ensure_ascii=False), encoding="utf-8")
    first = _cli(ctx, "import-org", str(path))
    assert first.exit_code == 0, first.output
    assert "nvxd" not in first.output and "MatKhau@123" not in first.output  # no password is handed out
    assert user("nvxd").password_hash == "" and user("gdxd").check_password("MatKhau@123")
    again = _cli(ctx, "import-org", str(path))
    assert again.exit_code == 0
    assert db.session.scalar(select(func.count()).select_from(User).where(User.username.in_(["gdxd", "nvxd"]))) == 2
    sxd = db.session.scalars(select(Unit).where(Unit.code == "SXD")).one()
    assert sxd.head.username == "gdxd" and user("nvxd").manager.username == "gdxd"

    bad = dict(
        good,
        people=good["people"]
        + [
            {"username": "moi", "full_name": "Người Mới", "unit": "SXD-QLN"},
            {"username": "sai", "full_name": "Sai Đơn Vị", "unit": "KHONG-CO"},
            {"username": "sai2", "full_name": "Sai Nhóm", "unit": "SXD", "position_group": "boss"},
        ],
    )
    path.write_text(json.dumps(bad, ensure_ascii=False), encoding="utf-8")
    refused = _cli(ctx, "import-org", str(path))
    assert refused.exit_code != 0
    assert "people dòng 4" in refused.output and "people dòng 5" in refused.output
    assert db.session.scalar(select(func.count()).select_from(User).where(User.username == "moi")) == 0

    csv_path = tmp_path / "people.csv"
    csv_path.write_text(
        "username,full_name,email,unit,position_group,manager,roles,password\n"
        "csvuser,Trịnh Văn Sê,,SXD-QLN,staff,gdxd,,MatKhau@123\n",
        encoding="utf-8",
    )
    assert _cli(ctx, "import-org", str(csv_path)).exit_code == 0
    assert user("csvuser").unit.code == "SXD-QLN"


def test_a_month_opened_late_counts_deadlines_from_the_opening_day(ctx, client):
    """Opening October on 20 November must not close everyone's self-evaluation at once."""
    from datetime import datetime, timezone

    from app.engine import clock

    opened = datetime(2030, 5, 20, 9, 0, tzinfo=timezone.utc)  # Monday 20 May 2030, for April
    with clock.frozen_at(opened):
        assert "started=5" in _cli(ctx, "open-month", "--unit", "SNV-TCCB", "--period", "2030-04").output
    task = db.session.scalars(select(HumanTask).where(HumanTask.subject_id == user("ttb").id)).one()
    # WD3 counted from Monday 20 May: Wednesday 22 May, end of day in Hanoi
    assert task.due_at == datetime(2030, 5, 22, 16, 59, 59, tzinfo=timezone.utc)
    assert "fired=0" in _cli(ctx, "timers", "run", "--now", "2030-05-21T08:00:00+07:00").output


def test_overdue_decision_is_flagged_to_its_holder_and_hr_once(ctx, client):
    _cli(ctx, "open-month", "--unit", "SNV-TCCB", "--period", PERIOD)
    ttb = Api(client, "ttb")
    ttb.complete(ttb.task_for("ttb", "self_evaluation")["id"], scores_for(85))
    tptc = Api(client, "tptc")
    tptc.complete(tptc.task_for("ttb", "review")["id"], dict(scores_for(85), days_worked=20))
    after_wd8 = "2030-04-12T08:00:00+07:00"  # WD8 of April 2030 is Thursday 11 April
    out = _cli(ctx, "timers", "run", "--now", after_wd8).output
    assert "overdue=" in out
    decision = db.session.scalars(
        select(HumanTask).where(HumanTask.subject_id == user("ttb").id, HumanTask.step == "decision")
    ).one()
    assert decision.status == "ready" and decision.overdue_notified_at is not None  # flagged, not decided
    notes = db.session.scalars(
        select(Notification).where(Notification.kind == "overdue", Notification.message.contains("Trần Thị Bình"))
    ).all()
    assert {n.user_id for n in notes} >= {user("gd").id, user("nva").id}
    _cli(ctx, "timers", "run", "--now", after_wd8)
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(
                Notification.kind == "overdue",
                Notification.message.contains("Trần Thị Bình"),
                Notification.user_id == user("gd").id,
            )
        )
        == 1
    )


def test_a_designer_moves_a_deadline_by_editing_the_bpmn_alone(ctx):
    """WD3 → WD4 in the diagram's init script: a new version, the new month follows it."""
    from app.services.process_design import versions

    files = versions.files_from_disk()
    files["monthly_evaluation.bpmn"] = files["monthly_evaluation.bpmn"].replace(
        "self_evaluation_due = wd_deadline(period, 3, opened_at)",
        "self_evaluation_due = wd_deadline(period, 4, opened_at)",
    )
    version = versions.publish(files, note="WD4")
    db.session.commit()
    assert version.version == 2
    _cli(ctx, "open-month", "--unit", "SNV-TCCB", "--period", PERIOD)
    task = db.session.scalars(select(HumanTask).where(HumanTask.subject_id == user("ttb").id)).one()
    from datetime import datetime, timezone

    assert task.due_at == datetime(2030, 4, 4, 16, 59, 59, tzinfo=timezone.utc)  # Thursday = WD4
