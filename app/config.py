"""Configuration from the environment (a .env file may set it)."""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path


def _secret_key(instance_path: str) -> str:
    """SECRET_KEY from the environment, else one generated once and kept in the instance folder
    so that sessions survive a restart."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    path = Path(instance_path) / "secret_key"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def _database_url(instance_path: str) -> str:
    from .database import normalise_url

    return normalise_url(os.environ.get("DATABASE_URL") or f"sqlite:///{Path(instance_path) / 'danhgia.sqlite3'}")


def _digest_hour() -> int:
    """DIGEST_HOUR: the local hour (0-23) from which the daily digest goes out; default 7."""
    text = os.environ.get("DIGEST_HOUR", "7").strip() or "7"
    if not text.isdigit() or not 0 <= int(text) <= 23:
        raise ValueError(f"DIGEST_HOUR must be a whole hour from 0 to 23, not {text!r}")
    return int(text)


def build(instance_path: str, overrides: dict | None = None) -> dict:
    overrides = overrides or {}
    url = overrides.get("SQLALCHEMY_DATABASE_URI") or _database_url(instance_path)
    from . import database

    db_settings = database.settings(overrides)
    # How long a request waits for a row another transaction holds (an instance being changed)
    # before it answers 409 "being changed by someone else, try again" (services.unit_of_work).
    lock_wait = int(os.environ.get("LOCK_TIMEOUT_SECONDS", "30"))
    engine_options = database.engine_options(
        url,
        lock_wait,
        db_settings["DATABASE_PGBOUNCER"],
        prepare=os.environ.get("DATABASE_PREPARED_STATEMENTS", "1").strip() != "0",
    )
    cfg = {
        "SECRET_KEY": _secret_key(instance_path),
        "SQLALCHEMY_DATABASE_URI": url,
        "SQLALCHEMY_ENGINE_OPTIONS": engine_options,
        **db_settings,
        "DATABASE_REPLICA_MAX_LAG_SECONDS": float(os.environ.get("DATABASE_REPLICA_MAX_LAG_SECONDS", "10")),
        "DATABASE_REPLICA_CHECK_SECONDS": float(os.environ.get("DATABASE_REPLICA_CHECK_SECONDS", "5")),
        "TIMEZONE": os.environ.get("TIMEZONE", "Asia/Ho_Chi_Minh"),
        "LOG_LEVEL": os.environ.get("LOG_LEVEL", "INFO"),
        "SMTP_HOST": os.environ.get("SMTP_HOST", ""),
        "SMTP_PORT": int(os.environ.get("SMTP_PORT", "25")),
        "MAIL_FROM": os.environ.get("MAIL_FROM", "danhgia@localhost"),
        # Mail is sent only when SMTP_HOST is set. APP_BASE_URL (e.g. https://danhgia.hanoi.gov.vn) adds a link
        # to the app in every mail; empty means no link.
        "APP_BASE_URL": os.environ.get("APP_BASE_URL", "").strip().rstrip("/"),
        "DIGEST_HOUR": _digest_hour(),
        # a month opened before its period ends starts with the work plan (issue #14); 0 skips it
        "WORK_PLAN_PHASE": os.environ.get("WORK_PLAN_PHASE", "1").strip() != "0",
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=int(os.environ.get("SESSION_HOURS", "8"))),
        "API_TOKEN_HOURS": int(os.environ.get("API_TOKEN_HOURS", "12")),
        # How long a mailed activation link, a printed activation code and a password-reset link work.
        "ACTIVATION_HOURS": int(os.environ.get("ACTIVATION_HOURS", "72")),
        "ACTIVATION_CODE_DAYS": int(os.environ.get("ACTIVATION_CODE_DAYS", "30")),
        "RESET_MINUTES": int(os.environ.get("RESET_MINUTES", "60")),
        # /metrics: scrapers from these networks (comma-separated CIDRs), or any caller showing
        # `Authorization: Bearer <METRICS_TOKEN>` (empty: no token accepted).
        "METRICS_ALLOW": os.environ.get("METRICS_ALLOW", "127.0.0.1/32,::1/128"),
        "METRICS_TOKEN": os.environ.get("METRICS_TOKEN", ""),
        # Single sign-on (OpenID Connect): on when the issuer and the client id are set.
        "OIDC_ISSUER": os.environ.get("OIDC_ISSUER", "").strip().rstrip("/"),
        "OIDC_CLIENT_ID": os.environ.get("OIDC_CLIENT_ID", "").strip(),
        "OIDC_CLIENT_SECRET": os.environ.get("OIDC_CLIENT_SECRET", ""),
        "OIDC_SCOPE": os.environ.get("OIDC_SCOPE", "openid profile email"),
        # Seconds of clock difference tolerated when checking an id token's times.
        "OIDC_LEEWAY": int(os.environ.get("OIDC_LEEWAY", "60")),
        # LOCAL_LOGIN=0: no password sign-in at all (the city's identity provider only).
        "LOCAL_LOGIN": os.environ.get("LOCAL_LOGIN", "1").strip() != "0",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": os.environ.get("SESSION_COOKIE_SECURE", "0") == "1",
        "REMEMBER_COOKIE_DURATION": timedelta(days=1),
        "WTF_CSRF_TIME_LIMIT": None,
        "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
        # Evidence (minh chứng): per-file and per-record limits; files on disk under EVIDENCE_ROOT (default
        # <instance>/evidence) or in an S3-compatible bucket when EVIDENCE_S3_BUCKET is set
        # (app/services/evaluation/evidence_storage.py).
        "EVIDENCE_MAX_FILE_MB": float(os.environ.get("EVIDENCE_MAX_FILE_MB", "20")),
        "EVIDENCE_MAX_TOTAL_MB": float(os.environ.get("EVIDENCE_MAX_TOTAL_MB", "100")),
        # files and links a record keeps (withdrawn ones not counted): many tiny files fill no disk but
        # flood the rows, the audit trail and the page
        "EVIDENCE_MAX_ITEMS": int(os.environ.get("EVIDENCE_MAX_ITEMS", "100")),
        # comments one person writes on one record per hour: each one notifies (and mails) the chain
        "COMMENTS_PER_HOUR": int(os.environ.get("COMMENTS_PER_HOUR", "30")),
        "EVIDENCE_ROOT": os.environ.get("EVIDENCE_ROOT", ""),
        **{
            f"EVIDENCE_S3_{k}": os.environ.get(f"EVIDENCE_S3_{k}", "")
            for k in ("BUCKET", "ENDPOINT", "REGION", "PREFIX", "ACCESS_KEY", "SECRET_KEY")
        },
        "PROCESSES_DIR": str(Path(__file__).resolve().parent.parent / "processes"),
        "FORMS_DIR": str(Path(__file__).resolve().parent.parent / "forms"),
    }
    cfg.update(overrides)
    cfg.setdefault("SQLALCHEMY_BINDS", database.binds(cfg, lock_wait))
    return cfg
