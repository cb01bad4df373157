from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import login_required, login_user, logout_user
from urllib.parse import urlparse

from app.services import accounts

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    if target and urlparse(target).netloc == "" and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("tasks.inbox")


@bp.route("/login", methods=["GET", "POST"])
def login():
    error = None
    if request.method == "POST":
        user = accounts.authenticate(request.form.get("username", ""), request.form.get("password", ""))
        if user is None:
            error = "Tên đăng nhập hoặc mật khẩu không đúng."
        else:
            session.clear()
            session.permanent = True
            login_user(user)
            return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/login.html", error=error), (401 if error else 200)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    logout_user()
    session.clear()
    flash("Đã đăng xuất. / Signed out.")
    return redirect(url_for("auth.login"))
