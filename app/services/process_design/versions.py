"""Process versions: the files under processes/ and forms/ become an immutable, numbered version."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from flask import current_app
from sqlalchemy import func, select

from app.engine import specs, validation
from app.forms import instructions
from app.extensions import db
from app.models import ProcessVersion, User

from app.services.errors import Invalid

PROCESS_KEY = specs.PROCESS_ID


def files_from_disk() -> dict[str, str]:
    files = {}
    for folder, patterns in (
        (current_app.config["PROCESSES_DIR"], ("*.bpmn", "*.dmn")),
        (current_app.config["FORMS_DIR"], ("*.json",)),
    ):
        for pattern in patterns:
            for path in sorted(Path(folder).glob(pattern)):
                files[path.name] = path.read_text(encoding="utf-8")
    return files


def digest(files: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(files, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def latest_published(process_key: str = PROCESS_KEY) -> ProcessVersion | None:
    return db.session.scalars(
        select(ProcessVersion)
        .where(ProcessVersion.process_key == process_key, ProcessVersion.status == "published")
        .order_by(ProcessVersion.version.desc())
        .limit(1)
    ).first()


# Roles the resolver (services/organisation/authority.py) knows without asking the database.
KNOWN_ROLES = ("subject", "direct_manager", "decider", "superior_decider", "hr_officer")
APP_FORMS = ("appeal.json",)  # used by the app itself (the appeal page), not by a task of the diagram


def role_exists(role: str) -> bool:
    """Does some active user hold the named group `role`? (a lane "Chi bộ [party_cell]")"""
    candidates = db.session.scalars(select(User.roles).where(User.active.is_(True), User.roles.contains(role)))
    return any(role in (roles or "").split() for roles in candidates)


def notice_kinds() -> set[str]:
    """The kinds of notify() a script may ask for: those instances._notify turns into messages (any
    other kind would be dropped without a word)."""
    from app.services.evaluation.instances import NOTIFY_TEXT

    return set(NOTIFY_TEXT) | {"reminder", "escalation"}


def validate(files: dict[str, str], process_key: str = PROCESS_KEY) -> list[validation.Finding]:
    """Every finding of the designer's lint (app/engine/validation.py) for a set of files."""
    return validation.validate(
        files,
        process_id=process_key,
        role_exists=role_exists,
        known_roles=KNOWN_ROLES,
        app_forms=APP_FORMS,
        notice_kinds=notice_kinds(),
        instructions_refusal=instructions.refusal,
    )


class ValidationFailed(Invalid):
    def __init__(self, findings: list[validation.Finding]):
        problems = validation.errors(findings)
        super().__init__(
            f"Quy trình còn {len(problems)} lỗi, chưa thể ban hành.",
            f"The process cannot be published: errors to fix: {len(problems)}.",
            [{"field": f"{f.file or ''}#{f.element or ''}", **f.to_dict()} for f in problems],
        )
        self.findings = findings


def publish(files: dict[str, str], *, actor=None, note: str = "", process_key: str = PROCESS_KEY) -> ProcessVersion:
    """Publish `files` as a new version unless the latest published one is identical.
    A set of files with validation errors is refused (ValidationFailed, 422) before anything is stored."""
    sha = digest(files)
    current = latest_published(process_key)
    if current is not None and current.sha256 == sha:
        return current
    findings = validate(files, process_key)
    if validation.errors(findings):
        raise ValidationFailed(findings)
    number = (
        db.session.scalar(select(func.max(ProcessVersion.version)).where(ProcessVersion.process_key == process_key))
        or 0
    ) + 1
    version = ProcessVersion(
        process_key=process_key,
        version=number,
        files=files,
        sha256=sha,
        status="published",
        note=note,
        created_by_id=actor.id if actor is not None else None,
    )
    db.session.add(version)
    db.session.flush()
    return version


DISK_NOTE = "processes/ + forms/"


def sync_from_disk() -> ProcessVersion:
    """Publish processes/ + forms/ when they changed since they were last published from disk.

    A version a designer published in the browser stays the latest until the files on disk
    change (a deployment), so running a command never silently reverts a designer's work.
    """
    from app.services.regulation import schemes

    schemes.ensure_seeded()  # the default criteria schemes ship with the code, too
    files = files_from_disk()
    last_from_disk = db.session.scalars(
        select(ProcessVersion)
        .where(ProcessVersion.process_key == PROCESS_KEY, ProcessVersion.note == DISK_NOTE)
        .order_by(ProcessVersion.version.desc())
        .limit(1)
    ).first()
    if last_from_disk is not None and last_from_disk.sha256 == digest(files):
        return latest_published() or last_from_disk
    return publish(files, note=DISK_NOTE)
