// The process designer: bpmn-js Modeler (vendored from npm) with a small properties panel for what this
// application reads from the diagram, validation findings drawn on the diagram, and test runs.
//
// What the panel edits:
//   lane            name "Label [role]"  (role: subject, direct_manager, decider, superior_decider,
//                   hr_officer or a named group such as party_cell)
//   user task       spiffworkflow:properties/formJsonSchemaFilename, instructionsForEndUser, variableName,
//                   the deadline `<task>_due = wd_deadline(period, N, opened_at)` in the init script,
//                   pre/post scripts
//   script task     the script;  business rule task: calledDecisionId
//   gateway         the default flow;  sequence flow: the condition (Python)
//   timer event     timeDate / timeDuration / timeCycle expression (Python: "P3D" with quotes, or a variable)
(function () {
  "use strict";
  var app = document.getElementById("modeler-app");
  if (!app || !window.BpmnJS) return;

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
        { name: "value", isAttr: true, type: "String" }] }
    ]
  };

  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  var panel = document.getElementById("properties");
  var statusEl = document.getElementById("save-status");
  var findingsEl = document.getElementById("findings-list");
  var resultEl = document.getElementById("test-run-result");
  var btnSave = document.getElementById("btn-save");
  var modeler = new window.BpmnJS({ container: "#canvas", moddleExtensions: { spiffworkflow: SPIFF_DESCRIPTOR } });
  var modeling = modeler.get("modeling"), registry = modeler.get("elementRegistry"), canvas = modeler.get("canvas");
  var overlays = modeler.get("overlays"), moddle = modeler.get("moddle"), selection = modeler.get("selection");
  var model = null, revision = null, dirty = false, current = null, findings = [], pathMarked = [];

  // ------------------------------------------------------------------------------------- language
  // The page's language (<html lang>): every text below is given as t(Vietnamese, English).
  var EN = document.documentElement.lang === "en";
  function t(vi, en) { return EN ? en : vi; }
  function msgOf(o) { return (o && ((EN && o.message_en) || o.message)) || ""; }

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
  var uid = 0;
  function field(label, input, help) {
    var id = "pp-" + (++uid);
    input.id = id;
    return h("div", { "class": "pp-field" }, [h("label", { "for": id, text: label }), input,
      help ? h("small", { "class": "pp-help", text: help }) : null]);
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
  function is(element, type) {
    var bo = element && element.businessObject;
    return !!(bo && bo.$instanceOf && bo.$instanceOf(type));
  }
  function extValues(bo) { return (bo.extensionElements && bo.extensionElements.values) || []; }
  function findExt(bo, type) {
    return extValues(bo).filter(function (v) { return v.$type === type; })[0] || null;
  }
  function ensureExt(element) {
    var bo = element.businessObject;
    if (!bo.extensionElements) {
      var ext = moddle.create("bpmn:ExtensionElements", { values: [] });
      ext.$parent = bo;
      modeling.updateProperties(element, { extensionElements: ext });
    }
    return bo.extensionElements;
  }
  function setBodyExt(element, type, value) {
    var ext = ensureExt(element);
    var values = ext.values.filter(function (v) { return v.$type !== type; });
    if (value) {
      var el = moddle.create(type, { value: value });
      el.$parent = ext;
      values.push(el);
    }
    modeling.updateModdleProperties(element, ext, { values: values });
  }
  function getBodyExt(bo, type) { var e = findExt(bo, type); return e ? (e.value || "") : ""; }
  function getProperty(bo, name) {
    var props = findExt(bo, "spiffworkflow:Properties");
    var p = props && (props.properties || []).filter(function (x) { return x.name === name; })[0];
    return p ? (p.value || "") : "";
  }
  function setProperty(element, name, value) {
    var ext = ensureExt(element);
    var props = findExt(element.businessObject, "spiffworkflow:Properties");
    if (!props) {
      props = moddle.create("spiffworkflow:Properties", { properties: [] });
      props.$parent = ext;
      modeling.updateModdleProperties(element, ext, { values: ext.values.concat([props]) });
    }
    var list = (props.properties || []).filter(function (p) { return p.name !== name; });
    if (value) {
      var p = moddle.create("spiffworkflow:Property", { name: name, value: value });
      p.$parent = props;
      list.push(p);
    }
    modeling.updateModdleProperties(element, props, { properties: list });
  }
  function laneOf(element) {
    var bo = element.businessObject, found = null;
    registry.filter(function (e) { return is(e, "bpmn:Lane"); }).forEach(function (lane) {
      if ((lane.businessObject.flowNodeRef || []).indexOf(bo) >= 0) found = lane;
    });
    return found;
  }
  function splitLane(name) {
    var m = /^(.*?)\s*\[([^\]]*)\]\s*$/.exec(name || "");
    return m ? { label: m[1], role: m[2].trim() } : { label: name || "", role: "" };
  }

  // the init script (deadlines): the script task "init", else the first script task after a start event
  function initScriptTask() {
    var init = registry.get("init");
    if (init && is(init, "bpmn:ScriptTask")) return init;
    var starts = registry.filter(function (e) { return is(e, "bpmn:StartEvent") && e.type !== "label"; });
    for (var i = 0; i < starts.length; i++) {
      var next = (starts[i].outgoing || []).map(function (c) { return c.target; })
        .filter(function (t) { return is(t, "bpmn:ScriptTask"); })[0];
      if (next) return next;
    }
    return null;
  }
  function deadlineRe(id) {
    return new RegExp("^([ \\t]*)" + id + "_due\\s*=\\s*(.*)$", "m");
  }
  function getDeadline(id) {
    var init = initScriptTask();
    var m = init && deadlineRe(id).exec(init.businessObject.script || "");
    if (!m) return { n: "", expr: "" };
    var wd = /^wd_deadline\(\s*period\s*,\s*(\d+)\s*,\s*opened_at\s*\)\s*$/.exec(m[2]);
    return { n: wd ? wd[1] : "", expr: m[2] };
  }
  function setDeadline(id, n) {
    var init = initScriptTask();
    if (!init) { setStatus(t("Không tìm thấy bước khởi tạo (script task “init”) để ghi hạn.", "No init step (script task “init”) to write the deadline into."), "error"); return; }
    var script = init.businessObject.script || "", re = deadlineRe(id);
    var line = id + "_due = wd_deadline(period, " + n + ", opened_at)";
    if (!n) script = script.replace(new RegExp(re.source + "\\n?", "m"), "");
    else if (re.test(script)) script = script.replace(re, function (all, indent) { return indent + line; });
    else script = script.replace(/\s*$/, "") + "\n" + line;
    modeling.updateProperties(init, { script: script });
  }

  // ----------------------------------------------------------------------------- properties panel
  function input(value, onchange, attrs) {
    var el = h("input", Object.assign({ type: "text", value: value || "" }, attrs || {}));
    el.addEventListener("change", function () { onchange(el.value); });
    return el;
  }
  function textarea(value, onchange, rows) {
    var el = h("textarea", { rows: String(rows || 4), spellcheck: "false", value: value || "" });
    el.addEventListener("change", function () { onchange(el.value); });
    return el;
  }
  function select(options, value, onchange) {
    var el = h("select", {}, options.map(function (o) {
      return h("option", { value: o[0], text: o[1], selected: o[0] === value });
    }));
    el.addEventListener("change", function () { onchange(el.value); });
    return el;
  }
  function render(element) {
    current = element;
    panel.innerHTML = "";
    if (!element || element.type === "label") {
      panel.appendChild(h("p", { text: t("Chọn một phần tử trên sơ đồ để sửa: làn (vai trò), bước (biểu mẫu, hướng dẫn, hạn), lệnh, điều kiện, hẹn giờ.",
        "Select an element of the diagram to edit it: a lane (role), a task (form, instructions, deadline), a script, a condition, a timer.") }));
      return;
    }
    var bo = element.businessObject;
    panel.appendChild(h("h2", { text: (bo.name || bo.id) }));
    panel.appendChild(h("p", { "class": "pp-id" }, [h("small", { text: bo.$type.replace("bpmn:", "") + " · id: " }), h("code", { text: bo.id })]));
    var mine = findings.filter(function (f) { return f.element === bo.id; });
    if (mine.length) {
      panel.appendChild(h("ul", { "class": "pp-findings" }, mine.map(function (f) {
        return h("li", { "class": "finding-" + f.severity, text: msgOf(f) });
      })));
    }
    if (is(element, "bpmn:Lane")) return renderLane(element);
    if (!is(element, "bpmn:Participant") && !is(element, "bpmn:Process")) {
      panel.appendChild(field(t("Tên", "Name"), input(bo.name, function (v) { modeling.updateLabel(element, v); })));
    } else {
      panel.appendChild(field(t("Tên", "Name"), input(bo.name, function (v) { modeling.updateProperties(element, { name: v }); })));
    }
    if (is(element, "bpmn:UserTask") || is(element, "bpmn:ManualTask")) renderUserTask(element);
    if (is(element, "bpmn:ScriptTask")) {
      panel.appendChild(field(t("Lệnh (Python, môi trường hạn chế)", "Script (Python, restricted environment)"), textarea(bo.script, function (v) {
        modeling.updateProperties(element, { script: v });
      }, 10), t("Dùng được: wd_deadline, wd_after, wd_before, now_iso, notify, score_total… Không import, không tên bắt đầu bằng “_”.",
        "Available: wd_deadline, wd_after, wd_before, now_iso, notify, score_total… No import, no name starting with “_”.")));
    }
    if (is(element, "bpmn:BusinessRuleTask")) {
      var decisions = (model.decisions || []).map(function (d) { return [d, d]; });
      var currentId = getBodyExt(bo, "spiffworkflow:CalledDecisionId");
      if (currentId && (model.decisions || []).indexOf(currentId) < 0) decisions.push([currentId, currentId + t(" (không có)", " (missing)")]);
      panel.appendChild(field(t("Bảng quyết định (DMN)", "Decision table (DMN)"), select([["", "—"]].concat(decisions), currentId, function (v) {
        setBodyExt(element, "spiffworkflow:CalledDecisionId", v);
      })));
    }
    if (is(element, "bpmn:Activity")) renderScripts(element);
    if (is(element, "bpmn:ExclusiveGateway") || is(element, "bpmn:InclusiveGateway")) renderGateway(element);
    if (is(element, "bpmn:SequenceFlow")) renderFlow(element);
    var timer = (bo.eventDefinitions || []).filter(function (d) { return d.$type === "bpmn:TimerEventDefinition"; })[0];
    if (timer) renderTimer(element, timer);
  }

  function renderLane(element) {
    var bo = element.businessObject, parts = splitLane(bo.name);
    var roles = (model.roles || []).map(function (r) { return [r.role, ((EN && r.label_en) || r.label) + " (" + r.role + ")"]; });
    var known = roles.some(function (r) { return r[0] === parts.role; });
    var groupInput = input(known ? "" : parts.role, function () { write(); },
      { list: "pp-groups", pattern: "[a-z][a-z0-9_]*", placeholder: "party_cell" });
    var roleSelect = select(roles.concat([["__group", t("Nhóm khác (nhập tên nhóm)…", "Another group (type its name)…")]]), known ? parts.role : "__group", function () {
      groupRow.hidden = roleSelect.value !== "__group";
      write();
    });
    var labelInput = input(parts.label, function () { write(); });
    function write() {
      var role = roleSelect.value === "__group" ? groupInput.value.trim() : roleSelect.value;
      var name = labelInput.value.trim() + (role ? " [" + role + "]" : "");
      modeling.updateProperties(element, { name: name });
    }
    panel.appendChild(field(t("Tên làn", "Lane name"), labelInput));
    panel.appendChild(field(t("Vai trò xử lý các bước trong làn", "Role that handles the lane's tasks"), roleSelect,
      t("Theo người được đánh giá: chính họ, lãnh đạo trực tiếp, thủ trưởng, cấp trên; hoặc một nhóm — người giữ nhóm đó trong cơ quan của người được đánh giá.",
        "Relative to the person evaluated: themselves, their direct manager, the head, the superior; or a group — whoever holds that group in the agency of the person evaluated.")));
    var groupRow = field(t("Tên nhóm", "Group name"), groupInput, t("Chữ thường, số, “_”. Nhóm đang có: ", "Lower case letters, digits, “_”. Existing groups: ") +
      ((model.groups || []).join(", ") || t("chưa có", "none yet")));
    groupRow.hidden = known;
    panel.appendChild(groupRow);
    panel.appendChild(h("datalist", { id: "pp-groups" }, (model.groups || []).map(function (g) { return h("option", { value: g }); })));
  }

  function renderUserTask(element) {
    var bo = element.businessObject, lane = laneOf(element);
    panel.appendChild(h("p", {}, [h("small", { text: t("Làn: ", "Lane: ") + (lane ? (lane.businessObject.name || lane.id) : t("— (chưa nằm trong làn nào)", "— (in no lane)")) })]));
    var form = getProperty(bo, "formJsonSchemaFilename");
    var options = [["", t("— chưa chọn —", "— none —")]].concat((model.forms || []).map(function (f) { return [f, f]; }));
    if (form && (model.forms || []).indexOf(form) < 0) options.push([form, form + t(" (không có trong bản nháp)", " (not in the draft)")]);
    panel.appendChild(field(t("Biểu mẫu (formJsonSchemaFilename)", "Form (formJsonSchemaFilename)"), select(options, form, function (v) {
      setProperty(element, "formJsonSchemaFilename", v);
    }), t("Tạo hoặc sửa biểu mẫu ở trang bản nháp.", "Create or edit forms on the draft's page.")));
    panel.appendChild(field(t("Hướng dẫn cho người xử lý (instructionsForEndUser)", "Instructions for the assignee (instructionsForEndUser)"), textarea(
      getBodyExt(bo, "spiffworkflow:InstructionsForEndUser"),
      function (v) { setBodyExt(element, "spiffworkflow:InstructionsForEndUser", v); }, 5),
      t("Markdown **đậm**; chèn dữ liệu: {{ period }}, {{ subject.full_name }}, {{ result.total }}…",
        "Markdown **bold**; insert data: {{ period }}, {{ subject.full_name }}, {{ result.total }}…")));
    panel.appendChild(field(t("Lưu kết quả vào biến (variableName)", "Store the answer in the variable (variableName)"), input(getBodyExt(bo, "spiffworkflow:VariableName"),
      function (v) { setBodyExt(element, "spiffworkflow:VariableName", v.trim()); }, { pattern: "[A-Za-z_][A-Za-z0-9_]*" }),
      t("Dữ liệu biểu mẫu được lưu dưới tên này, ví dụ ", "The form data is stored under this name, e.g. ") + bo.id + "."));
    var deadline = getDeadline(bo.id);
    var dl = input(deadline.n, function (v) { setDeadline(bo.id, v.trim()); render(element); },
      { type: "number", min: "1", max: "23", step: "1", inputmode: "numeric" });
    panel.appendChild(field(t("Hạn: ngày làm việc thứ N của tháng sau kỳ", "Deadline: the Nth working day of the month after the period"), dl,
      deadline.expr && !deadline.n ? t("Hạn hiện tại: ", "Current deadline: ") + bo.id + "_due = " + deadline.expr + t(" (ghi số để thay).", " (type a number to replace it).")
        : t("Ghi vào bước khởi tạo: ", "Written into the init step: ") + bo.id + "_due = wd_deadline(period, N, opened_at). " +
          t("Bỏ trống: không có hạn.", "Empty: no deadline.")));
  }

  function renderScripts(element) {
    var bo = element.businessObject;
    var pre = getBodyExt(bo, "spiffworkflow:PreScript"), post = getBodyExt(bo, "spiffworkflow:PostScript");
    var box = h("details", pre || post ? { open: "" } : {}, [h("summary", { text: t("Lệnh trước / sau bước (preScript, postScript)", "Scripts before / after the step (preScript, postScript)") })]);
    box.appendChild(field(t("Trước khi bước bắt đầu", "Before the step starts"), textarea(pre, function (v) { setBodyExt(element, "spiffworkflow:PreScript", v); }, 3)));
    box.appendChild(field(t("Sau khi bước xong", "After the step is done"), textarea(post, function (v) { setBodyExt(element, "spiffworkflow:PostScript", v); }, 3)));
    panel.appendChild(box);
  }

  function renderGateway(element) {
    var bo = element.businessObject;
    var outs = (element.outgoing || []).map(function (c) { return [c.id, (c.businessObject.name || "") + " (" + c.id + ")"]; });
    panel.appendChild(field(t("Nhánh mặc định (khi không điều kiện nào đúng)", "Default flow (when no condition holds)"), select([["", t("— chưa chọn —", "— none —")]].concat(outs),
      bo["default"] ? bo["default"].id : "", function (v) {
        var flow = v ? registry.get(v) : null;
        modeling.updateProperties(element, { "default": flow ? flow.businessObject : undefined });
      })));
  }

  function renderFlow(element) {
    var bo = element.businessObject, source = element.source;
    if (!source || !(is(source, "bpmn:ExclusiveGateway") || is(source, "bpmn:InclusiveGateway"))) return;
    var isDefault = source.businessObject["default"] === bo;
    var cb = h("input", { type: "checkbox", checked: isDefault });
    cb.addEventListener("change", function () {
      modeling.updateProperties(source, { "default": cb.checked ? bo : undefined });
      render(element);
    });
    panel.appendChild(h("label", { "class": "pp-check" }, [cb, t(" Nhánh mặc định của cổng ", " Default flow of the gateway ") + (source.businessObject.name || source.id)]));
    if (isDefault) return;
    var cond = bo.conditionExpression ? (bo.conditionExpression.body || "") : "";
    panel.appendChild(field(t("Điều kiện (biểu thức Python)", "Condition (Python expression)"), textarea(cond, function (v) {
      var expr = v.trim() ? moddle.create("bpmn:FormalExpression", { body: v.trim() }) : undefined;
      modeling.updateProperties(element, { conditionExpression: expr });
    }, 2), t("Ví dụ: ", "Example: ") + "review.get(\"return_for_revision\") and revision_count < 1"));
  }

  function renderTimer(element, timer) {
    var kinds = [["timeDate", t("Thời điểm (timeDate)", "At a date (timeDate)")], ["timeDuration", t("Sau một khoảng (timeDuration)", "After a duration (timeDuration)")],
      ["timeCycle", t("Lặp lại (timeCycle)", "Repeated (timeCycle)")]];
    var kind = timer.timeDuration ? "timeDuration" : timer.timeCycle ? "timeCycle" : "timeDate";
    var expr = timer[kind] ? (timer[kind].body || "") : "";
    var kindSelect = select(kinds, kind, function () { write(); });
    var exprInput = input(expr, function () { write(); }, { spellcheck: "false" });
    function write() {
      var props = { timeDate: undefined, timeDuration: undefined, timeCycle: undefined };
      if (exprInput.value.trim()) props[kindSelect.value] = moddle.create("bpmn:FormalExpression", { body: exprInput.value.trim() });
      modeling.updateModdleProperties(element, timer, props);
    }
    panel.appendChild(field(t("Loại hẹn giờ", "Timer type"), kindSelect));
    panel.appendChild(field(t("Biểu thức (Python)", "Expression (Python)"), exprInput,
      t("Ví dụ: ", "Examples: ") + "review_due · wd_before(review_due, 1) · \"P3D\" " + t("(có ngoặc kép)", "(with the quotes)") +
      " · \"2030-04-05T17:00:00+07:00\""));
  }

  // ------------------------------------------------------------------------------------- findings
  function showFindings(list) {
    findings = list || [];
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
  document.getElementById("btn-fit").addEventListener("click", function () { canvas.zoom("fit-viewport"); });
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
        canvas.zoom("fit-viewport");
        model = data;
        revision = data.revision;
        dirty = false;
        if (!data.editable) btnSave.disabled = true;
        showFindings(data.findings);
        render(null);
        setStatus(res.warnings && res.warnings.length ? res.warnings.length + t(" cảnh báo khi đọc sơ đồ", " warnings while reading the diagram")
          : t("Đã tải (lần lưu ", "Loaded (revision ") + revision + ")");
        app.setAttribute("data-loaded", "true");
      });
    })
    .catch(function (err) {
      panel.textContent = "";
      setStatus(t("Không đọc được sơ đồ: ", "The diagram cannot be read: ") + err, "error");
    });
})();
