"""HTML for a form schema, and the inverse: a submitted form back into JSON data.

Field names use the bracket form (``scores[I.1]``, ``deductions[0][reason]``) that
:func:`parse_submission` reads and :class:`~app.forms.validate.FieldError` reports.
Every piece of data or schema text goes through :func:`markupsafe.escape`.
"""

from __future__ import annotations

import json
import math
import re
from contextvars import ContextVar
from typing import Any, Iterable, Mapping

from markupsafe import Markup, escape

from app.rules.scoring import score_total

from .schema import deref, enum_options, expand, field_name, schema_type
from .validate import FieldError, errors_by_field

__all__ = ["parse_submission", "render", "format_number"]

_MISSING = object()
_NUMBER = re.compile(r"^[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)$")
_TRUE = {"true", "on", "1", "yes", "có"}
_FALSE = {"", "false", "off", "0", "no", "không"}
EMPTY_ROWS = 2
MAX_TOTAL = 100


# ======================================================================================== parsing
def parse_submission(schema: dict[str, Any], formdata: Any) -> dict[str, Any]:
    """Submitted form fields -> JSON data shaped and typed by ``schema``.

    ``formdata`` is a werkzeug ``MultiDict`` (or anything with ``get``/``getlist``/``keys``; a plain
    dict works too). Numbers accept ``8,5`` and ``8.5``; a value that is not a number is kept as the
    raw string so validation reports it next to the field. Empty strings are omitted; a checkbox is
    true when present and false when absent; list rows (``deductions[0][points]``…) that are
    entirely empty are skipped; read-only properties and unknown names are ignored.
    """
    return _parse_object(schema, schema, formdata, [])


def _getlist(fd: Any, name: str) -> list[Any]:
    if hasattr(fd, "getlist"):
        return list(fd.getlist(name))
    if name not in fd:
        return []
    v = fd[name]
    return list(v) if isinstance(v, (list, tuple)) else [v]


def _get(fd: Any, name: str) -> Any:
    values = _getlist(fd, name)
    return values[0] if values else None


def _parse_object(root: dict[str, Any], node: dict[str, Any], fd: Any, path: list[Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    node = deref(root, node)
    for key, sub in (node.get("properties") or {}).items():
        sub = deref(root, sub)
        if not isinstance(sub, dict) or sub.get("readOnly") is True:
            continue
        value = _parse_value(root, sub, fd, path + [key])
        if value is not _MISSING:
            out[key] = value
    return out


def _parse_value(root: dict[str, Any], node: dict[str, Any], fd: Any, path: list[Any]) -> Any:
    name = field_name(path)
    kind = schema_type(node)
    if kind == "object" and isinstance(node.get("properties"), dict):
        obj = _parse_object(root, node, fd, path)
        return obj if obj else _MISSING
    if kind == "array":
        items = deref(root, node.get("items"))
        if isinstance(items, dict) and schema_type(items) == "object" and isinstance(items.get("properties"), dict):
            # a row index is a few ASCII digits: `items[<5000 digits>]` was a ValueError from int() (a 500 on
            # the task page, its autosave and its evidence upload); anything longer is no row of the form
            row_re = re.compile(re.escape(name) + r"\[([0-9]{1,4})\]")
            indexes = sorted({int(m.group(1)) for k in fd.keys() if (m := row_re.match(str(k)))})
            rows = []
            for i in indexes:
                if _row_is_empty(fd, field_name(path + [i])):
                    continue
                rows.append(_parse_object(root, items, fd, path + [i]))
            # the plan's items: none sent means "as stored", not "remove them all"
            return rows if rows or not node.get("x-plan-items") else _MISSING
        raw = _getlist(fd, name)
        if isinstance(items, dict) and schema_type(items) in ("integer", "number"):
            raw = [part for v in raw for part in str(v).replace(";", ",").split(",")]  # "3, 7": ids typed in one box
        values = [_coerce(items if isinstance(items, dict) else {}, v) for v in raw]
        return [v for v in values if v is not _MISSING]
    if kind == "boolean" and not _is_select(node):
        raw = _get(fd, name)
        if raw is None:
            return False
        return str(raw).strip().lower() not in _FALSE
    raw = _get(fd, name)
    if raw is None:
        return _MISSING
    return _coerce(node, raw)


def _coerce(node: dict[str, Any], raw: Any) -> Any:
    if not isinstance(raw, str):
        raw = str(raw)
    text = raw.replace("\r\n", "\n").replace("\r", "\n").strip()
    if text == "":
        return _MISSING
    opts = enum_options(node)
    if opts:
        for value, _, _ in opts:
            if _option_value(value) == text:
                return value
        return text  # not one of them: validation says so
    kind = schema_type(node)
    if kind in ("number", "integer"):
        return _parse_number(text)
    if kind == "boolean":
        low = text.lower()
        return True if low in _TRUE else False if low in _FALSE else text
    return text


def _parse_number(text: str) -> Any:
    if not _NUMBER.match(text):
        return text
    value = float(text.replace(",", "."))
    if not math.isfinite(value):  # "1" followed by 400 zeros: kept as typed, validation says why
        return text
    return int(value) if value.is_integer() and abs(value) < 2**53 else value


def _row_is_empty(fd: Any, row_name: str) -> bool:
    prefix = row_name + "["
    for key in fd.keys():
        if str(key).startswith(prefix):
            if any(str(v).strip() for v in _getlist(fd, key)):
                return False
    return True


def _fixed(node: Mapping[str, Any]) -> dict[str, Any]:
    """A row field shown but not edited here (a plan item's title once registered): read-only input."""
    return dict(node, readOnly=True)


def _is_select(node: dict[str, Any]) -> bool:
    opts = enum_options(node)
    return opts is not None and bool(opts) and not ("const" in node and len(opts) == 1)


def _option_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return format_number(value) if isinstance(value, (int, float)) else str(value)


def _option_label(code: str, title: str) -> str:
    """A short code people know (the level letters A–D) leads its title; a machine code ("keep",
    "amend") never shows."""
    return f"{code} – {title}" if title and title != code and len(code) <= 2 and code.isupper() else (title or code)


# The reader's language while `render` runs (a context variable: safe with threads and nested renders).
_LANG: ContextVar[str] = ContextVar("form_lang", default="vi")


# ====================================================================================== rendering
def render(
    schema: dict[str, Any],
    data: Mapping[str, Any] | None = None,
    errors: Iterable[FieldError] | None = None,
    context: Mapping[str, Any] | None = None,
    lang: str = "vi",
) -> Markup:
    """Accessible HTML for the fields of ``schema`` (without the ``<form>`` element).

    ``data`` prefills the inputs (task data or the rejected submission); ``errors`` come from
    :func:`~app.forms.validate.validate`; ``context`` is what :func:`~app.forms.schema.expand` uses
    (criteria, working days…) and a second place where read-only sections (``x-source``) are looked
    up when ``data`` lacks them. An unexpanded schema is expanded with ``context`` first.

    ``lang`` is the reader's language, and the page shows that one only: Vietnamese ("vi", the default),
    or English ("en": ``x-title-en``, ``x-description-en``, ``message_en``; a text without an English twin
    is shown in Vietnamese inside a ``lang="vi"`` span). Numbers follow the language too (8,5 / 8.5).
    """
    context = context or {}
    if not schema.get("x-expanded"):
        schema = expand(schema, context)
    token = _LANG.set("en" if lang == "en" else "vi")
    try:
        return _Renderer(schema, data or {}, list(errors or []), context).render()
    finally:
        _LANG.reset(token)


def _english() -> bool:
    return _LANG.get() == "en"


def format_number(value: Any) -> str:
    """Number as an HTML number input value: ``8.5``, ``5``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return f"{value:.10g}"
    return str(value)


def _vi_number(value: Any) -> str:
    """A number to read: 8,5 in Vietnamese, 8.5 in English."""
    return format_number(value) if _english() else format_number(value).replace(".", ",")


def _attrs(attrs: Mapping[str, Any]) -> Markup:
    out = []
    for key, value in attrs.items():
        if value is None or value is False:
            continue
        if value is True:
            out.append(Markup(" ") + escape(key))
        else:
            out.append(Markup(' {}="{}"').format(key, value))
    return Markup("").join(out)


def _el(tag: str, attrs: Mapping[str, Any] | None = None, *children: Any) -> Markup:
    return Markup("<{}{}>").format(tag, _attrs(attrs or {})) + Markup("").join(children) + Markup("</{}>").format(tag)


def _void(tag: str, attrs: Mapping[str, Any]) -> Markup:
    return Markup("<{}{}>").format(tag, _attrs(attrs))


def _en(text: Any) -> Markup:
    """Nothing: a page speaks one language, so a Vietnamese text never carries an English twin. Kept as
    the single place to change should a bilingual print ever be wanted."""
    return Markup("")


def _bi(vi: Any, en: Any) -> Markup:
    """The text in the reader's language: Vietnamese, or in English the English twin (the Vietnamese
    text, marked ``lang="vi"``, when there is no twin)."""
    if _english():
        if en:
            return escape(en)
        return _el("span", {"lang": "vi"}, vi) if vi else Markup("")
    return escape(vi) + _en(en)


def _file_pick(attrs: dict[str, Any], button: Markup) -> Markup:
    """A file input behind a label drawn as a button, with the chosen name beside it: the browser's own
    "Choose file / No file chosen" speaks the browser's language, not the page's. The input stays in the
    tab order (visually hidden, its focus ring drawn on the label), and without JavaScript the label
    still opens the picker (the span, which only nav.js can keep true, is then hidden by the stylesheet).
    The same markup as the templates' ``file_pick`` macro (templates/_file_pick.html)."""
    fid = attrs["id"]
    described = " ".join(x for x in (attrs.get("aria-describedby"), f"{fid}-name") if x)
    return _el(
        "div",
        {"class": "file-pick"},
        _void("input", {"type": "file", **attrs, "class": "file-input", "aria-describedby": described}),
        _el("label", {"for": fid, "class": "file-button"}, button),
        _el(
            "span",
            {
                "class": "file-name",
                "id": f"{fid}-name",
                "data-empty": "No file chosen" if _english() else "Chưa chọn tệp",
            },
            _bi("Chưa chọn tệp", "No file chosen"),
        ),
    )


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _score_total(form: Mapping[str, Any], criteria: list[dict[str, Any]]) -> float | None:
    """Same formula as :func:`app.rules.scoring.score_total`; tolerant of half-typed input."""
    clean_scores = (
        {k: v for k, v in (form.get("scores") or {}).items() if _is_number(v)}
        if isinstance(form.get("scores"), Mapping)
        else None
    )
    if clean_scores is None:
        return None
    clean = {
        "scores": clean_scores,
        "bonus": form.get("bonus") if _is_number(form.get("bonus")) else 0,
        "deductions": [
            d for d in (form.get("deductions") or []) if isinstance(d, Mapping) and _is_number(d.get("points"))
        ]
        if isinstance(form.get("deductions"), list)
        else [],
    }
    return score_total(clean, criteria)


def _criteria_of(node: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "code": code,
            "group": p.get("x-group", ""),
            "max": p.get("maximum", 0),
            "name": p.get("title", code),
            "name_en": p.get("x-title-en", ""),
        }
        for code, p in (node.get("properties") or {}).items()
        if isinstance(p, Mapping)
    ]


class _Renderer:
    def __init__(
        self, schema: dict[str, Any], data: Mapping[str, Any], errors: list[FieldError], context: Mapping[str, Any]
    ):
        self.root = schema
        self.data = data
        self.context = context
        self.errors = errors
        self.by_field = errors_by_field(errors)
        self.ids: dict[str, str] = {}
        self.used_ids: set[str] = set()

    # ------------------------------------------------------------------------------- structure
    def render(self) -> Markup:
        body = self.object_fields(self.root, self.data, [], required=True)
        parts = [self.summary()]
        if self.root.get("description"):
            parts.append(
                _el(
                    "p", {"class": "form-description"}, _bi(self.root["description"], self.root.get("x-description-en"))
                )
            )
        parts.append(body)
        return _el("div", {"class": "schema-form"}, *parts)

    def object_fields(self, node: dict[str, Any], data: Any, path: list[Any], required: bool) -> Markup:
        node = deref(self.root, node)
        req = set(node.get("required") or []) if required else set()
        data = data if isinstance(data, Mapping) else {}
        parts = []
        for key, sub in (node.get("properties") or {}).items():
            sub = deref(self.root, sub)
            if not isinstance(sub, dict):
                continue
            p = path + [key]
            value = data.get(key, _MISSING)
            if sub.get("readOnly") is True:
                parts.append(self.readonly_section(sub, p))
            elif sub.get("x-criteria") and isinstance(sub.get("properties"), dict):
                parts.append(self.criteria(sub, value, p, key in req))
            elif schema_type(sub) == "object" and isinstance(sub.get("properties"), dict):
                parts.append(self.group(sub, value, p, key in req))
            elif schema_type(sub) == "array":
                parts.append(self.array(sub, value, p))
            else:
                parts.append(self.field(sub, value, p, key in req))
        return Markup("").join(parts)

    def make_id(self, name: str, prefix: str = "f") -> str:
        base = prefix + "-" + (re.sub(r"[^A-Za-z0-9_]+", "-", name).strip("-") or "form")
        fid, n = base, 2
        while fid in self.used_ids:
            fid, n = f"{base}-{n}", n + 1
        self.used_ids.add(fid)
        self.ids.setdefault(name, fid)
        return fid

    def error_block(self, name: str, fid: str) -> tuple[Markup, str | None]:
        errs = self.by_field.get(name) or []
        if not errs:
            return Markup(""), None
        err_id = f"{fid}-error"
        msgs = Markup("<br>").join(_el("span", {"class": "error-message"}, _bi(e.message, e.message_en)) for e in errs)
        return _el("p", {"class": "field-error", "id": err_id, "role": "alert"}, msgs), err_id

    def help_block(self, node: Mapping[str, Any], fid: str, extra: Markup | None = None) -> tuple[Markup, str | None]:
        desc, desc_en = node.get("description"), node.get("x-description-en")
        if not desc and not desc_en and not extra:
            return Markup(""), None
        help_id = f"{fid}-help"
        content = _bi(desc or "", desc_en) if (desc or desc_en) else Markup("")
        if extra:
            content = content + (Markup(" ") if content else Markup("")) + extra
        return _el("small", {"class": "field-help", "id": help_id}, content), help_id

    def label_text(self, node: Mapping[str, Any], required: bool, name: str) -> Markup:
        if _english():
            return self.label_text_en(node, required, name)
        title = node.get("title") or name
        parts = []
        if node.get("x-code"):
            parts.append(_el("span", {"class": "criterion-code"}, f"{node['x-code']}.") + Markup(" "))
        parts.append(escape(title))
        if node.get("x-code") and _is_number(node.get("maximum")):
            m = node["maximum"]
            parts.append(Markup(" ") + _el("span", {"class": "criterion-max"}, f"(tối đa {_vi_number(m)} điểm)"))
        if required:
            parts.append(
                Markup(" ")
                + _el("span", {"class": "required", "aria-hidden": "true", "title": "bắt buộc / required"}, "*")
            )
        en = node.get("x-title-en")
        if en:
            if node.get("x-code") and _is_number(node.get("maximum")):
                en = f"{en} (max {format_number(node['maximum'])} points)"
            parts.append(_en(en))
        return Markup("").join(parts)

    def label_text_en(self, node: Mapping[str, Any], required: bool, name: str) -> Markup:
        parts = []
        if node.get("x-code"):
            parts.append(_el("span", {"class": "criterion-code"}, f"{node['x-code']}.") + Markup(" "))
        parts.append(_bi(node.get("title") or name, node.get("x-title-en")))
        if node.get("x-code") and _is_number(node.get("maximum")):
            parts.append(
                Markup(" ") + _el("span", {"class": "criterion-max"}, f"(max {format_number(node['maximum'])} points)")
            )
        if required:
            parts.append(
                Markup(" ") + _el("span", {"class": "required", "aria-hidden": "true", "title": "required"}, "*")
            )
        return Markup("").join(parts)

    def wrapper_attrs(self, node: Mapping[str, Any], classes: str, name: str) -> dict[str, Any]:
        attrs: dict[str, Any] = {
            "class": classes + (" has-error" if self.by_field.get(name) else ""),
            "data-field": name,
        }
        if isinstance(node.get("x-show-when"), Mapping):
            attrs["data-show-when"] = json.dumps(node["x-show-when"], ensure_ascii=False)
        return attrs

    # ---------------------------------------------------------------------------------- fields
    def field(self, node: dict[str, Any], value: Any, path: list[Any], required: bool, in_row: bool = False) -> Markup:
        name = field_name(path)
        if node.get("x-hidden") is True:  # an id the form carries back (a plan item's)
            text = "" if value is _MISSING or value is None else str(value)
            return _void("input", {"type": "hidden", "name": name, "value": text, "data-field": name})
        if node.get("x-widget") == "evidence":
            return self.evidence(node, value, path)
        if schema_type(node) == "array" and isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        fid = self.make_id(name)
        kind = schema_type(node) or "string"
        if value is _MISSING:
            value = node.get("default", _MISSING) if not in_row else _MISSING
        err_html, err_id = self.error_block(name, fid)
        help_html, help_id = self.help_block(node, fid)
        described = " ".join(x for x in (help_id, err_id) if x) or None
        common: dict[str, Any] = {
            "id": fid,
            "name": name,
            "aria-describedby": described,
            "aria-invalid": "true" if err_id else None,
        }
        html_required = required and not in_row
        if html_required:
            common["required"] = True
            common["aria-required"] = "true"
        if node.get("readOnly") is True:
            common["readonly"] = True
        label = _el("label", {"for": fid}, self.label_text(node, html_required, name))

        if kind == "boolean" and not _is_select(node):
            control = _void(
                "input",
                {
                    "type": "checkbox",
                    **common,
                    "value": "true",
                    "checked": value is True,
                    "required": None,
                    "aria-required": None,
                },
            )
            inner = [control, Markup(" "), label, err_html, help_html]
            return _el("div", self.wrapper_attrs(node, "field field-checkbox", name), *inner)

        opts = enum_options(node)
        if opts is not None:
            control = self.select(node, opts, value, common, html_required)
            kind_class = "field-select"
        elif kind in ("number", "integer"):
            control = self.number_input(node, value, common, path)
            kind_class = "field-number"
        else:
            control = self.text_input(node, value, common)
            kind_class = "field-textarea" if _is_long(node) else "field-text"
        inner = [label, control, err_html, help_html]
        return _el("div", self.wrapper_attrs(node, f"field {kind_class}", name), *inner)

    def evidence(self, node: dict[str, Any], value: Any, path: list[Any]) -> Markup:
        """An item's evidence: the attached files as names with links (their ids carried back in hidden
        inputs, the form's data stays a list of ids), and, where the page can upload
        (``context["evidence_upload_url"]``), a photo taken with the camera or a file chosen, sent by a
        button that posts the form as typed to that address (the upload goes through the evidence
        service; the page comes back with the file listed)."""
        name = field_name(path)
        fid = self.make_id(name)
        files = self.context.get("evidence_files")
        files = files if isinstance(files, Mapping) else {}
        ids = [v for v in value if isinstance(v, int) and not isinstance(v, bool)] if isinstance(value, list) else []
        readonly = node.get("readOnly") is True
        upload_url = None if readonly else self.context.get("evidence_upload_url")
        err_html, err_id = self.error_block(name, fid)
        help_html, help_id = self.help_block(node, fid) if upload_url else (Markup(""), None)
        described = " ".join(x for x in (help_id, err_id) if x) or None
        listed = []
        for ident in ids:
            known = files.get(str(ident))
            link = (
                _el("a", {"href": known.get("url"), "class": "evidence-name"}, known.get("name") or f"#{ident}")
                if isinstance(known, Mapping)
                else _el("span", {"class": "evidence-name"}, f"#{ident}")
            )
            hidden = Markup("") if readonly else _void("input", {"type": "hidden", "name": name, "value": str(ident)})
            listed.append(_el("li", {}, link, hidden))
        title = _el(
            "legend",
            {"class": "evidence-title", "id": f"{fid}-title"},
            _bi(node.get("title") or name, node.get("x-title-en")),
        )
        parts = [
            title,
            _el("ul", {"class": "evidence-attached", "id": f"{fid}-list"}, *listed)
            if listed
            else _el("p", {"class": "evidence-none"}, _bi("Chưa có minh chứng.", "No evidence yet.")),
        ]
        if upload_url:
            accept = str(self.context.get("evidence_accept") or "image/*,application/pdf")
            max_bytes = self.context.get("evidence_max_bytes")
            photo = _file_pick(
                {
                    "id": f"{fid}-photo",
                    "name": f"{name}__photo",
                    "accept": "image/*",
                    "capture": "environment",
                    "data-max-bytes": max_bytes,
                    "aria-describedby": described,
                    "aria-invalid": "true" if err_id else None,
                },
                _bi("Chụp ảnh", "Take a photo"),
            )
            chosen = _file_pick(
                {
                    "id": f"{fid}-file",
                    "name": f"{name}__file",
                    "accept": accept,
                    "data-max-bytes": max_bytes,
                    "aria-describedby": described,
                    "aria-invalid": "true" if err_id else None,
                },
                _bi("Chọn tệp", "Choose file"),
            )
            send = _el(
                "button",
                {
                    "type": "submit",
                    "class": "secondary evidence-attach",
                    "formaction": upload_url,
                    "formenctype": "multipart/form-data",
                    "formnovalidate": True,
                    "name": "attach",
                    "value": name,
                },
                _bi("Tải lên minh chứng", "Upload the evidence"),
            )
            parts += [_el("div", {"class": "evidence-picks"}, photo, chosen), send, err_html, help_html]
        else:
            parts.append(err_html)
        attrs = self.wrapper_attrs(node, "field field-evidence", name)
        attrs["id"] = fid
        return _el("fieldset", attrs, *parts)

    def number_input(self, node: Mapping[str, Any], value: Any, common: dict[str, Any], path: list[Any]) -> Markup:
        step = node.get("multipleOf")
        lo = node.get("minimum")
        if lo is None and _is_number(node.get("exclusiveMinimum")):
            lo = node["exclusiveMinimum"] + step if _is_number(step) else None
        hi = node.get("maximum")
        if hi is None and _is_number(node.get("exclusiveMaximum")):
            hi = node["exclusiveMaximum"] - step if _is_number(step) else None
        integer = schema_type(node) == "integer"
        # A text box, not type=number: a number input refuses "4,5" (how Vietnamese write 4.5) in most
        # browsers and shows "4.5" where every total reads "4,5". Both are accepted (parse_submission);
        # the limits travel as data-* for the live check in form.js, and the server checks them again.
        attrs: dict[str, Any] = {
            "type": "text",
            **common,
            "value": ""
            if value is _MISSING or value is None
            else (_vi_number(value) if _is_number(value) else str(value)),
            "data-min": format_number(lo) if _is_number(lo) else None,
            "data-max": format_number(hi) if _is_number(hi) else None,
            "data-step": format_number(step) if _is_number(step) else ("1" if integer else None),
            "inputmode": "numeric" if integer else "decimal",
            "autocomplete": "off",
            "class": "num-input",
        }
        if node.get("x-code"):
            attrs["data-criterion"] = node["x-code"]
            attrs["data-group"] = node.get("x-group") or None
        elif path == ["bonus"]:
            attrs["data-total-part"] = "bonus"
        elif len(path) == 3 and path[0] == "deductions" and path[-1] == "points":
            attrs["data-total-part"] = "deduction"
        return _void("input", attrs)

    def text_input(self, node: Mapping[str, Any], value: Any, common: dict[str, Any]) -> Markup:
        text = "" if value is _MISSING or value is None else (value if isinstance(value, str) else str(value))
        max_len = node.get("maxLength")
        extra = {"data-maxlength": max_len if isinstance(max_len, int) else None}
        if _is_long(node) and isinstance(max_len, int):
            rows = 2 if max_len <= 500 else 4 if max_len <= 1000 else 6
            # the newline after <textarea> is swallowed by HTML parsers; keeps a leading newline intact
            return (
                Markup("<textarea{}>\n").format(_attrs({**common, "rows": rows, **extra}))
                + escape(text)
                + Markup("</textarea>")
            )
        input_type = {"email": "email", "date": "date", "uri": "url", "date-time": "datetime-local"}.get(
            str(node.get("format")), "text"
        )
        return _void("input", {"type": input_type, **common, "value": text, **extra})

    def select(
        self, node: Mapping[str, Any], opts: list[Any], value: Any, common: dict[str, Any], required: bool
    ) -> Markup:
        if _english():
            empty = "— Choose —" if required else "— None —"
        else:
            empty = "— Chọn —" if required else "— Không chọn —"
        selected_any = False
        options = []
        for v, title, title_en in opts:
            if _english() and title_en:
                title, title_en = title_en, None
            label = _option_label(_option_value(v), title)
            sel = value is not _MISSING and value == v and type(value) is type(v)
            if not sel and value is not _MISSING and isinstance(value, str) and not isinstance(v, str):
                sel = value == _option_value(v)
            selected_any = selected_any or sel
            options.append(_el("option", {"value": _option_value(v), "selected": sel}, label))
        if value is not _MISSING and value is not None and not selected_any:
            # keep the rejected value visible so the error next to it makes sense
            options.append(_el("option", {"value": _option_value(value), "selected": True}, f"{value} (?)"))
        first = _el(
            "option", {"value": "", "selected": not selected_any and (value is _MISSING or value is None)}, empty
        )
        return _el("select", common, first, *options)

    # --------------------------------------------------------------------------------- criteria
    def criteria(self, node: dict[str, Any], value: Any, path: list[Any], required: bool) -> Markup:
        name = field_name(path)
        fid = self.make_id(name)
        values = value if isinstance(value, Mapping) else {}
        err_html, _ = self.error_block(name, fid)
        help_html, _ = self.help_block(node, fid)
        props = node.get("properties") or {}
        req = set(node.get("required") or []) if required else set()
        groups = node.get("x-groups") or []
        group_codes = [g.get("code") for g in groups]
        by_group: dict[str, list[str]] = {}
        for code, prop in props.items():
            g = prop.get("x-group", "") if isinstance(prop, Mapping) else ""
            by_group.setdefault(g if g in group_codes else "\0", []).append(code)
        sections = []
        for g in list(groups) + (
            [{"code": "\0", "title": "Tiêu chí khác", "x-title-en": "Other criteria"}] if "\0" in by_group else []
        ):
            codes = by_group.get(g.get("code"), [])
            if not codes:
                continue
            fields = []
            input_ids = []
            for code in codes:
                fields.append(self.field(props[code], values.get(code, _MISSING), path + [code], code in req))
                input_ids.append(self.ids[field_name(path + [code])])
            # each criterion counts up to its maximum, as in the total (rules.scoring.score_total)
            subtotal = sum(
                min(max(float(values[c]), 0.0), float(props[c].get("maximum") or values[c]))
                for c in codes
                if _is_number(values.get(c))
            )
            gmax = g.get("max", sum(float(props[c].get("maximum") or 0) for c in codes))
            code = g.get("code")
            title = g.get("title") or ""
            heading = f"{code}. {title}" if code and code != "\0" and title != f"Nhóm {code}" else title
            if _english():
                en_title = g.get("x-title-en")
                if en_title:
                    heading = (
                        f"{code}. {en_title}" if code and code != "\0" and en_title != f"Group {code}" else en_title
                    )
                legend = _el(
                    "legend",
                    {},
                    escape(heading) if en_title else _el("span", {"lang": "vi"}, heading),
                    Markup(" ") + _el("span", {"class": "group-max"}, f"(max {format_number(gmax)} points)"),
                )
            else:
                legend = _el(
                    "legend",
                    {},
                    escape(heading),
                    Markup(" ") + _el("span", {"class": "group-max"}, f"(tối đa {_vi_number(gmax)} điểm)"),
                    _en(f"{g.get('x-title-en')} (max {format_number(gmax)} points)" if g.get("x-title-en") else ""),
                )
            total_line = _el(
                "p",
                {"class": "group-total"},
                _bi(
                    f"Cộng nhóm {code if code != chr(0) else ''}".strip(),
                    f"Subtotal {code if code != chr(0) else ''}".strip(),
                ),
                Markup(": "),
                _el(
                    "output",
                    {
                        "class": "running-subtotal",
                        "data-total-for": name,
                        "data-group": code if code != "\0" else None,
                        "data-max": format_number(gmax),
                        "for": " ".join(input_ids),
                        "aria-live": "polite",
                    },
                    _vi_number(subtotal),
                ),
                Markup(" / "),
                _vi_number(gmax),
            )
            sections.append(
                _el(
                    "fieldset",
                    {"class": "criteria-group", "data-group": code if code != "\0" else None},
                    legend,
                    *fields,
                    total_line,
                )
            )
        form_values = {
            "scores": dict(values),
            "bonus": self.data.get("bonus") if len(path) == 1 else None,
            "deductions": self.data.get("deductions") if len(path) == 1 else None,
        }
        total = _score_total(form_values, _criteria_of(node))
        all_ids = " ".join(self.ids[field_name(path + [c])] for c in props)
        total_line = _el(
            "p",
            {"class": "criteria-total"},
            _bi("Tổng điểm (tạm tính, gồm điểm thưởng và điểm trừ)", "Running total (with bonus and deductions)"),
            Markup(": "),
            _el(
                "output",
                {
                    "class": "running-total",
                    "data-total-for": name,
                    "data-includes": "bonus deductions",
                    "for": all_ids,
                    "aria-live": "polite",
                },
                _vi_number(total if total is not None else 0),
            ),
            Markup(" / "),
            str(MAX_TOTAL),
        )
        legend = _el("legend", {}, _bi(node.get("title") or name, node.get("x-title-en")))
        attrs = self.wrapper_attrs(node, "criteria", name)
        attrs.update({"id": fid, "data-criteria-for": name})
        return _el("fieldset", attrs, legend, err_html, help_html, *sections, total_line)

    # ---------------------------------------------------------------------------- objects, lists
    def group(self, node: dict[str, Any], value: Any, path: list[Any], required: bool) -> Markup:
        name = field_name(path)
        fid = self.make_id(name)
        err_html, _ = self.error_block(name, fid)
        help_html, _ = self.help_block(node, fid)
        legend = _el("legend", {}, _bi(node.get("title") or name, node.get("x-title-en")))
        attrs = self.wrapper_attrs(node, "field-group", name)
        attrs["id"] = fid
        return _el("fieldset", attrs, legend, err_html, help_html, self.object_fields(node, value, path, required))

    def array(self, node: dict[str, Any], value: Any, path: list[Any]) -> Markup:
        name = field_name(path)
        fid = self.make_id(name)
        items = deref(self.root, node.get("items"))
        rows = list(value) if isinstance(value, list) else []
        max_items = node.get("maxItems")
        addable = bool(node.get("x-plan-items"))
        shown = len(rows) + (1 if addable else EMPTY_ROWS)
        if isinstance(max_items, int):
            shown = max(len(rows), min(shown, max_items))
        err_html, _ = self.error_block(name, fid)
        help_html, _ = self.help_block(node, fid)
        legend = _el("legend", {}, _bi(node.get("title") or name, node.get("x-title-en")))
        row_html = []
        for i in range(shown):
            row = rows[i] if i < len(rows) else {}
            rpath = path + [i]
            rname = field_name(rpath)
            rid = self.make_id(rname)
            r_err, _ = self.error_block(rname, rid)
            if isinstance(items, dict) and isinstance(items.get("properties"), dict):
                existing = isinstance(row, Mapping) and row.get("id") is not None
                inner = Markup("").join(
                    self.field(
                        _fixed(deref(self.root, sub))
                        if existing and isinstance(sub, Mapping) and sub.get("x-readonly-existing")
                        else deref(self.root, sub),
                        row.get(k, _MISSING) if isinstance(row, Mapping) else _MISSING,
                        rpath + [k],
                        False,
                        in_row=True,
                    )
                    for k, sub in items["properties"].items()
                )
            else:
                inner = self.field(items or {}, row if i < len(rows) else _MISSING, rpath, False, in_row=True)
            row_legend = _el("legend", {}, _bi(f"Dòng {i + 1}", f"Row {i + 1}"))
            if addable:  # form.js clears and hides the row; an empty row is not sent
                inner = inner + _el(
                    "button",
                    {"type": "button", "class": "secondary outline remove-row", "data-remove-row": rname},
                    _bi("Bỏ dòng này", "Remove this row"),
                )
            row_html.append(
                _el(
                    "fieldset",
                    {"class": "array-row" + (" is-empty" if i >= len(rows) else ""), "id": rid, "data-row": i},
                    row_legend,
                    r_err,
                    inner,
                )
            )
        attrs = self.wrapper_attrs(node, "array", name)
        attrs.update(
            {"id": fid, "data-array": name, "data-max-items": max_items if isinstance(max_items, int) else None}
        )
        body = _el("div", {"class": "array-rows"}, *row_html)
        if addable:
            body = body + _el(
                "button",
                {"type": "button", "class": "secondary add-row", "data-add-row": name},
                _bi("Thêm dòng", "Add a row"),
            )
        if not rows and not node.get("minItems") and not self.has_errors_under(name):
            # Most months have no deduction: the empty rows wait behind one tap instead of filling a
            # phone screen (the form stays within three screens).
            title = node.get("title") or name
            body = _el(
                "details",
                {"class": "array-more"},
                _el(
                    "summary",
                    {},
                    _bi(
                        f"{title}: bấm để nhập (nếu có)",
                        f"{node.get('x-title-en')}: tap to fill in (if any)" if node.get("x-title-en") else None,
                    ),
                ),
                help_html,
                body,
            )
            help_html = Markup("")
        return _el("fieldset", attrs, legend, err_html, help_html, body)

    def has_errors_under(self, name: str) -> bool:
        return any(
            e.field == name or e.field.startswith(name + "[") or e.field.startswith(name + ".") for e in self.errors
        )

    # --------------------------------------------------------------------------------- read-only
    def source_value(self, node: Mapping[str, Any], path: list[Any]) -> Any:
        key = node.get("x-source") or field_name(path)
        for holder in (self.data, self.context):
            cur: Any = holder
            for part in str(key).split("."):
                if isinstance(cur, Mapping) and part in cur:
                    cur = cur[part]
                else:
                    cur = _MISSING
                    break
            if cur is not _MISSING:
                return cur
        return _MISSING

    def readonly_section(self, node: dict[str, Any], path: list[Any]) -> Markup:
        name = field_name(path)
        sid = self.make_id(name, prefix="ro")
        value = self.source_value(node, path)
        heading = _el("h2", {"id": f"{sid}-title"}, _bi(node.get("title") or name, node.get("x-title-en")))
        attrs = {
            "class": "readonly-section",
            "id": sid,
            "aria-labelledby": f"{sid}-title",
            "data-source": node.get("x-source") or name,
        }
        if value is _MISSING or value is None or value == {} or value == []:
            empty = _el(
                "p",
                {"class": "readonly-empty"},
                _bi(node.get("x-empty-text") or "Không có dữ liệu", node.get("x-empty-text-en") or "No data"),
            )
            return _el("section", attrs, heading, empty)
        return _el("section", attrs, heading, self.readonly_body(node, value))

    def readonly_body(self, node: Mapping[str, Any], value: Any) -> Markup:
        props = node.get("properties")
        if not isinstance(props, Mapping) or not isinstance(value, Mapping):
            return _el("p", {"class": "readonly-value"}, self.readonly_value(node, value))
        parts: list[Markup] = []
        items: list[Markup] = []

        def flush() -> None:
            if items:
                parts.append(_el("dl", {"class": "readonly-list"}, *items))
                items.clear()

        criteria: list[dict[str, Any]] = []
        for key, sub in props.items():
            sub = deref(self.root, sub)
            if isinstance(sub, Mapping) and sub.get("x-criteria") and isinstance(sub.get("properties"), Mapping):
                criteria = _criteria_of(sub)
        for key, sub in props.items():
            sub = deref(self.root, sub)
            if not isinstance(sub, Mapping):
                continue
            v = value.get(key, _MISSING)
            if sub.get("x-computed") == "total":
                if not _is_number(v):
                    v = _score_total(value, criteria) if criteria else _MISSING
                if v is _MISSING or v is None:
                    continue
            if sub.get("x-criteria") and isinstance(sub.get("properties"), Mapping):
                flush()
                parts.append(self.readonly_scores(sub, v if isinstance(v, Mapping) else {}))
                continue
            if v is _MISSING or v is None or v == "" or v == []:
                continue
            dd_class = "readonly-value total" if sub.get("x-computed") == "total" else "readonly-value"
            items.append(_el("dt", {}, _bi(sub.get("title") or key, sub.get("x-title-en"))))
            items.append(_el("dd", {"class": dd_class}, self.readonly_value(sub, v)))
        flush()
        return Markup("").join(parts)

    def readonly_value(self, node: Mapping[str, Any], v: Any) -> Markup:
        opts = enum_options(node)
        if opts:
            for ov, title, title_en in opts:
                if ov == v:
                    code = _option_value(ov)
                    return _bi(_option_label(code, title), _option_label(code, title_en) if title_en else None)
        if isinstance(v, bool):
            return _bi("Có", "Yes") if v else _bi("Không", "No")
        if _is_number(v):
            return escape(_vi_number(v))
        if isinstance(v, str):
            return _el("span", {"class": "multiline"}, v)
        if isinstance(v, list):
            items = deref(self.root, node.get("items")) or {}
            cols = items.get("properties") if isinstance(items, Mapping) else None
            if isinstance(cols, Mapping) and all(isinstance(r, Mapping) for r in v):
                head = _el(
                    "thead",
                    {},
                    _el(
                        "tr",
                        {},
                        *(
                            _el("th", {"scope": "col"}, _bi(c.get("title") or k, c.get("x-title-en")))
                            for k, c in cols.items()
                        ),
                    ),
                )
                body = _el(
                    "tbody",
                    {},
                    *(
                        _el(
                            "tr",
                            {},
                            *(_el("td", {}, self.readonly_value(c, r[k]) if k in r else "—") for k, c in cols.items()),
                        )
                        for r in v
                    ),
                )
                return _el("table", {"class": "readonly-table"}, head, body)
            return _el("ul", {}, *(_el("li", {}, self.readonly_value(items, r)) for r in v))
        if isinstance(v, Mapping):
            props = node.get("properties") or {}
            return _el(
                "dl",
                {},
                *(
                    _el("dt", {}, _bi((props.get(k) or {}).get("title") or k, (props.get(k) or {}).get("x-title-en")))
                    + _el("dd", {}, self.readonly_value(props.get(k) or {}, x))
                    for k, x in v.items()
                ),
            )
        return escape(json.dumps(v, ensure_ascii=False, default=str))

    def readonly_scores(self, node: Mapping[str, Any], scores: Mapping[str, Any]) -> Markup:
        props = node.get("properties") or {}
        groups = node.get("x-groups") or [{"code": None, "title": "", "max": None}]
        head = _el(
            "thead",
            {},
            _el(
                "tr",
                {},
                _el("th", {"scope": "col"}, _bi("Tiêu chí", "Criterion")),
                _el("th", {"scope": "col", "class": "num"}, _bi("Tối đa", "Max")),
                _el("th", {"scope": "col", "class": "num"}, _bi("Điểm", "Score")),
            ),
        )
        bodies = []
        for g in groups:
            codes = [c for c, p in props.items() if g.get("code") is None or p.get("x-group") == g.get("code")]
            if not codes:
                continue
            rows = []
            if g.get("code") is not None:
                code, title = g["code"], g.get("title") or ""
                heading = f"{code}. {title}" if title != f"Nhóm {code}" else title
                rows.append(
                    _el(
                        "tr",
                        {"class": "group-row"},
                        _el(
                            "th",
                            {"scope": "rowgroup", "colspan": 3},
                            _bi(heading, f"{code}. {g['x-title-en']}" if g.get("x-title-en") else None),
                        ),
                    )
                )
            for c in codes:
                p = props[c]
                v = scores.get(c)
                rows.append(
                    _el(
                        "tr",
                        {},
                        _el(
                            "th",
                            {"scope": "row"},
                            _bi(
                                f"{c}. {p.get('title') or c}",
                                f"{c}. {p['x-title-en']}" if p.get("x-title-en") else None,
                            ),
                        ),
                        _el("td", {"class": "num"}, _vi_number(p.get("maximum", ""))),
                        _el("td", {"class": "num"}, _vi_number(v) if _is_number(v) else "—"),
                    )
                )
            if g.get("code") is not None:
                sub = sum(float(scores[c]) for c in codes if _is_number(scores.get(c)))
                rows.append(
                    _el(
                        "tr",
                        {"class": "subtotal"},
                        _el("th", {"scope": "row"}, _bi(f"Cộng nhóm {g['code']}", f"Subtotal {g['code']}")),
                        _el("td", {"class": "num"}, _vi_number(g.get("max", ""))),
                        _el("td", {"class": "num"}, _vi_number(sub)),
                    )
                )
            bodies.append(_el("tbody", {}, *rows))
        caption = _el("caption", {}, _bi(node.get("title") or "", node.get("x-title-en")))
        return _el("table", {"class": "readonly-scores"}, caption, head, *bodies)

    # ---------------------------------------------------------------------------------- summary
    def summary(self) -> Markup:
        if not self.errors:
            return Markup("")
        n = len(self.errors)
        items = []
        for e in self.errors:
            text = _bi(e.message, e.message_en)
            fid = self.ids.get(e.field)
            items.append(_el("li", {}, _el("a", {"href": f"#{fid}"}, text) if fid else text))
        title = _el(
            "h2",
            {"id": "error-summary-title"},
            _bi(f"Biểu mẫu có {n} lỗi cần sửa", f"{n} problem{'s' if n != 1 else ''} to fix"),
        )
        return _el(
            "div",
            {"class": "error-summary", "tabindex": "-1", "aria-labelledby": "error-summary-title"},
            title,
            _el("ul", {}, *items),
        )


def _is_long(node: Mapping[str, Any]) -> bool:
    m = node.get("maxLength")
    return isinstance(m, int) and m > 200
