// Form editor: a live preview of the JSON Schema as the task page will render it (rendered by the server).
(function () {
  var form = document.getElementById("form-editor-form");
  if (!form) return;
  var text = document.getElementById("schema-text");
  var preview = document.getElementById("form-preview");
  var errors = document.getElementById("preview-errors");
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  var timer = null, seq = 0;
  function refresh() {
    var mine = ++seq;
    fetch(form.getAttribute("data-preview"), {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify({ name: form.getAttribute("data-name"), text: text.value })
    }).then(function (r) { return r.json(); }).then(function (d) {
      if (mine !== seq) return;   // a newer preview is on its way
      errors.innerHTML = "";
      var english = document.documentElement.lang === "en";   // errors_en: the same errors in English
      ((english && d.errors_en) || d.errors || []).forEach(function (e) {
        var p = document.createElement("p");
        p.className = "flash flash-error";
        p.textContent = e;
        errors.appendChild(p);
      });
      if (d.html) preview.innerHTML = d.html;   // server-rendered: every value is escaped there
      form.setAttribute("data-previewed", String(mine));
    });
  }
  text.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(refresh, 400);
  });
})();

// The structured editor of the form's fields: one row per top-level field (name, type, titles in both
// languages, required, limits, choices). Every change rewrites the JSON Schema in the text area (the
// saved file) and refreshes the preview; fields it does not know how to edit stay as they are.
(function () {
  "use strict";
  var box = document.getElementById("field-editor");
  var text = document.getElementById("schema-text");
  if (!box || !text) return;
  var rows = document.getElementById("field-rows");
  var EN = document.documentElement.lang === "en";
  function t(vi, en) { return EN ? en : vi; }
  var editable = box.getAttribute("data-editable") === "true";
  var SIMPLE = ["string", "number", "integer", "boolean"];
  var uid = 0;

  function read() { try { var s = JSON.parse(text.value); return s && typeof s === "object" ? s : null; } catch (e) { return null; } }
  function write(schema) {
    text.value = JSON.stringify(schema, null, 2) + "\n";
    text.dispatchEvent(new Event("input"));   // the preview follows
    draw();
  }
  function input(label, value, onchange, attrs) {
    var id = "fe-" + (++uid);
    var wrap = document.createElement("div");
    var l = document.createElement("label");
    l.setAttribute("for", id);
    l.textContent = label;
    var el = document.createElement(attrs && attrs.tag === "select" ? "select" : "input");
    el.id = id;
    if (attrs && attrs.tag === "select") {
      attrs.options.forEach(function (o) { var opt = document.createElement("option"); opt.value = o; opt.textContent = o; el.appendChild(opt); });
      el.value = value;
    } else if (attrs && attrs.type === "checkbox") {
      el.type = "checkbox"; el.checked = !!value;
    } else {
      el.type = (attrs && attrs.type) || "text"; el.value = value === undefined || value === null ? "" : value;
    }
    el.disabled = !editable;
    el.addEventListener("change", function () { onchange(el.type === "checkbox" ? el.checked : el.value); });
    wrap.appendChild(l); wrap.appendChild(el);
    return wrap;
  }
  function update(key, fn) {
    var schema = read();
    if (!schema) return;
    fn(schema, schema.properties[key]);
    write(schema);
  }
  function draw() {
    rows.innerHTML = "";
    var schema = read();
    if (!schema || typeof schema.properties !== "object") {
      rows.textContent = t("Nội dung JSON chưa đọc được: sửa trong ô JSON.", "The JSON cannot be read: fix it in the JSON box.");
      return;
    }
    var required = schema.required || [];
    Object.keys(schema.properties).forEach(function (key, index) {
      var prop = schema.properties[key] || {};
      var row = document.createElement("fieldset");
      row.className = "field-row";
      row.setAttribute("data-field", key);
      var legend = document.createElement("legend");
      legend.textContent = t("Trường ", "Field ") + (index + 1) + ": " + key;
      row.appendChild(legend);
      var simple = SIMPLE.indexOf(prop.type) >= 0 && !prop["x-criteria"] && !prop["x-source"];
      row.appendChild(input(t("Tên trường (khóa dữ liệu)", "Field name (data key)"), key, function (v) {
        v = v.trim();
        if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(v) || schema.properties[v]) return draw();
        update(key, function (s) {
          var props = {};
          Object.keys(s.properties).forEach(function (k) { props[k === key ? v : k] = s.properties[k]; });
          s.properties = props;
          s.required = (s.required || []).map(function (r) { return r === key ? v : r; });
        });
      }));
      row.appendChild(input(t("Nhãn (tiếng Việt)", "Label (Vietnamese)"), prop.title, function (v) { update(key, function (s, p) { p.title = v; }); }));
      row.appendChild(input(t("Nhãn (tiếng Anh)", "Label (English)"), prop["x-title-en"], function (v) { update(key, function (s, p) { p["x-title-en"] = v; }); }));
      if (simple) {
        row.appendChild(input(t("Kiểu", "Type"), prop.type, function (v) { update(key, function (s, p) { p.type = v; }); },
          { tag: "select", options: SIMPLE }));
        row.appendChild(input(t("Bắt buộc", "Required"), required.indexOf(key) >= 0, function (v) {
          update(key, function (s) { s.required = (s.required || []).filter(function (r) { return r !== key; }); if (v) s.required.push(key); });
        }, { type: "checkbox" }));
        if (prop.type === "number" || prop.type === "integer") {
          ["minimum", "maximum"].forEach(function (bound) {
            row.appendChild(input(bound === "minimum" ? t("Nhỏ nhất", "Minimum") : t("Lớn nhất", "Maximum"), prop[bound], function (v) {
              update(key, function (s, p) { if (v === "") delete p[bound]; else p[bound] = Number(v); });
            }, { type: "number" }));
          });
        }
        if (prop.type === "string") {
          row.appendChild(input(t("Độ dài tối đa", "Maximum length"), prop.maxLength, function (v) {
            update(key, function (s, p) { if (v === "") delete p.maxLength; else p.maxLength = parseInt(v, 10); });
          }, { type: "number" }));
          row.appendChild(input(t("Lựa chọn (cách nhau bởi dấu phẩy)", "Choices (comma separated)"), (prop.enum || []).join(", "), function (v) {
            update(key, function (s, p) {
              var list = v.split(",").map(function (x) { return x.trim(); }).filter(Boolean);
              if (list.length) p.enum = list; else delete p.enum;
            });
          }));
        }
      } else {
        var note = document.createElement("p");
        note.textContent = t("Trường phức tạp: sửa trong JSON.", "A complex field: edit it in the JSON.");
        row.appendChild(note);
      }
      if (editable) {
        var del = document.createElement("button");
        del.type = "button"; del.className = "secondary outline";
        del.textContent = t("Xóa trường ", "Delete field ") + key;
        del.addEventListener("click", function () {
          update(key, function (s) { delete s.properties[key]; s.required = (s.required || []).filter(function (r) { return r !== key; }); });
        });
        row.appendChild(del);
      }
      rows.appendChild(row);
    });
  }
  document.getElementById("field-add").addEventListener("click", function () {
    var schema = read();
    if (!schema) return;
    schema.properties = schema.properties || {};
    var n = 1;
    while (schema.properties["field_" + n]) n++;
    schema.properties["field_" + n] = { type: "string", title: t("Trường mới", "New field"), "x-title-en": "New field", maxLength: 2000 };
    write(schema);
  });
  document.getElementById("field-add").disabled = !editable;
  text.addEventListener("change", draw);
  draw();
})();
