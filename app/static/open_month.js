// Open a month chunk by chunk with a progress bar (POST /months/open/step until it says finished).
// Without JavaScript the form posts normally and the server opens everything in one request.
(function () {
  var form = document.getElementById("open-month-form");
  if (!form || !window.fetch) return;
  var box = document.getElementById("open-progress-box");
  var bar = document.getElementById("open-progress");
  var status = document.getElementById("open-status");
  var errorBox = document.getElementById("open-error");
  var button = form.querySelector("button[type=submit]");
  var token = form.querySelector("input[name=csrf_token]").value;
  var english = document.documentElement.lang === "en";

  // The texts come from the page (data-text-*, in its language) with {name} placeholders.
  function text(name, values, fallback) {
    var t = form.getAttribute("data-text-" + name) || fallback;
    Object.keys(values || {}).forEach(function (k) { t = t.split("{" + k + "}").join(String(values[k])); });
    return t;
  }

  function showResult(period, p) {
    var old = document.getElementById("open-result");
    if (old) old.remove();
    var result = document.createElement("p");
    result.className = "flash flash-success";
    result.setAttribute("role", "status");
    result.id = "open-result";
    result.textContent = text("done", {period: period, started: p.started, skipped: p.skipped},
                              "Đã mở kỳ {period}: {started} hồ sơ mới, {skipped} đã có từ trước.");
    form.parentNode.insertBefore(result, form);
  }

  // A refusal that names a field (a bad period, an unknown unit) is said next to that field; the
  // progress area goes away, so nothing is left saying "Opening…".
  function clearFieldErrors() {
    ["period", "unit"].forEach(function (name) {
      var field = form.querySelector("[name=" + name + "]");
      var box = document.getElementById(name + "-error");
      if (field) field.removeAttribute("aria-invalid");
      if (box) { box.hidden = true; box.textContent = ""; }
    });
  }

  function fail(message, details) {
    var placed = false;
    (details || []).forEach(function (d) {
      var field = d && d.field ? form.querySelector("[name=" + d.field + "]") : null;
      var box = d && d.field ? document.getElementById(d.field + "-error") : null;
      if (!field || !box) return;
      box.textContent = english ? (d.message_en || d.message) : d.message;
      box.hidden = false;
      field.setAttribute("aria-invalid", "true");
      if (!placed) field.focus();
      placed = true;
    });
    if (!placed) {
      errorBox.textContent = message;
      errorBox.hidden = false;
    }
    box.hidden = true;
    status.textContent = "";
    button.disabled = false;
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var period = form.querySelector("[name=period]").value;
    var body = {unit: form.querySelector("[name=unit]").value, period: period,
                include_subunits: form.querySelector("[name=include_subunits]").checked,
                after: 0, done: 0, started: 0, skipped: 0};
    errorBox.hidden = true;
    clearFieldErrors();
    button.disabled = true;
    box.hidden = false;
    bar.value = 0;
    status.textContent = text("running", null, "Đang mở kỳ…");
    var old = document.getElementById("open-result");
    if (old) old.remove();

    function step() {
      fetch(form.getAttribute("data-step-url"), {
        method: "POST", credentials: "same-origin",
        headers: {"Content-Type": "application/json", "X-CSRFToken": token},
        body: JSON.stringify(body)
      }).then(function (resp) {
        return resp.json().then(function (data) { return {ok: resp.ok, data: data}; });
      }).then(function (r) {
        if (!r.ok) {
          var message = r.data.message || text("error", null, "Lỗi");
          fail(english ? (r.data.message_en || message) : message, r.data.details);
          return;
        }
        var p = r.data;
        body.after = p.after; body.done = p.done; body.started = p.started; body.skipped = p.skipped;
        bar.max = Math.max(p.total, 1);
        bar.value = Math.min(p.done, bar.max);
        status.textContent = text("progress", {done: p.done, total: p.total, started: p.started, skipped: p.skipped},
                                  "{done}/{total} người — {started} hồ sơ mới, {skipped} đã có");
        if (p.finished) {
          bar.value = bar.max;
          button.disabled = false;
          showResult(period, p);
        } else {
          step();
        }
      }).catch(function () {
        fail(text("lost", null, "Mất kết nối; bấm “Mở kỳ” để tiếp tục (những người đã mở được giữ nguyên)."));
      });
    }
    step();
  });
})();
