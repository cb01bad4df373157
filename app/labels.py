"""The names of a record's statuses and of audit actions, marked for the catalog (Vietnamese msgids).

Pages translate them when they render; exports and messages use them in Vietnamese. They were in the
instance service, which starts, loads and saves instances and has no use for them itself."""

from __future__ import annotations

from app.i18n import N_

STATUS_LABELS = {
    "planning": N_("Đang đăng ký kế hoạch"),
    "plan_approval": N_("Chờ duyệt kế hoạch"),
    "in_progress": N_("Đang thực hiện kế hoạch"),
    "self_evaluation": N_("Đang tự đánh giá"),
    "review": N_("Đang chờ lãnh đạo chấm"),
    "decision": N_("Chờ thủ trưởng quyết định"),
    "published": N_("Đã công bố, trong thời hạn kiến nghị"),
    "appeal": N_("Đang giải quyết kiến nghị"),
    "locked": N_("Đã chốt"),
    "error": N_("Lỗi quy trình"),
    "terminated": N_("Đã hủy"),
    "not_evaluated": N_("Không đánh giá"),
    "suspended": N_("Tạm dừng"),
}


ACTION_LABELS = {
    "instance_started": N_("Mở hồ sơ đánh giá"),
    "plan_item_added": N_("Thêm nhiệm vụ vào kế hoạch"),
    "migrated": N_("Chuyển sang phiên bản quy trình mới"),
    "instance_moved": N_("Chuyển hồ sơ về một bước đã làm"),
    "task_assigned": N_("Giao việc"),
    "task_completed": N_("Hoàn thành"),
    "task_closed": N_("Đóng việc (quá hạn / dừng)"),
    "reminder_sent": N_("Nhắc việc"),
    "escalated": N_("Chuyển thủ trưởng (quá hạn)"),
    "published": N_("Công bố kết quả"),
    "appeal_submitted": N_("Gửi kiến nghị"),
    "timer_fired": N_("Đến hạn"),
    "not_evaluated": N_("Không đánh giá"),
    "engine_error": N_("Lỗi quy trình"),
    "overdue": N_("Quá hạn (đã báo)"),
    "task_reassigned": N_("Giao lại việc"),
    "deadline_extended": N_("Gia hạn"),
    "instance_suspended": N_("Tạm dừng hồ sơ"),
    "instance_resumed": N_("Tiếp tục hồ sơ"),
    "instance_terminated": N_("Hủy hồ sơ"),
    "instance_retried": N_("Chạy lại sau lỗi"),
    "retry_failed": N_("Chạy lại không thành công"),
    "notification_resent": N_("Gửi lại thông báo"),
}
