"""The instructions the shipped process shows above each step's form, as written in its BPMN, marked
for the catalog so an English page reads them in English (their English, with the same template names,
is in scripts/translations_en.py). A step a designer adds keeps its own text in either language.
tests/test_history_language.py checks that each of the shipped process's instructions is listed here."""

from __future__ import annotations

from app.i18n import N_

SHIPPED = (
    # work_plan
    N_(
        "Đăng ký các nhiệm vụ, sản phẩm của tháng **{{ period }}**: tên nhiệm vụ, sản phẩm dự kiến, trọng số (mặc định 1) và thời hạn. Lãnh đạo trực tiếp sẽ duyệt kế hoạch; điểm kết quả thực hiện nhiệm vụ được tính từ kế hoạch này.\n{% if plan_note %}\n\n**Lãnh đạo trực tiếp trả lại kế hoạch:** {{ plan_note }}\n{% endif %}"
    ),
    # plan_approval
    N_(
        "Duyệt kế hoạch công tác tháng **{{ period }}** của **{{ subject.full_name }}**: có thể sửa, thêm (giao việc) hoặc bỏ nhiệm vụ, hoặc trả lại để cá nhân đăng ký lại (một lần)."
    ),
    # self_evaluation
    N_(
        "Tự chấm điểm theo từng tiêu chí của khung đánh giá kỳ **{{ period }}**, ghi kết quả công việc, điểm thưởng, điểm trừ (nếu có) và gửi cho Lãnh đạo trực tiếp trước hạn.\n{% if revision_note %}\n\n**Lãnh đạo trực tiếp trả lại để bổ sung:** {{ revision_note }}\n{% endif %}"
    ),
    # review
    N_(
        "Xem phần tự đánh giá của **{{ subject.full_name }}** kỳ **{{ period }}**{% if self_evaluation_missed %} (cá nhân **không tự đánh giá**){% endif %}, nhận xét, chấm điểm từng tiêu chí và đề xuất xếp loại. Có thể trả lại để cá nhân bổ sung (một lần)."
    ),
    # review_by_decider
    N_(
        "{% if review_escalated %}Lãnh đạo trực tiếp chưa nhận xét, chấm điểm **{{ subject.full_name }}** kỳ **{{ period }}** đúng hạn. Thủ trưởng nhận xét, chấm điểm và đề xuất xếp loại thay.{% else %}Lãnh đạo trực tiếp của **{{ subject.full_name }}** là Thủ trưởng: hồ sơ kỳ **{{ period }}** chuyển thẳng Thủ trưởng nhận xét, chấm điểm, rồi quyết định xếp loại cùng đợt.{% endif %}"
    ),
    # decision
    N_(
        "Tổng điểm **{{ result.total }}**, mức xếp loại theo quy định: **{{ result.level }}**. Thủ trưởng giữ nguyên hoặc hạ mức xếp loại (không được nâng), ghi rõ lý do khi hạ."
    ),
    # appeal_decision
    N_(
        "Cá nhân kiến nghị về kết quả xếp loại kỳ **{{ period }}**: {{ appeal.reason }}\n\nGiữ nguyên kết quả hoặc sửa điểm (mức xếp loại được tính lại), luôn ghi rõ lý do."
    ),
)
