"""Sign-in with the city's account (OpenID Connect): the button's redirect and the provider's answer.
The protocol and the matching live in app/services/organisation/sso.py."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, session, url_for
from flask_login import login_user

from app import i18n
from app.services.organisation import sso
from app.services.errors import ServiceError

from .routes import _safe_next

bp = Blueprint("sso", __name__)


@bp.route("/login/sso")
def start():
    if not sso.enabled():
        abort(404)
    target = request.args.get("next")
    try:
        response = sso.begin(url_for("sso.callback", _external=True))
    except ServiceError as exc:
        return render_template("auth/login.html", error=exc), exc.status
    session["sso_next"] = _safe_next(target)
    return response


@bp.route("/login/sso/callback")
def callback():
    if not sso.enabled():
        abort(404)
    try:
        user, claims = sso.finish(request.remote_addr or "")
    except ServiceError as exc:
        return render_template("auth/login.html", error=exc), exc.status
    target, lang = _safe_next(session.get("sso_next")), session.get("lang")
    session.clear()  # a new session for the signed-in person (no fixation)
    if lang in i18n.LANGUAGES:
        session["lang"] = lang
    session.permanent = True
    login_user(user)
    # kept for sign-out: the provider's end_session_endpoint takes it as id_token_hint
    session["sso_id_token"] = claims.id_token
    return redirect(target)
