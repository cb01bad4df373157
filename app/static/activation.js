// The mailed link carries its code after '#', which browsers never send to the server (so it stays out
// of access logs): move it into the form and drop it from the address bar and history.
(function () {
  var field = document.getElementById("code");
  var code = window.location.hash.replace(/^#/, "");
  if (field && code && !field.value) {
    field.value = decodeURIComponent(code);
    history.replaceState(null, "", window.location.pathname + window.location.search);
    var next = document.getElementById("new");
    if (next) next.focus();
  }
})();
