"""Sign-in and API tokens."""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta, timezone

from flask import current_app
from sqlalchemy import select

from app.extensions import db
from app.models import ApiToken, User


def authenticate(username: str, password: str) -> User | None:
    user = db.session.scalars(select(User).where(User.username == (username or "").strip())).first()
    if user is None or not user.active or not user.check_password(password or ""):
        return None
    return user


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(user: User) -> tuple[str, datetime]:
    token = secrets.token_urlsafe(32)
    expires = datetime.now(timezone.utc) + timedelta(hours=current_app.config["API_TOKEN_HOURS"])
    db.session.add(ApiToken(user_id=user.id, token_hash=_hash(token), expires_at=expires))
    db.session.commit()
    return token, expires


def user_for_token(token: str) -> User | None:
    row = db.session.scalars(select(ApiToken).where(ApiToken.token_hash == _hash(token or ""))).first()
    if row is None or row.revoked_at is not None or row.expires_at <= datetime.now(timezone.utc):
        return None
    return row.user if row.user.active else None
