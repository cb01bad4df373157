from urllib.parse import urlparse

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from app import i18n
from app.services import audit
from app.services.organisation import accounts, preferences, sso
from app.services.errors import Invalid, ServiceError

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    """A path on this site, else the inbox. Browsers read a backslash as a slash ("/\\evil.example" is
    "//evil.example") and drop tabs and newlines inside a URL, so a target with either is refused too."""
    if (
        target
        and target.startswith("/")
        and not target.startswith("//")
        and "\\" not in target
        and not any(ord(ch) < 32 or ord(ch) == 127 for ch in target)
    ):
        parts = urlparse(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for("tasks.inbox")


@bp.route("/login", methods=["GET", "POST"])
def login():
    error, status = None, 200
    if request.method == "POST" and not sso.local_login_allowed():
        error, status = accounts.LocalLoginOff(*accounts.LOCAL_LOGIN_OFF), 403
    elif request.method == "POST":
        try:
            result = accounts.sign_in(
                request.form.get("username", ""), request.form.get("password", ""), request.remote_addr or ""
            )
        except accounts.LockedOut as exc:
            error, status = exc, 429
        else:
            if result.user is None:
                error, status = ServiceError(result.error, result.error_en), 401
            else:
                lang = session.get("lang")
                session.clear()
                if lang in i18n.LANGUAGES:
                    session["lang"] = lang  # the language chosen before signing in stays
                session.permanent = True
                login_user(result.user)
                return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/login.html", error=error), status


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    lang = i18n.current()
    id_token = session.get("sso_id_token")
    logout_user()
    session.clear()
    session["lang"] = lang
    flash(_("Đã đăng xuất.") if lang == "en" else "Đã đăng xuất. / Signed out.")
    return _end_provider_session(id_token)


def _end_provider_session(id_token: str | None):
    """After a sign-in through the city's account, the provider's session ends too (RP-initiated
    logout), or the next "sign in with the city's account" would let the next person at this
    terminal straight in."""
    if id_token:
        url = sso.logout_url(id_token, url_for("auth.login", _external=True))
        if url:
            return redirect(url)
    return redirect(url_for("auth.login"))


@bp.route("/logout/everywhere", methods=["POST"])
@login_required
def logout_everywhere():
    accounts.sign_out_everywhere(current_user._get_current_object())
    audit.record("signed_out_everywhere", actor=current_user._get_current_object())
    lang = i18n.current()
    id_token = session.get("sso_id_token")
    logout_user()
    session.clear()
    session["lang"] = lang
    flash(
        _("Đã đăng xuất khỏi mọi thiết bị.")
        if lang == "en"
        else "Đã đăng xuất khỏi mọi thiết bị. / Signed out everywhere."
    )
    return _end_provider_session(id_token)


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    error, field_errors = None, {}
    if request.method == "POST":
        try:
            accounts.change_password(
                current_user,
                request.form.get("current", ""),
                request.form.get("new", ""),
                request.form.get("confirm", ""),
            )
        except Invalid as exc:
            error = exc
            for d in exc.details:
                field_errors.setdefault(d["field"], []).append(i18n.message_of(d))
        else:
            login_user(current_user._get_current_object())  # this browser stays signed in
            flash(_("Đã đổi mật khẩu. Các phiên đăng nhập và mã truy cập API khác đã bị hủy."), "success")
            return redirect(url_for("tasks.inbox"))
    return render_template("auth/password.html", error=error, field_errors=field_errors), (422 if error else 200)


@bp.route("/language/<code>", methods=["GET", "POST"])
def switch_language(code):
    """The header's language switch, a form: remembered in the session and, for a signed-in person, as
    their preference (also the language of their e-mails). A GET (a shared link) changes the session
    only: nothing is written on a GET."""
    if code in i18n.LANGUAGES:
        session["lang"] = code
        if request.method == "POST" and current_user.is_authenticated:
            preferences.save(current_user._get_current_object(), language=code)
    return redirect(_safe_next(request.values.get("next")))


@bp.route("/accessibility")
def accessibility():
    return render_template("auth/accessibility.html")


@bp.route("/account/preferences", methods=["GET", "POST"], endpoint="preferences")
@login_required
def preferences_page():
    user = current_user._get_current_object()
    if request.method == "POST":
        language = request.form.get("language")
        preferences.save(
            user,
            language=language,
            mail={group: request.form.get(f"mail_{group}") == "on" for group in preferences.GROUPS},
            daily_digest=request.form.get("daily_digest") == "on",
        )
        if language in i18n.LANGUAGES:
            session["lang"] = language
            from flask_babel import refresh

            refresh()
        flash(_("Đã lưu tùy chọn."), "success")
        return redirect(url_for("auth.preferences"))
    return render_template("auth/preferences.html", pref=preferences.get(user), groups=preferences.GROUPS)
