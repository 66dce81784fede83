// keyboard shortcuts, outside text fields: / search; j k choose a queue row, Enter open it; a page's own keys on
// elements marked data-key (a button is pressed, a field is focused)
document.addEventListener("keydown", function (event) {
  var target = event.target, key = event.key;
  if (event.ctrlKey || event.metaKey || event.altKey || target.isContentEditable ||
      /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName)) return;
  var rows = Array.prototype.slice.call(document.querySelectorAll("tr.escalation"));
  var chosen = rows.findIndex(function (row) { return row.getAttribute("aria-selected") === "true"; });
  if ((key === "j" || key === "k") && rows.length) {
    var next = Math.max(0, Math.min(rows.length - 1, chosen + (key === "j" ? 1 : -1)));
    rows.forEach(function (row, index) { row.setAttribute("aria-selected", String(index === next)); });
    rows[next].scrollIntoView({block: "nearest"});
  } else if (key === "Enter" && chosen >= 0) {
    rows[chosen].querySelector("a").click();
  } else {
    var bound = document.querySelector(key === "/" ? "header input[type=search]" : '[data-key="' + key + '"]');
    if (!bound) return;
    if (/^(INPUT|TEXTAREA|SELECT)$/.test(bound.tagName)) bound.focus(); else bound.click();
  }
  event.preventDefault();
});
