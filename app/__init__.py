"""Đánh giá, xếp loại hằng tháng — the Flask application factory."""

from __future__ import annotations

import os

from dotenv import load_dotenv
from flask import Flask

from . import config
from .extensions import csrf, db, login_manager, migrate


def create_app(overrides: dict | None = None) -> Flask:
    load_dotenv()
    app = Flask(__name__, instance_path=os.environ.get("INSTANCE_PATH") or None)
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.update(config.build(app.instance_path, overrides))

    from . import logs

    logs.configure(app)
    if not app.config.get("LOCAL_LOGIN", True) and not (
        app.config.get("OIDC_ISSUER") and app.config.get("OIDC_CLIENT_ID")
    ):
        app.logger.warning("LOCAL_LOGIN=0 without OIDC_ISSUER and OIDC_CLIENT_ID: nobody can sign in")
    from . import database

    session_sql = database.pop_session_sql(app.config)
    db.init_app(app)
    database.install(app, session_sql)
    migrate.init_app(
        app, db, directory=os.path.join(os.path.dirname(__file__), "..", "migrations"), render_as_batch=True
    )
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Vui lòng đăng nhập để tiếp tục. / Please sign in."
    csrf.init_app(app)
    from . import i18n

    i18n.init_app(app)

    from . import models  # noqa: F401  (register the tables)
    from .web import register

    register(app)
    from .cli import register_commands

    register_commands(app)
    from .engine import helpers
    from .services.regulation import calendar

    helpers.calendar_provider = calendar.current
    helpers.plan_phase_enabled = _plan_phase_enabled
    return app


def _plan_phase_enabled() -> bool:
    from flask import current_app, has_app_context

    return not has_app_context() or bool(current_app.config.get("WORK_PLAN_PHASE", True))
