// Inspection form on a slow or intermittent mine network. It never loses work:
// - every change is kept at once as a draft in localStorage, marked "unsent" until the server has it;
// - when online, answers are sent in the background (fetch, no navigation) shortly after each change, and the
//   draft is marked sent only when the server confirmed exactly what is on the screen;
// - offline, the draft waits; when the connection is back it is sent again;
// - a reopened page puts back an unsent draft and sends it;
// - a photo (on any item) goes by XMLHttpRequest with a progress bar, after the answers are saved, and never
//   reloads the page; offline, it waits on the tablet (IndexedDB) and is sent when the connection is back;
// - the signature is drawn on a canvas and sent with "Sign" as a PNG data URL.
// No inline script (CSP 'self').
(function () {
  "use strict";
  var form = document.querySelector("form[data-draft-key]");
  if (!form) return;
  var key = form.getAttribute("data-draft-key");
  var editable = form.hasAttribute("data-editable");
  var autosaveUrl = form.getAttribute("data-autosave-url");
  var photoUrl = form.getAttribute("data-photo-url");
  var status = document.querySelector("[data-net-status]");
  var note = document.querySelector("[data-draft-note]");
  var sync = document.querySelector("[data-sync-state]");
  var progress = document.querySelector("[data-progress]");
  var pending = null;
  var timer = null;
  var inFlight = null;
  var again = false;

  function csrf() {
    var el = form.querySelector("input[name=csrfmiddlewaretoken]");
    return el ? el.value : "";
  }
  function fields() {
    return Array.prototype.filter.call(form.elements, function (el) {
      return el.name && el.name.indexOf("a-") === 0;
    });
  }
  function snapshot() {
    var data = {};
    fields().forEach(function (el) {
      if (el.type === "radio") { if (el.checked) data[el.name] = el.value; }
      else data[el.name] = el.value;
    });
    return data;
  }
  function same(a, b) { return JSON.stringify(a) === JSON.stringify(b); }
  function readDraft() {
    try { var raw = localStorage.getItem(key); return raw ? JSON.parse(raw) : null; } catch (e) { return null; }
  }
  function writeDraft(data, unsent) {
    try { localStorage.setItem(key, JSON.stringify({ at: Date.now(), data: data, unsent: unsent })); }
    catch (e) { /* storage full: the server copy is the only one */ }
  }
  function setSync(state) {
    if (!sync) return;
    sync.setAttribute("data-state", state);
    sync.textContent = sync.getAttribute("data-" + state) || "";
  }
  function saveLocal() {
    var draft = readDraft();
    var data = snapshot();
    if (draft && !draft.unsent && same(draft.data, data)) return;
    writeDraft(data, true);
    if (note) note.hidden = false;
    setSync("unsent");
  }

  // --- the counter: items answered / all items ---------------------------------------------------------------
  function countAnswered() {
    var answered = 0, total = 0;
    Array.prototype.forEach.call(form.querySelectorAll(".q"), function (q) {
      total++;
      var done = false;
      Array.prototype.forEach.call(q.querySelectorAll("input, textarea"), function (el) {
        if (!el.name || el.name.indexOf("a-") !== 0 || /-note$/.test(el.name)) return;
        if (el.type === "radio") { if (el.checked) done = true; }
        else if (el.value.trim() !== "") done = true;
      });
      if (!done && q.getAttribute("data-answer-type") === "photo" && q.querySelector(".photos img")) done = true;
      if (done) answered++;
    });
    return { answered: answered, total: total };
  }
  function showProgress() {
    if (!progress || !sync) return;
    var c = countAnswered();
    progress.setAttribute("data-answered", c.answered);
    progress.textContent = sync.getAttribute("data-progress-text")
      .replace("{answered}", c.answered).replace("{total}", c.total);
  }

  // --- errors next to the items ------------------------------------------------------------------------------
  function clearErrors() {
    Array.prototype.forEach.call(form.querySelectorAll("[data-error]"), function (el) {
      if (!el.hasAttribute("data-server-error")) { el.hidden = true; el.textContent = ""; }
    });
  }
  function showErrors(fieldsByCode) {
    Object.keys(fieldsByCode || {}).forEach(function (code) {
      var el = form.querySelector("[data-error='" + code + "']");
      if (el) { el.textContent = fieldsByCode[code]; el.hidden = false; }
    });
  }

  // --- sending answers in the background ---------------------------------------------------------------------
  function body(data) {
    var fd = new FormData();
    fd.append("csrfmiddlewaretoken", csrf());
    Object.keys(data).forEach(function (name) { fd.append(name, data[name]); });
    // An item answered before and emptied now is sent empty, so that the server forgets it too.
    fields().forEach(function (el) { if (!(el.name in data) && el.type !== "radio") fd.append(el.name, ""); });
    return fd;
  }
  function flush() {
    if (!editable || !autosaveUrl) return Promise.resolve(true);
    if (!navigator.onLine) return Promise.resolve(false);
    var draft = readDraft();
    if (!draft || !draft.unsent) return Promise.resolve(true);
    if (inFlight) { again = true; return inFlight; }
    var sent = draft.data;
    setSync("saving");
    inFlight = fetch(autosaveUrl, {
      method: "POST", body: body(sent), credentials: "same-origin",
      headers: { "X-CSRFToken": csrf(), "Accept": "application/json" }
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (json) {
        if (response.ok) {
          clearErrors();
          var now = readDraft();
          if (now && same(now.data, sent)) { writeDraft(sent, false); setSync("synced"); }
          return true;
        }
        clearErrors();
        showErrors(json.fields);
        setSync("failed");
        return false;
      });
    }, function () { setSync("unsent"); return false; }).then(function (ok) {
      inFlight = null;
      if (again) { again = false; return flush(); }
      return ok;
    });
    return inFlight;
  }
  function schedule() {
    if (timer) clearTimeout(timer);
    timer = setTimeout(function () { timer = null; flush(); }, 700);
  }
  function restore() {
    var draft = readDraft();
    if (!draft || form.hasAttribute("data-has-errors")) return;
    if (!draft.unsent) { try { localStorage.removeItem(key); } catch (e) { /* ignore */ } return; }
    fields().forEach(function (el) {
      if (!(el.name in draft.data)) return;
      var value = draft.data[el.name];
      if (el.type === "radio") { if (el.value === value) el.checked = true; }
      else el.value = value;
    });
    if (note) note.hidden = false;
    setSync("unsent");
  }

  // --- photos on any item, by XMLHttpRequest with progress ---------------------------------------------------
  // A photo chosen without a connection (or whose upload the network broke) waits in IndexedDB on the tablet,
  // shown in place as "waiting to be sent"; it is sent when the connection is back, also after a reload or
  // with the tablet switched off in between. A photo the server refuses (not an image, too large) is dropped
  // from the queue with the server's message in place.
  var QUEUE_DB = "headframe-inspection-photos", QUEUE = "photos";
  function queueDo(mode, op) {
    return new Promise(function (resolve, reject) {
      if (!window.indexedDB) { reject(new Error("no IndexedDB")); return; }
      var open = indexedDB.open(QUEUE_DB, 1);
      open.onupgradeneeded = function () { open.result.createObjectStore(QUEUE, { keyPath: "id", autoIncrement: true }); };
      open.onerror = function () { reject(open.error); };
      open.onsuccess = function () {
        var db = open.result, result;
        var tx = db.transaction(QUEUE, mode);
        var request = op(tx.objectStore(QUEUE));
        request.onsuccess = function () { result = request.result; };
        tx.oncomplete = function () { db.close(); resolve(result); };
        tx.onerror = tx.onabort = function () { db.close(); reject(tx.error); };
      };
    });
  }
  function queuePhoto(code, file) {
    return queueDo("readwrite", function (store) {
      return store.add({ inspection: key, item: code, file: file, name: file.name, at: Date.now() });
    });
  }
  function queuedPhotos() {
    return queueDo("readonly", function (store) { return store.getAll(); }).then(function (all) {
      return (all || []).filter(function (p) { return p.inspection === key; });
    });
  }
  function unqueue(id) { return queueDo("readwrite", function (store) { return store.delete(id); }); }

  function itemBox(code) { return document.querySelector("[data-photo-item='" + code + "']"); }
  function showPhoto(code, url) {
    var list = document.querySelector("[data-photos='" + code + "']");
    var a = document.createElement("a"); a.href = url;
    var img = document.createElement("img"); img.src = url; img.alt = code;
    a.appendChild(img); list.appendChild(a);
    showProgress();
  }
  function showQueued(code, file, id) {
    var list = document.querySelector("[data-photos='" + code + "']");
    if (!list) return;
    var wrap = document.createElement("span");
    wrap.className = "queued-photo";
    wrap.setAttribute("data-queued-photo", id);
    wrap.title = status ? status.getAttribute("data-photo-queued") : "";
    var img = document.createElement("img"); img.src = URL.createObjectURL(file); img.alt = code;
    wrap.appendChild(img); list.appendChild(wrap);
    showQueueNote();
  }
  function showQueueNote() {
    var waiting = document.querySelectorAll("[data-queued-photo]").length;
    var note = document.querySelector("[data-photo-queue]");
    if (!note) return;
    note.hidden = waiting === 0;
    note.textContent = (note.getAttribute("data-label") || "") + " " + waiting;
  }
  function showError(code, text) {
    var box = itemBox(code);
    var error = box && box.querySelector("[data-upload-error]");
    if (!error) return;
    error.textContent = text;
    error.hidden = !text;
  }
  // One photo to the server: resolves {status, json}; rejects when the network failed (nothing was answered).
  function send(code, file, onProgress) {
    return new Promise(function (resolve, reject) {
      var fd = new FormData();
      fd.append("csrfmiddlewaretoken", csrf());
      fd.append("action", "photo");
      fd.append("item", code);
      fd.append("photo", file, file.name || "photo");
      var xhr = new XMLHttpRequest();
      xhr.open("POST", photoUrl);
      xhr.setRequestHeader("X-CSRFToken", csrf());
      xhr.setRequestHeader("Accept", "application/json");
      xhr.upload.onprogress = function (e) { if (e.lengthComputable && onProgress) onProgress(e.loaded / e.total); };
      xhr.onload = function () {
        var json = {};
        try { json = JSON.parse(xhr.responseText); } catch (e) { /* not JSON */ }
        resolve({ status: xhr.status, statusText: xhr.statusText, json: json });
      };
      xhr.onerror = function () { reject(new Error("network")); };
      xhr.send(fd);
    });
  }
  function refusal(result) {
    var msgs = ((result.json && result.json.detail) || []).map(function (d) { return d.msg; });
    return msgs.join(" ") || (result.status + " " + result.statusText);
  }
  function keepForLater(code, file) {
    return queuePhoto(code, file).then(function (id) { showQueued(code, file, id); }, function () {
      showError(code, status ? status.getAttribute("data-photo-offline") : "");  // no IndexedDB: say so
    });
  }
  var sendingQueue = false;
  function sendQueued() {
    if (sendingQueue || !navigator.onLine) return Promise.resolve();
    sendingQueue = true;
    return queuedPhotos().then(function (photos) {
      return photos.reduce(function (chain, p) {
        return chain.then(function (goOn) {
          if (!goOn) return false;
          return send(p.item, p.file).then(function (result) {
            if (result.status >= 500 || result.status === 0 || result.status === 403) return false;  // later
            var shown = document.querySelector("[data-queued-photo='" + p.id + "']");
            return unqueue(p.id).then(function () {
              if (shown) shown.parentNode.removeChild(shown);
              if (result.status === 201) showPhoto(p.item, result.json.url);
              else showError(p.item, refusal(result));
              showQueueNote();
              return true;
            });
          }, function () { return false; });
        });
      }, Promise.resolve(true));
    }).catch(function () { /* no IndexedDB: nothing was queued */ }).then(function () { sendingQueue = false; });
  }

  function upload(photoForm) {
    var code = photoForm.getAttribute("data-photo-form");
    var box = itemBox(code);
    var input = photoForm.elements.photo;
    if (!box || !input || !input.files || !input.files.length) return;
    var file = input.files[0];
    var state = box.querySelector("[data-upload-state]");
    var bar = state.querySelector("progress");
    var text = state.querySelector("[data-upload-text]");
    var label = text.getAttribute("data-label") || text.textContent;
    text.setAttribute("data-label", label);
    showError(code, "");
    saveLocal();
    input.value = "";
    if (!navigator.onLine) { keepForLater(code, file); return; }
    state.hidden = false; bar.value = 0; text.textContent = label;
    flush().then(function () {
      return send(code, file, function (share) {
        bar.value = Math.round(share * 100);
        text.textContent = label + " " + bar.value + " %";
      });
    }).then(function (result) {
      state.hidden = true;
      if (result.status === 201) showPhoto(code, result.json.url);
      else if (result.status >= 500) keepForLater(code, file);
      else showError(code, refusal(result));
    }, function () {
      state.hidden = true;
      keepForLater(code, file);
    });
  }
  Array.prototype.forEach.call(document.querySelectorAll("form[data-photo-form]"), function (photoForm) {
    photoForm.addEventListener("submit", function (event) { event.preventDefault(); upload(photoForm); });
    var code = photoForm.getAttribute("data-photo-form");
    var box = itemBox(code);
    if (!box) return;
    var button = box.querySelector("button[type=submit]");
    if (button) button.hidden = true;  // with script, choosing the photo sends it; without, the button does
    var input = box.querySelector("input[type=file]");
    if (input) input.addEventListener("change", function () { upload(photoForm); });
  });
  // Photos still waiting from an earlier visit show in place, then go when the connection allows.
  if (editable) {
    queuedPhotos().then(function (photos) {
      photos.forEach(function (p) { showQueued(p.item, p.file, p.id); });
      return sendQueued();
    }).catch(function () { /* no IndexedDB */ });
  }

  // --- the signature pad -------------------------------------------------------------------------------------
  var pad = document.querySelector("[data-signature-pad]");
  if (pad && pad.getContext) {
    var ctx = pad.getContext("2d");
    var value = document.querySelector("[data-signature-value]");
    var drawing = false, drawn = false;
    ctx.lineWidth = 3; ctx.lineCap = "round"; ctx.lineJoin = "round"; ctx.strokeStyle = "#0b3d5c";
    var point = function (e) {
      var r = pad.getBoundingClientRect();
      return { x: (e.clientX - r.left) * pad.width / r.width, y: (e.clientY - r.top) * pad.height / r.height };
    };
    pad.addEventListener("pointerdown", function (e) {
      drawing = true; drawn = true;
      if (pad.setPointerCapture) pad.setPointerCapture(e.pointerId);
      var p = point(e); ctx.beginPath(); ctx.moveTo(p.x, p.y); ctx.lineTo(p.x + 0.1, p.y + 0.1); ctx.stroke();
      e.preventDefault();
    });
    pad.addEventListener("pointermove", function (e) {
      if (!drawing) return;
      var p = point(e); ctx.lineTo(p.x, p.y); ctx.stroke(); e.preventDefault();
    });
    var end = function () {
      if (!drawing) return;
      drawing = false;
      if (drawn) value.value = pad.toDataURL("image/png");
    };
    pad.addEventListener("pointerup", end);
    pad.addEventListener("pointercancel", end);
    pad.addEventListener("pointerleave", end);
    var clear = document.querySelector("[data-signature-clear]");
    if (clear) clear.addEventListener("click", function () {
      ctx.clearRect(0, 0, pad.width, pad.height); value.value = ""; drawn = false;
    });
  }

  // --- connection state, full submits ------------------------------------------------------------------------
  function showStatus() {
    if (!status) return;
    var online = navigator.onLine;
    status.textContent = online ? status.getAttribute("data-online") : status.getAttribute("data-offline");
    status.classList.toggle("offline", !online);
  }
  function changed() { saveLocal(); showProgress(); schedule(); }
  form.addEventListener("change", changed);
  form.addEventListener("input", changed);
  form.addEventListener("submit", function (event) {
    saveLocal();
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
      return;
    }
    flush().then(sendQueued);
  });
  window.addEventListener("offline", function () {
    var draft = readDraft();
    showStatus();
    setSync(draft && draft.unsent ? "unsent" : "synced");
  });
  // A page shown after a full save (the server echoes every answer) clears the draft it came from.
  if (form.hasAttribute("data-saved")) { try { localStorage.removeItem(key); } catch (e) { /* ignore */ } }
  else restore();
  showStatus();
  showProgress();
  if (readDraft() && readDraft().unsent) flush();
})();
