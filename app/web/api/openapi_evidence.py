"""OpenAPI paths of evidence and comments (issue #14), merged into SPEC by openapi.py."""

from __future__ import annotations

from app.services.evaluation.filecheck import MIME_TYPES

_ITEM_ID = {
    "type": "integer",
    "minimum": 1,
    "maximum": 2**31 - 1,
    "x-message": "Mã việc phải là số nguyên dương.",
    "x-message-en": "item_id must be a positive whole number.",
}

EVIDENCE = {
    "type": "object",
    "required": ["id", "kind", "name"],
    "properties": {
        "id": {"type": "integer"},
        "kind": {"enum": ["file", "link"]},
        "name": {"type": "string"},
        "size": {"type": ["integer", "null"]},
        "sha256": {"type": ["string", "null"]},
        "content_type": {"type": ["string", "null"]},
        "url": {"type": ["string", "null"]},
        "item_id": {"type": ["integer", "null"]},
        "uploaded_by": {"type": ["string", "null"]},
        "uploaded_at": {"type": ["string", "null"]},
        "replaces": {"type": ["integer", "null"]},
        "replaced_by": {"type": ["integer", "null"]},
        "deleted": {"type": "boolean"},
    },
}
COMMENT = {
    "type": "object",
    "required": ["id", "body", "author", "created_at"],
    "properties": {
        "id": {"type": "integer"},
        "instance_id": {"type": "integer"},
        "item_id": {"type": ["integer", "null"]},
        "author": {"type": "object", "properties": {"username": {"type": "string"}, "full_name": {"type": "string"}}},
        "on_behalf_of": {"type": ["string", "null"]},
        "body": {"type": "string"},
        "created_at": {"type": "string"},
    },
}


def paths(_op, _p, errors) -> dict:
    upload = _op(
        "Add evidence to a record: a file (PDF, Office, JPEG/PNG/WebP/HEIC photo; at most "
        "EVIDENCE_MAX_FILE_MB, 20 MB by default, and EVIDENCE_MAX_TOTAL_MB per record) or an http(s) "
        "link, optionally for a plan item. The file's type is read from its content: content that is "
        "not an accepted type, or not what its name says, is a 422 naming `file`; too large is a 413. "
        "The record's chain (the person, their manager, the decider) may add; others who see it read.",
        EVIDENCE,
        params=[_p("instance_id")],
    )
    upload["requestBody"] = {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "anyOf": [{"required": ["file"]}, {"required": ["url"]}],
                    "additionalProperties": False,
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "url": {
                            "type": "string",
                            "pattern": "^[Hh][Tt][Tt][Pp][Ss]?://",
                            "maxLength": 2000,
                            "x-message": "Chỉ nhận đường dẫn http:// hoặc https://.",
                            "x-message-en": "Only http:// or https:// links are accepted.",
                        },
                        "title": {"type": "string", "maxLength": 200},
                        "item_id": {"anyOf": [_ITEM_ID, {"type": "null"}]},
                    },
                },
                "encoding": {"file": {"contentType": "application/octet-stream"}},
            }
        },
    }
    upload["responses"]["201"] = upload["responses"].pop("200")
    upload["responses"].update(errors("409", "413", "422"))

    download = _op(
        "An evidence file's bytes, as an attachment (Content-Disposition: attachment, "
        "X-Content-Type-Options: nosniff), for those who may see the record; 404 for a link or a "
        "withdrawn file",
        {"type": "string", "format": "binary"},
        params=[_p("evidence_id")],
    )
    download["responses"]["200"]["content"] = {
        m: {"schema": {"type": "string", "format": "binary"}} for m in MIME_TYPES
    }

    comment = _op(
        "Comment on a record (item_id: on one of its plan items); the other participants are "
        "told, and the comment is in the audit trail. The record's chain writes; HR reads.",
        COMMENT,
        params=[_p("instance_id")],
        body={
            "type": "object",
            "required": ["body"],
            "properties": {
                "body": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": 4000,
                    "x-message": "Nhập nội dung trao đổi (1-4000 ký tự).",
                    "x-message-en": "Write a comment (1 to 4000 characters).",
                },
                "item_id": {"anyOf": [_ITEM_ID, {"type": "null"}]},
            },
        },
    )
    comment["responses"]["201"] = comment["responses"].pop("200")
    comment["responses"]["429"] = dict(
        errors("429")["429"], description="Too many comments by the caller on this record within an hour"
    )
    return {
        "/api/v1/instances/{instance_id}/evidence": {
            "get": _op(
                "A record's evidence, oldest first, with replaced and withdrawn entries (history)",
                {"type": "array", "items": EVIDENCE},
                params=[_p("instance_id")],
            ),
            "post": upload,
        },
        "/api/v1/evidence/{evidence_id}": {"get": download},
        "/api/v1/instances/{instance_id}/comments": {
            "get": _op(
                "A record's comments, oldest first (all threads: item_id null is the record's own)",
                {"type": "array", "items": COMMENT},
                params=[_p("instance_id")],
            ),
            "post": comment,
        },
    }
