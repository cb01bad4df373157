"""The record's history in one language (issue 16, item 1): the "Changes" column — step names, field
values, people — comes from the catalog in the reader's language; only what people typed (reasons,
notes) and people's and units' names stay as they were written."""

from __future__ import annotations

import html as htmllib
import re
from datetime import timedelta

import pytest

from app.extensions import db
from app.services.evaluation import timers

from .conftest import user
from .monitor_seed import AFTER_SELF_DUE, instance_id, ready_task, seed_month
from .support import Api, scores_for
from .test_browser_phone import VIETNAMESE_LETTERS, _catalog, _names, _phrases
from .test_pages import login

APPEAL = "Đề nghị xem xét lại điểm tiến độ công việc"
ANSWER = "Điều chỉnh điểm tiến độ theo kiến nghị"
REASON = "Theo đề nghị của phòng Tổ chức cán bộ"
SELF, SELF_EN = "Cá nhân tự đánh giá, chấm điểm", "Self-evaluation and scoring"
MANAGER, MANAGER_EN = "Lãnh đạo trực tiếp nhận xét, chấm điểm", "Direct manager's review and scoring"
TYPED = [APPEAL, ANSWER, REASON, "Nghỉ ốm cả tháng", "Đang xác minh việc điều động"]


def _history(page: str) -> str:
    table = page[page.index('id="history"') :]
    table = table[: table.index("</table>")]
    return htmllib.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", table)))


def _month_with_every_kind_of_change(client) -> None:
    hr = seed_month(client)
    ttb = Api(client, "ttb")
    assert ttb.post(f"/instances/{instance_id('ttb')}/appeal", {"reason": APPEAL}).status_code == 200
    gd = Api(client, "gd")
    answer = gd.task_for("ttb", "appeal_decision")
    gd.complete(answer["id"], dict(scores_for(80), outcome="amend", reason=ANSWER))
    review = ready_task("ptd", "review")
    assert hr.post(f"/human-tasks/{review.id}/reassign", {"assignee": "tpcc", "reason": REASON}).status_code == 200
    timers.run_due(AFTER_SELF_DUE + timedelta(hours=1))  # dtg's self-evaluation closes, the review opens
    db.session.expire_all()


def test_the_history_speaks_one_language(client):
    _month_with_every_kind_of_change(client)
    english, vietnamese = _phrases(_catalog())
    allowed = sorted(set(_names()) | set(TYPED), key=len, reverse=True)
    login(client, "admin")
    for who in ("ttb", "ptd", "dtg", "vvh"):
        en = _history(client.get(f"/instances/{instance_id(who)}?lang=en").get_data(as_text=True))
        vi = _history(client.get(f"/instances/{instance_id(who)}?lang=vi").get_data(as_text=True))
        for text in (en, vi):  # ids and usernames never reach the reader
            assert not re.search(r"\b(self_evaluation|appeal_decision|tptc|tpcc|gd|ttb|ptd|dtg)\b", text), text
        stripped = en
        for text in allowed:
            stripped = stripped.replace(text, "")
        assert not VIETNAMESE_LETTERS.search(stripped), (who, stripped)
        assert not [p for p in vietnamese if p in en], who
        assert not [p for p in english if p in vi], who

    dtg = client.get(f"/instances/{instance_id('dtg')}?lang=en").get_data(as_text=True)
    assert "Self-evaluation and scoring → Direct manager&#39;s review and scoring" in dtg
    ptd = _history(client.get(f"/instances/{instance_id('ptd')}?lang=en").get_data(as_text=True))
    assert f"Phạm Thu Hà → {user('tpcc').full_name}; reason: {REASON}" in ptd
    ptd = _history(client.get(f"/instances/{instance_id('ptd')}?lang=vi").get_data(as_text=True))
    assert f"Phạm Thu Hà → {user('tpcc').full_name}; lý do: {REASON}" in ptd


@pytest.mark.parametrize(
    "action, details, data, english, vietnamese",
    [
        (
            "instance_moved",
            {"from": "review", "to": "self_evaluation", "reason": REASON},
            None,
            f"{MANAGER_EN} → {SELF_EN}; reason: {REASON}",
            f"{MANAGER} → {SELF}; lý do: {REASON}",
        ),
        ("migrated", {"from_version": 1, "to_version": 2}, None, "version 1 → 2", "phiên bản 1 → 2"),
        (
            "task_completed",
            None,
            {"items": [{"id": 1}, {"id": 2}], "comment": "x"},
            "2 items in the plan",
            "2 nhiệm vụ trong kế hoạch",
        ),
        ("task_completed", None, {"approve": True}, "plan approved", "duyệt kế hoạch"),
        (
            "task_completed",
            None,
            {"approve": False, "note": "Thêm chỉ tiêu"},
            "plan returned: Thêm chỉ tiêu",
            "trả lại kế hoạch: Thêm chỉ tiêu",
        ),
        (
            "task_completed",
            None,
            {"outcome": "keep", "reason": ANSWER},
            f"result kept; reason: {ANSWER}",
            f"giữ nguyên kết quả; lý do: {ANSWER}",
        ),
        (
            "timer_fired",
            {"before": "self_evaluation", "after": "review"},
            None,
            f"{SELF_EN} → {MANAGER_EN}",
            f"{SELF} → {MANAGER}",
        ),
        (
            "timer_fired",
            {"before": "published", "after": "locked"},
            None,
            "Published, appeal window open → Locked",
            "Đã công bố, trong thời hạn kiến nghị → Đã chốt",
        ),
    ],
)
def test_each_change_reads_in_the_readers_language(ctx, action, details, data, english, vietnamese):
    from app.models import AuditEvent
    from app.services.evaluation import instance_details

    titles = {"self_evaluation": SELF, "review": MANAGER}
    event = AuditEvent(action=action, details=details if data is None else {"data": data})
    assert instance_details.describe(event, "vi", titles=titles) == vietnamese
    assert instance_details.describe(event, "en", titles=titles) == english


def test_every_shipped_step_instruction_reads_in_english():
    """The instructions above each form come from the BPMN: each is marked for the catalog and has its
    English, with the same template names, so an English page never shows the Vietnamese paragraph."""
    from pathlib import Path

    from lxml import etree

    from app.services.process_design.instruction_texts import SHIPPED

    bpmn = Path(__file__).resolve().parent.parent / "processes" / "monthly_evaluation.bpmn"
    texts = [el.text for el in etree.parse(str(bpmn)).iter("{*}instructionsForEndUser")]
    catalog = _catalog()
    assert texts and set(texts) == set(SHIPPED)
    for text in texts:
        english = catalog[text]
        assert not VIETNAMESE_LETTERS.search(re.sub(r"\{[{%].*?[%}]\}", "", english)), english
        assert sorted(re.findall(r"\{\{.*?\}\}|\{%.*?%\}", english)) == sorted(
            re.findall(r"\{\{.*?\}\}|\{%.*?%\}", text)
        )


def test_instructions_print_numbers_as_the_reader_writes_them():
    from app.forms import render_instructions

    template = "Tổng điểm **{{ result.total }}**, kỳ **{{ period }}**, {{ days }} ngày"
    context = {"result": {"total": 87.5}, "period": "2030-03", "days": 21}
    assert (
        str(render_instructions(template, context))
        == "<p>Tổng điểm <strong>87,5</strong>, kỳ <strong>2030-03</strong>, 21 ngày</p>"
    )
    assert "<strong>87.5</strong>" in str(render_instructions(template, context, "en"))


def test_the_diagram_reads_in_the_readers_language(client):
    from .monitor_seed import open_month

    open_month(client, "SNV-TCCB")
    login(client, "ttb")
    url = f"/instances/{instance_id('ttb')}/diagram.json"
    en = client.get(url + "?lang=en").get_json()["xml"]
    labels = re.findall(r'<bpmn:\w+[^>]*?\sname="([^"]*)"', en)
    assert "Self-evaluation and scoring" in htmllib.unescape(" ".join(labels))
    assert not [label for label in labels if VIETNAMESE_LETTERS.search(label)]
    vi = client.get(url + "?lang=vi").get_json()["xml"]
    assert 'name="Cá nhân tự đánh giá, chấm điểm"' in vi and 'name="Hết hạn tự đánh giá"' in vi
    # every label of the shipped process has its English (a label added to the BPMN needs one too)
    from pathlib import Path

    from lxml import etree

    bpmn = Path(__file__).resolve().parent.parent / "processes" / "monthly_evaluation.bpmn"
    catalog = _catalog()
    names = {
        el.get("name")
        for el in etree.parse(str(bpmn)).iter("{http://www.omg.org/spec/BPMN/20100524/MODEL}*")
        if el.get("name") and VIETNAMESE_LETTERS.search(el.get("name"))
    }
    assert names and not [n for n in names if n not in catalog]
