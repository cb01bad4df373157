// Evidence upload on the record page: say "too large" before a phone sends 30 MB over a slow link
// (the server checks again, with the same limit).
(function () {
  document.querySelectorAll('input[type=file][data-max-bytes]').forEach(function (input) {
    input.addEventListener('change', function () {
      var max = parseInt(input.dataset.maxBytes, 10);
      var file = input.files && input.files[0];
      var message = file && file.size > max ? (document.getElementById('evidence-file').dataset.tooLarge || '') : '';
      input.setCustomValidity(message);
      if (message) { input.reportValidity(); }
    });
  });
})();
