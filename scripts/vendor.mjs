// Copy the built files the app serves from node_modules into app/static/vendor.
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
  "chart.js/dist/chart.umd.js": "chart.umd.js",
  "axe-core/axe.min.js": "axe.min.js",
};
mkdirSync(out, { recursive: true });
for (const [src, dst] of Object.entries(files)) {
  mkdirSync(dirname(join(out, dst)), { recursive: true });
  cpSync(join(root, "node_modules", src), join(out, dst));
}
console.log(`vendored ${Object.keys(files).length} files into app/static/vendor`);
