// The live briefing room: follows the meeting's SSE stream (focus, bridge points, status, directives) and,
// for the chair, moves everyone's view and raises directives through the briefing API. No inline script (CSP).
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("room-config").textContent);
  var room = document.getElementById("room");
  var conn = document.querySelector("[data-testid=connection]");
  var csrf = (document.querySelector("input[name=csrfmiddlewaretoken]") || {}).value || "";
  var cursor = config.after || 0;
  var joinedAs = null;
  var heartbeat = null;

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, "Accept": "application/json" },
      body: JSON.stringify(body)
    }).then(function (r) {
      return r.json().then(function (data) {
        if (!r.ok) {
          var msg = (data.detail && data.detail[0] && data.detail[0].msg) || ("HTTP " + r.status);
          throw new Error(msg);
        }
        return data;
      });
    });
  }

  function setConn(state) {
    conn.setAttribute("data-state", state);
    conn.textContent = state === "live" ? config.labels.live : config.labels.reconnecting;
  }

  function applyFocus(focus) {
    room.setAttribute("data-section", focus.section || "summary");
    document.querySelector("[data-testid=now-agenda]").textContent = focus.agenda_title || "";
    document.querySelectorAll(".room-agenda li[data-agenda]").forEach(function (li) {
      li.classList.toggle("current", String(focus.agenda_item) === li.getAttribute("data-agenda"));
    });
    var key = { summary: "other", production: "production", safety: "safety", directives: "directives", key_tasks: "key_tasks" }[focus.section || "summary"];
    document.querySelectorAll("[data-focus-section], [data-tab]").forEach(function (el) {
      var k = el.getAttribute("data-focus-section") || el.getAttribute("data-tab");
      el.classList.toggle("active", k === key);
    });
  }

  function applyPoints(points) {
    points.forEach(function (p) {
      var li = document.querySelector('.room-points li[data-point="' + p.code + '"]');
      if (!li) return;
      li.classList.toggle("online", p.online);
      li.classList.toggle("joined", !!p.joined && !p.online);
      li.querySelector(".when").textContent = p.joined ? config.labels.joined + " " + p.joined : config.labels.not_joined;
    });
  }

  function addDirective(d) {
    if (document.querySelector('#directive-list li[data-directive="' + d.id + '"]')) return;
    var li = document.createElement("li");
    li.setAttribute("data-directive", d.id);
    li.className = "fresh";
    var strong = document.createElement("strong");
    strong.textContent = d.number;
    var owner = document.createElement("span");
    owner.className = "muted";
    owner.textContent = " — " + d.owner_name + " · " + d.deadline;
    li.appendChild(strong);
    li.appendChild(document.createTextNode(" " + d.text));
    li.appendChild(owner);
    document.getElementById("directive-list").appendChild(li);
  }

  function applyStatus(status) {
    room.setAttribute("data-status", status.status);
    document.querySelector("[data-testid=room-status]").textContent = status.label;
  }

  function connect() {
    var source = new EventSource(config.stream + "?after=" + cursor);
    source.onopen = function () { setConn("live"); };
    source.onerror = function () { setConn("reconnecting"); };
    source.addEventListener("focus", function (e) { applyFocus(JSON.parse(e.data)); });
    source.addEventListener("points", function (e) { applyPoints(JSON.parse(e.data)); });
    source.addEventListener("status", function (e) { applyStatus(JSON.parse(e.data)); });
    source.addEventListener("directive", function (e) {
      var d = JSON.parse(e.data);
      cursor = Math.max(cursor, d.id);
      addDirective(d);
    });
  }

  document.querySelectorAll("[data-focus-section]").forEach(function (button) {
    button.addEventListener("click", function () {
      post(config.focus_url, { section: button.getAttribute("data-focus-section") }).catch(function (err) { window.alert(err.message); });
    });
  });
  document.querySelectorAll("[data-focus-agenda]").forEach(function (button) {
    button.addEventListener("click", function () {
      post(config.focus_url, { agenda_item: parseInt(button.getAttribute("data-focus-agenda"), 10) }).catch(function (err) { window.alert(err.message); });
    });
  });

  var join = document.getElementById("join-form");
  if (join) {
    join.addEventListener("submit", function (e) {
      e.preventDefault();
      var code = join.elements.bridge_point.value;
      post(config.join_url, { bridge_point: code }).then(function (point) {
        joinedAs = code;
        join.querySelector("[data-testid=joined-as]").textContent = config.labels.joined + ": " + (point.name || code);
        if (heartbeat) window.clearInterval(heartbeat);
        heartbeat = window.setInterval(function () {
          if (joinedAs) post(config.join_url, { bridge_point: joinedAs }).catch(function () {});
        }, config.heartbeat_s * 1000);
      }).catch(function (err) { join.querySelector("[data-testid=joined-as]").textContent = err.message; });
    });
  }

  var form = document.getElementById("directive-form");
  if (form) {
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var msg = form.querySelector("[data-testid=directive-msg]");
      post(config.directives_url, {
        text: form.elements.text.value,
        owner_unit: form.elements.owner_unit.value,
        deadline: form.elements.deadline.value,
        priority: form.elements.priority.value,
        meeting: config.meeting
      }).then(function () {
        form.elements.text.value = "";
        msg.className = "room-msg";
        msg.textContent = config.labels.saved;
      }).catch(function (err) {
        msg.className = "room-msg error";
        msg.textContent = err.message;
      });
    });
  }

  applyFocus(config.focus);
  connect();
})();
