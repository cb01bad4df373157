"""Excel exports (openpyxl), ready to print: the monthly result list of a unit and the quarter/year
roll-up. Vietnamese headers, the administrative heading (quốc hiệu), A4 landscape fitted to the
page width, the header row repeated on every page, page numbers, and a signature block."""

from __future__ import annotations

import io
import re
import unicodedata
from datetime import datetime

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from sqlalchemy import select

from app import localtime
from app.extensions import db
from app.models import EvaluationRecord, Unit, User
from app.rules.levels import LEVEL_NAMES, LEVELS

from app.services.organisation import access
from . import filters, rollup
from .spreadsheet_text import keep_workbook_text, sheet_value
from .dashboard import check_period
from app.services.errors import Forbidden
from app.labels import STATUS_LABELS

FONT = "Times New Roman"
THIN = Side(style="thin", color="000000")
BORDER = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
HEAD_FILL = PatternFill("solid", fgColor="D9E1F2")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

MONTHLY_HEADERS = [
    "STT",
    "Họ và tên",
    "Tên đăng nhập",
    "Đơn vị",
    "Điểm tự chấm",
    "Tổng điểm",
    "Xếp loại",
    "Mức xếp loại",
    "Trạng thái",
    "Khối lượng KH (%)",
    "Chất lượng (%)",
    "Tiến độ (%)",
    "Ghi chú",
]
MONTHLY_WIDTHS = [6, 28, 14, 26, 10, 10, 9, 30, 26, 11, 11, 11, 34]
PLAN_COLUMNS = (10, 11, 12)  # the work plan's measures (issue #14), as computed at the review


def _ascii(text: str) -> str:
    plain = unicodedata.normalize("NFD", text.replace("Đ", "D").replace("đ", "d"))
    plain = "".join(c for c in plain if not unicodedata.combining(c))
    return re.sub(r"[^A-Za-z0-9._-]+", "-", plain).strip("-") or "export"


def _name_key(name: str) -> str:
    return _ascii(name).casefold()


def _now_local() -> datetime:
    return localtime.now()


def _parent_name(unit: Unit) -> str:
    """The superior body (cơ quan chủ quản) above the issuing agency, for the first heading line."""
    agency = unit.agency() or unit
    return (agency.parent.name if agency.parent is not None else "").upper()


def _heading(ws, unit: Unit, title: str, subtitle: str, ncols: int) -> int:
    """Quốc hiệu, tiêu ngữ, the issuing body, the title; returns the header row number."""
    left = max(2, ncols // 2 - 1)
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=left)
    ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=left)
    ws.merge_cells(start_row=1, start_column=left + 1, end_row=1, end_column=ncols)
    ws.merge_cells(start_row=2, start_column=left + 1, end_row=2, end_column=ncols)
    ws.cell(1, 1, sheet_value(_parent_name(unit))).font = Font(name=FONT, size=12)
    ws.cell(2, 1, sheet_value((unit.agency() or unit).name.upper())).font = Font(name=FONT, size=12, bold=True)
    ws.cell(1, left + 1, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM").font = Font(name=FONT, size=12, bold=True)
    ws.cell(2, left + 1, "Độc lập - Tự do - Hạnh phúc").font = Font(name=FONT, size=13, bold=True)
    for r in (1, 2):
        for c in (1, left + 1):
            ws.cell(r, c).alignment = Alignment(horizontal="center")
    now = _now_local()
    ws.merge_cells(start_row=3, start_column=left + 1, end_row=3, end_column=ncols)
    ws.cell(3, left + 1, f"Hà Nội, ngày {now.day:02d} tháng {now.month:02d} năm {now.year}").font = Font(
        name=FONT, size=12, italic=True
    )
    ws.cell(3, left + 1).alignment = Alignment(horizontal="center")
    for row, text, size in ((5, title, 14), (6, subtitle, 12)):
        ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=ncols)
        cell = ws.cell(row, 1, sheet_value(text))
        cell.font = Font(name=FONT, size=size, bold=row == 5)
        cell.alignment = Alignment(horizontal="center", wrap_text=True)
    ws.row_dimensions[5].height = 36
    return 8


def _header_row(ws, row: int, headers: list[str], widths: list[int]) -> None:
    for col, (text, width) in enumerate(zip(headers, widths), start=1):
        cell = ws.cell(row, col, text)
        cell.font = Font(name=FONT, size=12, bold=True)
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        cell.border, cell.fill = BORDER, HEAD_FILL
        ws.column_dimensions[get_column_letter(col)].width = width
    ws.row_dimensions[row].height = 32


def _body_cell(ws, row: int, col: int, value, align: str = "left"):
    cell = ws.cell(row, col, sheet_value(value))
    cell.font = Font(name=FONT, size=12)
    cell.border = BORDER
    cell.alignment = Alignment(horizontal=align, vertical="center", wrap_text=True)
    return cell


def _print_setup(ws, header_row: int, last_col: int, last_row: int) -> None:
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.5
    ws.page_margins.top, ws.page_margins.bottom = 0.6, 0.6
    ws.print_title_rows = f"{header_row}:{header_row}"
    ws.print_area = f"A1:{get_column_letter(last_col)}{last_row}"
    ws.freeze_panes = ws.cell(header_row + 1, 1)
    ws.oddFooter.center.text = "Trang &P / &N"
    ws.oddFooter.center.font = FONT


def _signatures(ws, row: int, ncols: int) -> int:
    left = max(2, ncols // 2 - 1)
    ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=left)
    ws.merge_cells(start_row=row, start_column=left + 1, end_row=row, end_column=ncols)
    for col, text in ((1, "NGƯỜI LẬP BIỂU"), (left + 1, "THỦ TRƯỞNG CƠ QUAN, ĐƠN VỊ")):
        cell = ws.cell(row, col, text)
        cell.font = Font(name=FONT, size=12, bold=True)
        cell.alignment = Alignment(horizontal="center")
        note = ws.cell(row + 1, col, "(Ký, ghi rõ họ tên)")
        note.font = Font(name=FONT, size=11, italic=True)
        note.alignment = Alignment(horizontal="center")
    ws.merge_cells(start_row=row + 1, start_column=1, end_row=row + 1, end_column=left)
    ws.merge_cells(start_row=row + 1, start_column=left + 1, end_row=row + 1, end_column=ncols)
    return row + 5


def _save(wb: Workbook) -> bytes:
    keep_workbook_text(wb)  # names and notes come from people: never a live formula
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


# -------------------------------------------------------------------------------------- monthly
def monthly_rows(viewer: User, unit_code: str, period: str) -> tuple[Unit, list[dict]]:
    check_period(period)
    unit = filters.unit_for(unit_code)
    scope = access.record_scope(viewer)
    if scope.is_empty:
        raise Forbidden("Anh/chị không có quyền xem báo cáo.", "You may not see reports.")
    subtree = filters.scoped_subtree(viewer, unit, scope)
    R = EvaluationRecord
    rows = db.session.execute(
        select(R, User.full_name, User.username, Unit.code, Unit.name)
        .join(User, User.id == R.subject_id)
        .join(Unit, Unit.id == R.unit_id)
        .where(R.period == period, scope.clause(R.unit_id, R.subject_id, subtree))
    ).all()
    out = []
    for r, full_name, username, code, unit_name in rows:
        final = r.level if r.published_at else None
        notes = []
        if r.status == "not_evaluated":
            notes.append(f"Không đánh giá: {r.not_evaluated_reason or ''}".strip())
        if r.self_evaluation_missed:
            notes.append("Không tự đánh giá")
        if r.appealed:
            notes.append("Có kiến nghị")
        for rule in r.rules_applied or []:
            if not isinstance(rule, dict) or not rule.get("reason"):
                continue
            if rule.get("rule") in ("attendance", "discipline"):
                notes.append(str(rule["reason"]))
            elif rule.get("rule") == "decision":
                notes.append(f"Thủ trưởng xếp loại {rule.get('level')}: {rule['reason']}")
            elif rule.get("rule") in ("plan_objective_cause_confirmed", "unit_results"):
                notes.append(str(rule["reason"]))
        kpi = r.kpi if isinstance(r.kpi, dict) else {}
        if kpi.get("fallback"):
            notes.append("Không có nhiệm vụ được tính: điểm kết quả thực hiện nhiệm vụ do lãnh đạo chấm")
        out.append(
            {
                "instance_id": r.instance_id,
                "full_name": full_name,
                "username": username,
                "unit": code,
                "unit_name": unit_name,
                "self_total": r.self_total,
                "total": r.total if final else None,
                "level": final,
                "level_name": LEVEL_NAMES.get(final or "", ""),
                "status": STATUS_LABELS.get(r.status, r.status),
                "status_code": r.status,
                "quantity": kpi.get("quantity"),
                "quality": kpi.get("quality"),
                "timeliness": kpi.get("timeliness"),
                "notes": "; ".join(notes),
            }
        )
    out.sort(key=lambda x: (x["unit"], _name_key(x["full_name"]), x["username"]))
    return unit, out


def monthly_workbook(viewer: User, unit_code: str, period: str) -> tuple[str, bytes]:
    unit, rows = monthly_rows(viewer, unit_code, period)
    wb = Workbook()
    ws = wb.active
    ws.title = f"Thang {period[5:]}-{period[:4]}"
    n = len(MONTHLY_HEADERS)
    header = _heading(
        ws,
        unit,
        f"KẾT QUẢ ĐÁNH GIÁ, XẾP LOẠI CÁN BỘ, CÔNG CHỨC, VIÊN CHỨC VÀ NGƯỜI LAO ĐỘNG THÁNG {period[5:]}/{period[:4]}",
        f"Đơn vị: {unit.name} ({unit.code})",
        n,
    )
    _header_row(ws, header, MONTHLY_HEADERS, MONTHLY_WIDTHS)
    row = header
    for i, r in enumerate(rows, start=1):
        row = header + i
        values = [
            i,
            r["full_name"],
            r["username"],
            r["unit_name"],
            r["self_total"],
            r["total"],
            r["level"] or "",
            r["level_name"],
            r["status"],
            r["quantity"],
            r["quality"],
            r["timeliness"],
            r["notes"],
        ]
        for col, value in enumerate(values, start=1):
            cell = _body_cell(ws, row, col, value, "center" if col in (1, 5, 6, 7) + PLAN_COLUMNS else "left")
            if col in (5, 6) + PLAN_COLUMNS and value is not None:
                cell.number_format = "0.0#"
    counts = {lv: sum(1 for r in rows if r["level"] == lv) for lv in LEVELS}
    none = sum(1 for r in rows if not r["level"] and r["status_code"] != "not_evaluated")
    not_eval = sum(1 for r in rows if r["status_code"] == "not_evaluated")
    row += 2
    ws.cell(
        row,
        1,
        f"Tổng số: {len(rows)} người. "
        + "; ".join(f"Loại {lv}: {counts[lv]}" for lv in LEVELS)
        + f"; chưa có kết quả: {none}; không đánh giá: {not_eval}.",
    ).font = Font(name=FONT, size=12, bold=True)
    ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=n)
    last = _signatures(ws, row + 2, n)
    _print_setup(ws, header, n, last)
    return f"ket-qua-danh-gia-{_ascii(unit.code)}-{period}.xlsx", _save(wb)


# --------------------------------------------------------------------------------------- roll-up
def rollup_data(viewer: User, unit_code: str, range_text: str) -> dict:
    """rollup.compute as the viewer may see it: a unit scope goes to compute(); a manager who sees
    only their people gets the unit's roll-up narrowed to those people (summary recomputed)."""
    unit = filters.unit_for(unit_code)
    scope = access.record_scope(viewer)
    if scope.is_empty:
        raise Forbidden("Anh/chị không có quyền xem báo cáo.", "You may not see reports.")
    subtree = filters.scoped_subtree(viewer, unit, scope)
    if scope.everything:
        return rollup.compute(unit.code, range_text, None)
    if subtree & scope.unit_ids:
        return rollup.compute(unit.code, range_text, set(scope.unit_ids))
    report = rollup.compute(unit.code, range_text, subtree)
    mine = set(db.session.scalars(select(User.username).where(User.id.in_(scope.subject_ids))))
    report["people"] = [p for p in report["people"] if p["username"] in mine]
    counts = {lv: 0 for lv in LEVELS} | {"none": 0}
    for p in report["people"]:
        counts[p["level"] or "none"] += 1
    means = [p["mean"] for p in report["people"] if p["mean"] is not None]
    report["summary"] = {
        "people": len(report["people"]),
        "counts": counts,
        "mean": round(sum(means) / len(means), 2) if means else None,
    }
    return report


def rollup_workbook(viewer: User, unit_code: str, range_text: str) -> tuple[str, bytes]:
    report = rollup_data(viewer, unit_code, range_text)
    unit = filters.unit_for(unit_code)
    periods = report["periods"]
    label = (
        f"QUÝ {['I', 'II', 'III', 'IV'][int(report['range'][-1]) - 1]} NĂM {report['range'][:4]}"
        if "-Q" in report["range"]
        else f"NĂM {report['range']}"
    )
    headers = (
        ["STT", "Họ và tên", "Đơn vị"]
        + [f"T{int(p[5:])}" for p in periods]
        + ["Số tháng được đánh giá", "Điểm trung bình", "Xếp loại"]
        + [f"Số tháng loại {lv}" for lv in LEVELS]
    )
    widths = [6, 28, 14] + [9] * len(periods) + [11, 11, 9] + [9] * len(LEVELS)
    wb = Workbook()
    ws = wb.active
    ws.title = _ascii(report["range"])
    n = len(headers)
    header = _heading(
        ws,
        unit,
        f"TỔNG HỢP KẾT QUẢ ĐÁNH GIÁ, XẾP LOẠI {label}",
        f"Đơn vị: {unit.name} ({unit.code}). Điểm trung bình: trung bình cộng tổng điểm các tháng "
        "đã công bố; «KĐG»: tháng không đánh giá (không tính).",
        n,
    )
    _header_row(ws, header, headers, widths)
    row = header
    for i, p in enumerate(report["people"], start=1):
        row = header + i
        months = []
        for per in periods:
            m = p["months"].get(per)
            months.append(f"{m['total']:g} ({m['level']})" if m else ("KĐG" if per in p["not_evaluated"] else "—"))
        values = (
            [i, p["full_name"], p["unit"]]
            + months
            + [p["evaluated_months"], p["mean"], p["level"] or "—"]
            + [p["counts"][lv] for lv in LEVELS]
        )
        for col, value in enumerate(values, start=1):
            cell = _body_cell(ws, row, col, value, "left" if col in (2, 3) else "center")
            if headers[col - 1] == "Điểm trung bình" and value is not None:
                cell.number_format = "0.00"
    s = report["summary"]
    row += 2
    ws.cell(
        row,
        1,
        f"Tổng số: {s['people']} người; điểm trung bình chung: "
        f"{'—' if s['mean'] is None else str(s['mean']).replace('.', ',')}. "
        + "; ".join(f"Loại {lv}: {s['counts'][lv]}" for lv in LEVELS)
        + f"; chưa có kết quả: {s['counts']['none']}.",
    ).font = Font(name=FONT, size=12, bold=True)
    ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=n)
    last = _signatures(ws, row + 2, n)
    _print_setup(ws, header, n, last)
    return f"tong-hop-{_ascii(unit.code)}-{report['range']}.xlsx", _save(wb)
