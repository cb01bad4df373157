// Draw the instance's own BPMN version with bpmn-js and mark completed, active, overdue and failed elements.
// The diagram sits behind a summary on a person's own record: it is drawn when first opened (bpmn-js
// cannot fit a diagram into a hidden box).
(function () {
  var el = document.getElementById("diagram");
  if (!el || !window.BpmnJS) return;
  var holder = el.closest("details");
  if (holder && !holder.open) {
    holder.addEventListener("toggle", function once() {
      if (!holder.open) return;
      holder.removeEventListener("toggle", once);
      draw();
    });
    return;
  }
  draw();
  function draw() {
  fetch(el.getAttribute("data-src"), { credentials: "same-origin" })
    .then(function (r) { return r.json(); })
    .then(function (d) {
      var viewer = new window.BpmnJS({ container: el });
      return viewer.importXML(d.xml).then(function () {
        var canvas = viewer.get("canvas"), registry = viewer.get("elementRegistry");
        canvas.zoom("fit-viewport");
        d.completed.forEach(function (id) { if (registry.get(id)) canvas.addMarker(id, "done"); });
        d.active.forEach(function (id) { if (registry.get(id)) canvas.addMarker(id, "active"); });
        (d.overdue || []).forEach(function (id) { if (registry.get(id)) canvas.addMarker(id, "overdue"); });
        (d.error || []).forEach(function (id) { if (registry.get(id)) canvas.addMarker(id, "error"); });
        el.setAttribute("data-loaded", "true");
      });
    })
    .catch(function (err) { el.textContent = (document.documentElement.lang === "en" ? "The diagram could not be drawn: " : "Không vẽ được sơ đồ: ") + err; });
  }
})();
