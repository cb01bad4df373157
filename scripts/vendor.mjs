// Copy the built files the app serves from node_modules into app/static/vendor, and bundle the
// designer's modeler (frontend/designer: bpmn-js + properties panel + bpmnlint) with esbuild.
import { cpSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";

const root = join(dirname(new URL(import.meta.url).pathname), "..");
const out = join(root, "app", "static", "vendor");
const files = {
  "@picocss/pico/css/pico.min.css": "pico.min.css",
  "bpmn-js/dist/bpmn-navigated-viewer.production.min.js": "bpmn-viewer.min.js",
  "bpmn-js/dist/assets/diagram-js.css": "diagram-js.css",
  "bpmn-js/dist/assets/bpmn-js.css": "bpmn-js.css",
  "bpmn-js/dist/assets/bpmn-font/css/bpmn-embedded.css": "bpmn-embedded.css",
  // the process designer: the modeler, and the icon font as files (the CSP allows no data: fonts)
  "bpmn-js/dist/bpmn-modeler.production.min.js": "bpmn-modeler.min.js",
  "bpmn-js/dist/assets/bpmn-font/css/bpmn.css": "bpmn-font/css/bpmn.css",
  "bpmn-js/dist/assets/bpmn-font/font/bpmn.woff2": "bpmn-font/font/bpmn.woff2",
  "bpmn-js/dist/assets/bpmn-font/font/bpmn.woff": "bpmn-font/font/bpmn.woff",
  "bpmn-js/dist/assets/bpmn-font/font/bpmn.ttf": "bpmn-font/font/bpmn.ttf",
  "@bpmn-io/properties-panel/dist/assets/properties-panel.css": "properties-panel.css",
  "bpmn-js-bpmnlint/dist/assets/css/bpmn-js-bpmnlint.css": "bpmn-js-bpmnlint.css",
  // the decision table editor (dmn-js), its styles and icon font as files
  "dmn-js/dist/dmn-modeler.production.min.js": "dmn-modeler.min.js",
  "dmn-js/dist/assets/diagram-js.css": "dmn/diagram-js.css",
  "dmn-js/dist/assets/dmn-js-shared.css": "dmn/dmn-js-shared.css",
  "dmn-js/dist/assets/dmn-js-drd.css": "dmn/dmn-js-drd.css",
  "dmn-js/dist/assets/dmn-js-decision-table.css": "dmn/dmn-js-decision-table.css",
  "dmn-js/dist/assets/dmn-js-decision-table-controls.css": "dmn/dmn-js-decision-table-controls.css",
  "dmn-js/dist/assets/dmn-js-literal-expression.css": "dmn/dmn-js-literal-expression.css",
  "dmn-js/dist/assets/dmn-font/css/dmn.css": "dmn/dmn-font/css/dmn.css",
  "dmn-js/dist/assets/dmn-font/font": "dmn/dmn-font/font",
  "chart.js/dist/chart.umd.js": "chart.umd.js",
  "axe-core/axe.min.js": "axe.min.js",
};
mkdirSync(out, { recursive: true });
for (const [src, dst] of Object.entries(files)) {
  mkdirSync(dirname(join(out, dst)), { recursive: true });
  cpSync(join(root, "node_modules", src), join(out, dst), { recursive: true });
}
const { build } = await import("esbuild");
await build({
  entryPoints: [join(root, "frontend", "designer", "modeler.js")], bundle: true, minify: true,
  format: "iife", target: "es2019", outfile: join(out, "designer-modeler.min.js"), logLevel: "warning",
  legalComments: "eof",
});
console.log(`vendored ${Object.keys(files).length} files into app/static/vendor`);
