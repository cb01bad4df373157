"""What the instance page and the printable evaluation sheet (phiếu đánh giá) show beyond the record:
the diagram's markers (completed, active, overdue, failed), the open tasks with their holders and
due dates, the submitted forms read-only, a readable line per audit event, and the operations the
viewer may run. One instance at a time, so loading its workflow here is fine (lists never do)."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import datetime, timezone

from lxml import etree
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import defer, joinedload

from app import forms, i18n, localtime
from app.engine.specs import SAFE_XML_PARSER
from app.engine.steps import answer
from app.i18n import N_
from app.extensions import db
from app.labels import STATUS_LABELS
from app.models import AuditEvent, HumanTask, ProcessInstance, User
from app.models.workflow import TASK_READY
from app.rules.levels import LEVEL_NAMES, LEVEL_NAMES_EN

from . import instances, plans, why
from app.services.organisation import access, authority
from . import steps as process_steps
from .operations import AUTHORITY_LANES

log = logging.getLogger(__name__)

ERROR_RE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_.-]*)\s*:\s*(.*)$", re.S)


def listing(
    viewer: User,
    *,
    period: str | None = None,
    unit: str | None = None,
    status: str | None = None,
    step: str | None = None,
    by_unit: bool = False,
    limit: int = 500,
) -> list[ProcessInstance]:
    """The instances `viewer` may see (their scope, and their own), filtered: the web list (a month,
    by unit) and the API list (any filter, by id) are this one query. The record of each is loaded
    with it (one query for all), never the snapshots."""
    from .cycles import check_period, unit_by_code

    query = select(ProcessInstance).options(
        joinedload(ProcessInstance.subject),
        joinedload(ProcessInstance.unit),
        joinedload(ProcessInstance.record),
        defer(ProcessInstance.snapshot),
    )  # a list never needs snapshots
    scope = access.visible_unit_ids(viewer)
    if scope is not None:
        query = query.where(ProcessInstance.unit_id.in_(scope or {-1}) | (ProcessInstance.subject_id == viewer.id))
    if unit:
        query = query.where(ProcessInstance.unit_id.in_(unit_by_code(unit).subtree_ids()))
    if period:
        query = query.where(ProcessInstance.period == check_period(period))
    if status:
        query = query.where(ProcessInstance.status == status)
    if step:
        query = query.where(ProcessInstance.step.contains(step))
    order = (ProcessInstance.unit_id, ProcessInstance.id) if by_unit else (ProcessInstance.id,)
    return db.session.scalars(query.order_by(*order).limit(limit)).unique().all()


def events(instance: ProcessInstance) -> list[AuditEvent]:
    """The instance's audit trail, oldest first, with who acted."""
    return db.session.scalars(
        select(AuditEvent)
        .options(joinedload(AuditEvent.actor))
        .where(AuditEvent.instance_id == instance.id)
        .order_by(AuditEvent.id)
    ).all()


def ready_tasks(instance: ProcessInstance) -> list[HumanTask]:
    return db.session.scalars(
        select(HumanTask).where(HumanTask.instance_id == instance.id, HumanTask.status == TASK_READY)
    ).all()


def error_of(instance: ProcessInstance) -> dict | None:
    """`{element, message}` of an instance stopped by an engine error (the text is "element: message")."""
    if instance.status != "error" and not instance.error:
        return None
    text = instance.error or ""
    match = ERROR_RE.match(text)
    element, message = (match.group(1), match.group(2)) if match else (None, text)
    if element == "?":
        element = None
    return {"element": element, "message": message or text}


def diagram(instance: ProcessInstance, now: datetime | None = None) -> dict:
    """instances.diagram() plus `overdue` (waiting user tasks past their due time, from the
    projection) and `error` (the element an engine error names)."""
    now = now or datetime.now(timezone.utc)
    out = instances.diagram(instance)
    out["xml"] = _labels_in(out["xml"], i18n.current())
    out["overdue"] = sorted(
        {
            t.step
            for t in db.session.scalars(
                select(HumanTask).where(
                    HumanTask.instance_id == instance.id, HumanTask.status == TASK_READY, HumanTask.due_at < now
                )
            )
        }
    )
    err = error_of(instance)
    out["error"] = [err["element"]] if err and err["element"] else []
    out["status"] = instance.status
    return out


BPMN_MODEL = "http://www.omg.org/spec/BPMN/20100524/MODEL"


def _labels_in(xml: str, lang: str) -> str:
    """The diagram's labels (its elements' `name`s) in the reader's language: the catalog has the shipped
    process's (diagram_texts, step titles); a label a designer wrote keeps its own text."""
    if lang == i18n.DEFAULT or not xml:
        return xml
    try:
        root = etree.fromstring(xml.encode(), SAFE_XML_PARSER)
    except etree.XMLSyntaxError:
        log.warning("diagram not relabelled: its BPMN does not parse")
        return xml
    for el in root.iter(f"{{{BPMN_MODEL}}}*"):
        name = el.get("name")
        if name:
            el.set("name", i18n.translate_in(lang, name))
    return etree.tostring(root, encoding="unicode")


def open_tasks(instance: ProcessInstance, now: datetime | None = None) -> list[dict]:
    now = now or datetime.now(timezone.utc)
    rows = db.session.scalars(
        select(HumanTask)
        .options(joinedload(HumanTask.assignee))
        .where(HumanTask.instance_id == instance.id, HumanTask.status == TASK_READY)
        .order_by(HumanTask.id)
    ).all()
    out = []
    for t in rows:
        deputies = []
        if t.assignee is not None:
            deputies = [d.full_name for d in _deputies_of(t.assignee)]
        out.append(
            {
                "task": t,
                "overdue": bool(t.due_at and t.due_at < now),
                "deputies": deputies,
                "role": authority.ROLE_LABELS.get(t.lane_role or "", t.lane_role or ""),
                "can_reassign": t.lane_role not in AUTHORITY_LANES and t.lane_role != "subject",
            }
        )
    return out


def _deputies_of(user: User) -> list[User]:
    from app.models import Delegation

    today = authority.today()
    return db.session.scalars(
        select(User)
        .join(Delegation, Delegation.deputy_id == User.id)
        .where(
            Delegation.principal_id == user.id,
            Delegation.revoked.is_(False),
            Delegation.start <= today,
            Delegation.end >= today,
        )
    ).all()


def submitted_forms(instance: ProcessInstance) -> list[dict]:
    """Every completed task's form with what was submitted, read-only, oldest first. The data comes
    from the audit trail (what the person sent, as validated), the form from the instance's version."""
    done = db.session.scalars(
        select(HumanTask)
        .options(joinedload(HumanTask.completed_by), joinedload(HumanTask.on_behalf_of))
        .where(HumanTask.instance_id == instance.id, HumanTask.status == "completed")
        .order_by(HumanTask.completed_at, HumanTask.id)
    ).all()
    if not done:
        return []
    events = db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.instance_id == instance.id, AuditEvent.action == "task_completed")
        .order_by(AuditEvent.id)
    ).all()
    by_step: dict[str, list[AuditEvent]] = {}
    for e in events:
        by_step.setdefault(e.step or "", []).append(e)
    context = _context(instance)
    out = []
    for task in done:
        event = by_step.get(task.step, []).pop(0) if by_step.get(task.step) else None
        data = ((event.details or {}).get("data") if event else None) or {}
        html = _readonly(instance, task, data, context)
        out.append(
            {
                "task": task,
                "data": data,
                "html": html,
                "at": task.completed_at,
                "by": task.completed_by,
                "on_behalf_of": task.on_behalf_of,
            }
        )
    return out


def _context(instance: ProcessInstance) -> dict:
    try:
        return instances.load(instance).data()
    except Exception:  # a broken snapshot must not hide the page; forms then show without criteria names
        log.exception("instance %s: the snapshot does not load; its page shows without the data", instance.id)
        return {}


def _readonly(instance: ProcessInstance, task: HumanTask, data: dict, context: dict) -> Markup:
    if not task.form:
        return Markup("")
    try:
        schema = forms.expand(forms.load_form(instance.version.files, task.form), context)
    except Exception:  # a form that no longer expands must not hide the page either
        log.exception(
            "instance %s: form %s of step %s does not expand; shown without it", instance.id, task.form, task.step
        )
        return Markup("")
    body = {k: v for k, v in schema.items() if k not in ("$schema", "$id", "$defs", "definitions")}
    body.update(
        {
            "readOnly": True,
            "x-source": "submitted",
            "title": task.title,
            "x-empty-text": "Không nhập nội dung",
            "x-empty-text-en": "Nothing entered",
        }
    )
    wrapper = {"type": "object", "properties": {"submitted": body}, "x-expanded": True}
    for key in ("$defs", "definitions"):
        if key in schema:
            wrapper[key] = schema[key]
    return forms.render(wrapper, {"submitted": data}, [], {})


def describe(
    event: AuditEvent,
    lang: str | None = None,
    titles: dict[str, str] | None = None,
    names: dict[str, str] | None = None,
) -> str:
    """One line saying what changed, for the timeline, in the reader's language (what people typed —
    reasons, notes — is shown as typed). `titles` maps step ids to the process's titles and `names`
    usernames to people's names, so a line never shows an id where a person reads a title or a name."""
    lang = lang or i18n.current()
    titles = titles or {}
    names = names or {}

    def t(text: str, **params) -> str:
        return i18n.translate_in(lang, text, **params)

    def who(username) -> str:
        return names.get(username) or str(username or "—")

    def step(code) -> str:
        if code in titles:
            return t(titles[code])
        label = STATUS_LABELS.get(code or "")
        return t(label) if label else str(code or "—")

    d = event.details or {}
    a = event.action
    if a == "instance_started":
        return t(
            N_("Kỳ %(period)s, quy trình phiên bản %(version)s"),
            period=d.get("period", ""),
            version=d.get("version", ""),
        )
    if a == "task_assigned":
        role = authority.ROLE_LABELS.get(d.get("role") or "")
        role = t(role) if role else (d.get("role") or "")
        holder = who(d["assignee"]) if d.get("assignee") else t(N_("chưa xác định"))
        return f"→ {holder}" + (f" ({role})" if role else "")
    if a == "task_completed":
        data = d.get("data") or {}
        parts = []
        if data.get("return_for_revision"):
            parts.append(t(N_("trả lại để bổ sung: %(note)s"), note=data.get("revision_note", "")))
        if data.get("proposed_level"):
            parts.append(t(N_("đề xuất loại %(level)s"), level=data["proposed_level"]))
        if data.get("level"):
            parts.append(t(N_("quyết định loại %(level)s"), level=data["level"]))
        if data.get("outcome"):
            parts.append(t(N_("giữ nguyên kết quả")) if data["outcome"] == "keep" else t(N_("sửa điểm")))
        if data.get("reason"):
            parts.append(t(N_("lý do: %(reason)s"), reason=data["reason"]))
        if data.get("approve") is True:
            parts.append(t(N_("duyệt kế hoạch")))
        elif data.get("approve") is False:
            parts.append(t(N_("trả lại kế hoạch: %(note)s"), note=data.get("note", "")))
        elif isinstance(data.get("items"), list) and not data.get("scores"):
            parts.append(t(N_("%(n)s nhiệm vụ trong kế hoạch"), n=len(data["items"])))
        if isinstance(data.get("scores"), dict):
            parts.append(t(N_("%(n)s tiêu chí đã chấm"), n=len(data["scores"])))
        return "; ".join(parts) or t(N_("đã gửi biểu mẫu"))
    if a == "published":
        level = d.get("level")
        if not level:
            return ""
        name = (LEVEL_NAMES_EN if lang == "en" else LEVEL_NAMES).get(level, "")
        return t(
            N_("Tổng %(total)s điểm, loại %(level)s — %(name)s"),
            total=i18n.format_number(d.get("total"), lang),
            level=level,
            name=name,
        )
    if a == "task_reassigned":
        return t(
            N_("%(before)s → %(after)s; lý do: %(reason)s"),
            before=who(d.get("before")),
            after=who(d.get("after")),
            reason=d.get("reason", ""),
        )
    if a == "deadline_extended":
        return t(
            N_("hạn %(before)s → %(after)s; lý do: %(reason)s"),
            before=_date(d.get("before")),
            after=_date(d.get("after")),
            reason=d.get("reason", ""),
        )
    if a in ("instance_suspended", "instance_resumed", "instance_terminated", "not_evaluated"):
        return t(N_("lý do: %(reason)s"), reason=d.get("reason", ""))
    if a in ("engine_error", "retry_failed"):
        return str(d.get("error", ""))
    if a == "instance_retried":
        return t(N_("lỗi trước đó: %(error)s"), error=d.get("error", ""))
    if a == "timer_fired":
        return f"{step(d.get('before'))} → {step(d.get('after'))}"
    if a == "instance_moved":
        return t(
            N_("%(before)s → %(after)s; lý do: %(reason)s"),
            before=step(d.get("from")),
            after=step(d.get("to")),
            reason=d.get("reason", ""),
        )
    if a == "migrated":
        return t(
            N_("phiên bản %(before)s → %(after)s"), before=d.get("from_version", "—"), after=d.get("to_version", "—")
        )
    if a in ("notification_resent", "overdue"):
        return f"→ {who(d.get('assignee'))}"
    if a == "task_closed":
        reason = str(d.get("reason", ""))
        if reason.startswith("closed by the process"):  # written by the engine, not by a person
            return t(N_("quy trình đã đóng việc (quá hạn hoặc dừng)"))
        return reason
    if a == "appeal_submitted":
        return str(d.get("reason", ""))
    if a in ("evidence_added", "evidence_replaced", "evidence_deleted"):  # what people typed: any language
        return str(d.get("name", ""))
    if a == "comment_added":
        body = str(d.get("body", ""))
        return body if len(body) <= 140 else body[:139] + "…"
    return ""


def _num(v) -> str:
    return "—" if v is None else f"{v:g}".replace(".", ",")


def _date(text) -> str:
    if not isinstance(text, str):
        return "—"
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        return text
    return localtime.format(dt) if dt.tzinfo else text


def extras(viewer: User, instance: ProcessInstance, now: datetime | None = None) -> dict:
    """Everything the instance page adds (passed to the template as `monitor`)."""
    now = now or datetime.now(timezone.utc)
    events = db.session.scalars(
        select(AuditEvent)
        .options(joinedload(AuditEvent.actor), joinedload(AuditEvent.on_behalf_of))
        .where(AuditEvent.instance_id == instance.id)
        .order_by(AuditEvent.id)
    ).all()
    titles = dict(
        db.session.execute(
            select(HumanTask.step, HumanTask.title).where(
                HumanTask.instance_id == instance.id, HumanTask.title.is_not(None)
            )
        ).all()
    )
    usernames = {
        str(v)
        for e in events
        for k, v in (e.details or {}).items()
        if k in ("assignee", "before", "after") and isinstance(v, str)
    }
    names = dict(
        db.session.execute(select(User.username, User.full_name).where(User.username.in_(usernames or {""}))).all()
    )
    return {
        "tasks": open_tasks(instance, now),
        "forms": submitted_forms(instance),
        "events": [{"event": e, "text": describe(e, titles=titles, names=names)} for e in events],
        "error": error_of(instance),
        "can_operate": access.can_operate(viewer, instance),
        "run_status": instance.status,
        "today": now.date().isoformat(),
    }


# ------------------------------------------------------------------------------ evaluation sheet
def sheet(viewer: User, instance: ProcessInstance) -> dict:
    """The data of the printable evaluation sheet (phiếu đánh giá, xếp loại)."""
    access.require_view(viewer, instance)
    record = instances.record_of(instance)
    data = _context(instance)
    criteria = data.get("criteria") or []
    groups = data.get("criteria_groups") or {}
    meaning = process_steps.of(instance.version)
    self_eval = answer(meaning, data, "self_evaluation") or {}
    review = answer(meaning, data, "review") or {}
    amendment = answer(meaning, data, "appeal") or {}
    result = data.get("result") if isinstance(data.get("result"), dict) else {}
    final_scores = (
        (amendment.get("scores") if result.get("amended") else None)
        or result.get("scores")
        or review.get("scores")
        or {}
    )
    rows, group_rows = [], []
    for code in dict.fromkeys(c.get("group") for c in criteria):
        items = [c for c in criteria if c.get("group") == code]
        sub_max = sum(float(c.get("max") or 0) for c in items)
        sub_self = _sum((self_eval.get("scores") or {}).get(c["code"]) for c in items)
        sub_final = _sum(final_scores.get(c["code"]) for c in items)
        rows.append(
            {
                "kind": "group",
                "code": code,
                "name": groups.get(code, ""),
                "max": sub_max,
                "self": sub_self,
                "final": sub_final,
            }
        )
        for c in items:
            rows.append(
                {
                    "kind": "item",
                    "code": c["code"],
                    "name": c.get("name", ""),
                    "max": c.get("max"),
                    "self": (self_eval.get("scores") or {}).get(c["code"]),
                    "final": final_scores.get(c["code"]),
                }
            )
        group_rows.append(code)
    done = {
        t.step: t
        for t in db.session.scalars(
            select(HumanTask)
            .options(joinedload(HumanTask.completed_by), joinedload(HumanTask.on_behalf_of))
            .where(HumanTask.instance_id == instance.id, HumanTask.status == "completed")
            .order_by(HumanTask.id)
        )
    }
    # who signed each part: the steps that mean the self-evaluation, the review and the decision

    def signed(test: Callable[[process_steps.StepInfo], bool]) -> HumanTask | None:
        return next((t for s, t in reversed(done.items()) if s in meaning and test(meaning[s])), None)

    reviewer = signed(lambda s: s.status == "review")
    decider = signed(lambda s: s.decides)
    subject = instance.subject
    return {
        "instance": instance,
        "record": record,
        "subject": subject,
        "unit": instance.unit,
        "agency": instance.agency,
        "period": instance.period,
        "rows": rows,
        "self": self_eval,
        "review": review,
        "result": result,
        "amendment": amendment if result.get("amended") else {},
        "self_bonus": self_eval.get("bonus"),
        "final_bonus": (amendment if result.get("amended") else review).get("bonus"),
        "self_deductions": self_eval.get("deductions") or [],
        "final_deductions": (amendment if result.get("amended") else review).get("deductions") or [],
        "decision": answer(meaning, data, decides=True) or {},
        "reviewer": reviewer,
        "decider": decider,
        "self_task": signed(lambda s: s.status == "self_evaluation"),
        "scheme": data.get("scheme"),
        "working_days": data.get("working_days"),
        "level_name": LEVEL_NAMES.get(record.level or "", "") if record.published_at else "",
        "why": why.texts(why.of_record(record, amendment, why.quota_of(record))) if record.published_at else [],
        "appeal_answer": amendment if record.appealed else {},
        "plan": plans.shown(record),
    }


def _sum(values) -> float | None:
    nums = [float(v) for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    return sum(nums) if nums else None
