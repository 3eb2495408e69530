"""The stylesheet and script of the HTML audit report, inlined into every page.

Both are constants so that the page's Content-Security-Policy can name them by their
SHA-256 (``style-src``/``script-src 'sha256-…'``) and allow nothing else: no other script,
style, image, font or connection, from anywhere. The script reads only the page's DOM.
"""

from __future__ import annotations

__all__ = ["SCRIPT", "STYLE"]

STYLE = """
:root { --ok: #2e7d32; --bad: #c62828; --warn: #ef6c00; --mute: #78909c; --line: #cfd8dc; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1c2733;
  margin: 0 auto; padding: 1.5rem 2rem 3rem; max-width: 1400px; }
h1 { font-size: 1.6rem; margin: 0 0 .3rem; }
h2 { font-size: 1.2rem; margin: 2rem 0 .6rem; border-bottom: 2px solid var(--line);
  padding-bottom: .2rem; }
h3 { font-size: 1rem; margin: 1.2rem 0 .4rem; }
.meta { color: #455a64; margin: 0 0 1rem; }
.meta span { margin-right: 1.5rem; }
.cards { display: flex; flex-wrap: wrap; gap: .8rem; margin: 1rem 0; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: .6rem 1rem; min-width: 8rem; }
.card b { display: block; font-size: 1.6rem; }
.card.ok b { color: var(--ok); } .card.bad b { color: var(--bad); }
.card.warn b { color: var(--warn); }
table { border-collapse: collapse; width: 100%; margin: .4rem 0 1rem; }
th, td { border-bottom: 1px solid var(--line); padding: .3rem .5rem; text-align: left;
  vertical-align: top; }
th { background: #eceff1; white-space: nowrap; }
td.num, th.num { text-align: right; }
.mono, td.digest { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 12px;
  word-break: break-all; }
td { overflow-wrap: break-word; }
td.tags { overflow-wrap: anywhere; min-width: 9rem; }
td.digest { min-width: 14rem; }
td.fpr { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 12px;
  min-width: 13rem; }
td.signature-cell { min-width: 20rem; }
td.digest .note { font-family: system-ui, sans-serif; }
th button { font: inherit; font-weight: 600; border: 0; background: none; cursor: pointer;
  padding: 0; color: inherit; }
th[aria-sort="ascending"] button::after { content: " \\25B2"; }
th[aria-sort="descending"] button::after { content: " \\25BC"; }
.status-trusted { color: var(--ok); font-weight: 600; }
.status-denied { color: var(--bad); font-weight: 600; }
.warn { color: var(--warn); font-weight: 600; }
.bad { color: var(--bad); font-weight: 600; }
ul.sigs { list-style: none; margin: 0; padding: 0; }
ul.sigs li { margin: 0 0 .3rem; padding-left: .5rem; border-left: 3px solid var(--line); }
ul.sigs li.sig-ok { border-left-color: var(--ok); }
ul.sigs li.sig-bad { border-left-color: var(--bad); }
.sig-field { color: #546e7a; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(560px, 1fr)); gap: 1rem; }
figure.chart { margin: 0; border: 1px solid var(--line); border-radius: 6px; padding: .5rem; }
figcaption { font-weight: 600; margin-bottom: .3rem; }
svg.chart-svg { max-width: 100%; height: auto; }
.chart-label, .chart-value, .chart-tick, .chart-empty { font-size: 12px; fill: #37474f; }
.chart-axis { stroke: #90a4ae; stroke-width: 1; }
.seg-trusted, .seg-ok { fill: var(--ok); } .seg-denied, .seg-expired { fill: var(--bad); }
.seg-unsigned, .seg-warning { fill: var(--warn); } .seg-count { fill: #1565c0; }
.seg-never, .seg-unknown { fill: var(--mute); }
.filters { display: flex; flex-wrap: wrap; gap: 1rem; align-items: center; margin: .4rem 0; }
.filters input[type=search] { width: 28rem; max-width: 100%; padding: .3rem .5rem; font: inherit; }
.note { color: #546e7a; font-size: 12px; }
tr.hidden { display: none; }
div.wide { overflow-x: auto; }
@media print {
  @page { size: A4 landscape; margin: 12mm; }
  body { padding: 0; max-width: none; font-size: 10px; }
  .filters, .no-print { display: none; }
  h2 { break-after: avoid; }
  tr, figure.chart, .card { break-inside: avoid; }
  thead { display: table-header-group; }
  .charts { display: block; }
  div.wide { overflow: visible; }
  .mono, td.digest, td.fpr, .note { font-size: 8px; }
  td.digest, td.tags, td.fpr, .mono { overflow-wrap: anywhere; }
  td.digest, td.fpr, td.signature-cell, td.tags { min-width: 0; }
  td.digest { width: 16%; } td.signature-cell { width: 30%; }
  figure.chart { margin-bottom: 6mm; border: 0; }
  th { background: none; border-bottom: 2px solid #000; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
"""

SCRIPT = """
(function () {
  "use strict";
  function key(cell) {
    var value = cell.getAttribute("data-sort");
    return value === null ? cell.textContent.trim().toLowerCase() : value;
  }
  function compare(a, b) {
    var x = Number(a), y = Number(b);
    if (a !== "" && b !== "" && !isNaN(x) && !isNaN(y)) { return x - y; }
    return a < b ? -1 : (a > b ? 1 : 0);
  }
  function sortBy(table, header, column) {
    var body = table.tBodies[0];
    var descending = header.getAttribute("aria-sort") === "ascending";
    var headers = table.tHead.rows[0].cells;
    for (var i = 0; i < headers.length; i++) { headers[i].removeAttribute("aria-sort"); }
    header.setAttribute("aria-sort", descending ? "descending" : "ascending");
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (r, s) {
      var order = compare(key(r.cells[column]), key(s.cells[column]));
      return descending ? -order : order;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  }
  document.querySelectorAll("table.sortable").forEach(function (table) {
    var headers = table.tHead.rows[0].cells;
    Array.prototype.forEach.call(headers, function (header, column) {
      var button = header.querySelector("button");
      if (button) {
        button.addEventListener("click", function () { sortBy(table, header, column); });
      }
    });
  });
  var table = document.getElementById("image-table");
  var input = document.getElementById("image-filter");
  var status = document.getElementById("status-filter");
  var shown = document.getElementById("image-count");
  function filter() {
    var words = input.value.trim().toLowerCase().split(/\\s+/).filter(Boolean);
    var wanted = status.value;
    var rows = table.tBodies[0].rows, visible = 0;
    for (var i = 0; i < rows.length; i++) {
      var row = rows[i], text = row.textContent.toLowerCase();
      var ok = (!wanted || row.getAttribute("data-status") === wanted) &&
        words.every(function (word) { return text.indexOf(word) !== -1; });
      row.classList.toggle("hidden", !ok);
      if (ok) { visible++; }
    }
    shown.textContent = String(visible);
  }
  if (table && input && status && shown) {
    input.addEventListener("input", filter);
    status.addEventListener("change", filter);
    filter();
  }
})();
"""
