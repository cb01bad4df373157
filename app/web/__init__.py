"""Blueprints (thin routes) and what every page shares: errors, filters, security headers."""

from __future__ import annotations

import logging
from datetime import datetime
from urllib.parse import urlsplit

from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.routing import IntegerConverter

from flask import Flask, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError

from flask_babel import gettext

from app import localtime
from app import i18n
from app.extensions import login_manager
from app.rules.levels import LEVEL_NAMES, LEVEL_NAMES_EN
from app.services import errors, transaction
from app.services.messaging import notifications
from app.services.organisation import accounts, menu, sso
from app.services.errors import BadRequest, ServiceError
from app.labels import ACTION_LABELS, STATUS_LABELS

from .json_body import StrictJSONProvider

log = logging.getLogger(__name__)


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.is_json


class BoundedInt(IntegerConverter):
    """`<int:id>` that stops at the database's integer range: a larger id is a 404, not an overflow."""

    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(url_map, *args, **kwargs)


def register(app: Flask) -> None:
    app.url_map.converters["int"] = BoundedInt
    app.json = StrictJSONProvider(app)
    from . import ops

    ops.init_app(app)  # first: its request timer must start before any other hook
    from .admin.routes import bp as admin_bp
    from .api.routes import bp as api_bp
    from .auth.routes import bp as auth_bp
    from .monitor.routes import bp as monitor_bp
    from .tasks.routes import bp as tasks_bp

    for bp in (auth_bp, tasks_bp, monitor_bp, admin_bp, api_bp):
        app.register_blueprint(bp)
    from .designer.routes import bp as designer_bp

    app.register_blueprint(designer_bp)
    from .dashboard.routes import bp as dashboard_bp

    app.register_blueprint(dashboard_bp)
    from .auth.activation import bp as account_bp

    app.register_blueprint(account_bp)
    from .auth.oidc import bp as sso_bp

    app.register_blueprint(sso_bp)
    from .admin.transfers import bp as transfers_bp

    app.register_blueprint(transfers_bp)

    _in_transactions(app)

    @login_manager.user_loader
    def load_user(session_id):
        user_id, _, version = str(session_id).partition(":")
        if not user_id.isdigit() or not version.isdigit():
            return None
        return accounts.session_user(int(user_id), int(version))

    @app.errorhandler(ServiceError)
    def service_error(exc: ServiceError):
        if _wants_json():
            return jsonify(exc.to_json()), exc.status
        if request.method == "POST" and exc.status == 409 and _page_at(request.path):
            # post/redirect/get: a form that came too late (done or changed meanwhile) lands on the page's
            # own address with the reason, so a reload never posts again
            transaction.discard()
            flash(i18n.message_of(exc), "error")
            return redirect(request.path)
        back = _form_page() if request.method == "POST" and exc.status not in (401, 403, 404) else None
        if back is not None:
            # a refused form posted to an address that is not a page: back to the page it came from with
            # the reason (a route that knows its fields puts them next to the fields, app/web/stash.py)
            transaction.discard()
            flash(i18n.message_of(exc), "error")
            return redirect(back)
        return render_template("errors/error.html", error=exc), exc.status

    @app.errorhandler(OperationalError)
    def database_error(exc):
        # The same answer a unit of work gives: lock contention is a 409 "try again", a database
        # that cannot be reached a 503. The transaction is rolled back: nothing was written.
        transaction.discard()
        err = errors.from_database(exc)
        current_app.logger.error("database error (%s): %s", err.status, str(exc.orig or exc).splitlines()[0])
        if _wants_json():
            return jsonify(err.to_json()), err.status
        return render_template("errors/error.html", error=err), err.status

    @app.errorhandler(CSRFError)
    def csrf_error(exc):
        vi = "Trang đã hết hạn, vui lòng gửi lại."
        en = "The page had expired, please submit again."
        back = _refused_form(vi, en, f"CSRF ({exc.description})")
        if back is not None:
            return back
        if _asks_json():
            return jsonify({"error": "csrf", "message": vi, "message_en": en, "details": []}), 400
        return render_template("errors/error.html", error=ServiceError(vi, en)), 400

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(exc):
        mb = round(_size_limit() / (1024 * 1024), 1)
        vi = f"Tệp hoặc dữ liệu gửi lên vượt quá giới hạn {i18n.format_number(mb, 'vi')} MB."
        en = f"The upload is larger than the {i18n.format_number(mb, 'en')} MB limit."
        back = _refused_form(vi, en, "413")
        if back is not None:
            return back
        if _asks_json():
            return jsonify({"error": "too_large", "message": vi, "message_en": en, "details": []}), 413
        return render_template("errors/error.html", error=ServiceError(vi, en)), 413

    for code, vi, en in (
        (403, "Anh/chị không có quyền xem trang này.", "You may not see this page."),
        (404, "Không tìm thấy trang.", "Page not found."),
        (405, "Phương thức không được hỗ trợ.", "Method not allowed."),
        (500, "Hệ thống gặp lỗi; dữ liệu của anh/chị chưa bị thay đổi.", "Something went wrong; nothing was changed."),
    ):
        app.register_error_handler(code, _http_error(code, vi, en))

    # Before every other hook (CSRF included): they read the body, under the limit in force when they do.
    from .monitor.discussion import raise_upload_limit

    app.before_request_funcs.setdefault(None, []).insert(0, raise_upload_limit)

    @app.before_request
    def refuse_nul_bytes():
        # PostgreSQL cannot store NUL in text; refuse it up front instead of failing deep inside.
        if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            body = "".join(request.form.values()).encode()
        else:
            body = request.get_data(cache=True) if request.content_length else b""
        raw = request.query_string + body
        if b"\x00" in raw or b"%00" in raw or b"\\u0000" in raw:
            err = BadRequest("Dữ liệu gửi lên chứa ký tự không hợp lệ (NUL).", "The request contains a NUL character.")
            if _wants_json():
                return jsonify(err.to_json()), 400
            return render_template("errors/error.html", error=err), 400

    @app.before_request
    def read_json_bodies_strictly():
        # Parse (and cache) every JSON body up front with the strict provider, so an endpoint that
        # ignores its body refuses hostile JSON too, before any route or token check runs.
        if request.is_json and request.content_length:
            request.get_json(silent=True)

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        if current_app.config.get("SESSION_COOKIE_SECURE"):
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        if request.endpoint and not request.endpoint.startswith("static"):
            response.headers.setdefault("Cache-Control", "no-store")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
            "script-src 'self'; frame-ancestors 'none'; form-action 'self'",
        )
        return response

    @app.context_processor
    def shared():
        unread, main_menu, account_menu = 0, [], []
        if current_user.is_authenticated:
            main_menu, account_menu = menu.menu_for(current_user), menu.account_menu()
            unread = notifications.unread_count(current_user)
        lang = i18n.current()
        if lang == "vi":
            status_labels, action_labels, level_names = STATUS_LABELS, ACTION_LABELS, LEVEL_NAMES
        else:
            status_labels = {k: gettext(v) for k, v in STATUS_LABELS.items()}
            action_labels = {k: gettext(v) for k, v in ACTION_LABELS.items()}
            level_names = LEVEL_NAMES_EN
        return {
            "unread_count": unread,
            "LEVEL_NAMES": level_names,
            "STATUS_LABELS": status_labels,
            "ACTION_LABELS": action_labels,
            "lang": lang,
            "other_lang": "en" if lang == "vi" else "vi",
            "LANGUAGE_NAMES": i18n.LANGUAGE_NAMES,
            "msg": i18n.message_of,
            "main_menu": main_menu,
            "account_menu": account_menu,
            "sso_enabled": sso.enabled(),
            "local_login": sso.local_login_allowed(),
        }

    # dd/mm/yyyy in both languages; numbers 89,5 in Vietnamese and 89.5 in English
    app.jinja_env.filters["vndate"] = lambda dt, fmt="%d/%m/%Y": _local(dt, fmt)
    app.jinja_env.filters["vndatetime"] = lambda dt: _local(dt, "%d/%m/%Y %H:%M")
    app.jinja_env.filters["vnnum"] = lambda v: i18n.format_number(v)
    app.jinja_env.filters["tr"] = lambda text: i18n.translate_in(i18n.current(), text)  # stored/BPMN texts
    app.jinja_env.filters["period"] = lambda p: f"{p[5:]}/{p[:4]}" if p and len(p) >= 7 else (p or "")


# Form posts that a script sends and reads as JSON (the autosave), whatever Accept they carry.
JSON_FORM_ENDPOINTS = {"tasks.save_draft"}


def _asks_json() -> bool:
    """The API, a JSON body, the autosave, or a script that prefers JSON (Accept) to a page."""
    accept = request.accept_mimetypes
    if _wants_json() or request.endpoint in JSON_FORM_ENDPOINTS:
        return True
    return accept["application/json"] > accept["text/html"]  # no Accept header or */*: a page


def _html_form() -> bool:
    """Whether this request is a browser's form post."""
    return request.method == "POST" and not _asks_json()


def _refused_form(vi: str, en: str, why: str):
    """A browser form refused before its route ran (expired CSRF token, body over the size limit): like
    any refused form, back to the page it came from with the reason, never an error page at a POST
    address. None when the request is not an HTML form (it keeps its JSON or error-page answer)."""
    if not _html_form():
        return None
    transaction.discard()
    flash(i18n.pick(vi, en), "error")
    back = _came_from()
    log.info("form posted to %s refused before its route: %s; back to %s", request.path, why, back)
    return redirect(back)


def _came_from() -> str:
    """The same-site page (answers GET) the request came from, by its Referer; else the home page."""
    referrer = urlsplit(request.referrer or "")
    path = referrer.path
    if referrer.netloc == request.host and path.startswith("/") and not path.startswith("//") and _page_at(path):
        return path + (f"?{referrer.query}" if referrer.query else "")
    return url_for("tasks.inbox")


def _size_limit() -> int:
    """The limit the refused body went over, as people know it: an evidence file's own limit on an
    upload (the request may carry the form around it too), else the request limit in force."""
    from .monitor.discussion import UPLOAD_ENDPOINTS

    if request.endpoint in UPLOAD_ENDPOINTS:
        from app.services.evaluation import evidence

        return evidence.max_file_bytes()
    return int(request.max_content_length or current_app.config.get("MAX_CONTENT_LENGTH") or 0)


def _form_page() -> str | None:
    """The page (same site, answers GET) a refused POST came from, when its own address is not one."""
    if _page_at(request.path):
        return None
    referrer = urlsplit(request.referrer or "")
    if referrer.netloc != request.host or not referrer.path.startswith("/") or not _page_at(referrer.path):
        return None
    return referrer.path + (f"?{referrer.query}" if referrer.query else "")


def _page_at(path: str) -> bool:
    """Whether `path` is also a page (answers GET), so a refused post can redirect to it."""
    try:
        current_app.url_map.bind("").match(path, method="GET")
    except Exception:
        return False
    return True


def _in_transactions(app: Flask) -> None:
    """Every view runs in one transaction that the request owns (app.services.transaction): it
    commits when the view answers below 400 and rolls back when it raises, answers 400 or more, or
    a unit of work in it failed. Wrapping the dispatch covers blueprints registered later too."""
    dispatch = app.dispatch_request

    def dispatch_in_transaction():
        if request.endpoint == "static":
            return dispatch()
        with transaction.committed():
            response = app.make_response(dispatch())
            if response.status_code >= 400:
                transaction.mark_failed()
            elif request.method in ("GET", "HEAD") and transaction.wrote():
                current_app.logger.warning("a GET wrote to the database: %s", request.endpoint)
            return response

    app.dispatch_request = dispatch_in_transaction


def _http_error(code, vi, en):
    def handler(exc):
        if code == 500:
            transaction.discard()
        # A 405 names the methods the URL takes (RFC 9110); werkzeug knows them, our body must not lose them.
        allow = getattr(exc, "valid_methods", None)
        headers = {"Allow": ", ".join(sorted(allow))} if code == 405 and allow else {}
        if _wants_json():
            return (
                jsonify(
                    {
                        "error": {403: "forbidden", 404: "not_found", 405: "method_not_allowed", 413: "too_large"}.get(
                            code, "server_error"
                        ),
                        "message": vi,
                        "message_en": en,
                        "details": [],
                    }
                ),
                code,
                headers,
            )
        return render_template("errors/error.html", error=ServiceError(vi, en)), code, headers

    return handler


def _local(dt: datetime | None, fmt: str) -> str:
    return localtime.format(dt, fmt)
