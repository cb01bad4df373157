"""Accounts are activated, not handed out: a new person has no password (an empty hash, which no
password matches) until they set one with a single-use secret:

- an activation link sent by e-mail (`send_activation`, `flask accounts send-activation`);
- an activation code printed by an HR officer of their agency for people without e-mail (`print_codes`);
- a password-reset link asked for on "Quên mật khẩu" (`request_reset`).

Secrets are drawn from an alphabet without look-alike characters (a printed code is typed by hand) and
only their SHA-256 is stored, with an expiry; redeeming one marks it used and every other open secret of
the person superseded. No secret is ever logged, printed to a terminal or kept anywhere but in the mail
(the outbox row until it is sent) and on the printed sheet. Requests and failed redemptions are audit
events, which also rate-limit them across app servers (as the sign-in lockout does).
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from datetime import datetime, timedelta, timezone

from flask import current_app
from sqlalchemy import func, or_, select, update

from app.extensions import db
from app.models import AccountToken, AuditEvent, OutgoingMail, Unit, User

from app.services import audit, transaction
from app.services.messaging import mail
from . import access, accounts, preferences
from app.services.errors import Forbidden, Invalid, NotFound, ServiceError

log = logging.getLogger(__name__)

ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no I, L, O, 0, 1
CODE_LENGTH = 16  # printed: ~79 bits
LINK_LENGTH = 32  # mailed: ~158 bits
RATE_WINDOW = timedelta(minutes=15)
MAX_REQUESTS_PER_IP = 5  # "Quên mật khẩu" requests per address per window
MAX_FAILURES_PER_IP = 10  # wrong secrets per address per window
MAX_RESETS_PER_ACCOUNT = 3  # reset mails per person per hour (more are silently not sent)


class TooMany(ServiceError):
    status, code = 429, "rate_limited"


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _lifetime(purpose: str, channel: str) -> timedelta:
    cfg = current_app.config
    if purpose == "reset":
        return timedelta(minutes=int(cfg.get("RESET_MINUTES", 60)))
    if channel == "code":
        return timedelta(days=int(cfg.get("ACTIVATION_CODE_DAYS", 30)))
    return timedelta(hours=int(cfg.get("ACTIVATION_HOURS", 72)))


def normalize(secret: str) -> str:
    """What a person typed or pasted, without spaces, dashes and case."""
    return re.sub(r"[^A-Z0-9]", "", (secret or "").upper())[:128]


def digest(secret: str) -> str:
    return hashlib.sha256(normalize(secret).encode()).hexdigest()


def grouped(secret: str) -> str:
    return "-".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def is_activated(user: User) -> bool:
    """A password set, or the city's account bound (who signs in with it has nothing to activate: an
    activation code for them would only let its holder set a password and sign in as them)."""
    return bool(user.password_hash) or bool(user.sso_subject)


def _issue(user: User, purpose: str, channel: str, actor: User | None = None) -> str:
    """A new secret for `user`; older open secrets of the same purpose stop working (the caller commits)."""
    now = _now()
    db.session.execute(
        update(AccountToken)
        .where(AccountToken.user_id == user.id, AccountToken.purpose == purpose, AccountToken.used_at.is_(None))
        .values(used_at=now)
    )
    secret = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH if channel == "code" else LINK_LENGTH))
    db.session.add(
        AccountToken(
            user_id=user.id,
            purpose=purpose,
            channel=channel,
            token_hash=digest(secret),
            created_at=now,
            expires_at=now + _lifetime(purpose, channel),
            created_by_id=actor.id if actor is not None else None,
        )
    )
    return secret


def _link(endpoint: str, secret: str) -> str:
    """The page, with the secret after '#': browsers never send the fragment, so it stays out of the
    server's and proxies' access logs (the page moves it into the form)."""
    base = (current_app.config.get("APP_BASE_URL") or "").rstrip("/")
    path = current_app.url_map.bind("localhost").build(endpoint)
    return f"{base}{path}#{secret}"


def _mail_row(user: User, purpose: str, secret: str) -> dict:
    lang = preferences.language_of(user)
    hours = _lifetime(purpose, "mail").total_seconds() / 3600
    endpoint = "account.reset" if purpose == "reset" else "account.activate"
    link, code = _link(endpoint, secret), grouped(secret)
    if lang == "en":
        if purpose == "reset":
            subject, intro = (
                "Reset your password",
                "Someone (hopefully you) asked to reset the password of your account",
            )
        else:
            subject, intro = "Activate your account", "An account has been created for you"
        lines = [
            f"Dear {user.full_name},",
            "",
            f"{intro} ({user.username}) in the monthly evaluation system.",
            "Open this link to choose your password:",
            link,
            "",
            f"Or open {link.split('#')[0]} and enter this code: {code}",
            f"The link works once and expires in {hours:g} hours.",
            "If you did not expect this message, ignore it: nothing changes.",
            "",
            "-- ",
            "Monthly evaluation system",
            "This message was sent automatically; please do not reply.",
        ]
        prefix = mail.SUBJECT_PREFIX_EN
    else:
        if purpose == "reset":
            subject, intro = "Đặt lại mật khẩu", "Có yêu cầu đặt lại mật khẩu cho tài khoản của anh/chị"
        else:
            subject, intro = "Kích hoạt tài khoản", "Tài khoản của anh/chị đã được tạo"
        lines = [
            f"Kính gửi {user.full_name},",
            "",
            f"{intro} ({user.username}) trên hệ thống đánh giá hằng tháng.",
            "Mở đường dẫn sau để đặt mật khẩu:",
            link,
            "",
            f"Hoặc mở {link.split('#')[0]} và nhập mã: {code}",
            f"Đường dẫn chỉ dùng được một lần và hết hạn sau {hours:g} giờ.",
            "Nếu anh/chị không yêu cầu việc này, xin bỏ qua thư: không có gì thay đổi.",
            "",
            "-- ",
            "Hệ thống đánh giá, xếp loại hằng tháng",
            "Thư này được gửi tự động, xin vui lòng không trả lời.",
        ]
        prefix = mail.SUBJECT_PREFIX
    return dict(
        user_id=user.id,
        to_address=user.email.strip(),
        subject=f"{prefix} {subject}",
        body="\n".join(lines) + "\n",
        kind=purpose if purpose == "reset" else "activation",
        instance_id=None,
        status="queued",
        attempts=0,
        next_attempt_at=_now(),
    )


def send_activation(user: User, actor: User | None = None) -> bool:
    """Queue an activation mail (the caller commits); False when mail is off, the person has no address
    or has a password already."""
    if not mail.enabled() or not (user.email or "").strip() or is_activated(user) or not user.active:
        return False
    secret = _issue(user, "activation", "mail", actor)
    db.session.add(OutgoingMail(**_mail_row(user, "activation", secret)))
    audit.record("activation_sent", actor=actor, step=user.username, details={"user_id": user.id})
    return True


def pending_query(unit_ids: set[int] | None):
    """People who have not activated their account, in the units (None: everywhere)."""
    query = select(User).where(User.password_hash == "", User.sso_subject.is_(None), User.active.is_(True))
    if unit_ids is not None:
        query = query.where(User.unit_id.in_(unit_ids))
    return query.order_by(User.unit_id, User.full_name, User.id)


def send_activations(unit_code: str | None = None) -> dict:
    """`flask accounts send-activation`: queue a mail for everyone not activated (in the unit's subtree)
    who has an address and no activation link still open; run it again and only the rest get one."""
    if not mail.enabled():
        raise Invalid(
            "Chưa cấu hình máy chủ thư (SMTP_HOST): không gửi được thư kích hoạt.",
            "No mail server configured (SMTP_HOST): cannot send activation mail.",
        )
    unit_ids = None
    if unit_code:
        unit = db.session.scalars(select(Unit).where(Unit.code == unit_code)).first()
        if unit is None:
            raise NotFound(f"Không có đơn vị {unit_code}.", f"No unit {unit_code}.")
        unit_ids = set(unit.subtree_ids())
    open_link = select(AccountToken.user_id).where(
        AccountToken.purpose == "activation", AccountToken.used_at.is_(None), AccountToken.expires_at > _now()
    )
    people = db.session.scalars(pending_query(unit_ids).where(User.id.not_in(open_link))).all()
    counts = {"queued": 0, "no_email": 0}
    for person in people:
        if send_activation(person):
            counts["queued"] += 1
        else:
            counts["no_email"] += 1
    log.info("activation mail queued: %s (unit %s)", counts, unit_code or "all")
    return counts


def pending_page(viewer: User, chosen: str = "") -> dict:
    """The HR page of people without a password: the units in the viewer's scope, the first 500 of
    the chosen unit's subtree (or the whole scope), how many in all, and who has a code or link open."""
    scope = hr_units(viewer)
    units_q = select(Unit).order_by(Unit.code)
    if scope is not None:
        units_q = units_q.where(Unit.id.in_(scope))
    units = db.session.scalars(units_q).all()
    unit_ids = scope
    if chosen:
        unit = next((u for u in units if u.code == chosen), None)
        unit_ids = set(unit.subtree_ids()) if unit else set()  # the units listed are in scope already
    total = db.session.scalar(pending_query(unit_ids).with_only_columns(func.count(User.id)).order_by(None))
    people = db.session.scalars(pending_query(unit_ids).limit(500)).all()
    open_codes = (
        dict(
            db.session.execute(
                select(AccountToken.user_id, func.max(AccountToken.channel))
                .where(
                    AccountToken.user_id.in_([p.id for p in people]),
                    AccountToken.purpose == "activation",
                    AccountToken.used_at.is_(None),
                    AccountToken.expires_at > _now(),
                )
                .group_by(AccountToken.user_id)
            ).all()
        )
        if people
        else {}
    )
    return {"people": people, "total": total, "units": units, "open_codes": open_codes}


def send_activations_to(actor: User, user_ids: list[int]) -> int:
    """Queue an activation mail for the chosen people (at most 500) in the actor's scope; how many."""
    scope = hr_units(actor)
    if not user_ids:
        raise _none_chosen()
    people = db.session.scalars(pending_query(scope).where(User.id.in_(user_ids[:500]))).all()
    return sum(send_activation(p, actor) for p in people)


def _none_chosen() -> Invalid:
    return Invalid(
        "Hãy chọn ít nhất một người.",
        "Choose at least one person.",
        [{"field": "user_id", "message": "Hãy chọn ít nhất một người.", "message_en": "Choose at least one person."}],
    )


def hr_units(actor: User) -> set[int] | None:
    """The units whose people an HR officer handles (None: an administrator, everywhere)."""
    if access.is_admin(actor):
        return None
    scope = access.hr_scope(actor)
    if not scope:
        raise Forbidden(
            "Chỉ cán bộ tổ chức của cơ quan hoặc quản trị hệ thống mới được làm việc này.",
            "Only the agency's HR officers or administrators may do this.",
        )
    return scope


def print_codes(actor: User, user_ids: list[int]) -> list[tuple[User, str, datetime]]:
    """Activation codes for the chosen people (not yet activated, within the officer's agency), each
    shown once on the printed sheet; a new code replaces an older one."""
    scope = hr_units(actor)
    if not user_ids:
        raise _none_chosen()
    people = db.session.scalars(pending_query(scope).where(User.id.in_(user_ids[:500]))).all()
    if len(people) != len(set(user_ids[:500])):
        raise Forbidden(
            "Có người không thuộc phạm vi của anh/chị hoặc đã kích hoạt tài khoản.",
            "Someone is outside your agency or has activated their account already.",
        )
    if scope is not None:
        _refuse_higher_authority(people)
    out = []
    for person in people:
        code = _issue(person, "activation", "code", actor)
        audit.record("activation_code_printed", actor=actor, step=person.username, details={"user_id": person.id})
        out.append((person, code, _now() + _lifetime("activation", "code")))
    log.info("activation codes printed by user %s for %d people", actor.id, len(out))
    return out


def _refuse_higher_authority(people: list[User]) -> None:
    """Whoever holds the code sets the password and signs in as that person: an HR officer does not get
    one for an administrator, designer, another HR officer or the head of a unit (their code comes from
    an administrator), or printing it would be taking over an account with more authority."""
    heads = set(db.session.scalars(select(Unit.head_id).where(Unit.head_id.in_([p.id for p in people]))))
    above = [p for p in people if p.id in heads or p.role_set & {"admin", "designer", "hr_officer"}]
    if above:
        names = ", ".join(p.username for p in above)
        raise Forbidden(
            f"Mã kích hoạt của {names} do quản trị hệ thống in (thủ trưởng hoặc có vai trò quản trị, "
            "thiết kế, tổ chức cán bộ).",
            f"The activation code of {names} is printed by an administrator (a head, or an "
            "administrator, designer or HR officer).",
        )


def _count(action: str, step: str) -> int:
    return (
        db.session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == action, AuditEvent.step == step, AuditEvent.at > _now() - RATE_WINDOW)
        )
        or 0
    )


def request_reset(identifier: str, ip: str = "") -> None:
    """ "Quên mật khẩu": mail a reset link to the person named by username or e-mail address. The caller
    shows the same answer whatever happens here, so that nobody learns who has an account."""
    ip = (ip or "-")[:64]
    if _count("password_reset_requested", ip) >= MAX_REQUESTS_PER_IP:
        raise TooMany(
            "Có quá nhiều yêu cầu từ máy này; hãy thử lại sau 15 phút.",
            "Too many requests from this device; try again in 15 minutes.",
        )
    audit.record("password_reset_requested", step=ip)
    identifier = (identifier or "").strip()[:255]
    people = []
    if identifier:
        people = db.session.scalars(
            select(User)
            .where(
                or_(User.username == identifier, func.lower(User.email) == identifier.lower()), User.active.is_(True)
            )
            .limit(5)
        ).all()
    for person in people:
        if not (person.email or "").strip() or not mail.enabled():
            continue
        recent = (
            db.session.scalar(
                select(func.count())
                .select_from(AccountToken)
                .where(
                    AccountToken.user_id == person.id,
                    AccountToken.purpose == "reset",
                    AccountToken.created_at > _now() - timedelta(hours=1),
                )
            )
            or 0
        )
        if recent >= MAX_RESETS_PER_ACCOUNT:
            continue
        secret = _issue(person, "reset", "mail")
        db.session.add(OutgoingMail(**_mail_row(person, "reset", secret)))
        audit.record("password_reset_sent", step=person.username, details={"user_id": person.id})


def _wrong(ip: str) -> Invalid:
    # counted even though the request answers with a refusal (the attempts limit reads these)
    transaction.kept(lambda: audit.record("account_secret_failed", step=ip))
    message = "Mã không đúng, đã dùng hoặc đã hết hạn. Hãy xin mã mới."
    message_en = "The code is wrong, used or expired. Ask for a new one."
    return Invalid(message, message_en, [{"field": "code", "message": message, "message_en": message_en}])


def redeem(purpose: str, secret: str, new: str, confirm: str, ip: str = "") -> User:
    """Set the password with a secret of `purpose` ("activation" takes a mailed link or a printed code;
    "reset" a reset link). The secret works once; the person's other sessions end."""
    ip = (ip or "-")[:64]
    if _count("account_secret_failed", ip) >= MAX_FAILURES_PER_IP:
        raise TooMany(
            "Nhập sai quá nhiều lần; hãy thử lại sau 15 phút.", "Too many wrong codes; try again in 15 minutes."
        )
    now = _now()
    row = (
        db.session.scalars(
            select(AccountToken).where(AccountToken.token_hash == digest(secret)).with_for_update()
        ).first()
        if normalize(secret)
        else None
    )
    if row is None or row.purpose != purpose or row.used_at is not None or row.expires_at <= now or not row.user.active:
        raise _wrong(ip)
    user = row.user
    if purpose == "activation" and is_activated(user):
        raise _wrong(ip)  # a code printed before the person bound the city's account (or activated otherwise)
    errors = [
        {
            "field": "new",
            "message": p,
            "message_en": "The new password is too weak (at least 10 characters, "
            "letters and digits, not the username).",
        }
        for p in accounts.password_problems(new, user.username)
    ]
    if new != confirm:
        errors.append(
            {
                "field": "confirm",
                "message": "Nhập lại mật khẩu không khớp.",
                "message_en": "The passwords do not match.",
            }
        )
    if errors:
        raise Invalid("Chưa đặt được mật khẩu.", "The password was not set.", errors)
    # single use: the row is locked above, and the UPDATE only succeeds while it is still unused
    taken = db.session.execute(
        update(AccountToken).where(AccountToken.id == row.id, AccountToken.used_at.is_(None)).values(used_at=now)
    ).rowcount
    if taken != 1:
        raise _wrong(ip)
    db.session.execute(
        update(AccountToken).where(AccountToken.user_id == user.id, AccountToken.used_at.is_(None)).values(used_at=now)
    )
    first_time = not is_activated(user)
    user.set_password(new)
    accounts.sign_out_everywhere(user)
    audit.record(
        "account_activated" if first_time else "password_reset",
        actor=user,
        step=user.username,
        details={"channel": row.channel},
    )
    log.info("user %s set their password (%s by %s)", user.id, purpose, row.channel)
    return user
