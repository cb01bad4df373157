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
})();
