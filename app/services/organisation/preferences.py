"""A person's preferences: interface language, e-mail per kind of notice, daily digest."""

from __future__ import annotations

from app.extensions import db
from app.i18n import LANGUAGES, N_
from app.models import User, UserPreference

# The kinds of notice a person can switch e-mail off for; each is a column `mail_<group>`.
GROUPS = {
    "assignment": (N_("Việc mới được giao, trả lại để bổ sung, giao lại"), ("assigned", "returned", "reassigned")),
    "reminder": (N_("Nhắc việc, gia hạn"), ("reminder", "extended")),
    "overdue": (N_("Quá hạn, chuyển lên thủ trưởng"), ("overdue", "escalation", "escalated")),
    "publication": (N_("Công bố kết quả"), ("published", "terminated")),
    "appeal": (N_("Trả lời kiến nghị"), ("appeal_answered", "appeal_submitted")),
}
GROUP_OF = {kind: group for group, (_, kinds) in GROUPS.items() for kind in kinds}


def get(user: User) -> UserPreference:
    """The stored row, or an unsaved one with the defaults."""
    row = db.session.get(UserPreference, user.id) if user.id is not None else None
    if row is None:
        row = UserPreference(
            user_id=user.id,
            language="vi",
            mail_assignment=True,
            mail_reminder=True,
            mail_overdue=True,
            mail_publication=True,
            mail_appeal=True,
            daily_digest=False,
        )
    return row


def stored(user_ids) -> dict[int, UserPreference]:
    from sqlalchemy import select

    ids = list(user_ids)
    if not ids:
        return {}
    return {p.user_id: p for p in db.session.scalars(select(UserPreference).where(UserPreference.user_id.in_(ids)))}


def language_of(user: User) -> str:
    row = db.session.get(UserPreference, user.id)
    return row.language if row is not None and row.language in LANGUAGES else "vi"


def mail_on(pref: UserPreference | None, kind: str) -> bool:
    """Whether this kind of notice goes out by e-mail under `pref` (None: the defaults, all on)."""
    if pref is None:
        return True
    group = GROUP_OF.get(kind)
    return True if group is None else bool(getattr(pref, f"mail_{group}"))


def save(
    user: User, *, language: str | None = None, mail: dict[str, bool] | None = None, daily_digest: bool | None = None
) -> UserPreference:
    row = db.session.get(UserPreference, user.id)
    if row is None:
        row = get(user)
        db.session.add(row)
    if language in LANGUAGES:
        row.language = language
    for group, on in (mail or {}).items():
        if group in GROUPS:
            setattr(row, f"mail_{group}", bool(on))
    if daily_digest is not None:
        if daily_digest and not row.daily_digest:
            from app.models.types import utcnow

            row.digest_sent_at = utcnow()  # the first digest starts from now, not from the beginning
        row.daily_digest = bool(daily_digest)
    return row
