// The designer's modeler bundle (built by scripts/vendor.mjs with esbuild into app/static/vendor):
// bpmn-js with bpmn-js-properties-panel (the app's own provider), bpmnlint live on the diagram
// (bpmn-js-bpmnlint, the app's rules) and the spiffworkflow moddle extension.
import BpmnModeler from "bpmn-js/lib/Modeler";
import { BpmnPropertiesPanelModule } from "bpmn-js-properties-panel";
import lintModule from "bpmn-js-bpmnlint";
import { AppPropertiesModule } from "./properties.js";
import { createLintConfig } from "./lint.js";

export function createModeler(options) {
  const state = { findings: [], en: !!options.en };
  const cfg = {
    t: (vi, en) => (options.en ? en : vi), en: !!options.en,
    model: options.model, findings: () => state.findings, status: options.status || function () {}
  };
  const modeler = new BpmnModeler({
    container: options.container,
    propertiesPanel: { parent: options.propertiesParent, layout: { groups: { app: { open: true } } } },
    linting: { bpmnlint: createLintConfig(state), active: true },
    additionalModules: [BpmnPropertiesPanelModule, AppPropertiesModule, lintModule, { appConfig: ["value", cfg] }],
    moddleExtensions: options.moddleExtensions
  });
  modeler.setFindings = function (findings) {
    state.findings = findings || [];
    const linting = modeler.get("linting");
    if (linting.isActive()) linting.lint();
    modeler.get("eventBus").fire("elements.changed", { elements: [] });
  };
  return modeler;
}

window.DesignerModeler = { createModeler };
