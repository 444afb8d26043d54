// Inspection form on a slow or intermittent mine network: every change is kept as a draft in localStorage,
// restored when the page is opened again, and the form is only sent when the browser is online (if it is
// offline, the submit waits and goes as soon as the connection is back). No inline script (CSP 'self').
(function () {
  "use strict";
  var form = document.querySelector("form[data-draft-key]");
  if (!form) return;
  var key = form.getAttribute("data-draft-key");
  var status = document.querySelector("[data-net-status]");
  var note = document.querySelector("[data-draft-note]");
  var pending = null;

  function fields() {
    return Array.prototype.filter.call(form.elements, function (el) {
      return el.name && el.name.indexOf("a-") === 0;
    });
  }
  function save() {
    var data = {};
    fields().forEach(function (el) {
      if (el.type === "radio") { if (el.checked) data[el.name] = el.value; }
      else data[el.name] = el.value;
    });
    try { localStorage.setItem(key, JSON.stringify({ at: Date.now(), data: data })); } catch (e) { /* full */ }
    if (note) note.hidden = false;
  }
  function restore() {
    var raw = null;
    try { raw = localStorage.getItem(key); } catch (e) { return; }
    if (!raw || form.hasAttribute("data-has-errors")) return;
    var draft = JSON.parse(raw);
    var restored = 0;
    fields().forEach(function (el) {
      if (!(el.name in draft.data)) return;
      var value = draft.data[el.name];
      if (el.type === "radio") {
        if (el.value === value && !el.checked) { el.checked = true; restored++; }
      } else if (el.value !== value) { el.value = value; restored++; }
    });
    if (restored && note) { note.hidden = false; }
  }
  function showStatus() {
    if (!status) return;
    var online = navigator.onLine;
    status.textContent = online ? status.getAttribute("data-online") : status.getAttribute("data-offline");
    status.classList.toggle("offline", !online);
  }
  form.addEventListener("change", save);
  form.addEventListener("input", save);
  form.addEventListener("submit", function (event) {
    save();
    if (!navigator.onLine) {
      event.preventDefault();
      pending = event.submitter || null;
      showStatus();
    }
  });
  window.addEventListener("online", function () {
    showStatus();
    if (pending !== null) {
      var button = pending; pending = null;
      if (form.requestSubmit) form.requestSubmit(button); else form.submit();
    }
  });
  window.addEventListener("offline", showStatus);
  // A page that shows the server's saved answers after a successful save clears the draft it came from.
  if (form.hasAttribute("data-saved")) { try { localStorage.removeItem(key); } catch (e) { /* ignore */ } }
  else restore();
  showStatus();
})();
