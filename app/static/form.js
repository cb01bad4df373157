// Running total while scores are typed: criteria + bonus - deductions, capped at 100.
(function () {
  var form = document.getElementById("task-form");
  if (!form) return;
  var english = document.documentElement.lang === "en";  // 89.5 in English, 89,5 in Vietnamese
  function num(v) { var n = parseFloat(String(v || "").replace(",", ".")); return isNaN(n) ? 0 : n; }
  function update() {
    var sum = 0, any = false;
    form.querySelectorAll("input[data-criterion]").forEach(function (el) {
      if (el.value !== "") any = true;
      sum += Math.min(num(el.value), num(el.getAttribute("data-max")));
    });
    var bonus = form.querySelector("input[name='bonus']");
    if (bonus) sum += num(bonus.value);
    form.querySelectorAll("input[name^='deductions['][name$='[points]']").forEach(function (el) { sum -= num(el.value); });
    sum = Math.max(0, Math.min(100, sum));
    form.querySelectorAll("output.running-total").forEach(function (out) {
      out.textContent = any ? (english ? String(sum) : String(sum).replace(".", ",")) : "—";
    });
  }
  form.addEventListener("input", update);
  update();

  // Fields shown only for some answers (data-show-when, from x-show-when): hidden and not sent otherwise.
  var conditional = form.querySelectorAll("[data-show-when]");
  function current(name) {
    var els = form.querySelectorAll("[name='" + name + "']"), value;
    els.forEach(function (el) {
      if (el.type === "checkbox") value = el.checked;
      else if (el.type === "radio") { if (el.checked) value = el.value; }
      else value = el.value;
    });
    return value;
  }
  function toggle() {
    conditional.forEach(function (el) {
      var when;
      try { when = JSON.parse(el.getAttribute("data-show-when")); } catch (e) { return; }
      var show = Object.keys(when).every(function (k) {
        var want = when[k];
        return (want !== null && typeof want === "object") || String(current(k)) === String(want);
      });
      el.hidden = !show;
      el.querySelectorAll("input, select, textarea").forEach(function (c) { c.disabled = !show; });
    });
  }
  if (conditional.length) { form.addEventListener("change", toggle); toggle(); }

  // After a refused submission, take the reader to the list of errors.
  var summary = form.querySelector(".error-summary");
  if (summary) summary.focus();
})();

// Autosave: what is typed goes to the server a few seconds after the last change, so a dropped
// connection or a closed tab loses nothing; the draft is restored when the task is opened again.
(function () {
  var form = document.getElementById("task-form");
  var status = document.getElementById("draft-status");
  if (!form || !form.dataset.draftUrl || !window.fetch) return;
  var timer = null, dirty = false, english = document.documentElement.lang === "en";
  function save() {
    if (!dirty) return;
    dirty = false;
    fetch(form.dataset.draftUrl, { method: "POST", body: new FormData(form), credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (d) {
        var t = new Date(d.saved_at);
        if (status) status.textContent = (form.dataset.savedText || "Đã lưu nháp lúc") + " " +
          t.toLocaleTimeString(english ? "en-GB" : "vi-VN", { hour: "2-digit", minute: "2-digit" });
      })
      .catch(function () { dirty = true; if (status) status.textContent = form.dataset.retryText || "Chưa lưu được nháp — sẽ thử lại."; });
  }
  form.addEventListener("input", function () { dirty = true; clearTimeout(timer); timer = setTimeout(save, 2000); });
  form.addEventListener("submit", function () { clearTimeout(timer); dirty = false; });
  window.addEventListener("online", save);  // what failed to save while offline goes as soon as we are back
})();
