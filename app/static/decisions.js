// The head's batch decision: sortable columns and a live quota counter (docs/regulation.md).
// Without JavaScript the table keeps the server's order and the form posts as it is; the server checks
// the quota again either way. The numbers and texts come from data- attributes the server renders.
(function () {
  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (all, key) { return key in values ? String(values[key]) : all; });
  }

  // ---------------------------------------------------------------------------------- the counter
  function liveQuota(batch) {
    var d = batch.dataset;
    var form = batch.querySelector("form");
    var counter = batch.querySelector(".quota");
    var count = counter.querySelector(".quota-count");
    var cap = counter.querySelector(".quota-cap");
    var basis = counter.querySelector(".quota-basis");
    var warning = counter.querySelector(".quota-warning");
    var warningText = counter.querySelector(".quota-warning-text");
    var hint = form.querySelector(".submit-hint");
    var button = form.querySelector("button[type=submit]");
    var reason = form.querySelector(".exceptional-reason");
    var shareOfB = d.rule === "share_of_b";

    function level(row) {
      var select = row.querySelector("select");
      return (select && select.value) || row.getAttribute("data-level");
    }

    function state() {
      // as quota.enforce counts: records decided before keep their level, the ticked rows
      // take the chosen one, unticked rows count as neither A nor B
      var a = Number(d.othersA), b = Number(d.othersB);
      batch.querySelectorAll("tbody tr").forEach(function (row) {
        if (!row.querySelector("input[name=instance_id]").checked) return;
        var lv = level(row);
        if (lv === "A") a += 1;
        else if (lv === "B") b += 1;
      });
      // a month marked exceptional stays so for every later decision; else the reason typed marks it
      var exceptional = d.marked === "true" || !!(reason && reason.value.trim());
      var share = Number(exceptional ? d.exceptionalShare : d.share);
      var max;
      if (shareOfB) max = Math.floor(b * share + 1e-9);                  // Decree 335: 20 % of the B's
      else max = Number(exceptional ? d.capExceptional : d.cap);         // 30 % (40 %) of those evaluated
      return {a: a, b: b, cap: max, share: Math.round(share * 100), exceeded: a > max};
    }

    function update() {
      var s = state();
      count.textContent = s.a;
      cap.textContent = s.cap;
      basis.textContent = fill(d.basis, {share: s.share, n: shareOfB ? s.b : d.evaluated});
      counter.classList.toggle("quota-over", s.exceeded);
      warning.hidden = !s.exceeded;
      warningText.textContent = s.exceeded ? fill(d.warning, {count: s.a, cap: s.cap}) : "";
      hint.hidden = !s.exceeded;
      hint.textContent = s.exceeded ? fill(d.refusal, {count: s.a, cap: s.cap}) : "";
      button.classList.toggle("over-quota", s.exceeded);
      batch.setAttribute("data-exceeded", s.exceeded ? "true" : "false");
    }

    form.addEventListener("change", update);
    form.addEventListener("input", update);
    update();
  }

  // ---------------------------------------------------------------------------------- sorting
  function sortable(batch) {
    var table = batch.querySelector("table");
    var body = table.tBodies[0];
    var headers = table.querySelectorAll("th[data-sort-key]");
    var collator = window.Intl ? new Intl.Collator(document.documentElement.lang || "vi") : null;
    // Ties keep the server's order (unit, then name), whatever was clicked before: the same click
    // always gives the same rows in the same order.
    Array.prototype.forEach.call(body.rows, function (row, i) { row.setAttribute("data-order", String(i)); });
    var remembered = "decision-sort:" + (batch.id || "") + ":" + location.pathname;

    function key(row, index, type) {
      var raw = row.cells[index + 1].getAttribute("data-sort") || "";
      if (raw === "") return null;                      // no value: always last
      return type === "number" ? parseFloat(raw) : raw;
    }

    function compare(x, y, type) {
      if (type === "number") return x - y;
      return collator ? collator.compare(x, y) : (x < y ? -1 : x > y ? 1 : 0);
    }

    headers.forEach(function (th) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "sort";
      button.textContent = th.textContent.trim();
      var icon = document.createElement("span");     // ↕ ▲ ▼ from the CSS; aria-sort says it in words
      icon.className = "sort-icon";
      icon.setAttribute("aria-hidden", "true");
      button.appendChild(icon);
      th.textContent = "";
      th.appendChild(button);
      button.addEventListener("click", function () {
        var index = Number(th.getAttribute("data-sort-key"));
        var type = th.getAttribute("data-sort-type");
        var ascending = th.getAttribute("aria-sort") !== "ascending";
        var rows = Array.prototype.slice.call(body.rows).map(function (row) {
          return {row: row, key: key(row, index, type), position: Number(row.getAttribute("data-order"))};
        });
        rows.sort(function (x, y) {
          if (x.key === null || y.key === null) {
            if (x.key === y.key) return x.position - y.position;
            return x.key === null ? 1 : -1;
          }
          var c = compare(x.key, y.key, type);
          return (ascending ? c : -c) || x.position - y.position;
        });
        rows.forEach(function (r) { body.appendChild(r.row); });
        // aria-sort on the sorted column only (screen readers announce it with the header)
        headers.forEach(function (other) { if (other !== th) other.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        // a refused batch comes back sorted as the head left it
        try { sessionStorage.setItem(remembered, index + ":" + (ascending ? "a" : "d")); } catch (e) { /* private mode */ }
      });
    });
    var saved = null;
    try { saved = sessionStorage.getItem(remembered); } catch (e) { saved = null; }
    if (saved) {
      var parts = saved.split(":");
      var th = table.querySelector('th[data-sort-key="' + parts[0] + '"]');
      if (th) {
        var button = th.querySelector("button.sort");
        button.click();
        if (parts[1] === "d") button.click();
      }
    }
  }

  document.querySelectorAll(".decision-batch").forEach(function (batch) {
    liveQuota(batch);
    sortable(batch);
  });
})();
