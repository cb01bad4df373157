"""Say why (issue 16, item 4): the rule that decided a level, in plain words and in the reader's
language, on the record page, in the notification and on the printed sheet; an appeal's answer and its
reason reach the person; option lists never show machine codes."""

from __future__ import annotations

import re

from sqlalchemy import select

from app import forms
from app.extensions import db
from app.models import Notification, ProcessInstance
from app.services.evaluation import why

from .conftest import PERIOD, user
from .monitor_seed import record
from .support import Api, scores_for
from .test_pages import login


def _texts(result, **kw):
    items = why.explain(result, **kw)
    return [i.kind for i in items], why.texts(items, "vi"), why.texts(items, "en")


def test_a_proposal_above_the_score_names_the_threshold():
    result = {"total": 87.5, "level": "B", "rules_applied": [{"rule": "score", "level": "B", "total": 87.5}]}
    kinds, vi, en = _texts(result, proposed_level="A")
    assert kinds == ["proposal", "score"]
    assert vi[0] == "Lãnh đạo đề xuất loại A nhưng loại A cần từ 90 điểm; tổng 87,5 điểm → loại B."
    assert en[0] == "The manager proposed A, but A needs 90 points or more; a total of 87.5 points gives B."
    assert vi[1] == "Tổng 87,5 điểm → loại B (loại B: từ 70 điểm)."
    # no proposal, or the proposal met: nothing to explain about it
    assert _texts(result, proposed_level="B")[0] == ["score"]
    assert _texts(result)[0] == ["score"]


def test_attendance_discipline_and_the_heads_choice_are_said_from_the_rules():
    capped = {
        "total": 95,
        "level": "C",
        "rules_applied": [
            {"rule": "score", "level": "A"},
            {"rule": "attendance", "level": "C", "days_worked": 10, "working_days": 21},
            {"rule": "objective_cause", "level": "C", "cause": "Nằm viện"},
        ],
    }
    kinds, vi, en = _texts(capped, proposed_level="A")
    assert kinds == ["proposal", "score", "attendance", "objective_cause"]
    assert vi[0] == "Lãnh đạo đề xuất loại A nhưng quy định chỉ cho phép tối đa loại C (xem căn cứ bên dưới)."
    assert vi[2] == "Làm việc 10/21 ngày, không quá 50% số ngày làm việc của tháng: tối đa loại C."
    assert en[2] == "Worked 10 of 21 days, no more than 50% of the month's working days: at most C."
    assert vi[3] == "Lãnh đạo nêu nguyên nhân khách quan: Nằm viện"
    # an old record whose attendance rule has no numbers still reads
    old = {
        "total": 95,
        "level": "C",
        "rules_applied": [{"rule": "score", "level": "A"}, {"rule": "attendance", "level": "C", "reason": "…"}],
    }
    assert _texts(old)[1][1] == "Làm việc không quá 50% số ngày làm việc của tháng: tối đa loại C."

    disciplined = {
        "total": 80,
        "level": "D",
        "rules_applied": [{"rule": "score", "level": "B"}, {"rule": "discipline", "level": "D"}],
    }
    assert _texts(disciplined)[2][1] == "Disciplined (reprimand or higher) in the month: D."

    lowered = {
        "total": 95,
        "level": "B",
        "rules_applied": [
            {"rule": "score", "level": "A"},
            {"rule": "decision", "level": "B", "reason": "Bảo đảm tỷ lệ loại A"},
        ],
    }
    kinds, vi, en = _texts(lowered, quota={"rule": "share_of_evaluated", "share": 0.3})
    assert kinds == ["score", "decision", "quota"]
    assert vi[1] == "Thủ trưởng quyết định loại B, thấp hơn mức quy định cho phép (loại A). Lý do: Bảo đảm tỷ lệ loại A"
    assert en[1] == "The head decided B, below what the rules allow (A). Reason: Bảo đảm tỷ lệ loại A"
    assert vi[2] == "Số người loại A của cơ quan trong tháng không được vượt 30% số người được đánh giá."
    assert _texts({"total": 40, "level": "D", "rules_applied": [{"rule": "score", "level": "D"}]})[1] == [
        "Tổng 40 điểm → loại D (dưới 50 điểm)."
    ]


def test_the_appeal_answer_and_its_reason_are_said():
    result = {"total": 88, "level": "B", "rules_applied": [{"rule": "score", "level": "B"}]}
    kinds, vi, en = _texts(result, appeal={"outcome": "keep", "reason": "Điểm đã đúng quy định"})
    assert kinds[-1] == "appeal"
    assert vi[-1] == "Kiến nghị đã được giải quyết: giữ nguyên kết quả (88 điểm, loại B). Lý do: Điểm đã đúng quy định"
    assert en[-1] == "The appeal was answered: the result is kept (88 points, level B). Reason: Điểm đã đúng quy định"


def test_option_lists_and_read_only_values_never_show_machine_codes():
    schema = {
        "type": "object",
        "x-expanded": True,
        "properties": {
            "outcome": {
                "type": "string",
                "title": "Kết quả giải quyết",
                "x-title-en": "Outcome",
                "oneOf": [
                    {"const": "keep", "title": "Giữ nguyên kết quả", "x-title-en": "Keep the result"},
                    {"const": "amend", "title": "Điều chỉnh điểm", "x-title-en": "Amend the scores"},
                ],
            }
        },
    }
    editable = forms.render(schema, {}, [], {}, lang="vi")
    readonly = forms.render(
        {**schema, "properties": {"outcome": dict(schema["properties"]["outcome"], readOnly=True)}},
        {"outcome": "keep"},
        [],
        {},
        lang="vi",
    )
    for html in (editable, readonly):
        assert "keep –" not in html and "amend –" not in html
    assert "Giữ nguyên kết quả" in readonly
    levels = {
        "type": "object",
        "x-expanded": True,
        "properties": {
            "level": {
                "type": "string",
                "readOnly": True,
                "title": "Xếp loại",
                "oneOf": [
                    {
                        "const": "A",
                        "title": "Hoàn thành xuất sắc nhiệm vụ",
                        "x-title-en": "Excellently completed duties",
                    }
                ],
            }
        },
    }
    assert "A – Excellently completed duties" in forms.render(levels, {"level": "A"}, [], {}, lang="en")


def _month_to_publication(client):
    hr = Api(client, "nva")
    assert hr.post("/cycles", {"unit": "SNV-TCCB", "period": PERIOD}).status_code == 200
    ttb = Api(client, "ttb")
    ttb.complete(ttb.task_for("ttb", "self_evaluation")["id"], scores_for(88))
    tptc = Api(client, "tptc")
    tptc.complete(tptc.task_for("ttb", "review")["id"], dict(scores_for(87.5), days_worked=21, proposed_level="A"))
    gd = Api(client, "gd")
    ok = gd.post("/decisions", {"unit": "SNV", "period": PERIOD, "items": [{"instance_id": record("ttb").instance_id}]})
    assert ok.status_code == 200, ok.get_json()
    return ttb, gd


def _notices(username, kind):
    return db.session.scalars(
        select(Notification).where(Notification.user_id == user(username).id, Notification.kind == kind)
    ).all()


def test_the_person_reads_why_in_the_notification_the_record_and_the_sheet(client):
    ttb, gd = _month_to_publication(client)
    rec = record("ttb")
    assert rec.level == "B" and rec.proposed_level == "A"
    notice = _notices("ttb", "published")[-1]
    assert "Lãnh đạo đề xuất loại A nhưng loại A cần từ 90 điểm; tổng 87,5 điểm → loại B." in notice.message
    assert "The manager proposed A, but A needs 90 points or more; a total of 87.5 points gives B." in notice.message_en
    assert "cần từ" not in notice.message_en

    login(client, "ttb")
    page = client.get(f"/instances/{rec.instance_id}").get_data(as_text=True)
    why_list = page[page.index('id="why"') :]
    assert "loại A cần từ 90 điểm" in why_list[: why_list.index("</ul>")]
    en = client.get(f"/instances/{rec.instance_id}?lang=en").get_data(as_text=True)
    assert "A needs 90 points or more" in en and "cần từ 90 điểm" not in en
    sheet = client.get(f"/instances/{rec.instance_id}/sheet?lang=vi").get_data(as_text=True)
    assert "loại A cần từ 90 điểm" in sheet[sheet.index('id="sheet-why"') :]

    # the appeal, kept, with its reason: the notification and the sheet carry the reason
    assert ttb.post(f"/instances/{rec.instance_id}/appeal", {"reason": "Đề nghị xem xét lại"}).status_code == 200
    gd.complete(
        gd.task_for("ttb", "appeal_decision")["id"],
        {"outcome": "keep", "reason": "Khối lượng công việc đã được tính đủ"},
    )
    answered = _notices("ttb", "appeal_answered")[-1]
    assert "giữ nguyên kết quả" in answered.message
    assert "Lý do: Khối lượng công việc đã được tính đủ" in answered.message
    assert "Reason: Khối lượng công việc đã được tính đủ" in answered.message_en
    sheet = client.get(f"/instances/{rec.instance_id}/sheet").get_data(as_text=True)
    assert "Lý do: Khối lượng công việc đã được tính đủ" in sheet
    page = client.get(f"/instances/{rec.instance_id}").get_data(as_text=True)
    assert "Lý do: Khối lượng công việc đã được tính đủ" in page
    # the record's history shows the outcome by its title, never the code
    assert "keep –" not in page


def test_the_decision_page_explains_the_proposal_and_keeps_a_stable_order(client):
    hr = Api(client, "nva")
    assert hr.post("/cycles", {"unit": "SNV-TCCB", "period": PERIOD}).status_code == 200
    tptc = Api(client, "tptc")
    for name, total, proposed in (("ttb", 87.5, "A"), ("lvc", 80, "B"), ("nva", 92, "A")):
        api = Api(client, name)
        api.complete(api.task_for(name, "self_evaluation")["id"], scores_for(total))
        tptc.complete(
            tptc.task_for(name, "review")["id"], dict(scores_for(total), days_worked=21, proposed_level=proposed)
        )
    login(client, "gd")
    html = client.get("/decisions").get_data(as_text=True)
    row = html[html.index(f'data-instance="{record("ttb").instance_id}"') :]
    row = row[: row.index("</tr>")]
    assert "Lãnh đạo đề xuất loại A nhưng loại A cần từ 90 điểm; tổng 87,5 điểm → loại B." in row
    order = re.findall(r'<tr data-level="[A-D]" data-instance="(\d+)"', html)
    names = [db.session.get(ProcessInstance, int(i)).subject.full_name for i in order]
    assert len(names) == 3 and names == sorted(names)  # one unit: by name
    assert order == re.findall(
        r'<tr data-level="[A-D]" data-instance="(\d+)"', client.get("/decisions").get_data(as_text=True)
    )
