// Charts of the unit page: reads the JSON block rendered by the server; no inline script (CSP).
(function () {
  "use strict";
  function draw() {
    var node = document.getElementById("chart-data");
    if (!node || !window.echarts) return;
    var data = JSON.parse(node.textContent);
    if (!data.month) return;
    var fmt = new Intl.NumberFormat(document.documentElement.lang === "en" ? "en-GB" : "vi-VN", { maximumFractionDigits: 0 });
    var axis = { axisLabel: { formatter: function (v) { return fmt.format(v); } } };
    var tooltip = { trigger: "axis", valueFormatter: function (v) { return v == null ? "—" : fmt.format(v) + " " + data.unit; } };
    var month = echarts.init(document.getElementById("chart-month"));
    month.setOption({
      animation: false, tooltip: tooltip, legend: { top: 0 }, grid: { left: 60, right: 10, top: 30, bottom: 30 },
      xAxis: { type: "category", data: data.month.labels }, yAxis: Object.assign({ type: "value" }, axis),
      series: [
        { name: data.labels.actual, type: "bar", data: data.month.actual, color: "#0b3d5c" },
        { name: data.labels.plan, type: "line", step: "middle", data: data.month.plan, symbol: "none", color: "#f2a900", lineStyle: { width: 2 } }
      ]
    });
    var year = echarts.init(document.getElementById("chart-year"));
    year.setOption({
      animation: false, tooltip: tooltip, legend: { top: 0 }, grid: { left: 70, right: 10, top: 30, bottom: 30 },
      xAxis: { type: "category", data: data.year.labels }, yAxis: Object.assign({ type: "value" }, axis),
      series: [
        { name: data.labels.actual, type: "line", data: data.year.actual, symbol: "none", color: "#0b3d5c", lineStyle: { width: 2 } },
        { name: data.labels.plan, type: "line", data: data.year.plan, symbol: "none", color: "#f2a900", lineStyle: { width: 2, type: "dashed" } },
        { name: data.labels.last_year, type: "line", data: data.year.last_year, symbol: "none", color: "#98a2ad", lineStyle: { width: 1 } }
      ]
    });
    window.addEventListener("resize", function () { month.resize(); year.resize(); });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw); else draw();
})();
