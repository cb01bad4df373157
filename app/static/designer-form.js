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
