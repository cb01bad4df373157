"""JSON API for evidence (minh chứng) and comments (issue #14), on the /api/v1 blueprint (imported at the
end of routes.py) and described in openapi_evidence.py."""

from __future__ import annotations

from flask import g, jsonify, request

from app.services.evaluation import comments, evidence
from app.services.errors import BadRequest, Invalid

from ..downloads import send_evidence
from .routes import body, bp, token_required


# GET and POST of one path share one rule: with two, werkzeug answers an id past the integer range with
# 405 (the other method's rule matched the path) instead of 404.
@bp.route("/instances/<int:instance_id>/evidence", methods=["GET", "POST"])
@token_required
def evidence_add(instance_id):
    """GET: the record's evidence. POST (multipart/form-data): `file` (with its name) or `url` (+ `title`),
    optional `item_id`."""
    if request.method == "GET":
        return jsonify([evidence.as_json(e) for e in evidence.visible_list(g.api_user, instance_id)])
    upload = request.files.get("file")
    url = request.form.get("url")
    has_file = upload is not None and (upload.filename or upload.content_length or upload.mimetype)
    if has_file and url:
        vi, en = "Gửi một tệp hoặc một đường dẫn, không gửi cả hai.", "Send a file or a link, not both."
        raise Invalid(vi, en, [{"field": "url", "message": vi, "message_en": en}])
    if has_file:
        row = evidence.add_file(
            instance_id, g.api_user, upload.stream, upload.filename, item_id=request.form.get("item_id")
        )
    elif url is not None:
        row = evidence.add_link(
            instance_id, g.api_user, url, request.form.get("title"), item_id=request.form.get("item_id")
        )
    else:
        vi, en = "Thiếu tệp (file) hoặc đường dẫn (url).", "A file (file) or a link (url) is required."
        raise BadRequest(vi, en, [{"field": "file", "message": vi, "message_en": en}])
    return jsonify(evidence.as_json(row)), 201


@bp.get("/evidence/<int:evidence_id>")
@token_required
def evidence_download(evidence_id):
    return send_evidence(*evidence.open_for(g.api_user, evidence_id))


@bp.route("/instances/<int:instance_id>/comments", methods=["GET", "POST"])
@token_required
def comment_add(instance_id):
    if request.method == "GET":
        return jsonify([comments.as_json(c) for c in comments.visible_list(g.api_user, instance_id)])
    data = body()
    row = comments.add(instance_id, g.api_user, data.get("body"), data.get("item_id"))
    return jsonify(comments.as_json(row)), 201
