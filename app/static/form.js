// Running totals while scores are typed: each group's subtotal and the total (criteria + bonus -
// deductions, capped at 100), each criterion counted up to its maximum as the server counts it. A number
// outside its limits is flagged at once, next to its field, in the page's language ("4,5" and "4.5" both
// read as four and a half; the server checks everything again).
(function () {
  var form = document.getElementById("task-form");
  if (!form) return;
  var english = document.documentElement.lang === "en";  // 89.5 in English, 89,5 in Vietnamese
  function parse(v) {
    var text = String(v || "").trim().replace(",", ".");
    if (text === "") return null;
    return /^-?\d+(\.\d+)?$/.test(text) ? parseFloat(text) : NaN;
  }
  function num(v) { var n = parse(v); return n === null || isNaN(n) ? 0 : n; }
  function show(n) {
    var text = String(Math.round(n * 100) / 100);
    return english ? text : text.replace(".", ",");
  }
  function fill(template, values) {
    return String(template || "").replace(/\{(\w+)\}/g, function (_, k) { return values[k] === undefined ? "" : values[k]; });
  }
  function check(el) {
    var value = parse(el.value), message = "";
    var lo = el.getAttribute("data-min"), hi = el.getAttribute("data-max");
    if (value !== null) {
      if (isNaN(value)) message = form.dataset.textNotNumber;
      else if (hi !== null && value > parseFloat(hi)) message = fill(form.dataset.textOverMax, { max: show(parseFloat(hi)) });
      else if (lo !== null && value < parseFloat(lo)) message = fill(form.dataset.textUnderMin, { min: show(parseFloat(lo)) });
    }
    var live = document.getElementById(el.id + "-live");
    // once the person edits the field, the server's error about the old value no longer holds
    var served = document.getElementById(el.id + "-error");
    if (served && el.dataset.edited) served.hidden = true;
    if (message) {
      if (!live) {
        live = document.createElement("p");
        live.id = el.id + "-live";
        live.className = "field-error live-error";
        live.setAttribute("role", "alert");
        el.insertAdjacentElement("afterend", live);
        el.setAttribute("aria-describedby", ((el.getAttribute("aria-describedby") || "") + " " + live.id).trim());
      }
      live.textContent = message;
      el.setAttribute("aria-invalid", "true");
    } else if (live) {
      live.remove();
      el.setAttribute("aria-describedby", (el.getAttribute("aria-describedby") || "").replace(el.id + "-live", "").trim());
      el.removeAttribute("aria-invalid");
    }
  }
  function update() {
    var sum = 0, any = false, groups = {};
    form.querySelectorAll("input[data-criterion]").forEach(function (el) {
      if (el.value !== "") any = true;
      var hi = el.getAttribute("data-max");
      var counted = Math.max(0, hi === null ? num(el.value) : Math.min(num(el.value), parseFloat(hi)));
      sum += counted;
      var g = el.getAttribute("data-group") || "";
      groups[g] = (groups[g] || 0) + counted;
    });
    form.querySelectorAll("output.running-subtotal").forEach(function (out) {
      var value = groups[out.getAttribute("data-group") || ""] || 0;
      out.textContent = show(value);
      var over = value > parseFloat(out.getAttribute("data-max") || "Infinity");
      out.closest(".group-total").classList.toggle("over", over);
    });
    var bonus = form.querySelector("input[name='bonus']");
    if (bonus) sum += num(bonus.value);
    form.querySelectorAll("input[name^='deductions['][name$='[points]']").forEach(function (el) { sum -= num(el.value); });
    sum = Math.max(0, Math.min(100, sum));
    form.querySelectorAll("output.running-total").forEach(function (out) {
      out.textContent = any ? show(sum) : "—";
    });
  }
  form.addEventListener("input", function (event) {
    if (event.target.classList && event.target.classList.contains("num-input")) {
      event.target.dataset.edited = "true";
      check(event.target);
    }
    update();
  });
  // a value the server already refused keeps the server's message until it is edited
  form.querySelectorAll("input.num-input").forEach(function (el) {
    if (el.value !== "" && !document.getElementById(el.id + "-error")) check(el);
  });
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
    var body = new FormData(form);
    // a chosen photo is not part of the draft: it goes with its own upload button
    form.querySelectorAll("input[type=file][name]").forEach(function (input) { body.delete(input.name); });
    fetch(form.dataset.draftUrl, { method: "POST", body: body, credentials: "same-origin",
                                   headers: { "Accept": "application/json" } })
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

// Rows of a list the person fills (the month's plan items): add a row, or remove one. A new row is a
// copy of the last one with its inputs emptied and renumbered; a removed row is emptied and hidden, and
// an empty row is never sent.
(function () {
  var form = document.getElementById("task-form");
  if (!form) return;
  function renumber(row, name, from, to) {
    var old = name + "[" + from + "]", neu = name + "[" + to + "]";
    var oldId = old.replace(/[^A-Za-z0-9_]+/g, "-"), newId = neu.replace(/[^A-Za-z0-9_]+/g, "-");
    row.querySelectorAll("*").forEach(function (el) {
      ["name", "data-field", "data-remove-row"].forEach(function (a) {
        var v = el.getAttribute(a);
        if (v && v.indexOf(old) === 0) el.setAttribute(a, neu + v.slice(old.length));
      });
      // the evidence upload button names the row's evidence field in its value
      if (el.name === "attach" && el.value.indexOf(old) === 0) el.value = neu + el.value.slice(old.length);
      ["id", "for", "aria-describedby", "aria-labelledby"].forEach(function (a) {
        var v = el.getAttribute(a);
        if (v) el.setAttribute(a, v.split(oldId).join(newId));
      });
    });
    row.id = (row.id || "").split(oldId).join(newId);
    row.setAttribute("data-row", to);
  }
  form.addEventListener("click", function (event) {
    var add = event.target.closest("[data-add-row]");
    var remove = event.target.closest("[data-remove-row]");
    if (add) {
      var name = add.getAttribute("data-add-row");
      var box = add.parentElement.querySelector(".array-rows");
      var rows = box.querySelectorAll(".array-row");
      var last = rows[rows.length - 1];
      var next = 0;
      rows.forEach(function (r) { next = Math.max(next, Number(r.getAttribute("data-row")) + 1); });
      var copy = last.cloneNode(true);
      copy.hidden = false;
      copy.querySelectorAll(".field-error, .live-error, .evidence-attached").forEach(function (e) { e.remove(); });
      copy.querySelectorAll(".file-name").forEach(function (e) { e.textContent = e.getAttribute("data-empty"); });
      copy.querySelectorAll("input, textarea, select").forEach(function (el) {
        if (el.type === "checkbox" || el.type === "radio") el.checked = false; else el.value = "";
        el.removeAttribute("aria-invalid");
        el.removeAttribute("readonly");      // a new row is typed in full
      });
      renumber(copy, name, last.getAttribute("data-row"), next);
      var legend = copy.querySelector("legend");
      if (legend) legend.textContent = legend.textContent.replace(/\d+/, String(next + 1));
      box.appendChild(copy);
      var first = copy.querySelector("input:not([type=hidden]), textarea");
      if (first) first.focus();
    } else if (remove) {
      var row = remove.closest(".array-row");
      row.querySelectorAll("input, textarea, select").forEach(function (el) {
        if (el.type === "checkbox" || el.type === "radio") el.checked = false; else el.value = "";
      });
      row.hidden = true;
      var addButton = row.closest("[data-array]").querySelector("[data-add-row]");
      if (addButton) addButton.focus();
    }
  });
})();

// An item's evidence upload button is the form's first submit button, so Enter in a field would press
// it: without a photo or file chosen in its row it sends nothing (the server would say so).
(function () {
  var form = document.getElementById("task-form");
  if (!form) return;
  form.addEventListener("submit", function (event) {
    var button = event.submitter;
    if (!button || !button.classList.contains("evidence-attach")) return;
    var box = button.closest(".field-evidence");
    var chosen = Array.prototype.some.call(box ? box.querySelectorAll("input[type=file]") : [],
      function (input) { return input.files && input.files.length > 0; });
    if (!chosen) event.preventDefault();
  });
})();
