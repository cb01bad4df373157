"""Work plans (kế hoạch công tác) and task-result points computed from them, docs/regulation.md.

The items of a month live in `plan_items`, a projection like the inbox: the plan and approval steps,
the API (work assigned or arising during the month), the self-evaluation and the review write them;
lists, the decision page and the record page read them without loading a workflow. The workflow's
own data keeps what each step submitted (its `items` with their ids), so the points are reproducible.

At the self-evaluation and the review the criteria whose scheme `source` is computed
(app/rules/kpi.py) are filled from the items before the engine runs; a typed value that differs is
refused. A month with no counted item falls back to typed points, with the reason kept in `kpi`.
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime, timezone

from sqlalchemy import bindparam, func, select

from app.engine import classification
from app.extensions import db
from app.models import EvaluationRecord, PlanItem, ProcessInstance, Unit, User
from app.rules import kpi, levels, scoring
from app.rules.workdays import parse_period

from app.services import audit
from app.services.messaging import notifications
from app.services.organisation import access, authority
from app.services.errors import BadRequest, Forbidden, Invalid, NotFound

log = logging.getLogger(__name__)

PLAN_STEPS = ("work_plan", "plan_approval")
SCORED_STEPS = ("self_evaluation", "review", "review_by_decider")
REVIEW_STEPS = ("review", "review_by_decider")
ITEM_STEPS = PLAN_STEPS + SCORED_STEPS
MAX_ITEMS = 60
PERSON_FIELDS = ("done", "completed_on", "evidence", "note")
MANAGER_FIELDS = ("done", "delays", "major_errors", "objective_cause", "objective_reason")


# ------------------------------------------------------------------------------------------ reading
# Within a completion the items are read once: the form, the person's or manager's marks and the
# points all look at them, and only this module adds, removes or reorders them (each such change
# forgets what was read). Outside `read_once()` every call reads them.
_read: ContextVar[dict[int, list[PlanItem]] | None] = ContextVar("plan_items_read", default=None)


@contextmanager
def read_once() -> Iterator[None]:
    token = _read.set({})
    try:
        yield
    finally:
        _read.reset(token)


def _forget(instance_id: int | None) -> None:
    read = _read.get()
    if read is not None:
        read.pop(instance_id, None)  # type: ignore[arg-type]


# built once: every completion of a scored step reads the items
_ITEMS_OF = (
    select(PlanItem).where(PlanItem.instance_id == bindparam("instance_id")).order_by(PlanItem.position, PlanItem.id)
)


def items_of(instance_id: int) -> list[PlanItem]:
    read = _read.get()
    if read is not None and instance_id in read:
        return list(read[instance_id])
    items = list(db.session.scalars(_ITEMS_OF, {"instance_id": instance_id}))
    if read is not None:
        read[instance_id] = items
    return list(items)


def as_dict(item: PlanItem) -> dict:
    return {
        "id": item.id,
        "title": item.title,
        "product": item.product or "",
        "weight": item.weight,
        "deadline": item.deadline.isoformat() if item.deadline else None,
        "origin": item.origin,
        "status": item.status,
        "added_by": item.added_by.username if item.added_by else None,
        "added_at": item.added_at.isoformat() if item.added_at else None,
        "done": item.done,
        "completed_on": item.completed_on.isoformat() if item.completed_on else None,
        "note": item.note or "",
        "evidence": list(item.evidence or []),
        "delays": item.delays,
        "major_errors": item.major_errors,
        "objective_cause": bool(item.objective_cause),
        "objective_reason": item.objective_reason or "",
        "objective_confirmed": bool(item.objective_confirmed),
    }


def _form_row(item: PlanItem, step: str) -> dict:
    row = {"id": item.id, "title": item.title, "product": item.product or "", "weight": item.weight}
    if item.deadline:
        row["deadline"] = item.deadline.isoformat()
    if step in SCORED_STEPS:
        row["done"] = bool(item.done)
        if item.completed_on:
            row["completed_on"] = item.completed_on.isoformat()
    if step in SCORED_STEPS:  # the manager sees the person's evidence and note
        if item.evidence:
            row["evidence"] = list(item.evidence)
        if item.note:
            row["note"] = item.note
    if step in REVIEW_STEPS:
        row.update(
            delays=_default_delays(item) if not item.reviewed else item.delays,
            major_errors=item.major_errors,
            objective_cause=bool(item.objective_cause),
        )
        if item.objective_reason:
            row["objective_reason"] = item.objective_reason
    return row


def form_context(instance: ProcessInstance, step: str | None, context: dict) -> dict:
    """What the forms of the scored steps need: which criteria are computed, and whether the month
    has items (computed criteria are then read-only)."""
    criteria = context.get("criteria") or []
    codes = [str(c["code"]) for c in criteria if isinstance(c, dict) and kpi.is_computed(c)]
    if step not in SCORED_STEPS:
        # an appeal amendment types every criterion again, starting from the computed points (0.01)
        return dict(context, precise_criteria=codes) if codes else context
    out = dict(context)
    out["computed_criteria"] = codes
    out["plan_items_present"] = any(i.weight > 0 for i in items_of(instance.id))
    return out


def prefill(step: str, instance: ProcessInstance, data: dict, from_draft: bool) -> dict:
    """The items as the step's form shows them (a draft keeps what was typed); an appeal amendment starts
    from the points as decided (objective causes confirmed by the decider included)."""
    if step == "appeal_decision" and not from_draft and instance.record is not None and instance.record.scores:
        return dict(data, scores=dict(instance.record.scores))
    if step not in ITEM_STEPS or (from_draft and "items" in data):
        return data
    rows = [_form_row(i, step) for i in items_of(instance.id)]
    return dict(data, items=rows) if rows or "items" not in data else data


# ------------------------------------------------------------------------------------------ writing
def _field_error(field: str, vi: str, en: str) -> dict:
    return {"field": field, "message": vi, "message_en": en}


def _date(value) -> date | None:
    if value in (None, ""):
        return None
    return date.fromisoformat(str(value))


def _default_delays(item: PlanItem) -> int:
    """One delay when the item was completed after its deadline (the manager may change it)."""
    if item.done and item.completed_on and item.deadline and item.completed_on > item.deadline:
        return 1
    return 0


def label(text) -> str:
    """An item's title or product as one line of visible text: tabs and line breaks become spaces, other
    control and format characters go (a right-to-left override turned the rest of the person's notice
    and its mail subject around; zero-width characters made a title that shows as nothing)."""
    out = []
    for ch in str(text or ""):
        category = unicodedata.category(ch)
        if category == "Cc" and ch in "\t\n\r":
            out.append(" ")
        elif category not in ("Cc", "Cf"):
            out.append(ch)
    return "".join(out).strip()


def _check_titles(rows: list[dict], only_new: bool = False) -> None:
    """A new item, or (unless `only_new`) one whose title is sent, needs a title with something visible."""
    errors = [
        _field_error(
            f"items[{n}][title]",
            "Nhập tên nhiệm vụ (có chữ nhìn thấy được).",
            "A title with visible text is needed.",
        )
        for n, row in enumerate(rows)
        if (row.get("id") is None or (row.get("title") is not None and not only_new)) and not label(row.get("title"))
    ]
    if errors:
        raise Invalid(
            "Dữ liệu chưa hợp lệ, xem lỗi bên cạnh từng trường.",
            "The data is not valid; see the error next to each field.",
            errors,
        )


def _new_item(instance: ProcessInstance, row: dict, origin: str, status: str, actor: User, position: int) -> PlanItem:
    item = PlanItem(
        instance_id=instance.id,
        subject_id=instance.subject_id,
        period=instance.period,
        position=position,
        title=label(row.get("title"))[:500],
        product=label(row.get("product"))[:500] or None,
        weight=float(row.get("weight") or 1),
        deadline=_date(row.get("deadline")),
        added_by_id=actor.id,
        added_at=datetime.now(timezone.utc),
        origin=origin,
        status=status,
        delays=0,
        major_errors=0,
        objective_cause=False,
        objective_confirmed=False,
        reviewed=False,
    )
    db.session.add(item)
    _forget(instance.id)
    return item


def _existing(instance: ProcessInstance, rows: list[dict]) -> dict[int, PlanItem]:
    """The instance's items by id; an id that is not one of them is a field error."""
    mine = {i.id: i for i in items_of(instance.id)}
    errors = [
        _field_error(f"items[{n}][id]", "Nhiệm vụ này không thuộc hồ sơ.", "This item is not part of the record.")
        for n, row in enumerate(rows)
        if row.get("id") is not None and row["id"] not in mine
    ]
    if errors:
        raise Invalid(
            "Dữ liệu chưa hợp lệ, xem lỗi bên cạnh từng trường.",
            "The data is not valid; see the error next to each field.",
            errors,
        )
    return mine


def _plan_edit(
    instance: ProcessInstance, rows: list[dict], actor: User, *, origin_new: str, removable: set[str], accept: bool
) -> list[PlanItem]:
    """The plan or its approval: rows with an id edit that item, rows without one add an item, items
    left out are dropped (those of the origins in `removable`, not yet self-evaluated)."""
    mine = _existing(instance, rows)
    _check_titles(rows)
    kept: list[PlanItem] = []
    for position, row in enumerate(rows):
        item = mine.get(row.get("id")) if row.get("id") is not None else None
        if item is None:
            item = _new_item(instance, row, origin_new, "accepted" if accept else "pending", actor, position)
        else:
            item.title = (label(row.get("title")) or item.title)[:500]
            item.product = label(row.get("product"))[:500] or None
            item.weight = float(row.get("weight") or 1)
            item.deadline = _date(row.get("deadline"))
            item.position = position
            if accept:
                item.status = "accepted"
        kept.append(item)
    kept_ids = {i.id for i in kept if i.id is not None}
    for item in mine.values():
        if item.id not in kept_ids and item.origin in removable and item.done is None:
            db.session.delete(item)
    db.session.flush()
    _forget(instance.id)  # removed or reordered
    return kept


def _check_evidence(instance: ProcessInstance, rows: list[dict]) -> None:
    """Evidence ids must be files of this record (app/services/evaluation/evidence.py, when it is installed)."""
    try:
        from . import evidence
    except ImportError:
        return
    belongs_to = getattr(evidence, "belongs_to", None)
    if belongs_to is None:
        return
    errors = [
        _field_error(
            f"items[{n}][evidence]", "Minh chứng không thuộc hồ sơ này.", "The evidence is not part of this record."
        )
        for n, row in enumerate(rows)
        if row.get("evidence") and not belongs_to(instance.id, list(row["evidence"]))
    ]
    if errors:
        raise Invalid(
            "Dữ liệu chưa hợp lệ, xem lỗi bên cạnh từng trường.",
            "The data is not valid; see the error next to each field.",
            errors,
        )


def _person_marks(instance: ProcessInstance, rows: list[dict], actor: User, late_opening: bool) -> None:
    _check_evidence(instance, rows)
    mine = _existing(instance, rows)
    _check_titles(rows, only_new=True)
    for position, row in enumerate(rows):
        item = mine.get(row.get("id")) if row.get("id") is not None else None
        if item is None:
            item = _new_item(
                instance,
                row,
                "afterwards" if late_opening else "arising",
                "accepted" if late_opening else "pending",
                actor,
                len(mine) + position,
            )
        item.done = bool(row.get("done"))
        item.completed_on = _date(row.get("completed_on"))
        item.evidence = [int(e) for e in row.get("evidence") or []] or None
        item.note = str(row.get("note") or "").strip() or None
    db.session.flush()


def _manager_marks(instance: ProcessInstance, rows: list[dict], actor: User) -> None:
    missing = [
        _field_error(
            f"items[{n}][objective_reason]", "Ghi rõ nguyên nhân khách quan.", "Say what the objective cause is."
        )
        for n, row in enumerate(rows)
        if row.get("objective_cause") and not str(row.get("objective_reason") or "").strip()
    ]
    if missing:
        raise Invalid(
            "Dữ liệu chưa hợp lệ, xem lỗi bên cạnh từng trường.",
            "The data is not valid; see the error next to each field.",
            missing,
        )
    mine = _existing(instance, rows)
    for position, row in enumerate(rows):
        item = mine.get(row.get("id")) if row.get("id") is not None else None
        if item is None:
            item = _new_item(instance, row, "assigned", "accepted", actor, len(mine) + position)
        if "done" in row:
            item.done = bool(row.get("done"))
        if row.get("completed_on"):
            item.completed_on = _date(row["completed_on"])
        item.delays = int(row["delays"]) if row.get("delays") is not None else _default_delays(item)
        item.major_errors = int(row.get("major_errors") or 0)
        item.objective_cause = bool(row.get("objective_cause"))
        item.objective_reason = str(row.get("objective_reason") or "").strip() or None
        item.reviewed = True
    for item in mine.values():  # "phát sinh" is accepted at the latest in the review
        item.status = "accepted"
    db.session.flush()


def _kpi_input(item: PlanItem, confirmed: bool = False) -> dict:
    return {
        "id": item.id,
        "title": item.title,
        "product": item.product,
        "weight": item.weight,
        "deadline": item.deadline.isoformat() if item.deadline else None,
        "origin": item.origin,
        "done": bool(item.done),
        "completed_on": item.completed_on.isoformat() if item.completed_on else None,
        "delays": item.delays if item.reviewed else _default_delays(item),
        "major_errors": item.major_errors,
        "objective_cause": item.objective_reason or item.objective_cause,
        "objective_confirmed": confirmed and bool(item.objective_cause),
    }


def components_for(
    instance: ProcessInstance, criteria: list[dict], changed: dict[int, str | None] | None = None
) -> dict:
    """A leader's components: the results of the units they lead (levels as they stand, or as a batch
    is about to set them) and the capacity to organise the work (100 % unless the decider lowers it)."""
    needs = {
        p for c in criteria for p in (kpi.source_of(c) if isinstance(kpi.source_of(c), list) else [kpi.source_of(c)])
    }
    out: dict[str, float] = {}
    if "capacity" in needs:
        out["capacity"] = 1.0
    if "unit_results" in needs:
        out["unit_results"] = kpi.unit_results(unit_levels(instance, changed))
    return out


def unit_levels(instance: ProcessInstance, changed: dict[int, str | None] | None = None) -> list[str | None]:
    led = db.session.scalars(select(Unit).where(Unit.head_id == instance.subject_id)).all()
    ids = {uid for unit in led for uid in unit.subtree_ids()}
    if not ids:
        return []
    rows = db.session.execute(
        select(EvaluationRecord.instance_id, EvaluationRecord.level).where(
            EvaluationRecord.unit_id.in_(ids),
            EvaluationRecord.period == instance.period,
            EvaluationRecord.subject_id != instance.subject_id,
            EvaluationRecord.status != "not_evaluated",
        )
    ).all()
    changed = changed or {}
    return [changed.get(r.instance_id, r.level) for r in rows]


def _apply_points(instance: ProcessInstance, criteria: list[dict], raw: dict, clean: dict, step: str) -> None:
    """Fill the computed criteria from the items; refuse a typed value that differs; without counted
    items require the typed ones and keep the reason."""
    items = items_of(instance.id)
    components = components_for(instance, criteria) if step in REVIEW_STEPS else {}
    result = kpi.compute([_kpi_input(i) for i in items], criteria, components)
    computed = {str(c["code"]) for c in criteria if kpi.is_computed(c)}
    typed = raw.get("scores") if isinstance(raw.get("scores"), dict) else {}
    scores = dict(clean.get("scores") or {})
    errors = []
    for code in sorted(computed):
        value = result["criteria"].get(code)
        given = typed.get(code)
        if value is not None:
            if isinstance(given, (int, float)) and not isinstance(given, bool) and abs(float(given) - value) > 0.005:
                errors.append(
                    _field_error(
                        f"scores[{code}]",
                        f"Điểm tiêu chí {code} được tính từ kế hoạch công tác ({value:g}), không nhập tay.",
                        f"Criterion {code} is computed from the work plan ({value:g}); it is not typed.",
                    )
                )
            scores[code] = value
        elif not isinstance(scores.get(code), (int, float)):
            errors.append(
                _field_error(
                    f"scores[{code}]",
                    "Tháng chưa có nhiệm vụ được tính: nhập điểm tiêu chí này hoặc liệt kê nhiệm vụ.",
                    "The month has no counted plan item: type this criterion or list the items.",
                )
            )
    if errors:
        raise Invalid(
            "Dữ liệu chưa hợp lệ, xem lỗi bên cạnh từng trường.",
            "The data is not valid; see the error next to each field.",
            errors,
        )
    clean["scores"] = scores
    clean["items"] = [_form_row(i, step) | {"id": i.id} for i in items]
    if not computed:
        return
    summary = {
        k: result[k]
        for k in ("quantity", "quality", "timeliness", "weight", "criteria", "components", "formula", "sums")
    }
    summary["items"] = result["items"]
    if result.get("fallback") or not result["criteria"]:
        summary["fallback"] = result.get("fallback") or "no_counted_items"
        summary["fallback_reason"] = "Tháng không có nhiệm vụ được tính trong kế hoạch: điểm do lãnh đạo chấm."
    clean["kpi"] = summary
    if step in REVIEW_STEPS and any(i.objective_cause for i in items):
        confirmed = kpi.compute([_kpi_input(i, confirmed=True) for i in items], criteria, components)
        if confirmed["criteria"]:
            c_scores = dict(scores, **confirmed["criteria"])
            clean["kpi_confirmed"] = {
                "scores": c_scores,
                "total": scoring.score_total(dict(clean, scores=c_scores), criteria),
                "reasons": [f"{i.title}: {i.objective_reason or ''}".strip() for i in items if i.objective_cause],
                "kpi": {
                    k: confirmed[k]
                    for k in (
                        "quantity",
                        "quality",
                        "timeliness",
                        "weight",
                        "criteria",
                        "components",
                        "formula",
                        "sums",
                        "items",
                    )
                },
            }


def on_complete(instance: ProcessInstance, step: str, actor: User, ready_data: dict, raw: dict, clean: dict) -> dict:
    """Before the engine runs a completed step: write the items the step changed and fill the
    computed points. Part of the caller's transaction; a refusal raises Invalid before anything
    is flushed that the caller's rollback would not undo."""
    if step not in ITEM_STEPS and step != "decision":
        return clean
    clean = dict(clean)
    rows = [r for r in clean.get("items") or [] if isinstance(r, dict)]
    if step == "work_plan":
        _plan_edit(instance, rows, actor, origin_new="plan", removable={"plan"}, accept=False)
    elif step == "plan_approval":
        if "items" not in clean:  # nothing sent: the plan as registered
            rows = [_form_row(i, step) for i in items_of(instance.id)]
        _plan_edit(
            instance,
            rows,
            actor,
            origin_new="assigned",
            removable={"plan", "assigned", "arising"},
            accept=clean.get("approve") is not False,
        )
    elif step == "self_evaluation":
        _person_marks(instance, rows, actor, late_opening=not ready_data.get("plan_phase"))
    elif step in REVIEW_STEPS:
        _manager_marks(instance, rows, actor)
    elif step == "decision":
        if clean.get("objective_cause_confirmed"):
            for item in items_of(instance.id):
                if item.objective_cause:
                    item.objective_confirmed = True
        rescore = rescore_single(instance, clean)
        if rescore is not None:
            clean["rescore"] = rescore
        return clean
    if step in PLAN_STEPS:
        clean["items"] = [_form_row(i, step) for i in items_of(instance.id)]
        return clean
    _apply_points(instance, ready_data.get("criteria") or [], raw if isinstance(raw, dict) else {}, clean, step)
    return clean


# ------------------------------------------------------------------------------------ during the month
def _instance_for(username: str, period: str) -> ProcessInstance:
    try:
        parse_period(period)
    except ValueError:
        raise BadRequest("Kỳ phải có dạng YYYY-MM.", "The period must be YYYY-MM.") from None
    subject = db.session.scalars(select(User).where(User.username == username)).first()
    instance = (
        None
        if subject is None
        else db.session.scalars(
            select(ProcessInstance).where(ProcessInstance.subject_id == subject.id, ProcessInstance.period == period)
        ).first()
    )
    if instance is None:
        raise NotFound(
            f"Không tìm thấy hồ sơ của {username} kỳ {period}.", f"No evaluation of {username} for {period}."
        )
    return instance


def chain_role(user: User, instance: ProcessInstance) -> str | None:
    """'subject', 'manager' (the direct manager or the decider, or their deputy) or None."""
    if user.id == instance.subject_id:
        return "subject"
    resolver = authority.Authority()
    holders = {
        resolver.holder_id("direct_manager", instance.subject, instance.unit),
        resolver.holder_id("decider", instance.subject, instance.unit),
    } - {None}
    if user.id in holders or any(p.id in holders for p in authority.principals_of(user)):
        return "manager"
    return None


def add_item(actor: User, username: str, period: str, body: dict) -> dict:
    """The manager assigns work ("giao việc", in the plan at once) or the person adds work that came
    up ("phát sinh", pending until the manager accepts it, at the latest in the review)."""
    instance = _instance_for(username, period)
    role = chain_role(actor, instance)
    if role is None:
        if access.can_view_instance(actor, instance):
            raise Forbidden(
                "Chỉ cá nhân và lãnh đạo của hồ sơ mới được thêm nhiệm vụ.",
                "Only the person and their managers may add items.",
            )
        raise NotFound(
            f"Không tìm thấy hồ sơ của {username} kỳ {period}.", f"No evaluation of {username} for {period}."
        )
    record = instance.record
    if instance.status != "running" or (
        record is not None
        and record.status not in ("planning", "plan_approval", "in_progress", "self_evaluation", "review")
    ):
        raise Invalid(
            "Hồ sơ đã qua bước chấm điểm, không thêm nhiệm vụ được.",
            "The record is past its review; no more items.",
            [_field_error("items", "Hồ sơ đã qua bước chấm điểm.", "The record is past its review.")],
        )
    errors = validate_item(body)
    if errors:
        raise Invalid(
            "Dữ liệu chưa hợp lệ, xem lỗi bên cạnh từng trường.",
            "The data is not valid; see the error next to each field.",
            errors,
        )
    count = db.session.scalar(select(func.count()).select_from(PlanItem).where(PlanItem.instance_id == instance.id))
    if count >= MAX_ITEMS:
        raise Invalid(
            f"Tối đa {MAX_ITEMS} nhiệm vụ một tháng.",
            f"At most {MAX_ITEMS} items a month.",
            [_field_error("title", f"Tối đa {MAX_ITEMS} nhiệm vụ.", f"At most {MAX_ITEMS} items.")],
        )
    assigned = role == "manager"
    item = _new_item(
        instance, body, "assigned" if assigned else "arising", "accepted" if assigned else "pending", actor, count
    )
    db.session.flush()
    audit.record(
        "plan_item_added",
        instance=instance,
        actor=actor,
        details={"item": item.id, "title": item.title, "origin": item.origin},
    )
    other = instance.subject_id if assigned else authority.direct_manager_for(instance.subject, instance.unit)
    other_id = other if isinstance(other, int) else (other.id if other is not None else None)
    if other_id is not None and other_id != actor.id:
        if assigned:
            notifications.send(
                other_id,
                "plan_item",
                f"Được giao việc: {item.title} ({period})",
                instance.id,
                f"Work assigned: {item.title} ({period})",
            )
        else:
            notifications.send(
                other_id,
                "plan_item",
                f"Việc phát sinh chờ duyệt: {item.title} — {instance.subject.full_name} ({period})",
                instance.id,
                f"Arising work to accept: {item.title} — {instance.subject.full_name} ({period})",
            )
    return as_dict(item)


def validate_item(body) -> list[dict]:
    if not isinstance(body, dict):
        return [_field_error("", "Cần một đối tượng JSON.", "A JSON object is needed.")]
    errors = []
    title = body.get("title")
    if not isinstance(title, str) or not label(title) or len(title) > 500:
        errors.append(
            _field_error("title", "Nhập tên nhiệm vụ (tối đa 500 ký tự).", "A title of at most 500 characters.")
        )
    product = body.get("product")
    if product is not None and (not isinstance(product, str) or len(product) > 500):
        errors.append(
            _field_error("product", "Sản phẩm tối đa 500 ký tự.", "The product is text of at most 500 characters.")
        )
    weight = body.get("weight", 1)
    if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not 0 < weight <= 100:
        errors.append(
            _field_error("weight", "Trọng số phải lớn hơn 0 và không quá 100.", "The weight must be > 0 and ≤ 100.")
        )
    deadline = body.get("deadline")
    if deadline is not None:
        try:
            if not isinstance(deadline, str):
                raise ValueError(deadline)
            _date(deadline)
        except ValueError:
            errors.append(
                _field_error("deadline", "Thời hạn phải có dạng YYYY-MM-DD.", "The deadline must be YYYY-MM-DD.")
            )
    return errors


def listing(user: User, period: str, person: str | None = None) -> list[dict]:
    """The plans of a period the user may see (their own, their reports', their units'), one entry per
    person with the items and the completion, straight from the projection."""
    try:
        parse_period(period)
    except ValueError:
        raise BadRequest("Kỳ phải có dạng YYYY-MM.", "The period must be YYYY-MM.") from None
    scope = access.record_scope(user)
    query = select(EvaluationRecord).where(
        EvaluationRecord.period == period, scope.clause(EvaluationRecord.unit_id, EvaluationRecord.subject_id)
    )
    if person is not None:
        # an unknown name answers as a person outside the caller's scope does (an empty list), so the
        # listing does not tell who has an account
        query = query.join(User, User.id == EvaluationRecord.subject_id).where(User.username == person)
    records = db.session.scalars(query.order_by(EvaluationRecord.unit_id, EvaluationRecord.subject_id)).all()
    ids = [r.instance_id for r in records]
    by_instance: dict[int, list[PlanItem]] = {}
    for chunk in range(0, len(ids), 1000):
        for item in db.session.scalars(
            select(PlanItem)
            .where(PlanItem.instance_id.in_(ids[chunk : chunk + 1000]))
            .order_by(PlanItem.instance_id, PlanItem.position, PlanItem.id)
        ):
            by_instance.setdefault(item.instance_id, []).append(item)
    out = []
    for record in records:
        items = by_instance.get(record.instance_id, [])
        out.append(
            {
                "instance_id": record.instance_id,
                "person": record.subject.username,
                "full_name": record.subject.full_name,
                "unit": record.unit.code,
                "status": record.status,
                "completion": completion(items),
                "items": [as_dict(i) for i in items],
            }
        )
    return out


def completion(items: list[PlanItem]) -> float | None:
    """The share of the weight done (percent), None without items."""
    total = sum(i.weight for i in items if i.weight > 0)
    if total <= 0:
        return None
    return kpi.percent(sum(i.weight for i in items if i.weight > 0 and i.done) / total)


def completion_by_instance(instance_ids: list[int]) -> dict[int, float | None]:
    out: dict[int, list[PlanItem]] = {}
    for chunk in range(0, len(instance_ids), 1000):
        for item in db.session.scalars(
            select(PlanItem).where(PlanItem.instance_id.in_(instance_ids[chunk : chunk + 1000]))
        ):
            out.setdefault(item.instance_id, []).append(item)
    return {iid: completion(items) for iid, items in out.items()}


def summary(record: EvaluationRecord) -> dict | None:
    """What the decision page and the lists show of a record's plan: completion, the measures and the
    computed points (or why the points were typed), from the record alone."""
    stored = record.kpi if isinstance(record.kpi, dict) else None
    if not stored:
        return None
    return {
        "completion": stored.get("quantity"),
        "quality": stored.get("quality"),
        "timeliness": stored.get("timeliness"),
        "criteria": dict(stored.get("criteria") or {}),
        "items": len(stored.get("items") or []),
        "fallback": stored.get("fallback"),
        "components": dict(stored.get("components") or {}),
    }


def shown(record: EvaluationRecord) -> dict | None:
    """The plan as a record page or sheet shows it: the reviewed computation, else the items as they
    stand (None when the month has no item)."""
    if isinstance(record.kpi, dict) and record.kpi.get("items"):
        return record.kpi
    items = items_of(record.instance_id)
    if not items:
        return record.kpi if isinstance(record.kpi, dict) else None
    return {"quantity": None, "items": [as_dict(i) for i in items], "criteria": {}}


# ------------------------------------------------------------------------- the head's batch (leaders)
# What the batch re-evaluated for a record (instance id -> rescore), read by `on_complete` when the
# decision task of that record completes in the same batch.
_batch_rescores: ContextVar[dict[int, dict] | None] = ContextVar("plan_batch_rescores", default=None)


def decision_fields(instance: ProcessInstance, schema: dict) -> dict:
    """The decision form asks for a leader's capacity to organise the work only when the record's
    scheme counts it (its reviewed points have that component); for anyone else the field goes."""
    props = schema.get("properties") or {}
    if "capacity" not in props:
        return schema
    record = instance.record
    stored = record.kpi if record is not None and isinstance(record.kpi, dict) else {}
    if "capacity" in (stored.get("components") or {}):
        return schema
    return dict(schema, properties={k: v for k, v in props.items() if k != "capacity"})


def rescore_leaders(rows: list[tuple[dict, object, EvaluationRecord]], chosen: dict[int, str | None]) -> dict[int, str]:
    """A leader's unit results are re-evaluated in the head's batch, before the quota check: 100 % when
    everyone in the units they lead reaches C or above this month (the batch's levels included), 50 %
    when anyone is at D. Returns the levels the batch proposes after it (explicit choices kept) and
    keeps each changed record's new points for its decision. Items whose level the head chose above
    the new level are refused."""
    out, rescores = _rescores(rows, chosen, "items[{index}].")
    _batch_rescores.set(rescores)
    return out


def rescore_single(instance: ProcessInstance, decision: dict) -> dict | None:
    """The same re-evaluation for one decision taken on its own page (the quota is checked after it,
    on the level it gives): the rescore the decision carries, or None when nothing changed."""
    batch = _batch_rescores.get()
    if batch is not None:  # inside the head's batch: already re-evaluated with the others
        return batch.get(instance.id)
    record = instance.record
    if record is None:
        return None
    level = decision.get("level") or (
        levels.default_level(
            {"level": record.level, "rules_applied": record.rules_applied or []},
            bool(decision.get("objective_cause_confirmed")),
        )
        if record.level
        else record.level
    )
    _, rescores = _rescores([(decision, None, record)], {record.instance_id: level}, "")
    rescore = rescores.get(record.instance_id)
    if rescore is not None:
        log.info(
            "leader re-evaluated at a single decision: instance=%s total=%s level=%s",
            instance.id,
            rescore["total"],
            rescore["level"],
        )
    return rescore


def _rescores(
    rows: list[tuple[dict, object, EvaluationRecord]], chosen: dict[int, str | None], prefix: str
) -> tuple[dict[int, str], dict[int, dict]]:
    """One code path for the batch and the single decision: each leader's components (unit results
    with the levels `chosen`, the capacity the head typed), the new points and the level the
    process's classification table gives them. `prefix` names a field of row `index` in errors."""
    from . import instances

    rescores: dict[int, dict] = {}
    out = dict(chosen)
    errors = []
    for index, (item, _task, record) in enumerate(rows):
        field = prefix.format(index=index)
        stored = record.kpi if isinstance(record.kpi, dict) else None
        had = (stored or {}).get("components") or {}
        if not had:
            continue
        instance = db.session.get(ProcessInstance, record.instance_id)
        workflow = instances.load(instance)
        criteria = list(workflow.data().get("criteria") or [])
        components = components_for(
            instance, criteria, changed={k: v for k, v in chosen.items() if k != record.instance_id}
        )
        capacity = item.get("capacity")
        if "capacity" in components and capacity is not None:
            if isinstance(capacity, bool) or not isinstance(capacity, (int, float)) or not 0 <= capacity <= 100:
                errors.append(
                    {
                        "field": f"{field}capacity",
                        "instance_id": record.instance_id,
                        "message": "Năng lực tổ chức thực hiện là tỷ lệ từ 0 đến 100%.",
                        "message_en": "The capacity to organise the work is a percentage from 0 to 100.",
                    }
                )
                continue
            components["capacity"] = capacity / 100  # the decider lowers it when the plan slipped
        if all(abs(components[k] * 100 - float(had.get(k, 100))) < 0.005 for k in components):
            continue
        confirmed = bool(item.get("objective_cause_confirmed"))
        result = kpi.compute([_kpi_input(i, confirmed=confirmed) for i in items_of(instance.id)], criteria, components)
        scores = dict(record.scores or {}, **result["criteria"])
        total = _rounded_total(record, scores, criteria)
        score_level = workflow.score_level(total) or classification.level_for(workflow.loaded, total)
        level = kpi.capped_level(score_level, record.rules_applied or [])
        summary = {
            k: result[k]
            for k in ("quantity", "quality", "timeliness", "weight", "criteria", "components", "formula", "sums")
        }
        summary["items"] = result["items"]
        share = components.get("unit_results", 1.0) * 100
        rescores[record.instance_id] = {
            "total": total,
            "level": level,
            "score_level": score_level,
            "scores": scores,
            "kpi": summary,
            "reason": f"Kết quả của đơn vị phụ trách {share:g}%, năng lực tổ chức thực hiện "
            f"{components.get('capacity', 1.0) * 100:g}% (đánh giá lại khi Thủ trưởng quyết định): "
            f"{total:g} điểm, loại {level}",
        }
        if item.get("level") and levels.rank(item["level"]) < levels.rank(level):
            errors.append(
                {
                    "field": f"{field}level",
                    "instance_id": record.instance_id,
                    "message": f"Kết quả của đơn vị phụ trách {share:g}%: tối đa loại {level}.",
                    "message_en": f"The units led reached {share:g}%: at most level {level}.",
                }
            )
        out[record.instance_id] = item.get("level") or level
    if errors:
        raise Invalid(
            "Dữ liệu chưa hợp lệ, xem lỗi bên cạnh từng trường.",
            "The data is not valid; see the error next to each field.",
            errors,
        )
    return out, rescores


def end_batch() -> None:
    _batch_rescores.set(None)


def _rounded_total(record: EvaluationRecord, scores: dict, criteria: list[dict]) -> float:
    """The record's total with new criterion points: the bonus and deductions as reviewed stay."""
    before = scoring.score_total({"scores": dict(record.scores or {})}, criteria) or 0.0
    extra = float(record.total or 0) - before  # bonus − deductions as they were applied
    return max(
        0.0, min(scoring.MAX_TOTAL, round((scoring.score_total({"scores": scores}, criteria) or 0.0) + extra + 1e-9, 2))
    )
