// Moving instances to a new version, batch by batch, with a progress bar: each batch is one request
// (the server audits it with its place in the run), so a thousand instances never wait on one request
// and the designer sees how far it got. Without JavaScript the form posts once and the server batches.
(function () {
  "use strict";
  var form = document.getElementById("migrate-form");
  if (!form || !window.fetch || !window.FormData) return;
  var box = document.getElementById("migration-progress");
  var bar = document.getElementById("migration-bar");
  var statusEl = document.getElementById("migration-status");
  var list = document.getElementById("migration-batch-results");
  var EN = document.documentElement.lang === "en";
  var size = Math.max(1, parseInt(form.getAttribute("data-batch"), 10) || 50);

  function show(done, total, moved) {
    bar.max = Math.max(total, 1);
    bar.value = done;
    statusEl.textContent = statusEl.getAttribute("data-text")
      .replace("{done}", done).replace("{total}", total).replace("{moved}", moved);
  }

  form.addEventListener("submit", function (event) {
    var ids = Array.prototype.map.call(form.querySelectorAll('input[name="instance"]:checked'),
      function (box) { return box.value; });
    if (!ids.length) return;   // the server says that nothing was chosen
    event.preventDefault();
    var button = form.querySelector('button[type="submit"]');
    button.disabled = true;
    box.hidden = false;
    list.innerHTML = "";
    var done = 0, moved = 0;
    show(0, ids.length, 0);

    function next() {
      if (done >= ids.length) {
        form.setAttribute("data-finished", "true");
        button.disabled = false;
        return Promise.resolve();
      }
      var batch = ids.slice(done, done + size);
      var data = new FormData();
      Array.prototype.forEach.call(form.querySelectorAll('input[type="hidden"]'), function (input) {
        data.append(input.name, input.value);
      });
      batch.forEach(function (id) { data.append("instance", id); });
      data.append("done", String(done));
      data.append("total", String(ids.length));
      return fetch(form.getAttribute("action") || window.location.href, {
        method: "POST", credentials: "same-origin", body: data, headers: { "Accept": "application/json" }
      }).then(function (r) {
        if (!r.ok) throw new Error(String(r.status));
        return r.json();
      }).then(function (body) {
        (body.results || []).forEach(function (r) {
          var row = form.querySelector('tr[data-instance="' + r.id + '"]');
          if (row) row.setAttribute("data-moved", r.moved ? "yes" : "no");
          if (r.moved) {
            moved += 1;
            var check = row && row.querySelector('input[name="instance"]');
            if (check) { check.checked = false; check.disabled = true; }
            return;
          }
          var li = document.createElement("li");
          li.className = "diff-removed";
          li.textContent = "#" + r.id + ": " + ((EN && r.message_en) || r.message || "");
          list.appendChild(li);
        });
        done += batch.length;
        show(done, ids.length, moved);
        return next();
      });
    }

    next().catch(function () {
      statusEl.textContent = statusEl.getAttribute("data-failed");
      button.disabled = false;
    });
  });
})();
