"""Process designers: versions, drafts, the BPMN modeler, the DMN table and form editors, publishing,
diffs and moving running instances. Only users with the `designer` (or `admin`) role get in."""

from __future__ import annotations

import io
import json
import zipfile

from flask import Blueprint, Response, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app import i18n
from app.extensions import login_manager
from app.services import transaction
from app.services.process_design import designer
from app.services.errors import ServiceError

from .. import stash

bp = Blueprint("designer", __name__, url_prefix="/designer")


@bp.before_request
def designers_only():
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if not designer.can_design(current_user):
        abort(403)


def _db_id(text: str) -> int:
    """An id from a form or query string, 0 when it is not one the database's integers can hold."""
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 10 and int(text) < 2**31 else 0


def _json_error(exc: ServiceError):
    return jsonify(exc.to_json()), exc.status


def _body() -> dict:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ServiceError("Dữ liệu gửi lên phải là một đối tượng JSON.", "The request body must be a JSON object.")
    return data


# --------------------------------------------------------------------------------- overview
@bp.route("/")
def index():
    return render_template("designer/index.html", **designer.overview())


@bp.route("/drafts", methods=["POST"])
def create_draft():
    raw = request.form.get("base_version_id", "").strip()
    base = _db_id(raw) if raw else None
    if raw and not base:
        abort(404)
    draft = designer.create_draft(current_user, base, request.form.get("name", ""))
    flash(_("Đã tạo bản nháp #%(id)s.", id=draft.id), "success")
    return redirect(url_for("designer.draft", draft_id=draft.id))


# ------------------------------------------------------------------------------------ drafts
def _draft_page(draft_id: int):
    draft = designer.get_draft(draft_id)
    findings = designer.findings(draft.files, draft.process_key)
    refused = stash.take(draft_id=draft_id)  # an upload, a publication or a new form refused
    return render_template(
        "designer/draft.html",
        draft=draft,
        findings=findings,
        error=refused.get("error"),
        refused=refused,
        typed=refused.get("values") or {},
        errors=[f for f in findings if f["severity"] == "error"],
        history=designer.history(draft),
        bpmn=designer.bpmn_file(draft.files),
    )


def _refused(draft_id: int, form: str, exc: ServiceError, values: dict | None = None):
    """Post/redirect/get: the draft's page shows the refusal, the typed values filled in again."""
    if exc.status in (403, 404):
        raise exc
    stash.keep(form, exc, values, draft_id=draft_id)
    return redirect(url_for("designer.draft", draft_id=draft_id, _anchor=form))


@bp.route("/drafts/<int:draft_id>")
def draft(draft_id):
    return _draft_page(draft_id)


@bp.route("/drafts/<int:draft_id>/upload", methods=["POST"])
def upload(draft_id):
    uploads = [(f.filename or "", f.read()) for f in request.files.getlist("files") if f and f.filename]
    try:
        names = designer.upload(draft_id, uploads, current_user)
    except ServiceError as exc:
        return _refused(draft_id, "upload-form", exc)
    flash(_("Đã tải lên: %(files)s", files=", ".join(names)), "success")
    return redirect(url_for("designer.draft", draft_id=draft_id))


@bp.route("/drafts/<int:draft_id>/publish", methods=["POST"])
def publish(draft_id):
    try:
        version = designer.publish_draft(
            draft_id,
            current_user,
            request.form.get("note", ""),
            request.form.get("tags", ""),
            request.form.get("notes", ""),
        )
    except ServiceError as exc:
        return _refused(draft_id, "publish-form", exc, {k: request.form.get(k, "") for k in ("note", "tags", "notes")})
    flash(
        _(
            "Đã ban hành phiên bản %(n)s. Các kỳ mở từ nay chạy theo phiên bản này; "
            "hồ sơ đang chạy giữ phiên bản cũ cho đến khi được chuyển.",
            n=version.version,
        ),
        "success",
    )
    return redirect(url_for("designer.index"))


@bp.route("/drafts/<int:draft_id>/discard", methods=["POST"])
def discard(draft_id):
    designer.discard(draft_id, current_user)
    flash(_("Đã hủy bản nháp #%(id)s.", id=draft_id), "success")
    return redirect(url_for("designer.index"))


@bp.route("/drafts/<int:draft_id>/files/<name>/delete", methods=["POST"])
def delete_file(draft_id, name):
    designer.delete_file(draft_id, name, current_user)
    flash(_("Đã xóa tệp %(name)s.", name=name), "success")
    return redirect(url_for("designer.draft", draft_id=draft_id))


@bp.route("/drafts/<int:draft_id>/files/<name>", methods=["GET"])
def draft_file(draft_id, name):
    files = designer.get_draft(draft_id).files
    if name not in files:
        abort(404)
    return _download(name, files[name])


@bp.route("/drafts/<int:draft_id>/files/<name>", methods=["PUT"])
def save_file(draft_id, name):
    try:
        body = _body()
        revision = body.get("revision")
        if revision is not None and (isinstance(revision, bool) or not isinstance(revision, int)):
            raise ServiceError(
                "“revision” phải là một số nguyên.",
                "“revision” must be a whole number.",
                [{"field": "revision", "message": "Phải là một số nguyên.", "message_en": "Must be a whole number."}],
            )
        draft = designer.save_file(draft_id, name, str(body.get("text") or ""), current_user, revision)
    except ServiceError as exc:
        return _json_error(exc)
    return jsonify({"revision": draft.revision, "findings": designer.findings(draft.files, draft.process_key)})


@bp.route("/drafts/<int:draft_id>/download")
def download_draft(draft_id):
    draft = designer.get_draft(draft_id)
    return _zip(f"ban-nhap-{draft.id}.zip", draft.files)


# ----------------------------------------------------------------------------------- modeler
def _with_xml(draft, xml: str | None) -> dict:
    files = dict(draft.files)
    name = designer.bpmn_file(files)
    if xml is not None and name:
        files[name] = xml
    return files


@bp.route("/drafts/<int:draft_id>/modeler")
def modeler(draft_id):
    draft = designer.get_draft(draft_id)
    if not designer.bpmn_file(draft.files):
        flash(_("Bản nháp chưa có tệp .bpmn: hãy tải lên một tệp."), "error")
        return redirect(url_for("designer.draft", draft_id=draft_id))
    return render_template(
        "designer/modeler.html", draft=draft, subjects=designer.sample_subjects(), period=designer.default_period()
    )


@bp.route("/drafts/<int:draft_id>/model.json")
def model(draft_id):
    draft = designer.get_draft(draft_id)
    name = designer.bpmn_file(draft.files)
    return jsonify(
        {
            "name": name,
            "xml": draft.files.get(name, ""),
            "revision": draft.revision,
            "editable": draft.status == "open",
            "forms": sorted(n for n in draft.files if n.endswith(".json")),
            "decisions": [
                t["decision_id"]
                for n in sorted(draft.files)
                if n.endswith(".dmn")
                for t in _tables_or_empty(draft.files[n])
            ],
            "roles": [
                {"role": r, "label": label, "label_en": i18n.translate_in("en", label)}
                for r, label in designer.ROLE_CHOICES
            ],
            "groups": designer.named_groups(),
            "step_statuses": designer.step_statuses(),
            "findings": designer.findings(draft.files, draft.process_key),
            "save_url": url_for("designer.save_file", draft_id=draft.id, name=name) if name else None,
        }
    )


def _tables_or_empty(text):
    try:
        return designer.dmn_tables(text)
    except ServiceError:
        return []


@bp.route("/drafts/<int:draft_id>/validate.json", methods=["POST"])
def validate(draft_id):
    draft = designer.get_draft(draft_id)
    try:
        body = _body()
    except ServiceError as exc:
        return _json_error(exc)
    xml = body.get("xml")
    return jsonify(
        {"findings": designer.findings(_with_xml(draft, xml if isinstance(xml, str) else None), draft.process_key)}
    )


@bp.route("/drafts/<int:draft_id>/simulate.json", methods=["POST"])
def simulate(draft_id):
    """Every path of the diagram on screen (saved or not), as publishing will run it."""
    draft = designer.get_draft(draft_id)
    try:
        body = _body()
    except ServiceError as exc:
        return _json_error(exc)
    xml = body.get("xml")
    try:
        return jsonify(
            designer.simulate_draft(_with_xml(draft, xml if isinstance(xml, str) else None), draft.process_key)
        )
    finally:
        transaction.mark_failed()  # a simulation writes nothing; make sure of it


@bp.route("/drafts/<int:draft_id>/test-run.json", methods=["POST"])
def test_run(draft_id):
    draft = designer.get_draft(draft_id)
    try:
        body = _body()
        subject = designer.test_subject(str(body.get("subject") or ""))
        answers = body.get("answers") or {}
        if not isinstance(answers, dict):
            raise ServiceError("“answers” phải là đối tượng {bước: dữ liệu}.", "“answers” must be {step: data}.")
        xml = body.get("xml")
        result = designer.test_run(
            _with_xml(draft, xml if isinstance(xml, str) else None),
            subject=subject,
            period=str(body.get("period") or designer.default_period()),
            answers=answers,
            process_key=draft.process_key,
        )
    except ServiceError as exc:
        return _json_error(exc)
    finally:
        transaction.mark_failed()  # a test run writes nothing; make sure of it
    return jsonify(result)


# -------------------------------------------------------------------------------- DMN tables
@bp.route("/drafts/<int:draft_id>/dmn/<name>", methods=["GET", "POST"])
def dmn(draft_id, name):
    draft = designer.get_draft(draft_id)
    if name not in draft.files or not name.endswith(".dmn"):
        abort(404)
    error, status = None, 200
    tables = designer.dmn_tables(draft.files[name])
    if request.method == "POST":
        decision_id = request.form.get("decision", "")
        table = next((t for t in tables if t["decision_id"] == decision_id), None)
        if table is None:
            abort(404)
        edited = _table_from_form(table)
        if request.form.get("action") == "add_row":
            edited["rules"].insert(
                max(len(edited["rules"]) - 1, 0),
                {
                    "id": None,
                    "description": "",
                    "inputs": ["" for _ in table["inputs"]],
                    "outputs": ["" for _ in table["outputs"]],
                },
            )
        try:
            designer.save_dmn_table(
                draft_id, name, decision_id, edited, current_user, request.form.get("revision", type=int)
            )
            flash(_("Đã lưu bảng quyết định."), "success")
            return redirect(url_for("designer.dmn", draft_id=draft_id, name=name))
        except ServiceError as exc:
            error, status = exc, exc.status
            tables = [edited if t["decision_id"] == decision_id else t for t in tables]
        draft = designer.get_draft(draft_id)
    findings = [f for f in designer.findings(draft.files, draft.process_key) if f["file"] == name]
    return render_template(
        "designer/dmn.html",
        draft=draft,
        name=name,
        tables=tables,
        findings=findings,
        error=error,
        bad_rules={f["element"] for f in findings},
    ), status


def _table_from_form(table: dict) -> dict:
    form = request.form
    inputs = [
        {
            "id": col["id"],
            "label": form.get(f"in-{i}-label", col["label"]),
            "expression": form.get(f"in-{i}-expression", col["expression"]),
        }
        for i, col in enumerate(table["inputs"])
    ]
    outputs = [
        {
            "id": col["id"],
            "label": form.get(f"out-{i}-label", col["label"]),
            "name": form.get(f"out-{i}-name", col["name"]),
        }
        for i, col in enumerate(table["outputs"])
    ]
    rows = []
    r = 0
    while f"rule-{r}-id" in form:
        if not form.get(f"rule-{r}-delete"):
            rows.append(
                (
                    form.get(f"rule-{r}-position", type=float) or (r + 1),
                    r,
                    {
                        "id": form.get(f"rule-{r}-id") or None,
                        "description": form.get(f"rule-{r}-description", ""),
                        "inputs": [form.get(f"rule-{r}-in-{i}", "") for i in range(len(inputs))],
                        "outputs": [form.get(f"rule-{r}-out-{i}", "") for i in range(len(outputs))],
                    },
                )
            )
        r += 1
    rows.sort(key=lambda row: (row[0], row[1]))
    return {
        "hit_policy": form.get("hit_policy", table["hit_policy"]),
        "inputs": inputs,
        "outputs": outputs,
        "rules": [row[2] for row in rows],
        "decision_id": table["decision_id"],
        "decision_name": table["decision_name"],
        "table_id": table["table_id"],
    }


# ------------------------------------------------------------------------------------- forms
NEW_FORM = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Tiêu đề biểu mẫu",
    "x-title-en": "Form title",
    "type": "object",
    "properties": {
        "comment": {"type": "string", "title": "Ý kiến", "x-title-en": "Comment", "maxLength": 2000},
    },
    "required": ["comment"],
    "additionalProperties": False,
}


@bp.route("/drafts/<int:draft_id>/forms/new", methods=["POST"])
def new_form(draft_id):
    name = (request.form.get("name") or "").strip()
    if name and not name.endswith(".json"):
        name += ".json"
    draft = designer.get_draft(draft_id)
    try:
        if name in draft.files:
            raise ServiceError(f"Đã có tệp {name}.", f"{name} already exists.")
        designer.save_file(draft_id, name, json.dumps(NEW_FORM, ensure_ascii=False, indent=2) + "\n", current_user)
    except ServiceError as exc:
        return _refused(draft_id, "new-form", exc, {"name": request.form.get("name", "")})
    return redirect(url_for("designer.form_editor", draft_id=draft_id, name=name))


@bp.route("/drafts/<int:draft_id>/forms/<name>", methods=["GET", "POST"])
def form_editor(draft_id, name):
    draft = designer.get_draft(draft_id)
    if not name.endswith(".json") or (name not in draft.files and request.method == "GET"):
        abort(404)
    text, error, status = draft.files.get(name, ""), None, 200
    if request.method == "POST":
        text = request.form.get("text", "")
        if request.form.get("action") == "save":
            try:
                designer.save_file(draft_id, name, text, current_user, request.form.get("revision", type=int))
                flash(_("Đã lưu biểu mẫu %(name)s.", name=name), "success")
                return redirect(url_for("designer.form_editor", draft_id=draft_id, name=name))
            except ServiceError as exc:
                error, status = exc, exc.status
        draft = designer.get_draft(draft_id)
    preview = designer.form_preview(name, text)
    return render_template(
        "designer/form.html", draft=draft, name=name, text=text, preview=preview, error=error
    ), status


@bp.route("/forms/preview", methods=["POST"])
def form_preview():
    try:
        body = _body()
    except ServiceError as exc:
        return _json_error(exc)
    return jsonify(designer.form_preview(str(body.get("name") or "form.json"), str(body.get("text") or "")))


# ---------------------------------------------------------------------------------- versions
@bp.route("/versions/<int:version_id>")
def version(version_id):
    version = designer.get_version(version_id)
    row = next((r for r in designer.overview(version.process_key)["versions"] if r["version"].id == version.id), None)
    return render_template(
        "designer/version.html",
        version=version,
        row=row,
        findings=designer.findings(version.files, version.process_key),
    )


@bp.route("/versions/<int:version_id>/notes", methods=["POST"])
def version_notes(version_id):
    try:
        designer.set_version_notes(
            version_id, request.form.get("notes", ""), request.form.get("tags", ""), current_user
        )
        flash(_("Đã lưu ghi chú và nhãn của phiên bản."), "success")
    except ServiceError as exc:
        transaction.mark_failed()  # the redirect answers 302: say that nothing is kept
        flash(exc.message_en if i18n.current() == "en" else exc.message, "error")
    return redirect(url_for("designer.version", version_id=version_id))


@bp.route("/versions/<int:version_id>/download")
def download_version(version_id):
    version = designer.get_version(version_id)
    return _zip(f"{version.process_key}-v{version.version}.zip", version.files)


@bp.route("/versions/<int:version_id>/files/<name>")
def version_file(version_id, name):
    files = designer.get_version(version_id).files
    if name not in files:
        abort(404)
    return _download(name, files[name])


@bp.route("/versions/<int:version_id>/diagram.json")
def version_diagram(version_id):
    files = designer.get_version(version_id).files
    return jsonify({"xml": files.get(designer.bpmn_file(files) or "", ""), "completed": [], "active": []})


@bp.route("/diff")
def diff():
    overview = designer.overview()
    choices = overview["versions"]
    a = _db_id(request.args.get("a", ""))
    b = request.args.get("b", "")
    result = old = new = None
    if a and b:
        old = designer.get_version(a)
        if b.startswith("d"):
            draft = designer.get_draft(_db_id(b[1:]))
            new_files, new_label = draft.files, _("bản nháp #%(id)s", id=draft.id)
        else:
            version = designer.get_version(_db_id(b))
            new_files, new_label = version.files, _("phiên bản %(n)s", n=version.version)
        result = designer.diff(old.files, new_files, old.process_key)
        new = new_label
    return render_template(
        "designer/diff.html", choices=choices, drafts=overview["drafts"], a=a, b=b, result=result, old=old, new=new
    )


@bp.route("/versions/<int:version_id>/migrate", methods=["GET", "POST"])
def migrate(version_id):
    target = designer.get_version(version_id)
    source = request.form if request.method == "POST" else request.args
    # the migration plan's mapping: map-<old activity id> = <new activity id>
    mapping = {k[4:]: v.strip() for k, v in source.items() if k.startswith("map-") and v.strip()}
    results = None
    if request.method == "POST":
        ids = [i for i in map(_db_id, request.form.getlist("instance")) if i]
        if request.accept_mimetypes.best == "application/json":  # one batch of the page's progress bar
            results = designer.migrate_instances(
                ids,
                version_id,
                current_user,
                mapping,
                done_before=request.form.get("done", 0, type=int),
                total=request.form.get("total", 0, type=int),
            )
            return jsonify(
                {"results": [{k: r[k] for k in ("id", "moved", "message", "message_en") if k in r} for r in results]}
            )
        if not ids:
            flash(_("Chưa chọn hồ sơ nào."), "error")
        else:
            results = designer.migrate_instances(ids, version_id, current_user, mapping)
            moved = sum(1 for r in results if r["moved"])
            flash(
                _(
                    "Đã chuyển %(moved)s/%(total)s hồ sơ sang phiên bản %(n)s.",
                    moved=moved,
                    total=len(results),
                    n=target.version,
                ),
                "success" if moved == len(results) else "error",
            )
    plan = designer.migration_plan(version_id, mapping)
    blocking = sorted(
        {e for p in plan for e in p.get("blocking", [])}
        | {m["element"] for p in plan for m in p.get("moves", [])}
        | set(mapping)
    )
    return render_template(
        "designer/migrate.html",
        target=target,
        plan=plan,
        results=results,
        mapping=mapping,
        blocking=blocking,
        choices=designer.mapping_choices(version_id),
        batch=designer.BATCH,
    )


@bp.route("/instances/<int:instance_id>/move", methods=["GET", "POST"])
def move_instance(instance_id):
    """A repair: one running instance back to a step it has done (audited)."""
    from app.services.evaluation import instances as instance_service

    instance = instance_service.get(instance_id)
    error, status = None, 200
    if request.method == "POST":
        try:
            designer.move_instance(
                instance_id, request.form.get("element", ""), current_user, request.form.get("reason", "")
            )
            flash(
                _("Đã chuyển hồ sơ #%(id)s về bước %(step)s.", id=instance_id, step=request.form.get("element")),
                "success",
            )
            return redirect(url_for("designer.move_instance", instance_id=instance_id))
        except ServiceError as exc:
            error, status = exc, exc.status
    return render_template(
        "designer/move.html", instance=instance, targets=designer.repair_targets(instance_id), error=error
    ), status


# ---------------------------------------------------------------------------------- helpers
def _download(name: str, text: str) -> Response:
    mimetype = "application/json" if name.endswith(".json") else "application/xml"
    return Response(text, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _zip(filename: str, files: dict[str, str]) -> Response:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in sorted(files.items()):
            folder = "forms/" if name.endswith(".json") else "processes/"
            archive.writestr(folder + name, text)
    return Response(
        buffer.getvalue(),
        mimetype="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
