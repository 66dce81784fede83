// Documents from the widget: a file picker (images and PDFs), the phone's camera, drag and drop onto the chat.
// Before the first upload the borrower is shown the separate consent text (PIPL Arts. 28-30) and answers it; without
// consent nothing is sent. The server decides everything (verified? consented? the type by content, the size, the
// count); the widget shows each answer's sentence, which comes from the server's catalogue in the chat's language.
// The endpoints are the web app's (the script's own origin unless `data-documents` names another).

export function documentsBase(script, global) {
  const given = (global && global.documents) || (script && script.dataset && script.dataset.documents) || "";
  if (given) return given.replace(/\/+$/, "");
  try { return new URL(script.src).origin; } catch (error) { return window.location.origin; }
}

export class Documents {
  constructor(chat, base) {
    this.chat = chat;
    this.base = base;
    this.busy = Promise.resolve();
  }

  form(fields) {
    const body = new FormData();
    body.append("resume", localStorage.getItem(this.chat.storageKey) || "");
    body.append("token", this.chat.options.token || "");
    body.append("lang", this.chat.language);
    for (const [name, value] of Object.entries(fields)) body.append(name, value);
    return body;
  }

  async call(path, fields, query = "") {
    const response = await fetch(`${this.base}/documents/${path}${query}`, { method: "POST", body: this.form(fields) });
    let answer = {};
    try { answer = await response.json(); } catch (error) { answer = {}; }
    return answer && typeof answer === "object" ? answer : {};
  }

  // One batch at a time, in the order chosen: a second drop waits for the first.
  attach(files) {
    const list = Array.from(files || []);
    if (!list.length) return this.busy;
    this.busy = this.busy.then(() => this.send(list)).catch(() => {
      list.forEach((file) => this.chat.addNotice(this.chat.t("upload_failed", { name: file.name })));
    });
    return this.busy;
  }

  async send(files) {
    const status = await this.call("status", {});
    if (status.ok !== true) {
      this.chat.addNotice(status.text || this.chat.t("upload_failed", { name: files[0].name }));
      return;
    }
    if (!status.consented && !(await this.askConsent(status.consent || {}))) return;
    for (const file of files) await this.upload(file, status);
  }

  // Shows the consent text with its two answers; resolves true once the server recorded the consent.
  askConsent(offer) {
    return new Promise((resolve) => {
      const box = this.chat.addConsent(offer, async (agreed) => {
        box.querySelectorAll("button").forEach((button) => { button.disabled = true; });
        const answer = await this.call("consent", agreed ? { decision: "given", sha256: offer.sha256 || "" }
          : { decision: "declined" });
        box.classList.add("answered");
        if (answer.reason === "stale_consent" && answer.consent) {
          resolve(await this.askConsent(answer.consent)); // the words changed since shown: show them again
          return;
        }
        if (answer.text) this.chat.addNotice(answer.text);
        resolve(answer.ok === true);
      });
    });
  }

  async upload(file, status) {
    const bubble = this.chat.addUserMessage(this.chat.t("attached", { name: file.name }));
    bubble.classList.add("pending", "document");
    let answer;
    const query = `?lang=${encodeURIComponent(this.chat.language)}&name=${encodeURIComponent(file.name.slice(0, 80))}`;
    if (Number.isFinite(status.max_bytes) && file.size > status.max_bytes) {
      answer = await this.call("upload", {}, `${query}&size=${file.size}`); // not sent: the server says why
    } else {
      answer = await this.call("upload", { file }, query);
    }
    bubble.classList.remove("pending");
    if (answer.ok === true) {
      if (!answer.told && answer.text) this.chat.addNotice(answer.text);
      return;
    }
    bubble.classList.add("refused");
    this.chat.addNotice(answer.text || this.chat.t("upload_failed", { name: file.name }));
  }
}
