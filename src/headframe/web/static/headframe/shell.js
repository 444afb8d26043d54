/* headframe shell: irreversible actions ask first.
   A form with data-confirm="question" opens the page's <dialog id="confirm-dialog"> on submit and goes ahead
   only on "yes". data-confirm-when="field=value" asks only when that field holds that value (a directive
   marked done). Static file, no inline script: the Content-Security-Policy allows 'self' only. */
(function () {
  "use strict";

  function needsAsking(form) {
    var when = form.getAttribute("data-confirm-when");
    if (!when) return true;
    var parts = when.split("=");
    var field = form.elements[parts[0]];
    return !!field && field.value === parts[1];
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-confirm")) return;
    if (form.dataset.confirmed === "1" || !needsAsking(form)) return;
    var dialog = document.getElementById("confirm-dialog");
    if (!dialog || typeof dialog.showModal !== "function") return; // no dialog support: the server decides
    event.preventDefault();
    var submitter = event.submitter || null;
    dialog.querySelector("#confirm-text").textContent = form.getAttribute("data-confirm");
    dialog.returnValue = "";
    dialog.addEventListener(
      "close",
      function () {
        if (dialog.returnValue !== "ok") return;
        form.dataset.confirmed = "1";
        if (typeof form.requestSubmit === "function") form.requestSubmit(submitter);
        else form.submit();
      },
      { once: true }
    );
    dialog.showModal();
  });
})();
