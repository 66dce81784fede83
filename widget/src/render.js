// Bot messages as DOM nodes. A message may carry structured blocks (a repayment schedule as data,
// sent by the assistant beside its text: channels/webchat.py widget_blocks); they are drawn natively,
// otherwise the text is shown with its line breaks. Only text nodes are created from what the server
// sends: no HTML is ever parsed, and no text is parsed back into data.

function scheduleTable(rows) {
  const table = document.createElement("table");
  table.className = "schedule";
  const caption = table.createCaption();
  caption.textContent = "还款计划";
  const head = table.createTHead().insertRow();
  for (const title of ["期数", "还款日", "金额"]) {
    const cell = document.createElement("th");
    cell.scope = "col";
    cell.textContent = title;
    head.append(cell);
  }
  const body = table.createTBody();
  for (const row of rows) {
    const line = body.insertRow();
    [`第${row.period}期`, row.day, row.shown].forEach((value) => { line.insertCell().textContent = String(value ?? ""); });
  }
  return table;
}

export function renderText(text) {
  const fragment = document.createDocumentFragment();
  let paragraph = null;
  for (const line of text.split("\n")) {
    if (!line.trim()) { paragraph = null; continue; }
    if (paragraph) paragraph.append(document.createElement("br"));
    else { paragraph = document.createElement("p"); fragment.append(paragraph); }
    paragraph.append(document.createTextNode(line));
  }
  return fragment;
}

export function renderMessage(message) {
  const blocks = Array.isArray(message.blocks) ? message.blocks : [];
  if (!blocks.length) return renderText(String(message.text ?? ""));
  const fragment = document.createDocumentFragment();
  for (const block of blocks) {
    if (block && block.type === "schedule" && Array.isArray(block.rows)) fragment.append(scheduleTable(block.rows));
    else if (block && block.type === "text") fragment.append(renderText(String(block.text ?? "")));
  }
  return fragment;
}
