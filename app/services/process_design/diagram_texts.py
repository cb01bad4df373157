"""The labels of the shipped process diagram (its BPMN `name`s that are not step titles), marked for the
catalog so the diagram on an English page reads in English; their English is in scripts/translations_en.py.
tests/test_history_language.py checks that every label of the shipped diagram has its English."""

from __future__ import annotations

from app.i18n import N_

SHIPPED = (
    N_("Người được đánh giá [subject]"),
    N_("Lãnh đạo trực tiếp [direct_manager]"),
    N_("Thủ trưởng đơn vị [decider]"),
    N_("Khởi tạo kỳ đánh giá"),
    N_("Mở trước khi hết kỳ?"),
    N_("Hết kỳ"),
    N_("Trả lại kế hoạch?"),
    N_("Trả lại kế hoạch"),
    N_("Chờ hết kỳ"),
    N_("Nhắc trước 1 ngày làm việc"),
    N_("Nhắc đăng ký kế hoạch"),
    N_("Nhắc tự đánh giá"),
    N_("Đã nhắc"),
    N_("Hết hạn tự đánh giá"),
    N_("Không tự đánh giá"),
    N_("Tính tổng điểm tự đánh giá"),
    N_("Lãnh đạo trực tiếp là Thủ trưởng?"),
    N_("Nhắc nhận xét, chấm điểm"),
    N_("Hết hạn nhận xét"),
    N_("Chuyển Thủ trưởng (quá hạn)"),
    N_("Trả lại để bổ sung?"),
    N_("Trả lại để bổ sung"),
    N_("Tính tổng điểm"),
    N_("Xếp loại theo tổng điểm"),
    N_("Áp dụng quy định xếp loại"),
    N_("Nhắc quyết định xếp loại"),
    N_("Thông báo công khai kết quả"),
    N_("Thời hạn kiến nghị"),
    N_("Nhận kiến nghị"),
    N_("Hết thời hạn kiến nghị"),
    N_("Mở giải quyết kiến nghị"),
    N_("Nhắc giải quyết kiến nghị"),
    N_("Kết quả giải quyết?"),
    N_("Tính lại tổng điểm"),
    N_("Xếp loại lại theo tổng điểm"),
    N_("Cập nhật kết quả (sửa điểm)"),
    N_("Giữ nguyên kết quả"),
    N_("Chốt, lưu trữ"),
    N_("Kết thúc"),
    N_("Trả lại"),
    N_("Có: chuyển thẳng Thủ trưởng"),
    N_("Trả lại (lần đầu)"),
    N_("Sửa điểm"),
    N_("Giữ nguyên"),
)
