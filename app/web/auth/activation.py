"""Account activation, "Quên mật khẩu" (password reset) and the HR officers' page of people who have
not activated their account (printed activation codes). Kept apart from the sign-in routes."""

from __future__ import annotations

import logging

from flask import (
    Blueprint,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app import i18n
from app.services.organisation import activation
from app.services.errors import Invalid, ServiceError

from .. import stash
from ..form_ids import form_ids

log = logging.getLogger(__name__)
bp = Blueprint("account", __name__)


def _field_errors(exc: ServiceError) -> dict:
    out: dict = {}
    for d in exc.details:
        if isinstance(d, dict):
            out.setdefault(d.get("field", ""), []).append(i18n.message_of(d))
    return out


def _set_password_page(purpose: str):
    error, field_errors, status = None, {}, 200
    if request.method == "POST":
        try:
            activation.redeem(
                purpose,
                request.form.get("code", ""),
                request.form.get("new", ""),
                request.form.get("confirm", ""),
                request.remote_addr or "",
            )
        except activation.TooMany as exc:
            error, status = exc, 429
        except Invalid as exc:
            error, field_errors, status = exc, _field_errors(exc), 422
        else:
            flash(_("Đã đặt mật khẩu. Hãy đăng nhập bằng mật khẩu mới."), "success")
            return redirect(url_for("auth.login"))
    response = make_response(
        render_template("account/set_password.html", purpose=purpose, error=error, field_errors=field_errors), status
    )
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.route("/account/activate", methods=["GET", "POST"])
def activate():
    return _set_password_page("activation")


@bp.route("/account/reset", methods=["GET", "POST"])
def reset():
    return _set_password_page("reset")


@bp.route("/account/forgot", methods=["GET", "POST"])
def forgot():
    error, sent, status = None, False, 200
    if request.method == "POST":
        try:
            activation.request_reset(request.form.get("identifier", ""), request.remote_addr or "")
        except activation.TooMany as exc:
            error, status = exc, 429
        else:
            sent = True  # the same answer whether or not the account exists
    return render_template("account/forgot.html", error=error, sent=sent), status


@bp.route("/hr/activation")
@login_required
def pending():
    chosen = request.args.get("unit", "")
    return render_template(
        "account/pending.html",
        **activation.pending_page(current_user, chosen),
        chosen=chosen,
        refused=stash.take(page="pending"),
    )


def _pending_again(exc: Invalid):
    """Post/redirect/get: the list again, the refusal next to the choice it names."""
    unit = request.form.get("unit", "")
    stash.keep("pending", exc, {"unit": unit}, page="pending")
    return redirect(url_for("account.pending", unit=unit or None, _anchor="pending-form"))


@bp.route("/hr/activation/codes", methods=["POST"])
@login_required
def print_codes():
    ids = form_ids("user_id")
    try:
        codes = activation.print_codes(current_user._get_current_object(), ids)
    except Invalid as exc:
        return _pending_again(exc)
    link = url_for("account.activate", _external=True)
    response = make_response(render_template("account/codes.html", codes=codes, link=link, grouped=activation.grouped))
    response.headers["Cache-Control"] = "no-store"  # the codes exist on this page only
    return response


@bp.route("/hr/activation/mail", methods=["POST"])
@login_required
def send_mail():
    actor = current_user._get_current_object()
    ids = form_ids("user_id")
    try:
        queued = activation.send_activations_to(actor, ids)
    except Invalid as exc:
        return _pending_again(exc)
    flash(_("Đã xếp %(n)s thư kích hoạt vào hàng đợi gửi.", n=queued), "success")
    return redirect(url_for("account.pending", unit=request.form.get("unit", "")))
