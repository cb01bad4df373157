// Running total while scores are typed: criteria + bonus - deductions, capped at 100.
(function () {
  var form = document.getElementById("task-form");
  if (!form) return;
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
      out.textContent = any ? String(sum).replace(".", ",") : "—";
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
