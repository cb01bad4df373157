// A provider for bpmn-js-properties-panel with what this application reads from the diagram:
//   lane            name "Label [role]" (role: relative to the subject, or a named group)
//   user task       formJsonSchemaFilename, instructionsForEndUser, variableName, the deadline
//                   `<task>_due = wd_deadline(period, N, opened_at)` in the init script (N: 1–23), and
//                   what the step means to the application: stepStatus (one of the record statuses the
//                   model lists), stepOrder, stepScores, stepDecides, stepTitle (app/engine/steps.py)
//   any activity    preScript / postScript;  script task: the script and its unit tests
//   business rule   calledDecisionId;  gateway: the default flow;  flow: the condition;  timer: expression
// Texts come in the page's language (appConfig.t(vi, en)).
import { createElement as h } from "@bpmn-io/properties-panel/preact";
import {
  SelectEntry, TextAreaEntry, TextFieldEntry, isSelectEntryEdited, isTextAreaEntryEdited, isTextFieldEntryEdited
} from "@bpmn-io/properties-panel";
import { useService } from "bpmn-js-properties-panel";

function isA(element, type) {
  const bo = element && element.businessObject;
  return !!(bo && bo.$instanceOf && bo.$instanceOf(type));
}

export default function AppPropertiesProvider(propertiesPanel, injector) {
  this._injector = injector;
  propertiesPanel.registerProvider(400, this);
}
AppPropertiesProvider.$inject = ["propertiesPanel", "injector"];

AppPropertiesProvider.prototype.getGroups = function (element) {
  const injector = this._injector;
  const cfg = injector.get("appConfig");
  const t = cfg.t;
  const ops = operations(injector);
  return function (groups) {
    if (!element || element.type === "label") return groups;
    const bo = element.businessObject;
    const entries = [];
    entries.push({ id: "app-id", component: () => h("p", { class: "pp-id" },
      h("small", null, bo.$type.replace("bpmn:", "") + " · id: "), h("code", null, bo.id)) });
    const mine = (cfg.findings() || []).filter((f) => f.element === bo.id);
    if (mine.length) {
      entries.push({ id: "app-findings", component: () => h("ul", { class: "pp-findings" },
        mine.map((f) => h("li", { class: "finding-" + f.severity }, (cfg.en && f.message_en) || f.message))) });
    }
    if (isA(element, "bpmn:Lane")) {
      laneEntries(entries, element, ops, cfg);
    } else {
      entries.push(text("app-name", t("Tên", "Name"), () => bo.name, (v) => ops.setName(element, v)));
    }
    if (isA(element, "bpmn:UserTask") || isA(element, "bpmn:ManualTask")) userTaskEntries(entries, element, ops, cfg);
    if (isA(element, "bpmn:ScriptTask")) {
      entries.push(area("app-script", t("Lệnh (Python, môi trường hạn chế)", "Script (Python, restricted environment)"),
        () => bo.script, (v) => ops.update(element, { script: v }), 10,
        t("Dùng được: wd_deadline, wd_after, wd_before, now_iso, notify, score_total… Không import, không tên bắt đầu bằng “_”.",
          "Available: wd_deadline, wd_after, wd_before, now_iso, notify, score_total… No import, no name starting with “_”.")));
      entries.push(area("app-unit-tests", t("Kiểm thử mã lệnh (JSON)", "Script unit tests (JSON)"),
        () => ops.getUnitTests(element), (v) => ops.setUnitTests(element, v), 6,
        t("Danh sách [{\"id\": …, \"input\": {…}, \"expected\": {…}}]: chạy lệnh với dữ liệu vào, kết quả phải đúng như mong đợi. Chạy khi kiểm tra.",
          "A list [{\"id\": …, \"input\": {…}, \"expected\": {…}}]: the script runs on the input and must leave the expected data. Run on validate.")));
    }
    if (isA(element, "bpmn:BusinessRuleTask")) {
      entries.push(select("app-decision", t("Bảng quyết định (DMN)", "Decision table (DMN)"),
        () => ops.getBody(bo, "spiffworkflow:CalledDecisionId"),
        (v) => ops.setBody(element, "spiffworkflow:CalledDecisionId", v),
        () => [{ value: "", label: "—" }].concat((cfg.model().decisions || []).map((d) => ({ value: d, label: d })))));
    }
    if (isA(element, "bpmn:Activity")) {
      entries.push(area("app-pre", t("Lệnh trước khi bước bắt đầu (preScript)", "Script before the step starts (preScript)"),
        () => ops.getBody(bo, "spiffworkflow:PreScript"), (v) => ops.setBody(element, "spiffworkflow:PreScript", v), 3));
      entries.push(area("app-post", t("Lệnh sau khi bước xong (postScript)", "Script after the step is done (postScript)"),
        () => ops.getBody(bo, "spiffworkflow:PostScript"), (v) => ops.setBody(element, "spiffworkflow:PostScript", v), 3));
    }
    if (isA(element, "bpmn:ExclusiveGateway") || isA(element, "bpmn:InclusiveGateway")) {
      entries.push(select("app-default", t("Nhánh mặc định (khi không điều kiện nào đúng)", "Default flow (when no condition holds)"),
        () => (bo.default ? bo.default.id : ""), (v) => ops.setDefault(element, v),
        () => [{ value: "", label: t("— chưa chọn —", "— none —") }].concat((element.outgoing || []).map((c) => (
          { value: c.id, label: (c.businessObject.name || "") + " (" + c.id + ")" })))));
    }
    if (isA(element, "bpmn:SequenceFlow") && element.source &&
        (isA(element.source, "bpmn:ExclusiveGateway") || isA(element.source, "bpmn:InclusiveGateway")) &&
        element.source.businessObject.default !== bo) {
      entries.push(area("app-condition", t("Điều kiện (biểu thức Python)", "Condition (Python expression)"),
        () => (bo.conditionExpression ? bo.conditionExpression.body : ""), (v) => ops.setCondition(element, v), 2,
        t("Ví dụ: ", "Example: ") + "review.get(\"return_for_revision\") and revision_count < 1"));
    }
    const timer = (bo.eventDefinitions || []).filter((d) => d.$type === "bpmn:TimerEventDefinition")[0];
    if (timer) {
      entries.push(text("app-timer", t("Hẹn giờ: biểu thức (Python)", "Timer: expression (Python)"),
        () => ops.getTimer(timer), (v) => ops.setTimer(element, timer, v),
        t("Ví dụ: ", "Examples: ") + "review_due · wd_before(review_due, 1) · \"P3D\" " + t("(có ngoặc kép)", "(with the quotes)")));
    }
    groups.unshift({ id: "app", label: t("Ứng dụng đọc từ sơ đồ", "What the application reads"), entries, shouldOpen: true });
    return groups;
  };
};

function laneEntries(entries, element, ops, cfg) {
  const t = cfg.t;
  const bo = element.businessObject;
  entries.push(text("app-lane-label", t("Tên làn", "Lane name"), () => ops.splitLane(bo.name).label,
    (v) => ops.update(element, { name: v.trim() + (ops.splitLane(bo.name).role ? " [" + ops.splitLane(bo.name).role + "]" : "") })));
  entries.push(select("app-lane-role", t("Vai trò xử lý các bước trong làn", "Role that handles the lane's tasks"),
    () => ops.splitLane(bo.name).role,
    (v) => ops.update(element, { name: ops.splitLane(bo.name).label + (v ? " [" + v + "]" : "") }),
    () => {
      const role = ops.splitLane(bo.name).role;
      const options = (cfg.model().roles || []).map((r) => ({ value: r.role, label: ((cfg.en && r.label_en) || r.label) + " (" + r.role + ")" }))
        .concat((cfg.model().groups || []).map((g) => ({ value: g, label: t("Nhóm ", "Group ") + g })));
      if (role && !options.some((o) => o.value === role)) options.push({ value: role, label: t("Nhóm ", "Group ") + role });
      return [{ value: "", label: "—" }].concat(options);
    },
    t("Theo người được đánh giá: chính họ, lãnh đạo trực tiếp, thủ trưởng, cấp trên; hoặc một nhóm — người giữ nhóm đó trong cơ quan của người được đánh giá.",
      "Relative to the person evaluated: themselves, their direct manager, the head, the superior; or a group — whoever holds that group in the agency of the person evaluated.")));
  entries.push(text("app-lane-group", t("Tên nhóm", "Group name"), () => "",
    (v) => { if (/^[a-z][a-z0-9_]*$/.test(v.trim())) ops.update(element, { name: ops.splitLane(bo.name).label + " [" + v.trim() + "]" }); },
    t("Một nhóm mới (chữ thường, số, “_”), ví dụ party_cell.", "A new group (lower case letters, digits, “_”), e.g. party_cell.")));
}

function userTaskEntries(entries, element, ops, cfg) {
  const t = cfg.t;
  const bo = element.businessObject;
  entries.push(select("app-form", t("Biểu mẫu (formJsonSchemaFilename)", "Form (formJsonSchemaFilename)"),
    () => ops.getProperty(bo, "formJsonSchemaFilename"), (v) => ops.setProperty(element, "formJsonSchemaFilename", v),
    () => {
      const form = ops.getProperty(bo, "formJsonSchemaFilename");
      const forms = cfg.model().forms || [];
      const options = [{ value: "", label: t("— chưa chọn —", "— none —") }].concat(forms.map((f) => ({ value: f, label: f })));
      if (form && forms.indexOf(form) < 0) options.push({ value: form, label: form + t(" (không có trong bản nháp)", " (not in the draft)") });
      return options;
    }, t("Tạo hoặc sửa biểu mẫu ở trang bản nháp.", "Create or edit forms on the draft's page.")));
  entries.push(area("app-instructions", t("Hướng dẫn cho người xử lý (instructionsForEndUser)", "Instructions for the assignee (instructionsForEndUser)"),
    () => ops.getBody(bo, "spiffworkflow:InstructionsForEndUser"),
    (v) => ops.setBody(element, "spiffworkflow:InstructionsForEndUser", v), 5,
    t("Markdown **đậm**; chèn dữ liệu: {{ period }}, {{ subject.full_name }}, {{ result.total }}…",
      "Markdown **bold**; insert data: {{ period }}, {{ subject.full_name }}, {{ result.total }}…")));
  entries.push(text("app-variable", t("Lưu kết quả vào biến (variableName)", "Store the answer in the variable (variableName)"),
    () => ops.getBody(bo, "spiffworkflow:VariableName"), (v) => ops.setBody(element, "spiffworkflow:VariableName", v.trim()),
    t("Dữ liệu biểu mẫu được lưu dưới tên này, ví dụ ", "The form data is stored under this name, e.g. ") + bo.id + "."));
  stepEntries(entries, element, ops, cfg);
  entries.push(text("app-deadline", t("Hạn: ngày làm việc thứ N của tháng sau kỳ", "Deadline: the Nth working day of the month after the period"),
    () => ops.getDeadline(bo.id).n, (v) => ops.setDeadline(bo.id, v.trim()),
    t("Ghi vào bước khởi tạo: ", "Written into the init step: ") + bo.id + "_due = wd_deadline(period, N, opened_at); " +
      t("N từ 1 đến 23. Bỏ trống: không có hạn.", "N from 1 to 23. Empty: no deadline."), (v) => (v && !/^([1-9]|1\d|2[0-3])$/.test(v.trim())
      ? t("Số ngày làm việc từ 1 đến 23", "A working day from 1 to 23") : null)));
}

function stepEntries(entries, element, ops, cfg) {
  const t = cfg.t;
  const bo = element.businessObject;
  const prop = (name) => () => ops.getProperty(bo, name);
  const setProp = (name) => (v) => ops.setProperty(element, name, (v || "").trim());
  entries.push(select("app-step-status", t("Trạng thái hồ sơ khi bước đang mở (stepStatus)", "Record status while the step is open (stepStatus)"),
    prop("stepStatus"), setProp("stepStatus"),
    () => {
      const current = ops.getProperty(bo, "stepStatus");
      const statuses = cfg.model().step_statuses || [];
      const options = [{ value: "", label: t("— chưa chọn —", "— none —") }].concat(statuses.map((s) => (
        { value: s.status, label: ((cfg.en && s.label_en) || s.label) + " (" + s.status + ")" })));
      if (current && !statuses.some((s) => s.status === current)) options.push({ value: current, label: current + t(" (không hợp lệ)", " (not valid)") });
      return options;
    }, t("Bắt buộc: trang, bộ lọc và số liệu hiểu hồ sơ đang ở đâu theo trạng thái này.",
      "Required: pages, filters and counts know where the month stands by this status.")));
  entries.push(text("app-step-order", t("Số thứ tự bước (stepOrder)", "Step number (stepOrder)"),
    prop("stepOrder"), setProp("stepOrder"),
    t("Bắt buộc, số nguyên từ 1: “Bước 2/4”. Các bước thay thế nhau dùng chung một số.",
      "Required, a whole number from 1: “Step 2/4”. Steps that stand in for each other share a number."),
    (v) => (v && !/^\s*([1-9]|[1-9]\d)\s*$/.test(v) ? t("Số nguyên từ 1 đến 99", "A whole number from 1 to 99") : null)));
  const yesNo = () => [{ value: "", label: t("Không", "No") }, { value: "true", label: t("Có", "Yes") }];
  entries.push(select("app-step-scores", t("Bước chấm điểm (stepScores)", "The step scores (stepScores)"),
    () => (ops.getProperty(bo, "stepScores") === "true" ? "true" : ""), setProp("stepScores"), yesNo,
    t("Biểu mẫu nhận điểm, điền sẵn từ bước chấm điểm trước nó.", "The form takes scores, prefilled from the scoring step before it.")));
  entries.push(select("app-step-decides", t("Bước quyết định xếp loại (stepDecides)", "The step decides the level (stepDecides)"),
    () => (ops.getProperty(bo, "stepDecides") === "true" ? "true" : ""), setProp("stepDecides"), yesNo,
    t("Thủ trưởng quyết định theo đợt trên trang Quyết định; mức được kiểm theo quy định.",
      "The head decides in batches on the decision page; the level is checked against the rules.")));
  entries.push(text("app-step-title", t("Tên ngắn của bước (stepTitle)", "Short title of the step (stepTitle)"),
    prop("stepTitle"), setProp("stepTitle"), t("Dùng trong bộ lọc và bảng tổng quan; bỏ trống: dùng tên bước.",
      "Used in filters and the dashboard; empty: the step's name.")));
}

// ---- entries
function text(id, label, get, set, description, validate) {
  return { id, isEdited: isTextFieldEntryEdited, component: (props) => h(TextEntryComponent,
    { ...props, id, label, get, set, description, validate }) };
}
function area(id, label, get, set, rows, description) {
  return { id, isEdited: isTextAreaEntryEdited, component: (props) => h(TextEntryComponent,
    { ...props, id, label, get, set, description, rows, multiline: true }) };
}
function select(id, label, get, set, options, description) {
  return { id, isEdited: isSelectEntryEdited, component: (props) => h(SelectComponent,
    { ...props, id, label, get, set, options, description }) };
}
function TextEntryComponent(props) {
  const debounce = useService("debounceInput");
  const common = { element: props.element, id: props.id, label: props.label, description: props.description,
    getValue: () => props.get() || "", setValue: (v) => props.set(v || ""), debounce };
  if (props.multiline) return h(TextAreaEntry, { ...common, rows: props.rows, monospace: true });
  return h(TextFieldEntry, { ...common, validate: props.validate });
}
function SelectComponent(props) {
  return h(SelectEntry, { element: props.element, id: props.id, label: props.label, description: props.description,
    getValue: () => props.get() || "", setValue: (v) => props.set(v || ""), getOptions: props.options });
}

// ---- what the entries change (through modeling: undo/redo works)
function operations(injector) {
  const modeling = injector.get("modeling"), moddle = injector.get("moddle"), registry = injector.get("elementRegistry");
  const cfg = injector.get("appConfig");
  const ops = {};
  ops.update = (element, props) => modeling.updateProperties(element, props);
  ops.setName = (element, v) => (isA(element, "bpmn:Participant") || isA(element, "bpmn:Process")
    ? modeling.updateProperties(element, { name: v }) : modeling.updateLabel(element, v));
  const values = (bo) => (bo.extensionElements && bo.extensionElements.values) || [];
  const find = (bo, type) => values(bo).filter((v) => v.$type === type)[0] || null;
  function ensureExt(element) {
    const bo = element.businessObject;
    if (!bo.extensionElements) {
      const ext = moddle.create("bpmn:ExtensionElements", { values: [] });
      ext.$parent = bo;
      modeling.updateProperties(element, { extensionElements: ext });
    }
    return bo.extensionElements;
  }
  ops.getBody = (bo, type) => { const e = find(bo, type); return e ? (e.value || "") : ""; };
  ops.setBody = (element, type, value) => {
    const ext = ensureExt(element);
    const list = ext.values.filter((v) => v.$type !== type);
    if (value) { const el = moddle.create(type, { value }); el.$parent = ext; list.push(el); }
    modeling.updateModdleProperties(element, ext, { values: list });
  };
  ops.getProperty = (bo, name) => {
    const props = find(bo, "spiffworkflow:Properties");
    const p = props && (props.properties || []).filter((x) => x.name === name)[0];
    return p ? (p.value || "") : "";
  };
  ops.setProperty = (element, name, value) => {
    const ext = ensureExt(element);
    let props = find(element.businessObject, "spiffworkflow:Properties");
    if (!props) {
      props = moddle.create("spiffworkflow:Properties", { properties: [] });
      props.$parent = ext;
      modeling.updateModdleProperties(element, ext, { values: ext.values.concat([props]) });
    }
    const list = (props.properties || []).filter((p) => p.name !== name);
    if (value) { const p = moddle.create("spiffworkflow:Property", { name, value }); p.$parent = props; list.push(p); }
    modeling.updateModdleProperties(element, props, { properties: list });
  };
  ops.getUnitTests = (element) => {
    const tests = find(element.businessObject, "spiffworkflow:UnitTests");
    if (!tests || !(tests.unitTests || []).length) return "";
    return JSON.stringify((tests.unitTests || []).map((u) => ({ id: u.id, input: parse(u.inputJson && u.inputJson.value),
      expected: parse(u.expectedOutputJson && u.expectedOutputJson.value) })), null, 1);
  };
  ops.setUnitTests = (element, text) => {
    let list = [];
    if (text.trim()) {
      try { list = JSON.parse(text); } catch (e) { cfg.status(cfg.t("Kiểm thử mã lệnh: JSON không hợp lệ", "Script unit tests: invalid JSON"), "error"); return; }
      if (!Array.isArray(list)) { cfg.status(cfg.t("Kiểm thử mã lệnh phải là một danh sách", "Script unit tests must be a list"), "error"); return; }
    }
    const ext = ensureExt(element);
    const others = ext.values.filter((v) => v.$type !== "spiffworkflow:UnitTests");
    if (list.length) {
      const tests = moddle.create("spiffworkflow:UnitTests", { unitTests: [] });
      tests.$parent = ext;
      tests.unitTests = list.map((u, i) => {
        const test = moddle.create("spiffworkflow:UnitTest", { id: String(u.id || element.id + "_test_" + (i + 1)) });
        test.inputJson = moddle.create("spiffworkflow:InputJson", { value: JSON.stringify(u.input || {}) });
        test.expectedOutputJson = moddle.create("spiffworkflow:ExpectedOutputJson", { value: JSON.stringify(u.expected || {}) });
        test.$parent = tests;
        return test;
      });
      others.push(tests);
    }
    modeling.updateModdleProperties(element, ext, { values: others });
  };
  ops.setDefault = (element, v) => {
    const flow = v ? registry.get(v) : null;
    modeling.updateProperties(element, { default: flow ? flow.businessObject : undefined });
  };
  ops.setCondition = (element, v) => {
    const expr = v.trim() ? moddle.create("bpmn:FormalExpression", { body: v.trim() }) : undefined;
    modeling.updateProperties(element, { conditionExpression: expr });
  };
  ops.getTimer = (timer) => {
    const kind = timer.timeDuration ? "timeDuration" : timer.timeCycle ? "timeCycle" : "timeDate";
    return timer[kind] ? (timer[kind].body || "") : "";
  };
  ops.setTimer = (element, timer, v) => {
    const kind = timer.timeDuration ? "timeDuration" : timer.timeCycle ? "timeCycle" : "timeDate";
    const props = {};
    props[kind] = v.trim() ? moddle.create("bpmn:FormalExpression", { body: v.trim() }) : undefined;
    modeling.updateModdleProperties(element, timer, props);
  };
  ops.splitLane = (name) => {
    const m = /^(.*?)\s*\[([^\]]*)\]\s*$/.exec(name || "");
    return m ? { label: m[1], role: m[2].trim() } : { label: name || "", role: "" };
  };
  function initScriptTask() {
    const init = registry.get("init");
    if (init && isA(init, "bpmn:ScriptTask")) return init;
    const starts = registry.filter((e) => isA(e, "bpmn:StartEvent") && e.type !== "label");
    for (const start of starts) {
      const next = (start.outgoing || []).map((c) => c.target).filter((x) => isA(x, "bpmn:ScriptTask"))[0];
      if (next) return next;
    }
    return null;
  }
  const deadlineRe = (id) => new RegExp("^([ \\t]*)" + id + "_due\\s*=\\s*(.*)$", "m");
  ops.getDeadline = (id) => {
    const init = initScriptTask();
    const m = init && deadlineRe(id).exec(init.businessObject.script || "");
    if (!m) return { n: "", expr: "" };
    const wd = /^wd_deadline\(\s*period\s*,\s*(\d+)\s*,\s*opened_at\s*\)\s*$/.exec(m[2]);
    return { n: wd ? wd[1] : "", expr: m[2] };
  };
  ops.setDeadline = (id, n) => {
    const init = initScriptTask();
    if (!init) { cfg.status(cfg.t("Không tìm thấy bước khởi tạo (script task “init”) để ghi hạn.", "No init step (script task “init”) to write the deadline into."), "error"); return; }
    if (n && !/^([1-9]|1\d|2[0-3])$/.test(n)) return;   // the field shows why
    let script = init.businessObject.script || "";
    const re = deadlineRe(id);
    const line = id + "_due = wd_deadline(period, " + n + ", opened_at)";
    if (!n) script = script.replace(new RegExp(re.source + "\\n?", "m"), "");
    else if (re.test(script)) script = script.replace(re, (all, indent) => indent + line);
    else script = script.replace(/\s*$/, "") + "\n" + line;
    modeling.updateProperties(init, { script });
  };
  return ops;
}

function parse(text) {
  try { return JSON.parse(text || "{}"); } catch (e) { return text; }
}

export const AppPropertiesModule = {
  __init__: ["appPropertiesProvider"],
  appPropertiesProvider: ["type", AppPropertiesProvider]
};
