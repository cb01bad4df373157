"""Say why a person got their level, in plain words and in the reader's language.

The explanation is built from the rules as they were applied (`result.rules_applied`, written by
`app.rules.levels`) and from the thresholds of the record's own process version (its classification
table, `app.services.regulation.level_scale`), as structured items: a catalog message id and
its parameters. Each item is translated when it is shown (the record page, the notification, the
printed sheet), so the same facts read in Vietnamese or in English and no sentence is written per case.
What people typed (a reason, an objective cause) is passed through as a parameter, never translated.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from app import i18n
from app.i18n import N_
from app.rules import levels

from app.services.regulation import level_scale

# The message ids (Vietnamese, the catalog's keys). Every one takes parameters, so a "%" is always "%%".
SCORE = N_("Tổng %(total)s điểm → loại %(level)s (loại %(level)s: từ %(min)s điểm).")
SCORE_LOWEST = N_("Tổng %(total)s điểm → loại %(level)s (dưới %(below)s điểm).")
PROPOSAL_ABOVE = N_(
    "Lãnh đạo đề xuất loại %(proposed)s nhưng loại %(proposed)s cần từ %(min)s điểm; "
    "tổng %(total)s điểm → loại %(score_level)s."
)
PROPOSAL_CAPPED = N_(
    "Lãnh đạo đề xuất loại %(proposed)s nhưng quy định chỉ cho phép tối đa loại %(allowed)s (xem căn cứ bên dưới)."
)
PROPOSAL_BELOW = N_(
    "Lãnh đạo đề xuất loại %(proposed)s; mức xếp loại do thủ trưởng quyết định theo điểm và "
    "quy định: tổng %(total)s điểm → loại %(score_level)s."
)
ATTENDANCE = N_(
    "Làm việc %(days)s/%(working_days)s ngày, không quá %(share)s%% số ngày làm việc của tháng: tối đa loại %(cap)s."
)
ATTENDANCE_PLAIN = N_("Làm việc không quá %(share)s%% số ngày làm việc của tháng: tối đa loại %(cap)s.")
DISCIPLINE = N_("Bị kỷ luật từ khiển trách trở lên trong tháng: loại %(level)s.")
OBJECTIVE_CAUSE = N_("Lãnh đạo nêu nguyên nhân khách quan: %(cause)s")
CAUSE_CONFIRMED = N_("Thủ trưởng xác nhận nguyên nhân khách quan nên giữ loại %(level)s theo kết quả công việc.")
DECIDED_LOWER = N_("Thủ trưởng quyết định loại %(level)s, thấp hơn mức quy định cho phép (loại %(allowed)s).")
QUOTA = N_("Số người loại A của cơ quan trong tháng không được vượt %(share)s%% số người được đánh giá.")
QUOTA_OF_B = N_("Số người loại A của cơ quan trong tháng không được vượt %(share)s%% số người loại B.")
REASON = N_("Lý do: %(reason)s")
APPEAL_KEPT = N_("Kiến nghị đã được giải quyết: giữ nguyên kết quả (%(total)s điểm, loại %(level)s).")
APPEAL_AMENDED = N_("Kiến nghị đã được giải quyết: điều chỉnh điểm, tổng mới %(total)s điểm → loại %(level)s.")


@dataclass(frozen=True)
class Why:
    """One sentence of the explanation: `kind` names the rule (for tests and styling)."""

    kind: str
    key: str
    params: Mapping[str, Any] = field(default_factory=dict)
    reason: str | None = None  # what the decider or the head wrote, shown after the sentence

    def text(self, lang: str) -> str:
        params = {
            k: (i18n.format_number(v, lang) if isinstance(v, (int, float)) and not isinstance(v, bool) else v)
            for k, v in self.params.items()
        }
        sentence = i18n.translate_in(lang, self.key, **params)
        if self.reason:
            sentence += " " + i18n.translate_in(lang, REASON, reason=self.reason)
        return sentence


def _score_item(total: float | None, level: str, thresholds: Mapping[str, float] | None) -> Why | None:
    if total is None or level not in levels.LEVELS:
        return None
    if level == levels.LEVELS[-1]:
        above = [levels.min_total(lv, thresholds) for lv in levels.LEVELS[:-1]]
        below = min((m for m in above if m is not None), default=None)
        if below is None:
            return None
        return Why("score", SCORE_LOWEST, {"total": total, "level": level, "below": below})
    least = levels.min_total(level, thresholds)
    if least is None:
        return None
    return Why("score", SCORE, {"total": total, "level": level, "min": least})


def explain(
    result: Mapping | None,
    *,
    proposed_level: str | None = None,
    appeal: Mapping | None = None,
    quota: Mapping | None = None,
    thresholds: Mapping[str, float] | None = None,
) -> list[Why]:
    """The reasons of `result` (total, level, rules_applied), the manager's proposal measured against
    them, and the answer to an appeal. `quota` is the scheme's quota definition, named when the head
    lowered an A (the quota is then the usual reason). `thresholds` is the record's process version's
    scale (level → lowest total): a version whose table starts B at 85 says "from 85 points"."""
    if not isinstance(result, Mapping):
        return []
    rules = [r for r in result.get("rules_applied") or [] if isinstance(r, Mapping)]
    total = result.get("total")
    final = result.get("level")
    score_rule = next((r for r in rules if r.get("rule") == "score"), None)
    score_level = (
        score_rule.get("level")
        if score_rule
        else (levels.level_for_total(total, thresholds) if isinstance(total, (int, float)) else None)
    )
    # what the rules allow before the head's own choice (the level after attendance and discipline)
    allowed = score_level
    for r in rules:
        if r.get("rule") in ("attendance", "discipline"):
            allowed = r.get("level") or allowed
    out: list[Why] = []

    if proposed_level in levels.LEVELS and score_level in levels.LEVELS and proposed_level != final:
        least = levels.min_total(proposed_level, thresholds)
        if levels.rank(proposed_level) < levels.rank(score_level) and least is not None:
            out.append(
                Why(
                    "proposal",
                    PROPOSAL_ABOVE,
                    {"proposed": proposed_level, "min": least, "total": total, "score_level": score_level},
                )
            )
        elif allowed in levels.LEVELS and levels.rank(proposed_level) < levels.rank(allowed):
            out.append(Why("proposal", PROPOSAL_CAPPED, {"proposed": proposed_level, "allowed": allowed}))
        else:
            out.append(
                Why(
                    "proposal", PROPOSAL_BELOW, {"proposed": proposed_level, "total": total, "score_level": score_level}
                )
            )

    item = _score_item(total, score_level, thresholds) if score_level else None
    if item:
        out.append(item)
    for r in rules:
        rule = r.get("rule")
        if rule == "attendance":
            days, working = r.get("days_worked"), r.get("working_days")
            share = levels.ATTENDANCE_SHARE
            if isinstance(days, (int, float)) and isinstance(working, (int, float)):
                out.append(
                    Why(
                        rule,
                        ATTENDANCE,
                        {
                            "days": days,
                            "working_days": working,
                            "share": share,
                            "cap": r.get("level") or levels.ATTENDANCE_CAP,
                        },
                    )
                )
            else:
                out.append(
                    Why(rule, ATTENDANCE_PLAIN, {"share": share, "cap": r.get("level") or levels.ATTENDANCE_CAP})
                )
        elif rule == "discipline":
            out.append(Why(rule, DISCIPLINE, {"level": r.get("level") or "D"}))
        elif rule == "objective_cause":
            cause = r.get("cause")
            if not isinstance(cause, str):  # a record written before the cause had its own field
                cause = str(r.get("reason") or "")
                cause = cause.split(": ", 1)[-1] if cause.startswith("Nguyên nhân khách quan") else cause
            out.append(Why(rule, OBJECTIVE_CAUSE, {"cause": cause}))
        elif rule == "objective_cause_confirmed":
            out.append(Why(rule, CAUSE_CONFIRMED, {"level": r.get("level")}, reason=r.get("reason") or None))
        elif rule == "decision":
            out.append(
                Why(rule, DECIDED_LOWER, {"level": r.get("level"), "allowed": allowed}, reason=r.get("reason") or None)
            )
            if allowed == "A" and isinstance(quota, Mapping) and quota.get("share"):
                key = QUOTA_OF_B if quota.get("rule") == "share_of_b" else QUOTA
                out.append(Why("quota", key, {"share": round(float(quota["share"]) * 100)}))

    if isinstance(appeal, Mapping) and appeal.get("outcome") in ("keep", "amend"):
        key = APPEAL_AMENDED if appeal["outcome"] == "amend" else APPEAL_KEPT
        out.append(
            Why("appeal", key, {"total": total, "level": final}, reason=str(appeal.get("reason") or "").strip() or None)
        )
    return out


def texts(items: list[Why], lang: str | None = None) -> list[str]:
    lang = lang or i18n.current()
    return [w.text(lang) for w in items]


def of_record(record, appeal: Mapping | None = None, quota: Mapping | None = None) -> list[Why]:
    """The explanation of an evaluation record; `appeal` is the head's answer to the person's appeal
    (its outcome and reason), as the step that means it stored it (`appeal_answer`)."""
    if record is None or record.level is None:
        return []
    result = {"total": record.total, "level": record.level, "rules_applied": record.rules_applied or []}
    return explain(
        result,
        proposed_level=record.proposed_level,
        appeal=appeal if record.appealed else None,
        quota=quota,
        thresholds=level_scale.of_record(record),
    )


def appeal_answer(instance, data: Mapping | None) -> dict | None:
    """The answer to an appeal in the workflow's data, found by what the steps mean (a designer may
    name the step and its variable otherwise)."""
    if not isinstance(data, Mapping):
        return None
    from app.engine.steps import answer

    from . import steps as process_steps

    try:
        found = answer(process_steps.of(instance.version), dict(data), "appeal")
    except Exception:  # a version that no longer parses: the rest of the explanation still stands
        found = None
    if found is None and isinstance(data.get("appeal_decision"), Mapping):
        found = data["appeal_decision"]
    return found


def quota_of(record) -> dict | None:
    """The quota definition the record was opened with (the scheme's), or the default."""
    from app.extensions import db
    from app.models import Scheme
    from app.rules import schemes as defaults

    scheme = db.session.get(Scheme, record.scheme_id) if getattr(record, "scheme_id", None) else None
    definition = scheme.definition if scheme is not None else None
    return (definition or {}).get("quota") or defaults.QUOTA_HANOI
