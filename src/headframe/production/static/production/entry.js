// Keyboard movement in the day-entry grid: arrows move between cells, Enter moves down (like a spreadsheet).
(function () {
  "use strict";
  document.addEventListener("keydown", function (event) {
    var input = event.target;
    if (!input.matches || !input.matches("table.entry input")) return;
    var cell = input.closest("td"), row = cell.parentElement;
    var col = Array.prototype.indexOf.call(row.children, cell);
    var target = null;
    if (event.key === "ArrowRight" && input.selectionStart === input.value.length) target = cell.nextElementSibling;
    else if (event.key === "ArrowLeft" && input.selectionStart === 0) target = cell.previousElementSibling;
    else if (event.key === "ArrowDown" || (event.key === "Enter" && !event.shiftKey)) target = row.nextElementSibling && row.nextElementSibling.children[col];
    else if (event.key === "ArrowUp") target = row.previousElementSibling && row.previousElementSibling.children[col];
    else return;
    var next = target && target.querySelector("input");
    if (next) { event.preventDefault(); next.focus(); next.select(); }
    else if (event.key === "Enter") { /* last row: let Enter submit the form */ }
  });
})();
