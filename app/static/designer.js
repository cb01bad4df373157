// The process designer: the modeler bundle (frontend/designer, built from npm packages: bpmn-js,
// bpmn-js-properties-panel with the app's own provider, bpmnlint with the app's rules), validation
// findings drawn on the diagram, the simulation of every path, and test runs.
(function () {
  "use strict";
  var app = document.getElementById("modeler-app");
  if (!app || !window.DesignerModeler) return;

  var SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core";
  // moddle descriptor of the spiffworkflow extension elements this app uses (so that bpmn-js keeps and edits them)
  function bodyType(name) {
    return { name: name, superClass: ["Element"], properties: [{ name: "value", isBody: true, type: "String" }] };
  }
  var SPIFF_DESCRIPTOR = {
    name: "SpiffWorkflow", uri: SPIFF, prefix: "spiffworkflow", xml: { tagAlias: "lowerCase" },
    types: [
      { name: "Properties", superClass: ["Element"], properties: [{ name: "properties", type: "Property", isMany: true }] },
      { name: "Property", superClass: ["Element"], properties: [
        { name: "name", isAttr: true, type: "String" }, { name: "value", isAttr: true, type: "String" }] },
      bodyType("InstructionsForEndUser"), bodyType("VariableName"), bodyType("PreScript"), bodyType("PostScript"),
      bodyType("CalledDecisionId"), bodyType("MessageVariable"), bodyType("MessagePayload"),
      { name: "ServiceTaskOperator", superClass: ["Element"], properties: [
        { name: "id", isAttr: true, type: "String" }, { name: "resultVariable", isAttr: true, type: "String" },
        { name: "parameterList", type: "Parameters" }] },
      { name: "Parameters", superClass: ["Element"], properties: [{ name: "parameters", type: "Parameter", isMany: true }] },
      { name: "Parameter", superClass: ["Element"], properties: [
        { name: "id", isAttr: true, type: "String" }, { name: "type", isAttr: true, type: "String" },
        { name: "value", isAttr: true, type: "String" }] },
      // script unit tests, as SpiffArena keeps them
      { name: "UnitTests", superClass: ["Element"], properties: [{ name: "unitTests", type: "UnitTest", isMany: true }] },
      { name: "UnitTest", superClass: ["Element"], properties: [
        { name: "id", isAttr: true, type: "String" }, { name: "inputJson", type: "InputJson" },
        { name: "expectedOutputJson", type: "ExpectedOutputJson" }] },
      bodyType("InputJson"), bodyType("ExpectedOutputJson")
    ]
  };

  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  var statusEl = document.getElementById("save-status");
  var findingsEl = document.getElementById("findings-list");
  var resultEl = document.getElementById("test-run-result");
  var btnSave = document.getElementById("btn-save");
  var model = null, revision = null, dirty = false, current = null, findings = [], pathMarked = [];

  // ------------------------------------------------------------------------------------- language
  // The page's language (<html lang>): every text below is given as t(Vietnamese, English).
  var EN = document.documentElement.lang === "en";
  function t(vi, en) { return EN ? en : vi; }
  function msgOf(o) { return (o && ((EN && o.message_en) || o.message)) || ""; }

  var modeler = window.DesignerModeler.createModeler({
    container: "#canvas", propertiesParent: "#properties", en: EN,
    moddleExtensions: { spiffworkflow: SPIFF_DESCRIPTOR },
    model: function () { return model || {}; }, status: function (text, kind) { setStatus(text, kind); }
  });
  var registry = modeler.get("elementRegistry"), canvas = modeler.get("canvas");
  var overlays = modeler.get("overlays"), selection = modeler.get("selection");

  // ------------------------------------------------------------------------------------ helpers
  function h(tag, attrs, children) {
    var el = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") el.textContent = attrs[k];
      else if (k === "value") el.value = attrs[k];
      else if (k === "checked" || k === "disabled" || k === "selected") el[k] = !!attrs[k];
      else if (attrs[k] !== null && attrs[k] !== undefined) el.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { if (c) el.appendChild(typeof c === "string" ? document.createTextNode(c) : c); });
    return el;
  }

  function setStatus(text, kind) {
    statusEl.textContent = text;
    statusEl.className = kind ? "status-" + kind : "";
  }
  function request(method, url, body) {
    return fetch(url, {
      method: method, credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, "Accept": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body)
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (data) { return { status: r.status, data: data }; });
    });
  }
  // the properties panel (bpmn-js-properties-panel) follows the selection by itself
  function render(element) { current = element; }

  // ------------------------------------------------------------------------------------- findings
  function showFindings(list) {
    findings = list || [];
    modeler.setFindings(findings);   // the server's findings also show as lint on the diagram
    overlays.remove({ type: "finding" });
    registry.getAll().forEach(function (e) { canvas.removeMarker(e.id, "has-error"); canvas.removeMarker(e.id, "has-warning"); });
    var byElement = {};
    findings.forEach(function (f) {
      if (!f.element || !registry.get(f.element)) return;
      (byElement[f.element] = byElement[f.element] || []).push(f);
    });
    Object.keys(byElement).forEach(function (id) {
      var list = byElement[id], error = list.some(function (f) { return f.severity === "error"; });
      canvas.addMarker(id, error ? "has-error" : "has-warning");
      var badge = h("span", { "class": "finding-badge " + (error ? "error" : "warning"), title: list.map(msgOf).join("\n"),
        "data-element": id, text: error ? "!" : "?" });
      overlays.add(id, "finding", { position: { top: -8, right: 8 }, html: badge });
    });
    findingsEl.innerHTML = "";
    var errors = findings.filter(function (f) { return f.severity === "error"; }).length;
    findingsEl.appendChild(h("p", { id: "findings-summary", "class": errors ? "flash flash-error" : "flash flash-success",
      text: (errors ? t("{e} lỗi phải sửa trước khi ban hành, {w} lưu ý.", "Errors to fix before publishing: {e}, warnings: {w}.")
        : findings.length ? t("Không có lỗi, {w} lưu ý.", "No errors, warnings: {w}.") : t("Không có lỗi.", "No errors."))
        .replace("{e}", errors).replace("{w}", findings.length - errors) }));
    if (!findings.length) return;
    var ul = h("ul", { "class": "finding-list" });
    findings.forEach(function (f) {
      var text = (f.severity === "error" ? t("Lỗi", "Error") : t("Lưu ý", "Warning")) + (f.element ? " · " + f.element : "") + (f.file ? " (" + f.file + ")" : "") + ": " + msgOf(f);
      var li = h("li", { "class": "finding-" + f.severity, "data-code": f.code, "data-element": f.element || "" });
      if (f.element && registry.get(f.element)) {
        var b = h("button", { type: "button", "class": "link", text: text });
        b.addEventListener("click", function () {
          var el = registry.get(f.element);
          selection.select(el);
          canvas.scrollToElement(el);
        });
        li.appendChild(b);
      } else li.textContent = text;
      ul.appendChild(li);
    });
    findingsEl.appendChild(ul);
  }

  // ---------------------------------------------------------------------------------- save, check
  function currentXml() { return modeler.saveXML({ format: true }).then(function (r) { return r.xml; }); }

  function save() {
    if (!model || !model.save_url) return Promise.resolve();
    setStatus(t("Đang lưu…", "Saving…"));
    return currentXml().then(function (xml) {
      return request("PUT", model.save_url, { text: xml, revision: revision });
    }).then(function (r) {
      if (r.status === 200) {
        revision = r.data.revision;
        dirty = false;
        setStatus(t("Đã lưu (lần lưu ", "Saved (revision ") + revision + t(") lúc ", ") at ") + new Date().toLocaleTimeString(EN ? "en-GB" : "vi-VN"), "ok");
        app.setAttribute("data-saved-revision", String(revision));
        showFindings(r.data.findings);
      } else {
        setStatus((msgOf(r.data) || t("Không lưu được", "Not saved")) + (r.status === 409 ? t(" — tải lại trang để lấy bản mới.", " — reload the page to get the latest version.") : ""), "error");
      }
    }).catch(function (err) { setStatus(t("Không lưu được: ", "Not saved: ") + err, "error"); });
  }

  function validate() {
    setStatus(t("Đang kiểm tra…", "Checking…"));
    return currentXml().then(function (xml) {
      return request("POST", app.getAttribute("data-validate"), { xml: xml });
    }).then(function (r) {
      showFindings(r.data.findings || []);
      setStatus(dirty ? t("Đã kiểm tra (chưa lưu)", "Checked (not saved)") : t("Đã kiểm tra", "Checked"), dirty ? "warn" : "ok");
      if (current) render(current);
    });
  }

  function simulate() {
    setStatus(t("Đang chạy thử mọi đường đi…", "Simulating every path…"));
    return currentXml().then(function (xml) {
      return request("POST", app.getAttribute("data-simulate"), { xml: xml });
    }).then(function (r) {
      showFindings(r.data.findings || []);
      var errors = (r.data.findings || []).filter(function (f) { return f.severity === "error"; }).length;
      setStatus(r.data.simulated
        ? t("Đã chạy thử ", "Simulated ") + r.data.runs + t(" lượt", " runs") + (errors ? "" : t(": không lỗi", ": no errors"))
        : t("Chưa chạy thử: còn lỗi phải sửa", "Not simulated: there are errors to fix"), errors ? "error" : "ok");
      if (current) render(current);
    });
  }

  // ------------------------------------------------------------------------------------- test run
  function clearPath() {
    pathMarked.forEach(function (m) { canvas.removeMarker(m[0], m[1]); });
    pathMarked = [];
  }
  function mark(id, cls) {
    if (registry.get(id)) { canvas.addMarker(id, cls); pathMarked.push([id, cls]); }
  }
  function testRun(event) {
    event.preventDefault();
    var answers = {}, raw = document.getElementById("tr-answers").value.trim();
    if (raw) {
      try { answers = JSON.parse(raw); } catch (e) { resultEl.textContent = t("Câu trả lời riêng không phải JSON hợp lệ: ", "The answers per step are not valid JSON: ") + e.message; return; }
    }
    resultEl.textContent = t("Đang chạy thử…", "Test run in progress…");
    currentXml().then(function (xml) {
      return request("POST", app.getAttribute("data-test-run"), {
        xml: xml, subject: document.getElementById("tr-subject").value,
        period: document.getElementById("tr-period").value, answers: answers });
    }).then(function (r) {
      clearPath();
      resultEl.innerHTML = "";
      if (r.status !== 200) { resultEl.appendChild(h("p", { "class": "flash flash-error", text: msgOf(r.data) || t("Không chạy được", "The test run failed") })); return; }
      var d = r.data, done = {};
      d.completed_elements.forEach(function (id) { done[id] = true; mark(id, "done"); });
      registry.filter(function (e) { return e.waypoints && e.source && e.target; }).forEach(function (c) {
        if (done[c.source.id] && (done[c.target.id] || d.active.indexOf(c.target.id) >= 0)) mark(c.id, "done");
      });
      d.active.forEach(function (id) { mark(id, "active"); });
      if (d.error && d.error.element) mark(d.error.element, "failed");
      var summary = d.error ? t("Lỗi tại ", "Error at ") + (d.error.element || "?") + ": " + msgOf(d.error)
        : d.completed ? t("Quy trình chạy hết (", "The process ran to the end (") + d.path.length + t(" bước).", " steps).")
        : t("Dừng: quy trình đang chờ ", "Stopped: the process is waiting for ") + (d.active.join(", ") || t("sự kiện", "an event")) + ".";
      resultEl.appendChild(h("p", { id: "test-run-summary", "class": d.error ? "flash flash-error" : "flash flash-success", text: summary }));
      var ol = h("ol", { id: "test-run-path", "class": "test-run-path" });
      d.path.forEach(function (p) {
        var answer = d.answers.filter(function (a) { return a.step === p.element && !a.skipped; })[0];
        ol.appendChild(h("li", { "data-element": p.element }, [
          h("code", { text: p.element }), " " + ((EN && p.name_en) || p.name || "") + " · " + p.at.replace("T", " ").slice(0, 16),
          answer ? h("small", { text: " — " + (answer.assignee || t("không xác định được người xử lý", "no assignee found")) + " (" + answer.role + ")" +
            (answer.errors && answer.errors.length ? t(" · dữ liệu mẫu chưa hợp lệ: ", " · the sample data is not valid: ") +
              ((EN && answer.errors_en) || answer.errors).join("; ") : "") }) : null]));
      });
      resultEl.appendChild(ol);
      if (d.notifications.length) {
        resultEl.appendChild(h("p", {}, [h("small", { text: t("Thông báo lẽ ra được gửi (không gửi khi chạy thử): ", "Notifications that would be sent (none is sent in a test run): ") +
          d.notifications.map(function (n) { return n.kind + (n.step ? "/" + n.step : ""); }).join(", ") })]));
      }
      if (d.data && d.data.result) {
        resultEl.appendChild(h("p", {}, [h("small", { text: t("Kết quả: ", "Result: ") + JSON.stringify(d.data.result) })]));
      }
      app.setAttribute("data-test-run-done", "true");
    }).catch(function (err) { resultEl.textContent = t("Không chạy được: ", "The test run failed: ") + err; });
  }

  // the whole diagram, to the right of the palette (which would otherwise cover the lane headers)
  function fitBesidePalette() {
    canvas.zoom("fit-viewport");
    var container = document.getElementById("canvas"), palette = container.querySelector(".djs-palette");
    if (!palette) return;
    var gap = palette.getBoundingClientRect().right - container.getBoundingClientRect().left + 16;
    var width = container.clientWidth;
    if (gap <= 0 || gap >= width) return;
    var box = canvas.viewbox();
    var scale = box.scale * (width - gap) / width;
    canvas.viewbox({ x: box.inner.x - gap / scale, y: box.y, width: width / scale, height: container.clientHeight / scale });
  }

  // ------------------------------------------------------------------------------------------ load
  modeler.on("selection.changed", function (e) { render(e.newSelection[0] || null); });
  modeler.on("commandStack.changed", function () {
    if (!model) return;
    dirty = true;
    setStatus(t("Có thay đổi chưa lưu", "Unsaved changes"), "warn");
  });
  window.addEventListener("beforeunload", function (e) { if (dirty) { e.preventDefault(); e.returnValue = ""; } });
  btnSave.addEventListener("click", save);
  document.getElementById("btn-validate").addEventListener("click", validate);
  document.getElementById("btn-fit").addEventListener("click", fitBesidePalette);
  document.getElementById("test-run-form").addEventListener("submit", testRun);
  document.getElementById("btn-simulate").addEventListener("click", simulate);
  document.addEventListener("keydown", function (e) {
    if ((e.ctrlKey || e.metaKey) && e.key === "s") { e.preventDefault(); if (!btnSave.disabled) save(); }
  });

  fetch(app.getAttribute("data-model"), { credentials: "same-origin" })
    .then(function (r) { return r.json(); })
    .then(function (data) {
      return modeler.importXML(data.xml).then(function (res) {
        model = null;   // the import itself is not a change
        fitBesidePalette();
        model = data;
        revision = data.revision;
        dirty = false;
        if (!data.editable) btnSave.disabled = true;
        showFindings(data.findings);
        render(null);
        document.getElementById("properties-hint").firstChild.textContent = t("Chọn một phần tử trên sơ đồ để sửa: làn (vai trò), bước (biểu mẫu, hướng dẫn, hạn), lệnh, điều kiện, hẹn giờ.", "Select an element of the diagram to edit it: a lane (role), a task (form, instructions, deadline), a script, a condition, a timer.");
        setStatus(res.warnings && res.warnings.length ? res.warnings.length + t(" cảnh báo khi đọc sơ đồ", " warnings while reading the diagram")
          : t("Đã tải (lần lưu ", "Loaded (revision ") + revision + ")");
        app.setAttribute("data-loaded", "true");
      });
    })
    .catch(function (err) {
      document.getElementById("properties-hint").textContent = "";
      setStatus(t("Không đọc được sơ đồ: ", "The diagram cannot be read: ") + err, "error");
    });
})();
