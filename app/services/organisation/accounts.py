"""Sign-in, lockout, password policy and API tokens.

Failed sign-ins are audit events (append-only, shared by every app server), so the lockout
holds across processes without a table of its own.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from flask import current_app
from sqlalchemy import bindparam, func, select

from app.extensions import db
from app.models import ApiToken, AuditEvent, User

from app.services import audit, transaction
from app.services.errors import Invalid, ServiceError

MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)
MIN_LENGTH = 10
COMMON = {"password", "matkhau", "123456789", "1234567890", "qwertyuiop", "abc123456", "12345678910"}


class LockedOut(ServiceError):
    status, code = 429, "locked"


class LocalLoginOff(ServiceError):
    status, code = 403, "local_login_off"


LOCAL_LOGIN_OFF = (
    "Đăng nhập bằng mật khẩu đã tắt: hãy đăng nhập bằng tài khoản của thành phố.",
    "Password sign-in is switched off: sign in with the city's account.",
)


@dataclass
class SignIn:
    user: User | None
    error: str | None = None
    error_en: str | None = None


def _recent_failures(username: str, now: datetime) -> tuple[int, datetime | None]:
    """Failures for `username` since the last success and within the lockout window."""
    since = now - LOCKOUT
    last_ok = db.session.scalar(
        select(func.max(AuditEvent.at)).where(AuditEvent.action == "login_succeeded", AuditEvent.step == username)
    )
    if last_ok and last_ok > since:
        since = last_ok
    rows = db.session.execute(
        select(func.count(), func.max(AuditEvent.at)).where(
            AuditEvent.action == "login_failed", AuditEvent.step == username, AuditEvent.at > since
        )
    ).one()
    return rows[0] or 0, rows[1]


def _refuse_when_locked(username: str, now: datetime) -> int:
    """The recent failures of `username`; LockedOut once they reach MAX_FAILURES."""
    failures, last = _recent_failures(username, now)
    if failures >= MAX_FAILURES and last is not None:
        wait = max(1, int(((last + LOCKOUT) - now).total_seconds() // 60) + 1)
        raise LockedOut(
            f"Đăng nhập sai quá {MAX_FAILURES} lần; tài khoản tạm khóa, thử lại sau {wait} phút.",
            f"Too many failed sign-ins; try again in {wait} minutes.",
        )
    return failures


def sign_in(username: str, password: str, ip: str = "") -> SignIn:
    """Check a password with lockout: after MAX_FAILURES failures the account waits LOCKOUT."""
    if not current_app.config.get("LOCAL_LOGIN", True):
        raise LocalLoginOff(*LOCAL_LOGIN_OFF)  # LOCAL_LOGIN=0: the city's identity provider only
    username = (username or "").strip()[:64]
    now = datetime.now(timezone.utc)
    failures = _refuse_when_locked(username, now)
    user = db.session.scalars(select(User).where(User.username == username)).first()
    if user is not None and user.password_hash:
        matches = user.check_password(password or "")
    else:
        matches = _hash_check_for_nobody(password or "")
    if user is None or not user.active or not matches:
        # step holds the username (not a user id) so unknown names are counted too
        transaction.kept(lambda: audit.record("login_failed", step=username, details={"ip": ip}))
        left = MAX_FAILURES - failures - 1
        hint = f" Còn {left} lần thử." if 0 < left <= 2 else ""
        return SignIn(None, "Tên đăng nhập hoặc mật khẩu không đúng." + hint, "Wrong username or password.")
    audit.record("login_succeeded", actor=user, step=username, details={"ip": ip})
    return SignIn(user)


_DUMMY_HASHES: dict[str, str] = {}


def _hash_check_for_nobody(password: str) -> bool:
    """A hash check as slow as a real one, for an unknown name or an account not yet activated: without
    it the answer comes back in a fraction of the time and tells who has an account (and who has not
    set a password yet). Always False."""
    from werkzeug.security import check_password_hash, generate_password_hash

    method = current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")
    if method not in _DUMMY_HASHES:
        _DUMMY_HASHES[method] = generate_password_hash(secrets.token_urlsafe(16), method=method)
    check_password_hash(_DUMMY_HASHES[method], password)
    return False


def session_user(user_id: int, session_version: int) -> User | None:
    """The signed-in person of a browser session, unless they signed out everywhere since."""
    user = db.session.get(User, user_id)
    return user if user is not None and user.session_version == session_version else None


def password_problems(password: str, username: str = "") -> list[str]:
    problems = []
    if len(password or "") < MIN_LENGTH:
        problems.append(f"Mật khẩu cần ít nhất {MIN_LENGTH} ký tự.")
    if not any(c.isalpha() for c in password or "") or not any(c.isdigit() for c in password or ""):
        problems.append("Mật khẩu cần có cả chữ và số.")
    lowered = (password or "").lower()
    if lowered in COMMON or (username and username.lower() in lowered):
        problems.append("Mật khẩu quá dễ đoán (trùng tên đăng nhập hoặc mật khẩu phổ biến).")
    return problems


def change_password(user: User, current: str, new: str, confirm: str) -> None:
    # The current password is a guess like a sign-in's: counted and locked out the same way, or a taken
    # browser session could try passwords here without end (and learn one the person uses elsewhere).
    username = user.username
    _refuse_when_locked(username, datetime.now(timezone.utc))
    errors = []
    if not user.check_password(current or ""):
        transaction.kept(lambda: audit.record("login_failed", step=username, details={"via": "password_change"}))
        errors.append(
            {
                "field": "current",
                "message": "Mật khẩu hiện tại không đúng.",
                "message_en": "The current password is wrong.",
            }
        )
    for problem in password_problems(new, user.username):
        errors.append({"field": "new", "message": problem, "message_en": "The new password is too weak."})
    if new != confirm:
        errors.append(
            {
                "field": "confirm",
                "message": "Nhập lại mật khẩu không khớp.",
                "message_en": "The passwords do not match.",
            }
        )
    if errors:
        raise Invalid("Chưa đổi được mật khẩu.", "The password was not changed.", errors)
    user.set_password(new)
    sign_out_everywhere(user)
    audit.record("password_changed", actor=user)


def sign_out_everywhere(user: User) -> None:
    """End every browser session and API token of `user` (the caller commits)."""
    user.session_version += 1
    revoke_all_tokens(user)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(user: User) -> tuple[str, datetime]:
    token = secrets.token_urlsafe(32)
    expires = datetime.now(timezone.utc) + timedelta(hours=current_app.config["API_TOKEN_HOURS"])
    db.session.add(ApiToken(user_id=user.id, token_hash=_hash(token), expires_at=expires))
    db.session.flush()
    return token, expires


# built once: every API request runs it, and building the statement cost a fifth of running it
_USER_FOR_TOKEN = (
    select(User)
    .join(ApiToken, ApiToken.user_id == User.id)
    .where(
        ApiToken.token_hash == bindparam("token_hash"),
        ApiToken.revoked_at.is_(None),
        ApiToken.expires_at > bindparam("now"),
        User.active.is_(True),
    )
)


def user_for_token(token: str) -> User | None:
    """The active person a live (unexpired, unrevoked) token belongs to: one statement, one entity."""
    return db.session.scalars(
        _USER_FOR_TOKEN, {"token_hash": _hash(token or ""), "now": datetime.now(timezone.utc)}
    ).first()


def _token_row(token: str) -> ApiToken | None:
    return db.session.scalars(select(ApiToken).where(ApiToken.token_hash == _hash(token or ""))).first()


def revoke_token(token: str) -> None:
    row = _token_row(token)
    if row is not None and row.revoked_at is None:
        row.revoked_at = datetime.now(timezone.utc)


def revoke_all_tokens(user: User) -> int:
    now = datetime.now(timezone.utc)
    rows = db.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))).all()
    for row in rows:
        row.revoked_at = now
    return len(rows)
