"""The HR page that records a transfer with its effective date (app.services.organisation.transfers)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app import i18n
from app.services.organisation import access, transfers
from app.services.errors import Forbidden, Invalid

bp = Blueprint("transfers", __name__)


def _require_hr():
    if not (access.is_admin(current_user) or access.hr_scope(current_user)):
        raise Forbidden(
            "Chỉ cán bộ tổ chức của cơ quan hoặc quản trị hệ thống mới được ghi nhận điều chuyển.",
            "Only the agency's HR officers or administrators may record a transfer.",
        )


@bp.route("/hr/transfers", methods=["GET", "POST"])
@login_required
def transfer_page():
    _require_hr()
    error, field_errors, status = None, {}, 200
    if request.method == "POST":
        try:
            person = transfers.record(
                current_user._get_current_object(),
                request.form.get("username", ""),
                request.form.get("unit", ""),
                request.form.get("on", ""),
            )
        except Invalid as exc:
            error, status = exc, 422
            for d in exc.details:
                field_errors.setdefault(d.get("field", ""), i18n.message_of(d))
        else:
            flash(
                _("Đã ghi nhận điều chuyển %(name)s sang %(unit)s.", name=person.full_name, unit=person.unit.code),
                "success",
            )
            return redirect(url_for("transfers.transfer_page"))
    lists = transfers.page(current_user)
    return render_template(
        "admin/transfers.html", **lists, error=error, field_errors=field_errors, form=request.form
    ), status
