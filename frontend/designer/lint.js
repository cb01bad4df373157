// bpmnlint rules of the application, live in the modeler (bpmn-js-bpmnlint). The same refusals as the
// server's allow-list (app/engine/elements.py) and the same basic checks (app/engine/validation.py);
// the rule "server" shows, as lint on the diagram, every finding the server's last check returned
// (names nobody sets, form fields, working days, simulation errors…), so nothing is checked twice
// in two languages of code.
import StaticResolver from "bpmnlint/lib/resolver/static-resolver";
import { is, isAny } from "bpmnlint-utils";

const REFUSED = ["bpmn:ManualTask", "bpmn:ServiceTask", "bpmn:SendTask", "bpmn:ReceiveTask", "bpmn:CallActivity", "bpmn:Transaction",
  "bpmn:AdHocSubProcess", "bpmn:ComplexGateway", "bpmn:DataObjectReference", "bpmn:DataStoreReference"];
const MESSAGES = ["appeal"];

export function createLintConfig(state) {
  const t = (vi, en) => (state.en ? en : vi);

  // what the live allow-list says of a node (the messages), empty when it lets the node through
  function refusals(node) {
    const out = [];
    if (node.$type === "bpmn:Task") {
      out.push(t("Bước không có loại: hãy chọn bước người dùng, bước lệnh hoặc bước xếp loại",
        "A plain task: make it a user, script or business rule task"));
    } else if (isAny(node, REFUSED)) {
      out.push(t("Ứng dụng không chạy loại phần tử này", "The application does not run this kind of element")
        + " (" + node.$type.replace("bpmn:", "") + ")");
    } else if (is(node, "bpmn:SubProcess") && node.triggeredByEvent) {
      out.push(t("Ứng dụng không chạy tiểu quy trình sự kiện", "Event sub-processes are not supported"));
    } else if (is(node, "bpmn:Activity") && node.loopCharacteristics) {
      const loop = node.loopCharacteristics;
      if (!is(loop, "bpmn:MultiInstanceLoopCharacteristics") || !(loop.loopCardinality || loop.loopDataInputRef)) {
        out.push(t("Vòng lặp không nói lặp bao nhiêu lần hay trên danh sách nào",
          "The loop says neither how many times nor over which list"));
      }
    } else if (is(node, "bpmn:Event")) {
      (node.eventDefinitions || []).forEach(function (def) {
        const type = def.$type;
        const ok = (type === "bpmn:TimerEventDefinition" && isAny(node, ["bpmn:IntermediateCatchEvent", "bpmn:BoundaryEvent"]))
          || (type === "bpmn:TerminateEventDefinition" && is(node, "bpmn:EndEvent"))
          || (type === "bpmn:MessageEventDefinition" && is(node, "bpmn:IntermediateCatchEvent")
              && def.messageRef && MESSAGES.indexOf(def.messageRef.name) >= 0);
        if (!ok) {
          out.push(t("Ứng dụng không phát hay chờ sự kiện này", "The application neither throws nor waits for this event")
            + " (" + type.replace("bpmn:", "").replace("EventDefinition", "") + ")");
        }
      });
    }
    return out;
  }

  function allowedElements() {
    function check(node, reporter) {
      refusals(node).forEach(function (message) { reporter.report(node.id, message); });
    }
    return { check };
  }

  function userTaskForm() {
    function check(node, reporter) {
      if (!is(node, "bpmn:UserTask")) return;
      const values = (node.extensionElements && node.extensionElements.values) || [];
      const props = values.filter((v) => v.$type === "spiffworkflow:Properties")[0];
      const form = props && (props.properties || []).filter((p) => p.name === "formJsonSchemaFilename")[0];
      if (!form || !form.value) reporter.report(node.id, t("Bước chưa chọn biểu mẫu", "The task has no form"));
    }
    return { check };
  }

  function gatewayDefault() {
    function check(node, reporter) {
      if (is(node, "bpmn:ExclusiveGateway") && (node.outgoing || []).length > 1 && !node.default) {
        reporter.report(node.id, t("Cổng rẽ nhánh chưa có nhánh mặc định", "The gateway has no default flow"));
      }
    }
    return { check };
  }

  function laneRole() {
    function check(node, reporter) {
      if (is(node, "bpmn:Lane") && !/\[[a-z][a-z0-9_]*\]\s*$/.test(node.name || "")) {
        reporter.report(node.id, t("Tên làn chưa ghi vai trò “Tên [vai_trò]”", "The lane name gives no role “Label [role]”"));
      }
    }
    return { check };
  }

  // every finding of the server's last check on its element: errors as errors, advice as warnings;
  // a refusal of the allow-list only when the live rule above has not already drawn it
  function server(severity) {
    return function () {
      function check(node, reporter) {
        (state.findings || []).forEach(function (f) {
          if (f.element !== node.id || f.severity !== severity) return;
          if (f.code === "element_not_supported" && refusals(node).length) return;
          reporter.report(node.id, (state.en && f.message_en) || f.message);
        });
      }
      return { check };
    };
  }

  const rules = { "allowed-elements": allowedElements, "user-task-form": userTaskForm,
    "gateway-default": gatewayDefault, "lane-role": laneRole, "server": server("error"),
    "server-advice": server("warning") };
  const cache = {};
  const config = { rules: {} };
  Object.keys(rules).forEach(function (name) {
    cache["rule:bpmnlint-plugin-app/" + name] = rules[name];
    config.rules["app/" + name] = name === "server-advice" ? "warn" : "error";
  });
  return { config, resolver: new StaticResolver(cache) };
}
