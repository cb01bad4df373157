"""Evidence (minh chứng) on a record or a plan item: files and links; and who takes part in a record's
discussion (comments.py uses the same rules).

- Who writes: the record's chain — the person evaluated, their direct manager, the decider, whoever holds
  or held a task on the record — or a deputy acting for one of them (never for the subject). Everyone
  else who may see the record (HR of the agency, heads above, administrators) reads.
- A file is accepted for what its bytes are (filecheck.detect), never for its name; the name must agree
  with the content. At most EVIDENCE_MAX_FILE_MB each and EVIDENCE_MAX_TOTAL_MB for all the files a
  record keeps (replaced ones included: they stay stored).
- Nothing is removed once the record is decided: a new version replaces a file and the old one stays in
  the history; before the decision the uploader may withdraw a file (its bytes go, its row stays).
- Files are only served as attachments, to those who may see the record (web routes set the headers).
"""

from __future__ import annotations

import hashlib
import logging
import re
from typing import BinaryIO
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from app.extensions import db
from app.i18n import N_
from app.models import EvaluationRecord, Evidence, HumanTask, ProcessInstance, User
from app.models.types import utcnow

from app.services import audit, transaction
from . import evidence_storage, filecheck, instances
from app.services.organisation import access, authority
from app.services.errors import BadRequest, Conflict, Forbidden, Invalid, NotFound, ServiceError
from app.labels import ACTION_LABELS

log = logging.getLogger(__name__)

# the audit trail names these actions on the record page
ACTION_LABELS.update(
    {
        "evidence_added": N_("Thêm minh chứng"),
        "evidence_replaced": N_("Thay minh chứng"),
        "evidence_deleted": N_("Gỡ minh chứng"),
        "comment_added": N_("Viết trao đổi"),
    }
)

MAX_URL = 2000
MAX_ITEM_ID = 2**31 - 1


class TooLarge(ServiceError):
    status, code = 413, "too_large"


class StoreUnavailable(ServiceError):
    status, code = 503, "unavailable"


# ----------------------------------------------------------------------------- who and when
def participants(instance: ProcessInstance) -> set[int]:
    """The record's chain: subject, direct manager, decider, and every holder of a task on it."""
    ids = {instance.subject_id}
    for person in (
        authority.direct_manager_for(instance.subject, instance.unit),
        authority.decider_for(instance.subject, instance.unit),
    ):
        if person is not None:
            ids.add(person.id)
    ids |= set(
        db.session.scalars(
            select(HumanTask.assignee_id).where(
                HumanTask.instance_id == instance.id, HumanTask.assignee_id.is_not(None)
            )
        )
    )
    return ids


def writer(user: User, instance: ProcessInstance) -> tuple[bool, User | None]:
    """(may write, on whose behalf): a participant writes as themselves; a deputy for a participant
    principal (not for the subject: nobody acts on another's own record)."""
    chain = participants(instance)
    if user.id in chain:
        return True, None
    principal = next((p for p in authority.principals_of(user) if p.id in chain and p.id != instance.subject_id), None)
    return principal is not None, principal


def require_writer(user: User, instance: ProcessInstance) -> User | None:
    allowed, principal = writer(user, instance)
    if allowed:
        return principal
    access.require_view(user, instance)  # someone who may not even see it is told so
    raise Forbidden(
        "Chỉ người được đánh giá, lãnh đạo trực tiếp và thủ trưởng mới được thêm minh chứng "
        "hoặc trao đổi; anh/chị chỉ được xem.",
        "Only the person evaluated, their manager and the decider may add evidence or comments; you may only read.",
    )


def require_reader(user: User, instance: ProcessInstance) -> None:
    """Those who may see the record, and a deputy who writes on it for a participant."""
    if not access.can_view_instance(user, instance) and not writer(user, instance)[0]:
        access.require_view(user, instance)


def decided(instance: ProcessInstance, record: EvaluationRecord) -> bool:
    """A level is set or the month is over: from here evidence is kept as it is."""
    return (
        record.level is not None
        or record.published_at is not None
        or record.status in ("published", "appeal", "locked", "not_evaluated")
        or instance.status in ("completed", "terminated")
    )


def closed(instance: ProcessInstance, record: EvaluationRecord) -> bool:
    """Nothing more is added: the record is locked, cancelled or not evaluated."""
    return record.status in ("locked", "not_evaluated") or instance.status in ("completed", "terminated")


def require_open(instance: ProcessInstance, record: EvaluationRecord) -> None:
    if closed(instance, record):
        raise Conflict(
            "Hồ sơ đã khép lại (đã chốt, đã hủy hoặc không đánh giá): không thêm được nữa.",
            "The record is closed (locked, cancelled or not evaluated): nothing more can be added.",
        )


def check_item_id(value) -> int | None:
    """An optional plan item id: a whole number from 1 (a form sends it as text)."""
    if value is None or value in ("", "null"):  # a form's way of saying "no item"
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # JSON's 7.0 is the integer 7 (JSON Schema says so too)
    text = str(value).strip()
    if re.fullmatch(r"[0-9]+\.0*", text):
        text = text.split(".")[0]
    if (
        isinstance(value, bool)
        or not (text.isascii() and text.isdigit() and len(text) <= 10)  # int() refuses 4,300+ digits
        or not 1 <= int(text) <= MAX_ITEM_ID
    ):
        raise BadRequest(
            "Mã việc (item_id) phải là số nguyên dương.",
            "item_id must be a positive whole number.",
            [
                {
                    "field": "item_id",
                    "message": "Mã việc phải là số nguyên dương.",
                    "message_en": "item_id must be a positive whole number.",
                }
            ],
        )
    return int(text)


def plan_items(instance_id: int) -> list[tuple[int, str]]:
    """(id, title) of the record's plan items, when the work-plan module is installed."""
    try:
        from . import plans
    except ImportError:
        return []
    items_of = getattr(plans, "items_of", None)
    return [(item.id, item.title) for item in items_of(instance_id)] if items_of else []


def check_item(instance: ProcessInstance, value) -> int | None:
    """`check_item_id`, and the item must be one of this record's (when plan items exist at all)."""
    item = check_item_id(value)
    if item is not None:
        try:
            from . import plans
        except ImportError:
            return item
        if getattr(plans, "items_of", None) and item not in {i for i, _ in plan_items(instance.id)}:
            vi, en = "Việc này không thuộc hồ sơ.", "This item is not part of the record."
            raise Invalid(vi, en, [{"field": "item_id", "message": vi, "message_en": en}])
    return item


# ----------------------------------------------------------------------------- limits
def max_file_bytes() -> int:
    return int(float(current_app.config.get("EVIDENCE_MAX_FILE_MB", 20)) * 1024 * 1024)


def max_total_bytes() -> int:
    return int(float(current_app.config.get("EVIDENCE_MAX_TOTAL_MB", 100)) * 1024 * 1024)


def upload_limit() -> int:
    """What a whole upload request may weigh: one file plus the form around it."""
    return max_file_bytes() + 256 * 1024


def max_items() -> int:
    return int(current_app.config.get("EVIDENCE_MAX_ITEMS", 100))


def require_room(instance: ProcessInstance, field: str) -> None:
    """At most EVIDENCE_MAX_ITEMS files and links kept on a record (replaced ones count: they stay)."""
    kept = (
        db.session.scalar(
            select(func.count())
            .select_from(Evidence)
            .where(Evidence.instance_id == instance.id, Evidence.deleted_at.is_(None))
        )
        or 0
    )
    if kept >= max_items():
        vi = f"Hồ sơ đã có {kept} minh chứng; tối đa {max_items()} minh chứng mỗi hồ sơ."
        en = f"The record holds {kept} pieces of evidence already; at most {max_items()}."
        raise Invalid(vi, en, [{"field": field, "message": vi, "message_en": en}])


def stored_bytes(instance_id: int) -> int:
    return (
        db.session.scalar(
            select(func.coalesce(func.sum(Evidence.size), 0)).where(
                Evidence.instance_id == instance_id, Evidence.kind == "file", Evidence.deleted_at.is_(None)
            )
        )
        or 0
    )


def _mb(n: int) -> str:
    return f"{n / 1024 / 1024:.0f}" if n % (1024 * 1024) == 0 else f"{n / 1024 / 1024:.1f}"


def _file_error(vi: str, en: str, cls=Invalid):
    return cls(vi, en, [{"field": "file", "message": vi, "message_en": en}])


# ----------------------------------------------------------------------------- use cases
def read_limited(stream: BinaryIO) -> bytes:
    """At most one byte past the per-file limit: enough to know it is too large without reading it all."""
    limit = max_file_bytes()
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise _file_error(
            f"Tệp quá lớn: mỗi tệp tối đa {_mb(limit)} MB.",
            f"The file is too large: at most {_mb(limit)} MB per file.",
            TooLarge,
        )
    return data


def require_may_add(instance_id: int, user: User) -> None:
    """Who is asking comes first: someone who may not add evidence to this record is refused (403/404)
    before anything they sent is looked at."""
    require_writer(user, instances.get(instance_id))


def add_file(
    instance_id: int,
    user: User,
    data: bytes | BinaryIO,
    filename: str | None,
    *,
    item_id=None,
    replaces_id: int | str | None = None,
) -> Evidence:
    """Store a file as evidence of the record (or of one of its plan items). Refused, with nothing
    stored, when the content is not an allowed type or not what its name says, when it is too large for
    the file or for the record, or when the user may not write on this record."""
    instance = instances.get(instance_id)
    principal = require_writer(user, instance)
    item = check_item(instance, item_id)
    data = data if isinstance(data, bytes) else read_limited(data)
    if len(data) > max_file_bytes():
        raise _file_error(
            f"Tệp quá lớn: mỗi tệp tối đa {_mb(max_file_bytes())} MB.",
            f"The file is too large: at most {_mb(max_file_bytes())} MB per file.",
            TooLarge,
        )
    if not data:
        raise _file_error("Tệp rỗng.", "The file is empty.")
    name, kind = _named_kind(data, filename)
    replaces = check_evidence_id(replaces_id)
    old = _replaceable(instance, replaces, user) if replaces is not None else None
    if old is not None and item is None:
        item = old.item_id

    instance = instances.hold(instance_id)  # two uploads cannot both pass the count or total
    record = instances.record_of(instance)
    require_open(instance, record)
    require_room(instance, "file")
    total, limit = stored_bytes(instance.id), max_total_bytes()
    if total + len(data) > limit:
        raise _file_error(
            f"Hồ sơ đã có {_mb(total)} MB minh chứng; tổng tối đa {_mb(limit)} MB mỗi hồ sơ.",
            f"The record holds {_mb(total)} MB of evidence already; at most {_mb(limit)} MB in all.",
            TooLarge,
        )

    store = evidence_storage.backend()
    key = evidence_storage.new_key(instance.id)
    digest = hashlib.sha256(data).hexdigest()
    row = Evidence(
        instance_id=instance.id,
        item_id=item,
        kind="file",
        name=name,
        size=len(data),
        sha256=digest,
        content_type=kind.mime,
        storage=store.name,
        storage_key=key,
        uploaded_by_id=user.id,
        uploaded_at=utcnow(),
        replaces_id=old.id if old is not None else None,
    )
    try:
        store.put(key, data, kind.mime)
    except Exception as exc:
        log.error("evidence store %s refused %s: %s", store.name, key, exc)
        _forget(store, key)
        raise StoreUnavailable(
            "Kho lưu minh chứng tạm thời không ghi được; chưa có gì được lưu. Hãy thử lại sau.",
            "The evidence store cannot be written just now; nothing was saved. Try again later.",
        )
    # the bytes are stored before the row is committed: if the transaction is rolled back, they go too
    transaction.keep_on_failure(lambda: _forget(store, key))
    db.session.add(row)
    db.session.flush()
    if old is not None:
        old.replaced_by_id = row.id
    audit.record(
        "evidence_replaced" if old is not None else "evidence_added",
        instance=instance,
        actor=user,
        on_behalf_of=principal,
        details={
            "evidence_id": row.id,
            "kind": "file",
            "name": name,
            "size": len(data),
            "sha256": digest,
            "content_type": kind.mime,
            "item_id": item,
            "replaces": old.id if old is not None else None,
        },
    )
    return row


def _named_kind(data: bytes, filename: str | None) -> tuple[str, filecheck.Kind]:
    kinds = filecheck.detect(data)
    allowed = "PDF, Word, Excel, PowerPoint, OpenDocument, JPEG, PNG, WebP, HEIC"
    if not kinds:
        raise _file_error(
            f"Nội dung tệp không thuộc loại được nhận ({allowed}).",
            f"The file's content is not an accepted type ({allowed}).",
        )
    name = filecheck.clean_name(filename)
    ext = filecheck.extension(name)
    if not ext:
        kind = kinds[0]
        return (f"{name or 'minh-chung'}.{kind.extensions[0]}"), kind
    kind = next((k for k in kinds if ext in k.extensions), None)
    if kind is None:
        found = kinds[0].label if len(kinds) == 1 else "Office 97-2003"
        raise _file_error(
            f"Tên tệp ghi “.{ext}” nhưng nội dung là tệp {found}: hãy chọn đúng tệp hoặc sửa tên.",
            f"The name says “.{ext}” but the content is a {found} file: pick the right file or fix its name.",
        )
    return name, kind


def check_evidence_id(value) -> int | None:
    """An optional evidence id as a form sends it: ASCII digits within the database's integer range
    ("²" is a digit to str.isdigit but not to int(); a 20-digit id overflows the column)."""
    text = "" if value is None else str(value).strip()
    if not text:
        return None
    if (
        isinstance(value, bool)
        or not (text.isascii() and text.isdigit() and len(text) <= 10)
        or not 1 <= int(text) <= MAX_ITEM_ID
    ):
        vi, en = "Không tìm thấy minh chứng cần thay.", "The evidence to replace was not found."
        raise NotFound(vi, en, [{"field": "replaces", "message": vi, "message_en": en}])
    return int(text)


def _replaceable(instance: ProcessInstance, evidence_id: int, user: User) -> Evidence:
    old = db.session.get(Evidence, evidence_id)
    if old is None or old.instance_id != instance.id or old.kind != "file":
        raise NotFound(
            "Không tìm thấy minh chứng cần thay.",
            "The evidence to replace was not found.",
            [
                {
                    "field": "replaces",
                    "message": "Không tìm thấy minh chứng cần thay.",
                    "message_en": "The evidence to replace was not found.",
                }
            ],
        )
    # as for a withdrawal: a participant may not swap out what another one submitted (the manager
    # replacing the person's proof, or the other way round)
    if old.uploaded_by_id != user.id:
        raise Forbidden("Chỉ người đã tải lên mới thay được minh chứng này.", "Only the uploader may replace it.")
    if not old.current:
        raise Conflict("Minh chứng này đã được thay hoặc gỡ.", "This evidence was already replaced or withdrawn.")
    return old


def _forget(store, key: str) -> None:
    try:
        store.delete(key)
    except Exception:
        log.warning("could not remove evidence bytes %s after a failed save", key, exc_info=True)


def check_url(url) -> str:
    """An http(s) link with a host, no credentials, no blanks or control characters."""

    def bad(vi, en, cls=Invalid):
        return cls(vi, en, [{"field": "url", "message": vi, "message_en": en}])

    text = url.strip() if isinstance(url, str) else ""
    if not text:
        raise bad("Nhập đường dẫn (http:// hoặc https://).", "Enter a link (http:// or https://).", BadRequest)
    scheme = text.split(":", 1)[0].lower() if ":" in text else ""
    if scheme not in ("http", "https"):
        raise bad(
            "Chỉ nhận đường dẫn http:// hoặc https://.", "Only http:// or https:// links are accepted.", BadRequest
        )
    if len(text) > MAX_URL:
        raise bad(f"Đường dẫn dài quá {MAX_URL} ký tự.", f"The link is longer than {MAX_URL} characters.")
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in text):
        raise bad(
            "Đường dẫn không được chứa khoảng trắng hay ký tự điều khiển.",
            "The link may not contain blanks or control characters.",
        )
    try:
        parts = urlsplit(text)
        host = parts.hostname
        parts.port  # a port past 65535 or not a number: not a link anyone can open
    except ValueError:
        host, parts = None, None
    if not host:
        raise bad(
            "Đường dẫn thiếu tên máy chủ (ví dụ https://example.gov.vn/...).",
            "The link has no host (e.g. https://example.gov.vn/...).",
        )
    if parts.username or parts.password:
        raise bad(
            "Đường dẫn không được chứa tên đăng nhập hay mật khẩu.", "The link may not contain a username or password."
        )
    return text


def add_link(instance_id: int, user: User, url, title: str | None = None, *, item_id=None) -> Evidence:
    instance = instances.get(instance_id)
    principal = require_writer(user, instance)
    item = check_item(instance, item_id)
    text = check_url(url)
    if isinstance(title, str) and len(title) > 200:
        vi, en = "Tên đường dẫn tối đa 200 ký tự.", "The link's title is at most 200 characters."
        raise Invalid(vi, en, [{"field": "title", "message": vi, "message_en": en}])
    name = filecheck.clean_name(title) if isinstance(title, str) else ""
    if not name:
        parts = urlsplit(text)
        name = (parts.hostname or "") + (parts.path if parts.path not in ("", "/") else "")
        name = name[:200]
    instance = instances.hold(instance_id)  # two uploads cannot both pass the count or total
    require_open(instance, instances.record_of(instance))
    require_room(instance, "url")
    row = Evidence(
        instance_id=instance.id,
        item_id=item,
        kind="link",
        name=name,
        url=text,
        uploaded_by_id=user.id,
        uploaded_at=utcnow(),
    )
    db.session.add(row)
    db.session.flush()
    audit.record(
        "evidence_added",
        instance=instance,
        actor=user,
        on_behalf_of=principal,
        details={"evidence_id": row.id, "kind": "link", "name": name, "url": text, "item_id": item},
    )
    return row


def delete(evidence_id: int, user: User) -> Evidence:
    """Withdraw a file or link before the decision (the uploader only): the row stays with its name and
    hash for the history, the stored bytes go."""
    row = db.session.get(Evidence, evidence_id)
    if row is None:
        raise NotFound("Không tìm thấy minh chứng.", "Evidence not found.")
    instance = instances.hold(row.instance_id)
    require_reader(user, instance)
    if row.uploaded_by_id != user.id:
        raise Forbidden("Chỉ người đã tải lên mới gỡ được minh chứng này.", "Only the uploader may withdraw it.")
    if decided(instance, instances.record_of(instance)):
        raise Conflict(
            "Hồ sơ đã được quyết định: minh chứng được giữ nguyên, không gỡ được.",
            "The record is decided: its evidence is kept and cannot be withdrawn.",
        )
    if not row.current:
        raise Conflict("Minh chứng này đã được thay hoặc gỡ.", "This evidence was already replaced or withdrawn.")
    row.deleted_at, row.deleted_by_id = utcnow(), user.id
    audit.record(
        "evidence_deleted",
        instance=instance,
        actor=user,
        details={"evidence_id": row.id, "name": row.name, "sha256": row.sha256},
    )
    if row.kind == "file" and row.storage_key:
        store, key = evidence_storage.backend(row.storage), row.storage_key
        transaction.after_commit(lambda: _forget(store, key))  # the bytes go only once the withdrawal is kept
    return row


# ----------------------------------------------------------------------------- reading
def list_for(instance_id: int, *, history: bool = True) -> list[Evidence]:
    """The record's evidence in upload order; with `history`, replaced and withdrawn rows too."""
    query = (
        select(Evidence)
        .options(joinedload(Evidence.uploaded_by))
        .where(Evidence.instance_id == instance_id)
        .order_by(Evidence.id)
    )
    if not history:
        query = query.where(Evidence.deleted_at.is_(None), Evidence.replaced_by_id.is_(None))
    return list(db.session.scalars(query))


def visible_list(user: User, instance_id: int) -> list[Evidence]:
    require_reader(user, instances.get(instance_id))
    return list_for(instance_id)


def open_for(user: User, evidence_id: int) -> tuple[Evidence, BinaryIO]:
    """The row and its bytes, for someone who may see the record; 404 for a link or a withdrawn file."""
    row = db.session.get(Evidence, evidence_id)
    if row is None:
        raise NotFound("Không tìm thấy minh chứng.", "Evidence not found.")
    require_reader(user, instances.get(row.instance_id))
    if row.kind != "file" or row.deleted_at is not None or not row.storage_key:
        raise NotFound(
            "Minh chứng này không có tệp để tải (đường dẫn, hoặc đã gỡ).",
            "This evidence has no file to download (a link, or withdrawn).",
        )
    try:
        return row, evidence_storage.backend(row.storage).open(row.storage_key)
    except (OSError, ValueError) as exc:
        log.error("evidence %s: stored bytes unreadable: %s", row.id, exc)
        raise NotFound("Tệp minh chứng không còn trong kho lưu trữ.", "The stored file is missing.")
    except Exception as exc:
        log.error("evidence %s: storage error: %s", row.id, exc)
        raise NotFound("Tệp minh chứng không còn trong kho lưu trữ.", "The stored file is missing.")


def belongs_to(instance_id: int, ids) -> bool:
    """Whether every id names current (not replaced, not withdrawn) evidence of this record: what a
    form that cites evidence ids checks before it accepts them."""
    wanted = set()
    for value in ids or []:
        if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit() and len(value.strip()) <= 10:
            value = int(value.strip())  # ids typed into a form arrive as text
        if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_ITEM_ID:
            return False  # an id past the integer column went into the query: a 500 (SQLite's OverflowError)
        wanted.add(value)
    if not wanted:
        return True
    found = set(
        db.session.scalars(
            select(Evidence.id).where(
                Evidence.id.in_(wanted),
                Evidence.instance_id == instance_id,
                Evidence.deleted_at.is_(None),
                Evidence.replaced_by_id.is_(None),
            )
        )
    )
    return found == wanted


def as_json(row: Evidence) -> dict:
    return {
        "id": row.id,
        "kind": row.kind,
        "name": row.name,
        "size": row.size,
        "sha256": row.sha256,
        "content_type": row.content_type,
        "url": row.url,
        "item_id": row.item_id,
        "uploaded_by": row.uploaded_by.username if row.uploaded_by else None,
        "uploaded_at": row.uploaded_at.isoformat() if row.uploaded_at else None,
        "replaces": row.replaces_id,
        "replaced_by": row.replaced_by_id,
        "deleted": row.deleted_at is not None,
    }
