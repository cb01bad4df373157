"""Process designers: drafts, validation, publishing, diffs, moving running instances, test runs.

A draft is an editable set of files (BPMN, DMN, form JSON) kept in `process_drafts`. Publishing
validates it (app/engine/validation.py through versions.publish) and copies the files into a new,
immutable ProcessVersion; months opened afterwards start on it, running instances keep theirs until
a designer moves them (dry run first, then the move under the instance lock, audited).
Every change to a draft is an audit event (`design_*`, no instance).
"""

from __future__ import annotations

import json
import logging
import re
from datetime import datetime

from sqlalchemy import func, select

from app import localtime
from app import forms, i18n
from app.engine import dmntable, migration, specs, testrun, validation
from app.extensions import db
from app.labels import STATUS_LABELS
from app.models import AuditEvent, ProcessDraft, ProcessInstance, ProcessVersion, User
from app.rules import schemes as scheme_rules
from app.rules.workdays import month_after, parse_period
from app.models.types import utcnow
from app.models.workflow import TASK_READY

from app.services import audit, transaction, unit_of_work
from app.services.evaluation import instances, steps, tasks
from app.services.organisation import authority
from . import versions
from app.services.errors import BadRequest, Conflict, Invalid, NotFound

PROCESS_KEY = versions.PROCESS_KEY
log = logging.getLogger(__name__)
ROLE_CHOICES = [(role, label) for role, label in authority.ROLE_LABELS.items()]


def step_statuses() -> list[dict]:
    """The record statuses a step may declare (stepStatus), labelled for the properties panel."""
    labels = STATUS_LABELS
    return [
        {"status": s, "label": labels[s], "label_en": i18n.translate_in("en", labels[s])} for s in steps.STEP_STATUSES
    ]


FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,100}\.(bpmn|dmn|json)$")
MAX_FILES = 40
RUNNING = ("running", "suspended")


def _line(text, limit: int = 255) -> str:
    """A one-line label (draft name, version note): no control characters (PostgreSQL refuses NUL)."""
    return "".join(ch for ch in str(text) if ch >= " ").strip()[:limit]


def can_design(user: User) -> bool:
    return user.is_authenticated and (user.has_role("designer") or user.has_role("admin"))


# ------------------------------------------------------------------------------------ overview
def overview(process_key: str = PROCESS_KEY) -> dict:
    """Published versions (newest first, the current one marked) with their running instances, and drafts."""
    rows = db.session.scalars(
        select(ProcessVersion).where(ProcessVersion.process_key == process_key).order_by(ProcessVersion.version.desc())
    ).all()
    running = dict(
        db.session.execute(
            select(ProcessInstance.version_id, func.count())
            .where(ProcessInstance.status.in_(RUNNING))
            .group_by(ProcessInstance.version_id)
        ).all()
    )
    current = versions.latest_published(process_key)
    listed = []
    for v in rows:
        state = (
            "current"
            if current is not None and v.id == current.id
            else ("retired" if v.status == "published" else v.status)
        )
        author = db.session.get(User, v.created_by_id) if v.created_by_id else None
        listed.append({"version": v, "state": state, "running": running.get(v.id, 0), "author": author})
    drafts = db.session.scalars(
        select(ProcessDraft)
        .where(ProcessDraft.process_key == process_key)
        .order_by(ProcessDraft.status != "open", ProcessDraft.updated_at.desc())
    ).all()
    return {"versions": listed, "drafts": drafts, "current": current}


def get_version(version_id: int) -> ProcessVersion:
    version = db.session.get(ProcessVersion, version_id)
    if version is None:
        raise NotFound(f"Không có phiên bản #{version_id}.", f"No version #{version_id}.")
    return version


# -------------------------------------------------------------------------------------- drafts
def get_draft(draft_id: int) -> ProcessDraft:
    draft = db.session.get(ProcessDraft, draft_id)
    if draft is None:
        raise NotFound(f"Không có bản nháp #{draft_id}.", f"No draft #{draft_id}.")
    return draft


def _editable(draft_id: int) -> ProcessDraft:
    draft = get_draft(draft_id)
    if draft.status != "open":
        raise Conflict(
            "Bản nháp này đã ban hành hoặc đã hủy, không sửa được nữa; hãy tạo bản nháp mới.",
            "This draft was published or discarded and cannot change; start a new draft.",
        )
    return draft


def _touch(draft: ProcessDraft, actor: User | None, files: dict[str, str] | None = None) -> None:
    if files is not None:
        draft.files = files  # a new dict: the JSON column notices the change
    draft.revision = (draft.revision or 0) + 1
    draft.updated_by_id = actor.id if actor is not None else None
    draft.updated_at = utcnow()


def create_draft(
    actor: User | None, base_version_id: int | None = None, name: str = "", process_key: str = PROCESS_KEY
) -> ProcessDraft:
    base = get_version(base_version_id) if base_version_id else versions.latest_published(process_key)
    if base is None:
        raise NotFound("Chưa có phiên bản nào để sao chép.", "There is no version to start from.")
    default_name = i18n.translate_in(i18n.current(), "Sửa từ phiên bản %(n)s", n=base.version)
    draft = ProcessDraft(
        process_key=process_key,
        name=_line(name) or default_name,
        base_version_id=base.id,
        files=dict(base.files),
        status="open",
        revision=1,
        created_by_id=actor.id if actor else None,
        updated_by_id=actor.id if actor else None,
    )
    db.session.add(draft)
    db.session.flush()
    audit.record("design_draft_created", actor=actor, details={"draft": draft.id, "base_version": base.version})
    db.session.flush()
    return draft


def _check_name(name: str) -> str:
    if not FILE_NAME.match(name or ""):
        raise BadRequest(
            f"Tên tệp “{name}” không hợp lệ: chỉ nhận .bpmn, .dmn, .json (chữ, số, “_”, “-”, “.”).",
            f"The file name “{name}” is not accepted: only .bpmn, .dmn, .json (letters, digits, _ - .).",
        )
    return name


def _checked_text(name: str, text: str) -> str:
    try:
        return validation.check_upload(name, text.encode("utf-8"))
    except validation.UploadRefused as exc:
        raise Invalid(
            exc.message, exc.message_en, [{"field": name, "message": exc.message, "message_en": exc.message_en}]
        ) from None


def save_file(
    draft_id: int, name: str, text: str, actor: User | None, base_revision: int | None = None
) -> ProcessDraft:
    """Create or replace one file of a draft. `base_revision` (the revision the editor loaded) turns a
    concurrent save by someone else into a 409 instead of a lost update."""
    draft = _editable(draft_id)
    _check_name(name)
    if base_revision is not None and base_revision != draft.revision:
        who = draft.updated_by.full_name if draft.updated_by else "người khác"
        raise Conflict(
            f"Bản nháp vừa được {who} sửa (lần lưu {draft.revision}); hãy tải lại trước khi lưu.",
            f"The draft changed meanwhile (revision {draft.revision}); reload before saving.",
        )
    text = _checked_text(name, text)
    files = dict(draft.files)
    if name not in files and len(files) >= MAX_FILES:
        raise Invalid(f"Một phiên bản có tối đa {MAX_FILES} tệp.", f"A version holds at most {MAX_FILES} files.")
    changed = files.get(name) != text
    files[name] = text
    if changed:
        _touch(draft, actor, files)
        audit.record(
            "design_file_saved",
            actor=actor,
            details={"draft": draft.id, "file": name, "size": len(text), "revision": draft.revision},
        )
    db.session.flush()
    return draft


def upload(draft_id: int, uploads: list[tuple[str, bytes]], actor: User | None) -> list[str]:
    """Files made elsewhere (Camunda Modeler, bpmn.io, a JSON editor): all or nothing."""
    draft = _editable(draft_id)
    if not uploads:
        raise BadRequest("Chưa chọn tệp nào.", "No file was chosen.")
    files, names, problems = dict(draft.files), [], []
    for raw_name, data in uploads:
        name = (raw_name or "").replace("\\", "/").rsplit("/", 1)[-1]
        try:
            files[name] = validation.check_upload(name, data)
            names.append(name)
        except validation.UploadRefused as exc:
            problems.append({"field": name, "message": exc.message, "message_en": exc.message_en})
    if problems:
        raise Invalid(problems[0]["message"], problems[0]["message_en"], problems)
    if len(files) > MAX_FILES:
        raise Invalid(f"Một phiên bản có tối đa {MAX_FILES} tệp.", f"A version holds at most {MAX_FILES} files.")
    _touch(draft, actor, files)
    audit.record(
        "design_uploaded", actor=actor, details={"draft": draft.id, "files": names, "revision": draft.revision}
    )
    db.session.flush()
    return names


def delete_file(draft_id: int, name: str, actor: User | None) -> ProcessDraft:
    draft = _editable(draft_id)
    files = dict(draft.files)
    if name not in files:
        raise NotFound(f"Bản nháp không có tệp {name}.", f"The draft has no file {name}.")
    del files[name]
    _touch(draft, actor, files)
    audit.record("design_file_deleted", actor=actor, details={"draft": draft.id, "file": name})
    db.session.flush()
    return draft


def discard(draft_id: int, actor: User | None) -> None:
    draft = _editable(draft_id)
    draft.status = "discarded"
    _touch(draft, actor)
    audit.record("design_discarded", actor=actor, details={"draft": draft.id})
    db.session.flush()


def history(draft: ProcessDraft, limit: int = 50) -> list[AuditEvent]:
    """Who changed what and when in this draft (newest first)."""
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action.like("design_%")).order_by(AuditEvent.id.desc()).limit(2000)
    ).all()
    return [e for e in events if (e.details or {}).get("draft") == draft.id][:limit]


# ---------------------------------------------------------------------------------- validation
def findings(files: dict[str, str], process_key: str = PROCESS_KEY) -> list[dict]:
    return [f.to_dict() for f in versions.validate(files, process_key)]


TAG = re.compile(r"^[a-z0-9][a-z0-9._-]{0,31}$")


def _tags(raw) -> str:
    """Tags of a version: lower-case words (letters, digits, . _ -), at most 10, space separated."""
    words = re.split(r"[\s,]+", str(raw or "").strip().lower())
    bad = [w for w in words if w and not TAG.match(w)]
    if bad or len([w for w in words if w]) > 10:
        raise Invalid(
            f"Nhãn không hợp lệ: {', '.join(bad) or 'quá 10 nhãn'} (chữ thường, số, “.”, “_”, “-”).",
            f"Invalid tags: {', '.join(bad) or 'more than 10'} (lower-case letters, digits, . _ -).",
            [{"field": "tags", "message": "Nhãn không hợp lệ.", "message_en": "Invalid tags."}],
        )
    return " ".join(dict.fromkeys(w for w in words if w))


def set_version_notes(version_id: int, notes: str, tags: str, actor: User | None) -> ProcessVersion:
    """Release notes and tags may be written after publishing (the files never change); audited."""
    version = get_version(version_id)
    clean_tags = _tags(tags)
    clean_notes = "".join(ch for ch in str(notes or "") if ch >= " " or ch in "\n\t")[:10000]
    before = {"notes": version.notes, "tags": version.tags}
    version.notes, version.tags = clean_notes, clean_tags
    audit.record(
        "design_version_noted",
        actor=actor,
        details={"version": version.version, "version_id": version.id, "before": before, "tags": clean_tags},
    )
    db.session.flush()
    return version


def publish_draft(draft_id: int, actor: User | None, note: str = "", tags: str = "", notes: str = "") -> ProcessVersion:
    draft = _editable(draft_id)
    current = versions.latest_published(draft.process_key)
    if current is not None and current.sha256 == versions.digest(draft.files):
        raise Conflict(
            "Bản nháp giống hệt phiên bản đang dùng, không có gì để ban hành.",
            "The draft is identical to the current version; nothing to publish.",
        )
    clean_tags = _tags(tags)
    _simulate_before_publishing(draft)
    version = versions.publish(
        dict(draft.files), actor=actor, note=_line(note or draft.name), process_key=draft.process_key
    )
    version.tags = clean_tags
    version.notes = "".join(ch for ch in str(notes or "") if ch >= " " or ch in "\n\t")[:10000]
    draft.status, draft.published_version_id = "published", version.id
    _touch(draft, actor)
    audit.record(
        "design_published",
        actor=actor,
        details={"draft": draft.id, "version": version.version, "version_id": version.id, "sha256": version.sha256},
    )
    db.session.flush()
    return version


def _simulate_before_publishing(draft: ProcessDraft) -> None:
    """Publish only what has run: the static checks, then every path simulated; any error refuses."""
    from . import simulate

    files = dict(draft.files)
    static = versions.validate(files, draft.process_key)
    if validation.errors(static):
        raise versions.ValidationFailed(static)
    simulated, _report = simulate.findings(files, draft.process_key)
    if validation.errors(simulated):
        log.info("publishing draft %s refused: the simulation failed", draft.id)
        raise versions.ValidationFailed(static + simulated)


def simulate_draft(files: dict[str, str], process_key: str = PROCESS_KEY) -> dict:
    """The static findings and, when they have no error, those of the simulation of every path."""
    from . import simulate

    static = versions.validate(files, process_key)
    out = {"findings": [f.to_dict() for f in static], "simulated": False}
    if validation.errors(static):
        return out
    simulated, report = simulate.findings(files, process_key)
    out["findings"] += [f.to_dict() for f in simulated]
    out["simulated"] = report is not None
    if report is not None:
        out.update(
            runs=report.runs,
            elements=sorted(report.elements),
            flows=sorted(report.flows),
            unreached=report.unreached,
            exhausted=report.exhausted,
        )
    return out


# ---------------------------------------------------------------------------------------- diff
def diff(old_files: dict[str, str], new_files: dict[str, str], process_key: str = PROCESS_KEY) -> dict:
    return migration.diff_versions(old_files, new_files, process_key)


# ----------------------------------------------------------------------------------- migration
def _target(version_id: int) -> ProcessVersion:
    target = get_version(version_id)
    if target.status != "published":
        raise Conflict("Chỉ chuyển được sang một phiên bản đã ban hành.", "Instances move only to a published version.")
    return target


def _mapping(raw) -> dict[str, str]:
    """A migration plan's mapping {old activity id: new activity id}, cleaned (ids only, no blanks)."""
    if not isinstance(raw, dict):
        return {}
    ident = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,200}$")
    return {str(k): str(v) for k, v in raw.items() if ident.match(str(k)) and ident.match(str(v or ""))}


def mapping_choices(version_id: int) -> dict:
    """What a mapping may name: the activities of the target version (id -> name)."""
    target = _target(version_id)
    spec = specs.load(target).spec
    return {
        name: getattr(ts, "bpmn_name", None) or name
        for name, ts in spec.task_specs.items()
        if getattr(ts, "bpmn_id", None) == name
    }


def migration_plan(version_id: int, mapping: dict[str, str] | None = None) -> list[dict]:
    """Dry run: every running instance on an older version of the process, whether it can move, where
    its waiting tasks would go (with the mapping) and why not."""
    target = _target(version_id)
    mapping = _mapping(mapping)
    new_loaded = specs.load(target)
    rows = db.session.scalars(
        select(ProcessInstance)
        .join(ProcessVersion, ProcessInstance.version_id == ProcessVersion.id)
        .where(
            ProcessInstance.status.in_(RUNNING),
            ProcessVersion.process_key == target.process_key,
            ProcessVersion.version < target.version,
        )
        .order_by(ProcessInstance.period, ProcessInstance.id)
    ).all()
    plan = []
    for instance in rows:
        entry = {
            "instance": instance,
            "id": instance.id,
            "from_version": instance.version.version,
            "step": instance.step,
            "status": instance.status,
        }
        try:
            result = migration.check(instances.load(instance).wf, new_loaded, mapping)
            entry.update(result.to_dict())
        except Exception as exc:  # a snapshot that does not load cannot move either
            log.warning("dry run: instance %s does not load: %r", instance.id, exc)
            entry.update(
                {
                    "can_move": False,
                    "blocking": [],
                    "moves": [],
                    "reasons": [
                        {
                            "element": "",
                            "state": "",
                            "change": "error",
                            "message": f"Không đọc được hồ sơ: {exc}",
                            "message_en": f"The instance does not load: {exc}",
                        }
                    ],
                }
            )
        plan.append(entry)
    return plan


def migrate_instance(
    instance_id: int, version_id: int, actor: User | None, mapping: dict[str, str] | None = None
) -> dict:
    """Move one instance onto `version_id` under its lock; refused (409) when the dry run says no."""
    target = _target(version_id)
    mapping = _mapping(mapping)
    with unit_of_work.edit(instance_id, actor, "migrated", allow=("suspended",)) as change:
        instance = change.instance
        status = instance.status
        old = instance.version
        if status not in RUNNING:
            raise Conflict(
                "Hồ sơ đã kết thúc, không cần chuyển phiên bản.", "The evaluation has ended; nothing to move."
            )
        if old.process_key != target.process_key or old.version >= target.version:
            raise Conflict(
                f"Hồ sơ đang ở phiên bản {old.version}, chỉ chuyển sang phiên bản mới hơn.",
                f"The evaluation runs version {old.version}; it moves only to a newer one.",
            )
        workflow = change.workflow
        new_loaded = specs.load(target)
        result = migration.check(workflow.wf, new_loaded, mapping)
        if not result.can_move:
            reasons = "; ".join(r["message"] for r in result.reasons)
            raise Conflict(
                f"Hồ sơ #{instance.id} không chuyển được: {reasons}.",
                f"Evaluation #{instance.id} cannot move: " + "; ".join(r["message_en"] for r in result.reasons),
                result.reasons,
            )
        used = {m["element"]: m["to"] for m in result.moves}
        dropped = migration.migrate(workflow.wf, new_loaded, used)
        workflow.loaded = new_loaded
        instance.version_id, instance.version = target.id, target
        _rename_open_tasks(instance, workflow)
        change.audit(
            "migrated",
            details={
                "from_version": old.version,
                "to_version": target.version,
                "mapping": used,
                "from_version_id": old.id,
                "to_version_id": target.id,
                "dropped_predictions": dropped,
            },
        )
        change.save()
        if status == "suspended":
            instance.status = status
    return {
        "id": instance.id,
        "moved": True,
        "from_version": old.version,
        "to_version": target.version,
        "moves": result.moves,
    }


def _rename_open_tasks(instance: ProcessInstance, workflow) -> None:
    """A waiting task moved to another activity keeps its id (nobody is re-notified); its row follows."""
    from app.models import HumanTask

    ready = {t.uuid: t for t in workflow.ready_tasks()}
    for row in db.session.scalars(
        select(HumanTask).where(HumanTask.instance_id == instance.id, HumanTask.status == TASK_READY)
    ):
        task = ready.get(row.task_uuid)
        if task is not None and (row.step != task.step or row.title != task.title):
            row.step, row.title = task.step, task.title


def _reopen_tasks(instance: ProcessInstance, workflow) -> list[dict]:
    """After a move back, the step's task is ready again under the same id: its row reopens (who had
    completed it, and when, stays in the audit event)."""
    from app.models import HumanTask

    ready = {t.uuid for t in workflow.ready_tasks()}
    out = []
    for row in db.session.scalars(
        select(HumanTask).where(
            HumanTask.instance_id == instance.id, HumanTask.task_uuid.in_(ready), HumanTask.status != TASK_READY
        )
    ):
        out.append(
            {
                "step": row.step,
                "status": row.status,
                "completed_by_id": row.completed_by_id,
                "completed_at": row.completed_at.isoformat() if row.completed_at else None,
            }
        )
        row.status, row.completed_at, row.completed_by_id = TASK_READY, None, None
    return out


BATCH = 50


def migrate_instances(
    instance_ids: list[int],
    version_id: int,
    actor: User | None,
    mapping: dict[str, str] | None = None,
    batch_size: int | None = None,
    done_before: int = 0,
    total: int | None = None,
) -> list[dict]:
    """Move several instances in batches, each instance in its own transaction (one that cannot move
    does not stop the others); every batch leaves an audit event with its progress. The migration page
    sends one batch per request to show the progress: `done_before` and `total` place it in the run.
    A batch job: it owns its transactions, one per instance and one per progress event."""
    from app.services.errors import ServiceError

    out = []
    ids = list(dict.fromkeys(instance_ids))
    batch_size = max(1, batch_size or BATCH)
    done_before = max(0, int(done_before or 0))
    total = max(int(total or 0), done_before + len(ids))
    for start in range(0, len(ids), max(1, batch_size)):
        batch = ids[start : start + batch_size]
        for instance_id in batch:
            try:
                with transaction.committed():
                    out.append(migrate_instance(instance_id, version_id, actor, mapping))
            except ServiceError as exc:
                out.append({"id": instance_id, "moved": False, "message": exc.message, "message_en": exc.message_en})
        moved = sum(1 for r in out if r["moved"])
        done = done_before + len(out)
        with transaction.committed():
            audit.record(
                "migration_batch",
                actor=actor,
                details={
                    "version_id": version_id,
                    "batch": (done_before + start) // max(1, batch_size) + 1,
                    "done": done,
                    "total": total,
                    "moved": moved,
                    "mapping": _mapping(mapping),
                },
            )
        log.info("migration to version %s: %s/%s done, %s moved in this batch", version_id, done, total, moved)
    return out


def repair_targets(instance_id: int) -> list[str]:
    instance = instances.get(instance_id)
    return migration.repair_targets(instances.load(instance).wf)


def move_instance(instance_id: int, element: str, actor: User | None, reason: str = "") -> dict:
    """A repair: move one running instance back to a step it has completed (the step is ready again,
    what came after is undone), audited with who, why, from where and to where."""
    reason = _line(reason, 500)
    if not reason:
        raise Invalid(
            "Ghi lý do chuyển hồ sơ.",
            "Give the reason for the move.",
            [{"field": "reason", "message": "Ghi lý do chuyển hồ sơ.", "message_en": "Give the reason."}],
        )
    with unit_of_work.edit(instance_id, actor, "instance_moved", allow=("suspended",)) as change:
        instance = change.instance
        if instance.status not in RUNNING:
            raise Conflict("Hồ sơ đã kết thúc, không chuyển bước được.", "The evaluation has ended; it cannot move.")
        workflow = change.workflow
        if element not in migration.repair_targets(workflow.wf):
            raise Invalid(
                f"Hồ sơ chưa qua bước {element}: chỉ chuyển về được một bước đã làm.",
                f"The evaluation has not been through {element}: it moves back only to a step it has done.",
                [
                    {
                        "field": "element",
                        "message": f"Không chuyển về được {element}.",
                        "message_en": f"Cannot move back to {element}.",
                    }
                ],
            )
        before = instance.step
        migration.move_to(workflow.wf, element)
        reopened = _reopen_tasks(instance, workflow)
        change.audit("instance_moved", details={"from": before, "to": element, "reason": reason, "reopened": reopened})
        change.save()
    log.info("instance %s moved from %s to %s by %s", instance.id, before, element, actor.username if actor else None)
    return {"id": instance.id, "from": before, "to": element}


# ---------------------------------------------------------------------------------------- forms
def sample_context(position_group: str = "staff") -> dict:
    """What a form sees when previewed or test-run without a real month: the default scheme's criteria."""
    definition = scheme_rules.SCHEMES[scheme_rules.DEFAULT_SCHEME]
    return {
        "criteria": scheme_rules.criteria_for(definition, position_group),
        "criteria_groups": dict(definition["groups"]),
        "working_days": 22,
        "period": "2030-03",
        "allowed_levels": ["A", "B", "C", "D"],
        "subject": {"username": "mau", "full_name": "Nguyễn Văn Mẫu", "position_group": position_group},
    }


def form_preview(name: str, text: str, lang: str | None = None) -> dict:
    """HTML of a form schema rendered the way a task page renders it (in the reader's language), or the
    reason it cannot be: `errors` in Vietnamese, `errors_en` in English."""
    lang = lang or i18n.current()
    try:
        json.loads(text)
    except (ValueError, RecursionError) as exc:
        return {"html": "", "errors": [f"JSON không hợp lệ: {exc}"], "errors_en": [f"Invalid JSON: {exc}"]}
    try:
        schema = forms.load_form({name or "form.json": text}, name or "form.json")
        context = sample_context()
        expanded = forms.expand(schema, context)
        return {
            "html": str(forms.render(expanded, sample_data(expanded), [], context, lang=lang)),
            "errors": [],
            "errors_en": [],
        }
    except forms.FormError as exc:  # the form module's messages are English
        return {"html": "", "errors": [str(exc)], "errors_en": [str(exc)]}
    except Exception as exc:  # a schema the renderer cannot draw: say so, not a 500
        return {
            "html": "",
            "errors": [f"Không hiển thị được biểu mẫu: {exc}"],
            "errors_en": [f"The form cannot be rendered: {exc}"],
        }


def sample_data(schema: dict) -> dict:
    """Answers that satisfy a form: required fields and fields with a default."""
    return _sample_object(schema, schema) or {}


def _sample_object(root: dict, node: dict) -> dict:
    from app.forms.schema import deref

    node = deref(root, node)
    out = {}
    required = set(node.get("required") or [])
    for key, prop in (node.get("properties") or {}).items():
        prop = deref(root, prop)
        if prop.get("readOnly"):
            continue
        if key in required or "default" in prop:
            value = _sample_value(root, prop)
            if value is not None:
                out[key] = value
    return out


def full_item(root: dict, prop: dict):
    """A value of `prop` with every optional field of an object filled in too (one row of a list)."""
    from app.forms.schema import deref

    prop = deref(root, prop)
    if isinstance(prop.get("properties"), dict) and not prop.get("x-criteria"):
        out = {}
        for key, sub in prop["properties"].items():
            sub = deref(root, sub) if isinstance(sub, dict) else {}
            if sub.get("readOnly"):
                continue
            value = _sample_value(root, sub)
            if value is not None:
                out[key] = value
        return out
    return _sample_value(root, prop)


def _sample_value(root: dict, prop: dict):
    if "default" in prop:
        return prop["default"]
    if "const" in prop:
        return prop["const"]
    options = forms.enum_options(prop)
    if options:
        return options[0][0]
    kind = prop.get("type")
    kind = next((k for k in kind if k != "null"), None) if isinstance(kind, list) else kind
    if kind == "object" or "properties" in prop:
        if prop.get("x-criteria") or all(
            isinstance(p, dict) and p.get("x-code") for p in (prop.get("properties") or {}).values()
        ):
            return {k: p.get("maximum", 0) for k, p in (prop.get("properties") or {}).items()}
        return _sample_object(root, prop)
    if kind in ("number", "integer"):
        value = prop.get("maximum", prop.get("minimum", 0))
        return int(value) if kind == "integer" else value
    if kind == "boolean":
        return False
    if kind == "array":
        # as few rows as the form allows (a row with only its required fields)
        item, count = prop.get("items"), int(prop.get("minItems") or 0)
        if not isinstance(item, dict) or count <= 0:
            return []
        from app.forms.schema import deref

        value = _sample_value(root, deref(root, item))
        return [value] * count if value is not None else []
    if kind == "string":
        if prop.get("format") == "date":
            return "2030-03-31"
        text = "Nội dung mẫu cho chạy thử"
        low, high = prop.get("minLength", 0), prop.get("maxLength")
        if len(text) < low:
            text = (text + " ") * (low // len(text) + 1)
        return text[:high] if high else text
    return None


# ---------------------------------------------------------------------------------- DMN tables
def dmn_tables(text: str) -> list[dict]:
    try:
        return dmntable.read_tables(text)
    except dmntable.TableError as exc:
        raise Invalid(f"Không đọc được bảng quyết định: {exc}", f"Cannot read the decision table: {exc}") from None


def save_dmn_table(
    draft_id: int, name: str, decision_id: str, table: dict, actor: User | None, base_revision: int | None = None
) -> ProcessDraft:
    draft = _editable(draft_id)
    if name not in draft.files or not name.endswith(".dmn"):
        raise NotFound(f"Bản nháp không có bảng quyết định {name}.", f"The draft has no DMN file {name}.")
    try:
        text = dmntable.write_table(draft.files[name], decision_id, table)
    except dmntable.TableError as exc:
        raise Invalid(f"Không ghi được bảng quyết định: {exc}", f"Cannot write the decision table: {exc}") from None
    return save_file(draft_id, name, text, actor, base_revision)


# ------------------------------------------------------------------------------------ test run
def test_run(
    files: dict[str, str], *, subject: User, period: str, answers: dict | None = None, process_key: str = PROCESS_KEY
) -> dict:
    """Run `files` in memory for `subject`'s `period`: every user task is answered with sample data
    (or `answers[step]`; `None` leaves the task so that its deadline fires), timers fire when the
    process waits for them. Nothing is written and nobody is notified."""
    from app.services.regulation import schemes

    try:
        parse_period(period)
    except (ValueError, TypeError):
        raise BadRequest("Kỳ phải có dạng YYYY-MM.", "The period must be YYYY-MM.") from None
    answers = answers or {}
    refused = [f for f in versions.validate(files, process_key) if f.code == "element_not_supported"]
    if refused:
        raise Invalid(
            refused[0].message,
            refused[0].message_en,
            [
                {"field": f.element or "", "element": f.element, "message": f.message, "message_en": f.message_en}
                for f in refused
            ],
        )
    try:
        spec, subprocess_specs = specs.parse(files, process_key)
    except specs.SpecError as exc:
        raise Invalid(
            f"Quy trình chưa đọc được: {exc}",
            f"The process does not parse: {exc}",
            [{"field": exc.element or "", "message": str(exc), "message_en": str(exc)}],
        ) from None
    loaded = specs.loaded_from(spec, subprocess_specs, files)
    unit = subject.unit
    scheme = schemes.for_unit(unit, period)
    tz = localtime.zone()
    start = month_after(period)
    start_at = datetime(start.year, start.month, start.day, 8, 0, tzinfo=tz)
    answered: list[dict] = []

    def answer(task, now):
        title = task.title
        assignee = authority.resolve(task.role, subject, unit)
        entry = {
            "step": task.step,
            "title": title,
            "role": task.role,
            "assignee": assignee.full_name if assignee else None,
            "at": now.isoformat(timespec="minutes"),
            "form": task.form,
        }
        if task.step in answers and answers[task.step] is None:
            entry["skipped"] = True
            if not any(a.get("step") == task.step and a.get("skipped") for a in answered):
                answered.append(entry)
            return None
        context = tasks.form_context(task.data)
        try:
            schema = forms.expand(forms.load_form(files, task.form), context) if task.form else {"type": "object"}
        except forms.FormError as exc:  # its messages are English
            schema, entry["errors"], entry["errors_en"] = {"type": "object"}, [str(exc)], [str(exc)]
        data = sample_data(schema)
        if isinstance(answers.get(task.step), dict):
            data.update(answers[task.step])
        data = forms.strip_readonly(schema, data)
        problems = forms.validate(schema, data)
        if problems:
            entry["errors"] = entry.get("errors", []) + [f"{p.field}: {p.message}" for p in problems]
            entry["errors_en"] = entry.get("errors_en", []) + [
                f"{p.field}: {p.message_en or p.message}" for p in problems
            ]
        entry["data"] = data
        answered.append(entry)
        return data

    result = testrun.run(loaded, lambda: instances.seed_data(subject, period, scheme), answer, start_at)
    result.answers = answered
    out = result.to_dict()
    for entry in out["path"]:  # the step names of the diagram in English, when the catalog has them
        entry["name_en"] = i18n.translate_in("en", entry.get("name"))
    for entry in out["answers"]:
        entry["title_en"] = i18n.translate_in("en", entry.get("title"))
    out["subject"] = {"username": subject.username, "full_name": subject.full_name}
    out["period"] = period
    return out


def test_subject(username: str) -> User:
    """The person a test run is for, by username."""
    subject = db.session.scalars(select(User).where(User.username == username)).first()
    if subject is None:
        raise BadRequest("Chọn một người để chạy thử.", "Choose a person to run the test for.")
    return subject


def default_period() -> str:
    now = localtime.now()
    return f"{now.year:04d}-{now.month:02d}"


def named_groups() -> list[str]:
    """Named groups somebody holds (for the lane role picker): every role that is not a global one."""
    from app.models.org import GLOBAL_ROLES

    held = set()
    for roles in db.session.scalars(select(User.roles).where(User.active.is_(True), User.roles != "")):
        held |= set((roles or "").split())
    return sorted(held - set(GLOBAL_ROLES))


def sample_subjects(limit: int = 200) -> list[User]:
    return db.session.scalars(select(User).where(User.active.is_(True)).order_by(User.full_name).limit(limit)).all()


# ------------------------------------------------------------------------------------ helpers
def bpmn_file(files: dict[str, str]) -> str | None:
    return next((name for name in sorted(files) if name.endswith(".bpmn")), None)
