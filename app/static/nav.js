// The header menu folds behind one button on narrow screens. Without JavaScript it simply stays open.
(function () {
  document.documentElement.classList.add("js");
  document.addEventListener("DOMContentLoaded", function () {
    var button = document.querySelector(".nav-toggle");
    var menu = document.getElementById("site-menu");
    if (!button || !menu) return;
    button.addEventListener("click", function () {
      var open = button.getAttribute("aria-expanded") !== "true";
      button.setAttribute("aria-expanded", open ? "true" : "false");
      menu.classList.toggle("open", open);
    });
  });
})();

// A file input sits visually hidden behind its label (app.css: the browser's own "No file chosen" speaks
// the browser's language); the span beside it says which file was chosen, or the page's "none" again.
(function () {
  document.addEventListener("change", function (event) {
    var input = event.target;
    if (!input.classList || !input.classList.contains("file-input")) return;
    var shown = input.parentNode.querySelector(".file-name");
    if (!shown) return;
    var names = Array.prototype.map.call(input.files || [], function (f) { return f.name; });
    shown.textContent = names.length ? names.join(", ") : shown.getAttribute("data-empty");
  });
})();
