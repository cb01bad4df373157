"""A timer worker killed with SIGKILL in the middle of a run leaves every instance either fired
and saved, or untouched; the next run fires the rest, each exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter

from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, HumanTask, ProcessInstance
from app.services.evaluation import cycles, instances

AFTER_WD3 = "2030-04-04T08:00:00+07:00"  # every self-evaluation of March 2030 is past its deadline


def _consistent(instance: ProcessInstance) -> bool:
    """The projection agrees with the snapshot: the ready human tasks are the workflow's."""
    ready_rows = {
        t.task_uuid
        for t in db.session.scalars(
            select(HumanTask).where(HumanTask.instance_id == instance.id, HumanTask.status == "ready")
        )
    }
    return ready_rows == {t.uuid for t in instances.load(instance).ready_tasks()}


def test_worker_killed_mid_run_leaves_nothing_half_done(ctx):
    cycles.open_month("SNV", "2030-03", include_subunits=True)  # 12 instances, all due after WD3
    env = dict(
        os.environ,
        DATABASE_URL=ctx.config["SQLALCHEMY_DATABASE_URI"],
        INSTANCE_PATH=ctx.instance_path,
        PYTHONUNBUFFERED="1",
    )
    worker = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "app", "timers", "run", "--now", AFTER_WD3],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    deadline = time.time() + 60
    while time.time() < deadline:  # kill it after the first instance fired
        db.session.expire_all()
        if db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "timer_fired")):
            break
        time.sleep(0.05)
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=30)
    db.session.expire_all()
    fired_first = db.session.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "timer_fired")
    )
    assert 1 <= fired_first <= 12
    for instance in db.session.scalars(select(ProcessInstance)):
        assert _consistent(instance), instance.id

    rerun = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", "timers", "run", "--now", AFTER_WD3],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    db.session.expire_all()
    per_instance = Counter(
        e.instance_id for e in db.session.scalars(select(AuditEvent).where(AuditEvent.action == "timer_fired"))
    )
    assert set(per_instance.values()) == {1} and len(per_instance) == 12  # each fired exactly once
    for instance in db.session.scalars(select(ProcessInstance)):
        assert _consistent(instance)
        assert "self_evaluation" not in instance.step
