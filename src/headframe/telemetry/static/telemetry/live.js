// Live page of a mine. One EventSource: `journal` events (id = alarm-journal id, so a reconnect resumes with
// Last-Event-ID) refresh the server-rendered alarm list and drive the banner and the beep; `sensors` events
// repaint the tiles and extend the trend. No inline script, no external asset (CSP 'self').
(function () {
  "use strict";
  var cfg = JSON.parse(document.getElementById("live-config").textContent);
  var locale = cfg.lang === "en" ? "en-GB" : "vi-VN";
  var TZ = "Asia/Ho_Chi_Minh";
  var timeFmt = new Intl.DateTimeFormat(locale, { timeZone: TZ, hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" });
  var hmFmt = new Intl.DateTimeFormat(locale, { timeZone: TZ, hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  var HOUR = 3600 * 1000;
  var cursor = cfg.cursor || 0;
  var conn = document.getElementById("conn");

  function setConn(state) {
    conn.dataset.state = state;
    conn.textContent = state === "live" ? cfg.labels.live : cfg.labels.reconnecting;
  }

  // ------------------------------------------------------------ sound: WebAudio beeps, no audio file
  var audio = null;
  var silenced = false;
  var soundButton = document.getElementById("sound-on");

  function ensureAudio() {
    var Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return null;
    if (!audio) audio = new Ctx();
    if (audio.state === "suspended") audio.resume();
    return audio;
  }
  function showSoundButton() {
    soundButton.hidden = !!(audio && audio.state === "running");
  }
  function beep(urgent) {
    if (!audio || audio.state !== "running") return;
    var t = audio.currentTime;
    [0, 0.3].forEach(function (offset, i) {
      var osc = audio.createOscillator();
      var gain = audio.createGain();
      osc.type = "square";
      osc.frequency.value = urgent ? (i ? 660 : 990) : 740;
      gain.gain.setValueAtTime(0.0001, t + offset);
      gain.gain.exponentialRampToValueAtTime(0.15, t + offset + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, t + offset + 0.22);
      osc.connect(gain);
      gain.connect(audio.destination);
      osc.start(t + offset);
      osc.stop(t + offset + 0.25);
    });
  }
  // Browsers allow sound only after a gesture: the first click or key anywhere turns it on.
  function onGesture() { ensureAudio(); setTimeout(showSoundButton, 100); }
  document.addEventListener("click", onGesture);
  document.addEventListener("keydown", onGesture);
  soundButton.addEventListener("click", onGesture);
  try { ensureAudio(); } catch (e) { /* no audio on this device */ }
  showSoundButton();

  // ------------------------------------------------------------ banner: server-rendered with the alarm list
  // It names the few newest unacknowledged urgent/high alarms and counts the rest; it sits in the page's flow
  // above the list, so it never covers it. Here only: sound, and silence until the next new alarm.
  function banner() { return document.getElementById("alarm-banner"); }
  var known = null;  // unacknowledged alert rows (condition:raised) seen so far: a new one sounds again
  function updateBanner() {
    var node = banner();
    if (!node) return;
    var rows = Array.prototype.slice.call(document.querySelectorAll('#alarm-list tr[data-alert="1"]'));
    var keys = rows.map(function (r) { return r.dataset.condition + ":" + r.dataset.raised; });
    if (known && keys.some(function (k) { return known.indexOf(k) < 0; })) silenced = false;  // a new occurrence
    known = keys;
    if (!rows.length) silenced = false;
    node.dataset.sounding = !node.hidden && !silenced ? "1" : "0";
  }
  setInterval(function () {
    var node = banner();
    if (node && !node.hidden && !silenced) beep(node.dataset.urgent === "1");
  }, 3000);
  document.addEventListener("click", function (ev) {
    if (ev.target.closest && ev.target.closest(".alarm-banner .silence")) {
      silenced = true;
      var node = banner();
      if (node) node.dataset.sounding = "0";
    }
  });

  // ------------------------------------------------------------ alarm console: server-rendered, swapped in
  // The console (banner, open alarms, what is hidden) is one fragment. A refresh keeps what the operator is
  // typing, which alarms are ticked and which panels are open ([data-keep] / [data-keep-open]).
  function swapAlarms(html) {
    var current = document.getElementById("alarm-console");
    var tpl = document.createElement("template");
    tpl.innerHTML = html.trim();
    var fresh = tpl.content.querySelector("#alarm-console");
    if (!current || !fresh) return;
    var kept = {};
    var focusKey = null;
    current.querySelectorAll("[data-keep]").forEach(function (el) {
      var key = el.dataset.keep;
      if (el.type === "checkbox") kept[key] = el.checked;
      else if (el.value) kept[key] = el.value;
      if (el === document.activeElement) focusKey = key;
    });
    var open = {};
    current.querySelectorAll("details[data-keep-open][open]").forEach(function (d) { open[d.dataset.keepOpen] = true; });
    var focusEl = null;
    fresh.querySelectorAll("[data-keep]").forEach(function (el) {
      var key = el.dataset.keep;
      if (kept[key] !== undefined) {
        if (el.type === "checkbox") el.checked = kept[key];
        else el.value = kept[key];
      }
      if (key === focusKey) focusEl = el;
    });
    fresh.querySelectorAll("details[data-keep-open]").forEach(function (d) {
      if (open[d.dataset.keepOpen]) d.open = true;
    });
    var selectAll = document.querySelector("#alarm-console .select-all");
    var freshAll = fresh.querySelector(".select-all");
    if (selectAll && freshAll) freshAll.checked = selectAll.checked;
    current.replaceWith(fresh);
    if (focusEl) focusEl.focus();
    updateBanner();
  }
  var refreshTimer = null;
  var refreshing = false;
  var refreshAgain = false;
  function refreshAlarms() {
    if (refreshing) { refreshAgain = true; return; }
    refreshing = true;
    fetch(cfg.alarms, { headers: { "X-Requested-With": "fetch" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(swapAlarms)
      .catch(function () { /* the next event or reconnect refreshes again */ })
      .then(function () {
        refreshing = false;
        if (refreshAgain) { refreshAgain = false; refreshAlarms(); }
      });
  }
  function scheduleRefresh() {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(refreshAlarms, 150);
  }
  // "Select all" ticks every unacknowledged alarm shown.
  document.addEventListener("change", function (ev) {
    var all = ev.target.closest && ev.target.closest("#alarm-console .select-all");
    if (!all) return;
    document.querySelectorAll('#alarm-console input[name="conditions"]').forEach(function (box) { box.checked = all.checked; });
  });
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (!form.classList || !form.classList.contains("alarm-action")) return;
    ev.preventDefault();
    var data = new FormData(form);  // includes the ticked boxes tied to the form by their form="…" attribute
    var submitter = ev.submitter;
    if (submitter && submitter.name) data.append(submitter.name, submitter.value);
    var buttons = form.querySelectorAll("button[type=submit]");
    buttons.forEach(function (b) { b.disabled = true; });
    fetch(form.action, { method: "POST", body: data, headers: { "X-Requested-With": "fetch" }, credentials: "same-origin" })
      .then(function (r) {
        return r.text().then(function (text) {
          if (!r.ok) throw new Error(text || String(r.status));
          return text;
        });
      })
      .then(function (html) {
        // The action's own inputs are done with: do not carry them over.
        form.querySelectorAll("input:not([type=hidden])").forEach(function (el) { el.value = ""; });
        if (form.id === "ack-many") {
          document.querySelectorAll('#alarm-console input[name="conditions"], #alarm-console .select-all').forEach(function (box) { box.checked = false; });
        }
        swapAlarms(html);
      })
      .catch(function (err) {
        buttons.forEach(function (b) { b.disabled = false; });
        window.alert(err.message);
      });
  });
  updateBanner();

  // ------------------------------------------------------------ trend of the selected sensor (last hour)
  var chartNode = document.getElementById("trend");
  var chart = null;
  var selected = null;
  var points = [];
  function numberFormat(s) {
    return new Intl.NumberFormat(locale, { minimumFractionDigits: s.decimals, maximumFractionDigits: s.decimals });
  }
  var PRIORITY_COLOURS = { urgent: "#b3261e", high: "#e8590c", medium: "#f2a900", low: "#98a2ad" };
  function drawTrend() {
    if (!window.echarts || !selected) return;
    var s = cfg.sensors[selected];
    if (!chart) {
      chart = echarts.init(chartNode);
      window.addEventListener("resize", function () { chart.resize(); });
    }
    var fmt = numberFormat(s);
    var now = Date.now();
    var thresholds = s.limits.map(function (l) { return l.threshold; });
    var enc = echarts.format.encodeHTML;
    chart.setOption({
      animation: false,
      grid: { left: 56, right: 16, top: 16, bottom: 28 },
      title: points.length ? { show: false } : { show: true, text: cfg.labels.no_data, left: "center", top: "middle", textStyle: { color: "#98a2ad", fontSize: 13, fontWeight: 400 } },
      tooltip: {
        trigger: "axis",
        formatter: function (params) {
          var p = params[0];
          return enc(timeFmt.format(new Date(p.value[0]))) + "<br>" + enc(fmt.format(p.value[1]) + " " + s.unit);
        }
      },
      xAxis: { type: "time", min: now - HOUR, max: now, splitNumber: 6, axisLabel: { hideOverlap: true, showMinLabel: false, showMaxLabel: false, formatter: function (v) { return hmFmt.format(new Date(v)); } } },
      yAxis: {
        type: "value",
        min: function (v) { var lo = Math.min.apply(null, [v.min].concat(thresholds)); return lo - Math.abs(lo) * 0.05; },
        max: function (v) { var hi = Math.max.apply(null, [v.max].concat(thresholds)); return hi + Math.abs(hi) * 0.05 || 1; },
        axisLabel: { showMinLabel: false, showMaxLabel: false, formatter: function (v) { return fmt.format(v); } }
      },
      series: [{
        type: "line", name: s.code, showSymbol: false, data: points, color: "#0b3d5c", lineStyle: { width: 2 },
        markLine: {
          symbol: "none", silent: true,
          data: s.limits.map(function (l) {
            var colour = PRIORITY_COLOURS[l.priority] || "#98a2ad";
            return { yAxis: l.threshold, lineStyle: { color: colour, type: "dashed" }, label: { formatter: (l.direction === "high" ? "≥ " : "≤ ") + fmt.format(l.threshold), color: colour, position: "insideEndTop" } };
          })
        }
      }]
    }, true);
  }
  function loadTrend(code) {
    var to = new Date();
    var from = new Date(to.getTime() - HOUR);
    var url = cfg.readings.replace("{code}", encodeURIComponent(code)) + "?from=" + encodeURIComponent(from.toISOString()) +
      "&to=" + encodeURIComponent(to.toISOString()) + "&step=raw";
    fetch(url, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (data) {
        if (selected !== code) return;
        points = data.points.map(function (p) { return [p[0], p[1]]; });
        drawTrend();
      })
      .catch(function () { points = []; drawTrend(); });
  }
  function select(code) {
    if (!code || !cfg.sensors[code]) return;
    selected = code;
    document.querySelectorAll(".sensor").forEach(function (el) { el.classList.toggle("selected", el.dataset.sensor === code); });
    var s = cfg.sensors[code];
    document.getElementById("trend-title").textContent = s.kind_label + " · " + code;
    document.getElementById("trend-history").setAttribute("href", s.history_url);
    points = [];
    loadTrend(code);
  }
  function trendAppend(ts, value) {
    if (points.length && points[points.length - 1][0] >= ts) return;
    points.push([ts, value]);
    var oldest = Date.now() - HOUR;
    while (points.length && points[0][0] < oldest) points.shift();
    drawTrend();
  }
  document.addEventListener("click", function (ev) {
    var tile = ev.target.closest && ev.target.closest(".sensor[data-sensor]");
    if (tile) select(tile.dataset.sensor);
  });
  document.addEventListener("keydown", function (ev) {
    var tile = ev.target.closest && ev.target.closest(".sensor[data-sensor]");
    if (tile && (ev.key === "Enter" || ev.key === " ")) { ev.preventDefault(); select(tile.dataset.sensor); }
  });

  // ------------------------------------------------------------ sensor tiles
  function updateTiles(list) {
    list.forEach(function (t) {
      var el = document.querySelector('.sensor[data-sensor="' + CSS.escape(t.code) + '"]');
      if (!el) return;
      el.className = "sensor st-" + t.css + (t.flash ? " flash" : "") + (t.stale ? " is-stale" : "") + (t.code === selected ? " selected" : "");
      el.querySelector(".v").textContent = t.text;
      el.querySelector(".t").textContent = t.time;
      if (t.code === selected && t.ts != null && t.value != null) trendAppend(t.ts, t.value);
    });
  }

  // ------------------------------------------------------------ the stream
  var source = null;
  var hadError = false;
  function connect() {
    source = new EventSource(cfg.stream + "?after=" + encodeURIComponent(cursor));
    source.onopen = function () {
      setConn("live");
      if (hadError) { hadError = false; scheduleRefresh(); }
    };
    source.onerror = function () {
      hadError = true;
      setConn("reconnecting");
      if (source.readyState === EventSource.CLOSED) {
        // Refused (e.g. logged out or a server error): the browser gives up, so try again ourselves.
        setTimeout(connect, 5000);
      }
    };
    source.addEventListener("journal", function (ev) {
      var entry = JSON.parse(ev.data);
      cursor = Math.max(cursor, entry.id);
      if (entry.event === "raised" && (entry.priority === "urgent" || entry.priority === "high")) silenced = false;
      scheduleRefresh();
    });
    source.addEventListener("sensors", function (ev) { updateTiles(JSON.parse(ev.data)); });
  }

  function start() {
    select(cfg.selected);
    connect();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start); else start();
})();
