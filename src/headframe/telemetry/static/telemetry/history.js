// History of one sensor: readings from /api/v1/telemetry/sensors/<code>/readings with step=auto (raw readings
// up to 6 h, 1-minute or 1-hour aggregates beyond), average line with a min–max band for aggregates, limit
// lines, and zooming that loads finer data for the zoomed window. The period is the last 6 h / 1 d / 7 d / 30 d,
// or whole calendar days (?from=dd/mm/yyyy&to=dd/mm/yyyy, bounds computed by the server in Vietnam time).
// No inline script (CSP).
(function () {
  "use strict";
  var cfg = JSON.parse(document.getElementById("history-config").textContent);
  var locale = cfg.lang === "en" ? "en-GB" : "vi-VN";
  var TZ = "Asia/Ho_Chi_Minh";
  // Dates read dd/mm/yyyy HH:MM:SS in Vietnam time whatever the browser's locale.
  var partsFmt = new Intl.DateTimeFormat("en-GB", { timeZone: TZ, day: "2-digit", month: "2-digit", year: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" });
  function parts(t) {
    var p = {};
    partsFmt.formatToParts(t).forEach(function (x) { p[x.type] = x.value; });
    return p;
  }
  var dayFmt = { format: function (t) { var p = parts(t); return p.day + "/" + p.month; } };
  var hmFmt = { format: function (t) { var p = parts(t); return p.hour + ":" + p.minute; } };
  var fullFmt = { format: function (t) { var p = parts(t); return p.day + "/" + p.month + "/" + p.year + " " + p.hour + ":" + p.minute + ":" + p.second; } };
  var num = new Intl.NumberFormat(locale, { minimumFractionDigits: cfg.decimals, maximumFractionDigits: cfg.decimals });
  var HOUR = 3600 * 1000;
  var RANGES = { "6h": 6 * HOUR, "1d": 24 * HOUR, "7d": 7 * 24 * HOUR, "30d": 30 * 24 * HOUR };
  var COLOURS = { urgent: "#b3261e", high: "#e8590c", medium: "#f2a900", low: "#98a2ad" };
  var stepNode = document.getElementById("history-step");
  var incompleteNode = document.getElementById("history-incomplete");
  var chart = null;
  var view = { from: 0, to: 0, coarse: null, detail: null, request: 0 };

  function fetchRange(from, to) {
    var url = cfg.readings + "?from=" + encodeURIComponent(new Date(from).toISOString()) +
      "&to=" + encodeURIComponent(new Date(to).toISOString()) + "&step=auto";
    return fetch(url, { credentials: "same-origin" }).then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); });
  }
  // Raw points are [ts, value]; aggregates are [bucket, avg, min, max, count, last].
  function normalise(data, from, to) {
    var raw = data.step === "raw";
    return {
      step: data.step, from: from, to: to, complete: data.complete !== false,
      points: data.points.map(function (p) {
        return raw ? { ts: p[0], avg: p[1], lo: p[1], hi: p[1] } : { ts: p[0], avg: p[1], lo: p[2], hi: p[3] };
      })
    };
  }
  function merged() {
    var coarse = view.coarse ? view.coarse.points : [];
    var d = view.detail;
    if (!d) return coarse;
    return coarse.filter(function (p) { return p.ts < d.from || p.ts >= d.to; }).concat(d.points)
      .sort(function (a, b) { return a.ts - b.ts; });
  }
  function stepLabel() {
    var label = view.coarse ? cfg.labels.step[view.coarse.step] : "";
    if (view.detail && view.detail.step !== view.coarse.step) label += " · " + cfg.labels.step[view.detail.step];
    return label ? "(" + label + ")" : "";
  }
  function seriesData() {
    var pts = merged();
    return [
      pts.map(function (p) { return [p.ts, p.lo]; }),
      pts.map(function (p) { return [p.ts, p.hi - p.lo]; }),
      pts.map(function (p) { return { value: [p.ts, p.avg], lo: p.lo, hi: p.hi }; })
    ];
  }
  function draw(fresh) {
    if (!window.echarts) return;
    if (!chart) {
      chart = echarts.init(document.getElementById("history-chart"));
      window.addEventListener("resize", function () { chart.resize(); });
      chart.on("datazoom", onZoom);
    }
    var data = seriesData();
    stepNode.textContent = stepLabel();
    // The raw-reading store did not answer: say the chart has a gap instead of showing it as real.
    incompleteNode.hidden = !((view.coarse && !view.coarse.complete) || (view.detail && !view.detail.complete));
    var empty = !data[2].length;
    if (!fresh) {
      chart.setOption({ series: [{ data: data[0] }, { data: data[1] }, { data: data[2] }], title: { show: empty } });
      return;
    }
    var thresholds = cfg.limits.map(function (l) { return l.threshold; });
    var enc = echarts.format.encodeHTML;
    var span = view.to - view.from;
    chart.setOption({
      animation: false,
      grid: { left: 60, right: 24, top: 24, bottom: 80 },
      title: { show: empty, text: cfg.labels.no_data, left: "center", top: "middle", textStyle: { color: "#98a2ad", fontSize: 13, fontWeight: 400 } },
      legend: { top: 0, data: [cfg.labels.avg, cfg.labels.range] },
      tooltip: {
        trigger: "axis",
        formatter: function (params) {
          var p = params.filter(function (x) { return x.seriesIndex === 2; })[0];
          if (!p) return "";
          var d = p.data;
          var text = enc(fullFmt.format(new Date(d.value[0]))) + "<br>" + enc(num.format(d.value[1]) + " " + cfg.unit);
          if (d.hi !== d.lo) text += "<br>" + enc(cfg.labels.range + ": " + num.format(d.lo) + " – " + num.format(d.hi));
          return text;
        }
      },
      xAxis: {
        type: "time", min: view.from, max: view.to,
        axisLabel: {
          hideOverlap: true, lineHeight: 15,
          formatter: function (v) { var t = new Date(v); return span > 2 * 24 * HOUR ? dayFmt.format(t) : hmFmt.format(t) + "\n" + dayFmt.format(t); }
        }
      },
      yAxis: {
        type: "value",
        min: function (v) { var lo = Math.min.apply(null, [v.min].concat(thresholds)); return lo - Math.abs(lo) * 0.05; },
        max: function (v) { var hi = Math.max.apply(null, [v.max].concat(thresholds)); return hi + Math.abs(hi) * 0.05 || 1; },
        axisLabel: { showMinLabel: false, showMaxLabel: false, formatter: function (v) { return num.format(v); } }
      },
      dataZoom: [{ type: "inside", filterMode: "none" }, { type: "slider", filterMode: "none", bottom: 10, labelFormatter: function (v) { return fullFmt.format(new Date(v)); } }],
      series: [
        { type: "line", name: "lo", data: data[0], stack: "band", symbol: "none", lineStyle: { opacity: 0 }, silent: true, tooltip: { show: false } },
        { type: "line", name: cfg.labels.range, data: data[1], stack: "band", symbol: "none", lineStyle: { opacity: 0 }, areaStyle: { color: "rgba(11,61,92,.18)" }, color: "rgba(11,61,92,.35)", silent: true },
        {
          type: "line", name: cfg.labels.avg, data: data[2], symbol: "none", color: "#0b3d5c", lineStyle: { width: 1.5 },
          markLine: {
            symbol: "none", silent: true,
            data: cfg.limits.map(function (l) {
              var colour = COLOURS[l.priority] || "#98a2ad";
              return { yAxis: l.threshold, lineStyle: { color: colour, type: "dashed" }, label: { formatter: l.label + " " + (l.direction === "high" ? "≥ " : "≤ ") + num.format(l.threshold), color: colour, position: "insideEndTop" } };
            })
          }
        }
      ]
    }, true);
  }

  var zoomTimer = null;
  function onZoom() {
    clearTimeout(zoomTimer);
    zoomTimer = setTimeout(function () {
      var zoom = chart.getOption().dataZoom[0];
      var start = view.from + (view.to - view.from) * (zoom.start / 100);
      var end = view.from + (view.to - view.from) * (zoom.end / 100);
      if (end - start > 0.6 * (view.to - view.from)) {
        if (view.detail) { view.detail = null; draw(false); }
        return;
      }
      var request = ++view.request;
      fetchRange(start, end).then(function (data) {
        if (request !== view.request) return;
        var detail = normalise(data, start, end);
        view.detail = detail.step === view.coarse.step ? null : detail;
        draw(false);
      });
    }, 350);
  }

  function loadPeriod(from, to) {
    var request = ++view.request;
    stepNode.textContent = cfg.labels.loading;
    fetchRange(from, to).then(function (data) {
      if (request !== view.request) return;
      view.from = from;
      view.to = to;
      view.coarse = normalise(data, from, to);
      view.detail = null;
      draw(true);
    }).catch(function () { stepNode.textContent = ""; });
  }
  function markActive(rangeKey) {
    document.querySelectorAll(".range-bar button").forEach(function (b) {
      b.classList.toggle("active", rangeKey ? b.dataset.range === rangeKey : !b.dataset.range);
    });
  }
  function load(rangeKey) {
    var to = Date.now();
    markActive(rangeKey);
    loadPeriod(to - RANGES[rangeKey], to);
  }

  document.querySelectorAll(".range-bar button[data-range]").forEach(function (b) {
    b.addEventListener("click", function () { load(b.dataset.range); });
  });
  function start() {
    if (cfg.period) { markActive(null); loadPeriod(cfg.period.from_ms, cfg.period.to_ms); } else load("7d");
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start); else start();
})();
