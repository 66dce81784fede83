// Bot text as DOM nodes: line breaks kept, and an installment schedule ("第1期 12月22日 514.10元"
// on consecutive lines, as the assistant writes it for every channel) drawn as a table.
// Only text nodes are created from what the server sends: no HTML is ever parsed.

const SCHEDULE_LINE = /^第(\d+)期\s+(\S+)\s+(\S+)$/;

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
  for (const [, period, date, amount] of rows) {
    const row = body.insertRow();
    [`第${period}期`, date, amount].forEach((value) => { row.insertCell().textContent = value; });
  }
  return table;
}

export function renderText(text) {
  const fragment = document.createDocumentFragment();
  let paragraph = null;
  let schedule = [];
  const flushSchedule = () => {
    if (schedule.length) fragment.append(scheduleTable(schedule));
    schedule = [];
  };
  for (const line of text.split("\n")) {
    const match = SCHEDULE_LINE.exec(line.trim());
    if (match) {
      paragraph = null;
      schedule.push(match);
      continue;
    }
    flushSchedule();
    if (!line.trim()) { paragraph = null; continue; }
    if (paragraph) paragraph.append(document.createElement("br"));
    else { paragraph = document.createElement("p"); fragment.append(paragraph); }
    paragraph.append(document.createTextNode(line));
  }
  flushSchedule();
  return fragment;
}
