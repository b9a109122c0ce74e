// Sorts a table in place when a heading is clicked; without this script the
// heading's link asks the server for the sorted page instead.
"use strict";
document.querySelectorAll("table[data-sortable]").forEach(function (table) {
  table.querySelectorAll("th[data-key]").forEach(function (th, index) {
    var link = th.querySelector("a");
    if (!link) return;
    link.addEventListener("click", function (event) {
      event.preventDefault();
      var descending = th.getAttribute("aria-sort") !== "descending";
      table.querySelectorAll("th[data-key]").forEach(function (other) {
        other.removeAttribute("aria-sort");
      });
      th.setAttribute("aria-sort", descending ? "descending" : "ascending");
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = a.cells[index], y = b.cells[index];
        var order;
        if (x.hasAttribute("data-value") && y.hasAttribute("data-value")) {
          order = parseFloat(x.getAttribute("data-value")) - parseFloat(y.getAttribute("data-value"));
        } else {
          order = x.textContent.toLowerCase().localeCompare(y.textContent.toLowerCase());
        }
        return descending ? -order : order;
      });
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
});
