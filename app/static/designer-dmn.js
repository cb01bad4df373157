// The decision table editor: dmn-js (vendored from npm). Saving sends the DMN XML to the draft like any
// file; the server's checks (expressions, catch-all row, inputs the process supplies) come back and are
// listed above the table.
(function () {
  "use strict";
  var app = document.getElementById("dmn-app");
  if (!app || !window.DmnJS) return;
  var EN = document.documentElement.lang === "en";
  function t(vi, en) { return EN ? en : vi; }
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  var statusEl = document.getElementById("dmn-status");
  var findingsEl = document.getElementById("dmn-findings");
  var revision = parseInt(app.getAttribute("data-revision"), 10);
  var editor = new window.DmnJS({ container: "#dmn-canvas" });
  function status(text, kind) { statusEl.textContent = text; statusEl.className = kind ? "status-" + kind : ""; }
  function showFindings(list) {
    findingsEl.innerHTML = "";
    var mine = list || [];
    if (!mine.length) return;
    var ul = document.createElement("ul");
    mine.forEach(function (f) {
      var li = document.createElement("li");
      li.className = "finding-" + f.severity;
      li.setAttribute("data-element", f.element || "");
      li.textContent = (f.element ? f.element + ": " : "") + ((EN && f.message_en) || f.message);
      ul.appendChild(li);
    });
    findingsEl.appendChild(ul);
  }
  // the findings marked in the table: a row (rule id), a column (input/output id), the whole table
  // (decision id); dmn-js redraws cells as they are edited, so the marks are put back after each change
  var marked = [];
  function readFindings() {
    return Array.prototype.map.call(findingsEl.querySelectorAll("li[data-element]"), function (li) {
      return { element: li.getAttribute("data-element"), severity: (li.className.match(/finding-(\w+)/) || [])[1],
        text: li.textContent };
    });
  }
  function mark() {
    var canvas = document.getElementById("dmn-canvas");
    canvas.querySelectorAll(".finding-cell-error, .finding-cell-warning").forEach(function (el) {
      el.classList.remove("finding-cell-error", "finding-cell-warning");
    });
    var view = editor.getActiveView();
    var decision = view && view.element && view.element.id;
    marked.forEach(function (f) {
      if (!f.element) return;
      var id = window.CSS && CSS.escape ? CSS.escape(f.element) : f.element;
      var cells = canvas.querySelectorAll('[data-row-id="' + id + '"], [data-col-id="' + id + '"], [data-element-id="' + id + '"]');
      if (!cells.length && f.element === decision) cells = canvas.querySelectorAll(".decision-table-properties");
      cells.forEach(function (el) {
        el.classList.add("finding-cell-" + (f.severity === "error" ? "error" : "warning"));
        el.setAttribute("title", f.text);
      });
    });
    app.setAttribute("data-marked", String(canvas.querySelectorAll(".finding-cell-error, .finding-cell-warning").length));
  }
  editor.on("views.changed", function () { app.setAttribute("data-view", (editor.getActiveView() || {}).type || ""); });
  fetch(app.getAttribute("data-xml"), { credentials: "same-origin" })
    .then(function (r) { return r.text(); })
    .then(function (xml) { return editor.importXML(xml); })
    .then(function () {
      var table = editor.getViews().filter(function (v) { return v.type === "decisionTable"; })[0];
      if (table) return editor.open(table);
    })
    .then(function () {
      marked = readFindings();
      mark();
      app.setAttribute("data-loaded", "true");
      var active = editor.getActiveViewer();
      if (active && active.get("eventBus")) {
        active.get("eventBus").on("elements.changed", function () {
          status(t("Có thay đổi chưa lưu", "Unsaved changes"), "warn");
          window.setTimeout(mark, 0);
        });
      }
    })
    .catch(function (err) { status(t("Không đọc được bảng: ", "The table cannot be read: ") + err, "error"); });
  var save = document.getElementById("dmn-save");
  if (save) save.addEventListener("click", function () {
    status(t("Đang lưu…", "Saving…"));
    editor.saveXML({ format: true }).then(function (r) {
      return fetch(app.getAttribute("data-save"), {
        method: "PUT", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, "Accept": "application/json" },
        body: JSON.stringify({ text: r.xml, revision: revision })
      });
    }).then(function (r) { return r.json().then(function (d) { return { status: r.status, data: d }; }); })
      .then(function (r) {
        if (r.status !== 200) { status((EN && r.data.message_en) || r.data.message || t("Không lưu được", "Not saved"), "error"); return; }
        revision = r.data.revision;
        app.setAttribute("data-saved-revision", String(revision));
        var name = decodeURIComponent(app.getAttribute("data-save").split("/").pop());
        var mine = (r.data.findings || []).filter(function (f) { return f.file === name || f.code === "name_unset"; });
        showFindings(mine);
        marked = readFindings();
        mark();
        var errors = mine.filter(function (f) { return f.severity === "error"; }).length;
        status(errors ? t("Đã lưu; còn lỗi phải sửa: ", "Saved; errors to fix: ") + errors : t("Đã lưu", "Saved"), errors ? "error" : "ok");
      }).catch(function (err) { status(t("Không lưu được: ", "Not saved: ") + err, "error"); });
  });
})();
