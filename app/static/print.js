// The evaluation sheet's "print" button (no inline handler: the CSP allows scripts from 'self' only).
(function () {
  var button = document.getElementById("print-sheet");
  if (button) button.addEventListener("click", function () { window.print(); });
})();
