// Bot messages as DOM nodes. A message may carry structured blocks (an overdue loan's charges, a repayment
// schedule: data sent by the assistant beside its text, actions/render.py Composed, checked by channels/webchat.py
// widget_blocks); they are drawn natively, their words (captions, column titles, labels) coming with them from
// the catalogue. Otherwise the text is shown with its line breaks. Only text nodes are created from what the
// server sends: no HTML is ever parsed, and no text is parsed back into data.

function scheduleTable(block) {
  const table = document.createElement("table");
  table.className = "schedule";
  if (block.caption) table.createCaption().textContent = String(block.caption);
  const columns = Array.isArray(block.columns) ? block.columns : [];
  if (columns.length) {
    const head = table.createTHead().insertRow();
    for (const title of columns) {
      const cell = document.createElement("th");
      cell.scope = "col";
      cell.textContent = String(title);
      head.append(cell);
    }
  }
  const body = table.createTBody();
  for (const row of block.rows) {
    const line = body.insertRow();
    [row.label || row.period, row.day, row.shown].forEach((value) => { line.insertCell().textContent = String(value ?? ""); });
  }
  return table;
}

function amountsTable(block) {
  const fragment = document.createDocumentFragment();
  if (block.title) fragment.append(renderText(String(block.title)));
  const table = document.createElement("table");
  table.className = "amounts";
  const body = table.createTBody();
  for (const row of block.rows) {
    const line = body.insertRow();
    if (row.total === true) line.className = "total";
    const label = document.createElement("th");
    label.scope = "row";
    label.textContent = String(row.label ?? "");
    const amount = line.insertCell();
    amount.textContent = String(row.shown ?? "");
    line.prepend(label);
    if (row.note) {
      const note = document.createElement("small");
      note.textContent = String(row.note);
      label.append(note);
    }
  }
  fragment.append(table);
  return fragment;
}

// an agreement's key terms before the borrower accepts it: a card of labelled values, its title as a heading
function termsCard(block) {
  const card = document.createElement("section");
  card.className = "terms";
  card.append(amountsTable(block));
  return card;
}

// pay now: a button that opens the lender's own payment page in a new tab (the link is signed by the assistant;
// channels/webchat.py lets only http(s) addresses through)
function payButton(block) {
  const wrap = document.createElement("div");
  wrap.className = "pay";
  const link = document.createElement("a");
  link.className = "pay-now";
  link.href = String(block.url);
  link.target = "_blank";
  link.rel = "noopener noreferrer";
  link.textContent = String(block.label ?? "");
  wrap.append(link);
  if (block.note) {
    const note = document.createElement("small");
    note.textContent = String(block.note);
    wrap.append(note);
  }
  return wrap;
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
    if (block && block.type === "schedule" && Array.isArray(block.rows)) fragment.append(scheduleTable(block));
    else if (block && block.type === "amounts" && Array.isArray(block.rows)) fragment.append(amountsTable(block));
    else if (block && block.type === "terms" && Array.isArray(block.rows)) fragment.append(termsCard(block));
    else if (block && block.type === "pay" && /^https?:\/\//.test(String(block.url))) fragment.append(payButton(block));
    else if (block && block.type === "text") fragment.append(renderText(String(block.text ?? "")));
  }
  return fragment;
}
