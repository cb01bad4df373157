"""Administrators: working-day calendar, scoring schemes, delegations and acting heads, people's accounts."""

from functools import wraps

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, stream_with_context, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app import i18n
from app.database import reads_replica
from app.services.organisation import access, delegation, sso
from app.services.regulation import calendar, schemes
from app.services.reporting import audit_csv
from app.services.errors import NotFound, ServiceError

from .. import stash

bp = Blueprint("admin", __name__, url_prefix="/admin")

# The names of the shipped schemes (stored data, shown through the `tr` filter): marked for the catalog.
SCHEME_NAMES = (i18n.N_("Hà Nội hằng tháng"), i18n.N_("Nghị định 335/2025"))


def admin_required(view):
    @wraps(view)
    @login_required
    def wrapper(*args, **kwargs):
        if not access.is_admin(current_user):
            abort(403)
        return view(*args, **kwargs)

    return wrapper


def _errors(exc: ServiceError) -> dict:
    """field -> its message in the page's language (the first one when a field has several)."""
    out: dict = {}
    for d in exc.details:
        if isinstance(d, dict):
            out.setdefault(d.get("field", ""), i18n.message_of(d))
    return out


def _row_id(field: str) -> int:
    """The id a row's button posts: digits within the database's integer range, else a 400 on the field
    (`int()` of "nan" or of a 30-digit number was a 500)."""
    text = request.form.get(field, "")
    if not (text.isascii() and text.isdigit() and len(text) <= 10) or int(text) > 2**31 - 1:
        raise ServiceError(
            "Mã dòng không hợp lệ.",
            "Not a valid row id.",
            [{"field": field, "message": "Mã dòng không hợp lệ.", "message_en": "Not a valid row id."}],
        )
    return int(text)


@bp.route("/calendar", methods=["GET", "POST"])
@admin_required
def calendar_page():
    error = None
    if request.method == "POST":
        try:
            if request.form.get("delete"):
                calendar.remove_day(_row_id("delete"), current_user)
            else:
                calendar.add_day(
                    request.form.get("day", ""),
                    request.form.get("kind", ""),
                    request.form.get("note", ""),
                    current_user,
                )
            return redirect(url_for("admin.calendar_page"))
        except ServiceError as exc:
            error = exc
    days = calendar.days()
    return render_template(
        "admin/calendar.html",
        days=days,
        kinds=calendar.KINDS,
        error=error,
        field_errors=_errors(error) if error else {},
    ), (error.status if error else 200)


@bp.route("/schemes", methods=["GET", "POST"])
@admin_required
def scheme_list():
    error = None
    if request.method == "POST":
        unit = schemes.unit_by_code(request.form.get("unit", ""))
        try:
            if unit is None:
                raise ServiceError("Không tìm thấy đơn vị.", "No such unit.")
            schemes.assign(unit, request.form.get("scheme", ""), request.form.get("effective_from", ""), current_user)
            flash(_("Đã gán khung tiêu chí."), "success")
            return redirect(url_for("admin.scheme_list"))
        except (ServiceError, ValueError) as exc:
            error = (
                exc
                if isinstance(exc, ServiceError)
                else ServiceError("Kỳ áp dụng phải có dạng YYYY-MM.", "The period must be YYYY-MM.")
            )
    return render_template("admin/schemes.html", **schemes.overview(), error=error), (error.status if error else 200)


@bp.route("/schemes/<code>/edit", methods=["GET", "POST"])
@admin_required
def scheme_edit(code):
    current = schemes.latest(code)
    error, field_errors = None, {}
    criteria = current.definition["criteria"]
    if request.method == "POST":
        edited = {}
        for group_name in criteria:
            rows, i = [], 0
            while f"{group_name}-{i}-code" in request.form:
                row = {k: request.form.get(f"{group_name}-{i}-{k}", "") for k in ("code", "group", "name", "max")}
                if f"{group_name}-{i}-source" in request.form:
                    source = request.form[f"{group_name}-{i}-source"].strip()
                    row["source"] = source.split("+") if "+" in source else source
                else:  # a form without the column keeps where the criterion's points came from
                    row["source"] = next(
                        (c.get("source") for c in criteria[group_name] if c.get("code") == row["code"]), None
                    )
                rows.append(row)
                i += 1
            edited[group_name] = rows
        try:
            new = schemes.edit(code, edited, request.form.get("effective_from", ""), current_user)
            starts = "%s/%s" % (new.effective_from[5:], new.effective_from[:4])
            flash(
                _(
                    "Đã lưu phiên bản %(version)s, áp dụng từ kỳ %(period)s. Các kỳ đã mở không thay đổi.",
                    version=new.version,
                    period=starts,
                ),
                "success",
            )
            return redirect(url_for("admin.scheme_list"))
        except ServiceError as exc:
            error, field_errors, criteria = exc, _errors(exc), edited
    return render_template(
        "admin/scheme_edit.html", scheme=current, criteria=criteria, error=error, field_errors=field_errors
    ), (error.status if error else 200)


@bp.route("/audit.csv")
@admin_required
@reads_replica
def audit_export():
    lines = audit_csv.export_csv(request.args.get("from"), request.args.get("to"))
    name = f"nhat-ky-{request.args.get('from') or 'dau'}-{request.args.get('to') or 'nay'}.csv"
    return Response(
        stream_with_context(lines),
        mimetype="text/csv; charset=utf-8",
        headers={"Content-Disposition": f"attachment; filename={name}"},
    )


@bp.route("/delegations", methods=["GET", "POST"])
@login_required
def delegations():
    error = None
    if request.method == "POST":
        try:
            if request.form.get("revoke"):
                delegation.revoke_delegation(current_user, _row_id("revoke"))
            elif request.form.get("kind"):
                delegation.create_appointment(
                    current_user,
                    request.form.get("unit", ""),
                    request.form.get("username", ""),
                    request.form.get("kind", ""),
                    request.form.get("start", ""),
                    request.form.get("end") or None,
                )
            else:
                principal = request.form.get("principal") if access.is_admin(current_user) else current_user.username
                delegation.create_delegation(
                    current_user,
                    principal,
                    request.form.get("deputy", ""),
                    request.form.get("start", ""),
                    request.form.get("end", ""),
                    request.form.get("reason", ""),
                )
            flash(_("Đã lưu."), "success")
            return redirect(url_for("admin.delegations"))
        except ServiceError as exc:
            error = exc
    rows, appointments = delegation.listing(current_user)
    return render_template(
        "admin/delegations.html",
        rows=rows,
        appointments=appointments,
        error=error,
        field_errors=_errors(error) if error else {},
        is_admin=access.is_admin(current_user),
    ), (error.status if error else 200)


@bp.route("/users")
@admin_required
def users():
    """A person's account, looked up by username: who they are and whether a city account is bound,
    with the button that unlinks it."""
    refused = stash.take(page="users")
    username = (refused.get("values") or {}).get("username") or request.args.get("username", "")
    field_errors = {f: i18n.message_of(d) for f, d in (refused.get("fields") or {}).items()}
    person, status = None, 200
    if username.strip():
        try:
            person = sso.account(current_user, username)
        except NotFound as exc:
            field_errors.setdefault("username", i18n.message_of(exc))
            status = 404
    return render_template(
        "admin/users.html",
        username=username,
        person=person,
        error=refused.get("error") if refused else None,
        field_errors=field_errors,
    ), status


@bp.post("/users/sso-unbind")
@admin_required
def sso_unbind():
    username = request.form.get("username", "")
    try:
        person = sso.unbind(current_user, username, confirmed=request.form.get("confirm") == "yes", source="page")
    except ServiceError as exc:
        if exc.status == 403:
            raise
        stash.keep("sso_unbind", exc, {"username": username}, page="users")
        return redirect(url_for("admin.users", username=username))
    flash(_("Đã gỡ liên kết tài khoản thành phố của %(name)s.", name=person.full_name), "success")
    return redirect(url_for("admin.users", username=person.username))
