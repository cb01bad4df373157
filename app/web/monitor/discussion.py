"""Evidence (minh chứng) and comments on the record page (issue #14): upload a file or a photo from the
phone, add a link, replace or withdraw, download, and the comment threads. Registered on the monitor
blueprint (imported at the end of routes.py); the use cases are app/services/evaluation/evidence.py and comments.py.

A refused upload or comment sends the browser back to the record page (post/redirect/get), which shows
the message next to its field and what was typed (app/web/stash.py)."""

from __future__ import annotations

from flask import flash, g, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app import i18n
from app.services.evaluation import comments, evidence, filecheck, instances
from app.services.errors import Forbidden, Invalid, NotFound, ServiceError

from .. import stash
from ..downloads import send_evidence
from .routes import bp

# Endpoints whose body may be a whole evidence file: the app-wide body limit (2 MB) is raised for them
# before anything reads the body (app/web/__init__.py calls raise_upload_limit first).
UPLOAD_ENDPOINTS = {"monitor.evidence_upload", "api.evidence_add", "tasks.evidence_attach"}


def raise_upload_limit() -> None:
    if request.endpoint in UPLOAD_ENDPOINTS:
        request.max_content_length = evidence.upload_limit()


def panel(viewer, instance, items: list[tuple[int, str]] | None = None) -> dict:
    """What the record page shows under "Minh chứng" and "Trao đổi". `items` (id, title), by default the
    record's plan items, lets the upload and comment forms name one; without any, everything is on the
    record itself."""
    record = instances.record_of(instance)
    rows = evidence.list_for(instance.id)
    may_write, _principal = evidence.writer(viewer, instance)
    is_closed = evidence.closed(instance, record)
    items = evidence.plan_items(instance.id) if items is None else items
    titles = dict(items or [])
    threads: dict[int | None, list] = {None: []}
    for c in comments.list_for(instance.id):
        threads.setdefault(c.item_id, []).append(c)
    return {
        "current": [r for r in rows if r.current],
        "history": [r for r in rows if not r.current],
        "threads": threads,
        "plan_items": items or [],
        "item_titles": titles,
        "may_write": may_write and not is_closed,
        "closed": is_closed,
        "decided": evidence.decided(instance, record),
        "accept": filecheck.ACCEPT,
        "max_bytes": evidence.max_file_bytes(),
        "max_mb": round(evidence.max_file_bytes() / 1024 / 1024),
        "form": g.get("discussion_form") or {},
        "size": size_text,
        "labels": {mime: kind.label for mime, kind in filecheck.BY_MIME.items()},
    }


def size_text(size: int | None) -> str:
    if size is None:
        return ""
    if size < 1024 * 1024:
        return f"{i18n.format_number(max(1, round(size / 1024)))} KB"
    return f"{i18n.format_number(round(size / 1024 / 1024, 1))} MB"


def _again(instance_id: int, form: str, exc: ServiceError, values: dict):
    """Back to the record page (post/redirect/get), where the refusal shows next to the field it names
    and the typed values are filled in again."""
    if isinstance(exc, (Forbidden, NotFound)):
        raise exc
    stash.keep(form, exc, values, instance_id=instance_id)
    anchor = "evidence" if form in ("file", "link") or form.startswith("replace-") else "comments"
    return _back(instance_id, anchor)


def _back(instance_id: int, anchor: str):
    return redirect(url_for("monitor.instance_page", instance_id=instance_id, _anchor=anchor))


@bp.post("/instances/<int:instance_id>/evidence")
@login_required
def evidence_upload(instance_id):
    upload = request.files.get("file")
    item_id, replaces = request.form.get("item_id") or None, request.form.get("replaces") or None
    try:
        evidence.require_may_add(instance_id, current_user)
        if upload is None or not upload.filename:
            vi, en = "Chọn tệp hoặc chụp ảnh minh chứng.", "Choose a file or take a photo."
            raise Invalid(vi, en, [{"field": "file", "message": vi, "message_en": en}])
        row = evidence.add_file(
            instance_id, current_user, upload.stream, upload.filename, item_id=item_id, replaces_id=replaces
        )
    except ServiceError as exc:
        return _again(instance_id, "replace-" + replaces if replaces else "file", exc, {"item_id": item_id})
    flash(_("Đã tải lên minh chứng “%(name)s”.", name=row.name), "success")
    return _back(instance_id, "evidence")


@bp.post("/instances/<int:instance_id>/evidence/link")
@login_required
def evidence_link(instance_id):
    values = {k: request.form.get(k, "") for k in ("url", "title", "item_id")}
    try:
        row = evidence.add_link(
            instance_id, current_user, values["url"], values["title"] or None, item_id=values["item_id"] or None
        )
    except ServiceError as exc:
        return _again(instance_id, "link", exc, values)
    flash(_("Đã thêm đường dẫn minh chứng “%(name)s”.", name=row.name), "success")
    return _back(instance_id, "evidence")


@bp.post("/evidence/<int:evidence_id>/withdraw")
@login_required
def evidence_withdraw(evidence_id):
    row = evidence.delete(evidence_id, current_user)
    flash(_("Đã gỡ minh chứng “%(name)s”.", name=row.name), "success")
    return _back(row.instance_id, "evidence")


@bp.get("/evidence/<int:evidence_id>")
@login_required
def evidence_download(evidence_id):
    return send_evidence(*evidence.open_for(current_user, evidence_id))


@bp.post("/instances/<int:instance_id>/comments")
@login_required
def comment_add(instance_id):
    values = {k: request.form.get(k, "") for k in ("body", "item_id")}
    try:
        comments.add(instance_id, current_user, values["body"], values["item_id"] or None)
    except ServiceError as exc:
        return _again(instance_id, "comment-" + (values["item_id"] or "record"), exc, values)
    flash(_("Đã gửi trao đổi."), "success")
    return _back(instance_id, "comments")
