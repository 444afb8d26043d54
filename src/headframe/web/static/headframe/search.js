// The top bar's search box: "/" or Ctrl+K (Cmd+K) focuses it, Escape closes the drop-down. No inline script (CSP).
(function () {
  "use strict";
  function box() { return document.getElementById("topsearch-q"); }
  function results() { return document.getElementById("topsearch-results"); }
  function typing(el) {
    if (!el) return false;
    var tag = el.tagName;
    return el.isContentEditable || tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT";
  }
  document.addEventListener("keydown", function (ev) {
    var input = box();
    if (!input) return;
    var ctrlK = (ev.ctrlKey || ev.metaKey) && (ev.key === "k" || ev.key === "K");
    if (ctrlK || (ev.key === "/" && !ev.ctrlKey && !ev.metaKey && !ev.altKey && !typing(document.activeElement))) {
      ev.preventDefault();
      input.focus();
      input.select();
    } else if (ev.key === "Escape" && document.activeElement === input) {
      var r = results();
      if (r) r.innerHTML = "";
      input.blur();
    }
  });
  document.addEventListener("click", function (ev) {
    var r = results();
    if (r && !ev.target.closest(".topsearch")) r.innerHTML = "";
  });
})();
