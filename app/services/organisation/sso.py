"""Single sign-on with the city's identity provider (OpenID Connect, authorization code flow).

Authlib's Flask client does the protocol: discovery (`<issuer>/.well-known/openid-configuration`),
PKCE with S256, a random `state` and `nonce` kept in the session, the code exchange, and the id token's
signature (the provider's JWKS), issuer, audience, times and nonce. What stays here is the product's
part: who the token names in our organisation, the audit trail, and where sign-out goes.

A person is found by the provider's stable subject (`iss` and `sub`, kept in `users.sso_subject`) once it
is bound; the first sign-in finds them by username, else by a verified e-mail, and binds the subject. A
username or an address is the provider's to rename or hand to someone else later; a subject is not, so a
bound person is never reached again through a username or an address that now names another city
account. An account is never created from a token. An administrator undoes a binding (`unbind`: the page
/admin/users or `flask accounts sso-unbind`) when the city reissues someone's account; the next
sign-in binds the new one.

Configuration: OIDC_ISSUER, OIDC_CLIENT_ID, OIDC_CLIENT_SECRET (docs/operations.md, "Single sign-on").
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from authlib.common.errors import AuthlibBaseError
from authlib.integrations.flask_client import OAuth
from flask import current_app, session
from joserfc.errors import JoseError
from sqlalchemy import func, select

from app.extensions import db
from app.models import User

from app.services import audit, transaction
from app.services.errors import Conflict, Forbidden, Invalid, NotFound, ServiceError

from . import access, accounts

log = logging.getLogger(__name__)


class SsoRefused(ServiceError):
    status, code = 403, "sso_refused"


class SsoUnavailable(ServiceError):
    status, code = 503, "sso_unavailable"


FAILED = (
    "Không xác nhận được đăng nhập từ hệ thống tài khoản của thành phố; hãy thử đăng nhập lại.",
    "The sign-in from the city's account could not be verified; please try again.",
)


def enabled() -> bool:
    cfg = current_app.config
    return bool(cfg.get("OIDC_ISSUER") and cfg.get("OIDC_CLIENT_ID"))


def local_login_allowed() -> bool:
    return bool(current_app.config.get("LOCAL_LOGIN", True))


def _client():
    """The Authlib client for the configured provider, made once per app and configuration."""
    cfg = current_app.config
    key = (cfg["OIDC_ISSUER"], cfg["OIDC_CLIENT_ID"], cfg.get("OIDC_CLIENT_SECRET"), cfg.get("OIDC_SCOPE"))
    cached = current_app.extensions.get("sso_client")
    if cached is None or cached[0] != key:
        oauth = OAuth(current_app)
        client = oauth.register(
            "city",
            client_id=cfg["OIDC_CLIENT_ID"],
            client_secret=cfg.get("OIDC_CLIENT_SECRET") or None,
            server_metadata_url=f"{cfg['OIDC_ISSUER']}/.well-known/openid-configuration",
            client_kwargs={
                "scope": cfg.get("OIDC_SCOPE") or "openid profile email",
                "code_challenge_method": "S256",
                "timeout": 10,
            },
        )
        cached = current_app.extensions["sso_client"] = (key, client)
    return cached[1]


def _metadata() -> dict:
    try:
        metadata = _client().load_server_metadata()
    except Exception as exc:
        log.warning("sso: discovery at %s failed: %s", current_app.config["OIDC_ISSUER"], exc)
        raise SsoUnavailable(
            "Hệ thống tài khoản của thành phố tạm thời không truy cập được; hãy thử lại sau "
            "hoặc đăng nhập bằng mật khẩu.",
            "The city's account service is unavailable; try again later.",
        ) from exc
    # A discovery document naming another issuer would let that issuer's tokens in.
    if metadata.get("issuer", "").rstrip("/") != current_app.config["OIDC_ISSUER"]:
        log.warning(
            "sso: discovery names issuer %r, configured %r", metadata.get("issuer"), current_app.config["OIDC_ISSUER"]
        )
        raise SsoUnavailable(*FAILED)
    return metadata


def begin(redirect_uri: str):
    """The redirect to the provider; state, nonce and the PKCE verifier wait in the session. Only the
    latest sign-in waits: Authlib keeps every started one for an hour, and a few dozen clicks on the
    button (or a page that sends the browser there again and again) grow the session cookie past the
    4 KB browsers keep, which signs the person out and breaks the next sign-in."""
    _metadata()
    for key in [k for k in session if k.startswith("_state_city_")]:
        session.pop(key, None)
    return _client().authorize_redirect(redirect_uri)


@dataclass
class Claims:
    sub: str
    username: str
    email: str
    email_verified: bool | None
    id_token: str


def finish(ip: str = "") -> tuple[User, Claims]:
    """Check the provider's answer (the request's `code` and `state`) and find the person it names.

    Refused: an error from the provider, a state that is not the one this browser was given, a code
    the provider does not honour, an id token that is missing, badly signed, from another issuer or
    audience, expired, or with another nonce; and a person who is not in the organisation or not active."""
    _metadata()
    leeway = int(current_app.config.get("OIDC_LEEWAY", 60))
    try:
        token = _client().authorize_access_token(leeway=leeway)
    except (AuthlibBaseError, JoseError, ValueError, KeyError) as exc:
        _refused(None, f"{type(exc).__name__}: {exc}", ip)
        raise SsoRefused(*FAILED) from exc
    except Exception as exc:
        log.warning("sso: token exchange failed: %s", exc)
        raise SsoUnavailable(*FAILED) from exc
    info = token.get("userinfo")
    if not token.get("id_token") or not info:
        # Authlib validates the id token only when it has the nonce to compare: without both, refuse.
        _refused(None, "no id token", ip)
        raise SsoRefused(*FAILED)
    claims = Claims(
        sub=str(info.get("sub") or ""),
        username=str(info.get("preferred_username") or "").strip(),
        email=str(info.get("email") or "").strip(),
        email_verified=info.get("email_verified"),
        id_token=token["id_token"],
    )
    subject = subject_of(claims)
    if not claims.sub or len(subject) > SUBJECT_LENGTH:
        _refused(claims, "no usable subject", ip)
        raise SsoRefused(*FAILED)
    user, matched_by = match(claims)
    if user is not None and user.sso_subject is not None and user.sso_subject != subject:
        log.warning("sso: %s names user %s, who is bound to another city account; refused", matched_by, user.id)
        _refused(claims, f"bound to another subject (matched by {matched_by})", ip, user)
        # Names the city account the token carries, not the person found: an address handed on to someone
        # else must not tell them whose account it used to reach.
        who = claims.username or claims.email
        raise SsoRefused(
            f"Người dùng mà tài khoản {who} của thành phố chỉ tới đã được gắn với một tài khoản khác của thành "
            "phố, nên không đăng nhập được bằng tài khoản này. Nếu tài khoản của thành phố của bạn vừa được cấp "
            "lại, hãy liên hệ cán bộ tổ chức của cơ quan.",
            f"The person the city account {who} names is bound to another city account, so this city account "
            "cannot sign in. If your city account was reissued, ask your agency's HR officer.",
        )
    if user is None or not user.active:
        _refused(claims, "unknown person" if user is None else "inactive", ip, user)
        who = claims.username or claims.email or claims.sub
        raise SsoRefused(
            f"Tài khoản {who} của thành phố chưa được gắn với người nào trong hệ thống đánh giá (hoặc đã "
            "ngừng hoạt động). Hãy liên hệ cán bộ tổ chức của cơ quan để được thêm vào.",
            f"The city account {who} does not match anyone in the evaluation system (or the person is no "
            "longer active). Ask your agency's HR officer to add you.",
        )
    issuer = current_app.config["OIDC_ISSUER"]
    if user.sso_subject is None:
        user.sso_subject = subject
        audit.record(
            "sso_subject_bound",
            actor=user,
            step=user.username,
            details={"ip": ip, "sub": claims.sub, "issuer": issuer, "matched_by": matched_by},
        )
        log.info(
            "sso: user %s (%s) bound to subject %s of %s, matched by %s",
            user.id,
            user.username,
            claims.sub,
            issuer,
            matched_by,
        )
    audit.record(
        "sso_login_succeeded",
        actor=user,
        step=user.username,
        details={"ip": ip, "sub": claims.sub, "issuer": issuer, "matched_by": matched_by},
    )
    return user, claims


SUBJECT_LENGTH = 300


def subject_of(claims: Claims) -> str:
    """What `users.sso_subject` holds: a `sub` is unique only within its issuer."""
    return f"{current_app.config['OIDC_ISSUER']}|{claims.sub}"


def match(claims: Claims) -> tuple[User | None, str]:
    """The person a token names and how they were found: by the bound subject first; else by the
    username, else by the e-mail address when exactly one person has it and the provider says it
    verified it (`email_verified: true`; an address it never checked could be anyone's). A person found
    by username or e-mail may be bound to another subject: the caller refuses them. Nobody is created
    here."""
    user = db.session.scalars(select(User).where(User.sso_subject == subject_of(claims))).first()
    if user is not None:
        return user, "subject"
    if claims.username:
        user = db.session.scalars(select(User).where(User.username == claims.username)).first()
        if user is not None:
            return user, "username"
    if claims.email and claims.email_verified is True:
        users = db.session.scalars(select(User).where(func.lower(User.email) == claims.email.lower()).limit(2)).all()
        if len(users) == 1:
            return users[0], "email"
    return None, ""


def _refused(claims: Claims | None, reason: str, ip: str, user: User | None = None) -> None:
    """Nothing of the attempt is kept but its audit row, written after the rollback."""
    transaction.mark_failed()
    user_id = user.id if user is not None else None
    transaction.keep_on_failure(
        lambda: audit.record(
            "sso_login_refused",
            step=(claims.username or claims.email)[:64] if claims else None,
            details={
                "ip": ip,
                "reason": reason[:300],
                **({"sub": claims.sub} if claims else {}),
                **({"user_id": user_id} if user_id is not None else {}),
            },
        )
    )


def logout_url(id_token: str | None, post_logout_redirect_uri: str) -> str | None:
    """Where to send the browser so that the provider ends its session too (RP-initiated logout), or
    None when the provider has no end_session_endpoint (then only our session ends)."""
    if not enabled():
        return None
    try:
        metadata = _metadata()
    except ServiceError:
        return None
    if not metadata.get("end_session_endpoint"):
        return None
    from urllib.parse import urlencode

    params = {"post_logout_redirect_uri": post_logout_redirect_uri, "client_id": current_app.config["OIDC_CLIENT_ID"]}
    if id_token:
        params["id_token_hint"] = id_token
    endpoint = metadata["end_session_endpoint"]
    return f"{endpoint}{'&' if '?' in endpoint else '?'}{urlencode(params)}"


ADMINS_ONLY = (
    "Chỉ quản trị hệ thống mới được xem và gỡ liên kết tài khoản của thành phố.",
    "Only administrators may see and unlink city accounts.",
)


def _person(actor: User | None, username: str) -> User:
    """The account an administrator asks about (``actor`` None: the operator's command line)."""
    if actor is not None and not access.is_admin(actor):
        raise Forbidden(*ADMINS_ONLY)
    name = (username or "").strip()
    person = db.session.scalars(select(User).where(User.username == name)).first() if name else None
    if person is None:
        vi = f"Không có người dùng “{name}”." if name else "Hãy nhập tên đăng nhập."
        en = f"There is no user “{name}”." if name else "Enter a username."
        raise NotFound(vi, en, [{"field": "username", "message": vi, "message_en": en}])
    return person


def account(actor: User, username: str) -> User:
    """The account on the administrator's user page, with its binding (``sso_subject``)."""
    return _person(actor, username)


def unbind(actor: User | None, username: str, *, confirmed: bool, source: str, operator: str = "") -> User:
    """Undo a person's binding to a city account (``users.sso_subject``), for when the city reissues
    their account under a new subject: the next sign-in with the city's account binds that one (by
    username, else a verified e-mail), as a first sign-in does. Administrators only (``actor`` None is
    the command line, run by whoever runs the server); HR officers may not, as a binding decides who
    signs in as whom. The person's sessions and API tokens end with it. Audited (`sso_subject_unbound`:
    who, whose, the subject cleared)."""
    person = _person(actor, username)
    if not confirmed:
        vi = "Hãy đánh dấu xác nhận trước khi gỡ liên kết."
        en = "Tick the confirmation before unlinking."
        raise Invalid(vi, en, [{"field": "confirm", "message": vi, "message_en": en}])
    if person.sso_subject is None:
        raise Conflict(
            f"{person.username} chưa liên kết với tài khoản nào của thành phố.",
            f"{person.username} is not linked to any city account.",
        )
    subject, person.sso_subject = person.sso_subject, None
    # whoever signed in through the old account (browser sessions, API tokens) is signed out with it
    accounts.sign_out_everywhere(person)
    details = {"user_id": person.id, "username": person.username, "subject": subject, "source": source}
    if operator:
        details["operator"] = operator
    audit.record("sso_subject_unbound", actor=actor, step=person.username, details=details)
    log.info(
        "sso: user %s (%s) unbound from subject %s by %s",
        person.id,
        person.username,
        subject,
        actor.username if actor is not None else f"the command line ({operator or '?'})",
    )
    return person
