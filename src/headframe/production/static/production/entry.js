// The day-entry grid works like a spreadsheet: arrows move between cells, Enter moves down (on the last row
// to the top of the next column) and never submits: the Save button does. The foot's day total follows what is
// typed (whole day, or the shifts summed / averaged / last, as the indicator aggregates).
(function () {
  "use strict";

  // A number as people type it (1.234,5 / 1234.5 / 1 234), as core.formatting.read_number reads it; NaN if not.
  function readNumber(text) {
    var s = text.replace(/[\s\u00a0\u202f]/g, "");
    if (!s) return NaN;
    var dots = (s.match(/\./g) || []).length, commas = (s.match(/,/g) || []).length;
    if (dots && commas) {
      s = s.lastIndexOf(".") > s.lastIndexOf(",") ? s.replace(/,/g, "") : s.replace(/\./g, "").replace(",", ".");
    } else if (commas) {
      s = commas === 1 ? s.replace(",", ".") : s.replace(/,/g, "");
    } else if (dots > 1 || /^[+-]?[1-9][0-9]{0,2}\.[0-9]{3}$/.test(s)) {
      s = s.replace(/\./g, "");
    }
    return /^[+-]?(\d+(\.\d*)?|\.\d+)$/.test(s) ? parseFloat(s) : NaN;
  }

  function format(value) {
    var lang = document.documentElement.lang || "vi";
    return value.toLocaleString(lang.indexOf("en") === 0 ? "en-US" : "vi-VN", { minimumFractionDigits: 1, maximumFractionDigits: 1 });
  }

  function refreshTotal(table, col) {
    var cell = table.querySelector('td[data-total="' + col + '"]');
    if (!cell) return;
    var aggregation = cell.getAttribute("data-aggregation");
    if (["sum", "avg", "last"].indexOf(aggregation) < 0) return;  // weighted: the server's figure stays
    var whole = null, values = [];
    table.querySelectorAll('tbody input[data-col="' + col + '"]').forEach(function (input) {
      var value = readNumber(input.value);
      if (isNaN(value)) return;
      if (input.getAttribute("data-shift") === "0") whole = value;
      else values.push(value);
    });
    var total = null;
    if (whole !== null && !values.length) total = whole;
    else if (values.length && whole === null) {
      if (aggregation === "sum") total = values.reduce(function (a, b) { return a + b; }, 0);
      else if (aggregation === "avg") total = values.reduce(function (a, b) { return a + b; }, 0) / values.length;
      else total = values[values.length - 1];
    }
    cell.textContent = total === null ? "—" : format(total);
  }

  document.addEventListener("input", function (event) {
    var input = event.target;
    if (!input.matches || !input.matches("table.entry tbody input[data-col]")) return;
    refreshTotal(input.closest("table"), input.getAttribute("data-col"));
  });

  document.addEventListener("keydown", function (event) {
    var input = event.target;
    if (!input.matches || !input.matches("table.entry tbody input[data-col]")) return;
    var cell = input.closest("td"), row = cell.parentElement;
    var col = Array.prototype.indexOf.call(row.children, cell);
    var target = null;
    if (event.key === "ArrowRight" && input.selectionStart === input.value.length) target = cell.nextElementSibling;
    else if (event.key === "ArrowLeft" && input.selectionStart === 0) target = cell.previousElementSibling;
    else if (event.key === "ArrowDown" || (event.key === "Enter" && !event.shiftKey)) {
      target = row.nextElementSibling && row.nextElementSibling.children[col];
      if (!target && event.key === "Enter") {  // last row: the top of the next column, like a spreadsheet
        var first = row.parentElement.firstElementChild;
        target = first && first.children[col + 1];
      }
    } else if (event.key === "ArrowUp" || (event.key === "Enter" && event.shiftKey)) {
      target = row.previousElementSibling && row.previousElementSibling.children[col];
    } else return;
    if (event.key === "Enter") event.preventDefault();  // Enter never submits half a form
    var next = target && target.querySelector("input[data-col]");
    if (next) { event.preventDefault(); next.focus(); next.select(); }
  });
})();
