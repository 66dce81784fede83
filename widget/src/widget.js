// The kuanxin chat widget. Embed with one tag; options are data attributes:
//   <script src="https://lender.example/widget/kuanxin-chat.js" data-server="https://chat.lender.example"
//           data-title="宽心助手" data-greeting="您好…" data-color="#1f7a5c" data-token="<signed JWT>" data-lang="zh"
//           defer></script>
// The widget's own words come from the text catalogue (texts.js); they follow the language of the assistant's
// latest reply, so a borrower who writes in English sees English buttons too.
// Everything is drawn inside a shadow root, so the lender's CSS and ours never meet, and every
// text from the network is inserted as text, never as HTML.
import { io } from "socket.io-client";
import { STYLE } from "./style.js";
import { renderMessage, renderText } from "./render.js";
import { LANGUAGES, fill, words } from "./texts.js";
import { Documents, documentsBase } from "./documents.js";

const script = document.currentScript;
const ACK_TIMEOUT_MS = 30000; // an old server acknowledges nothing: a timeout counts as "try again"
const MAX_ATTEMPTS = 6; // the first send and up to 5 re-sends, then the retry button
const DEFAULT_RETRY_SECONDS = 2;
const TYPING_EVERY_MS = 2000; // "the borrower is typing" (never what) goes to staff at most this often
const MAX_TOKEN_LENGTH = 4096;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g;

// A lender token is a plain string of printable ASCII (a JWT); anything else is dropped, so the chat
// goes on as an anonymous one (the identity check) instead of failing on the server.
export function usableToken(token) {
  if (typeof token !== "string") return "";
  const trimmed = token.trim();
  if (!trimmed || trimmed.length > MAX_TOKEN_LENGTH || !/^[\x20-\x7e]+$/.test(trimmed)) {
    if (trimmed) console.warn("kuanxin-chat: the token is not a plain ASCII string and was ignored");
    return "";
  }
  return trimmed;
}

// What the borrower typed, as text the server can always decode: no lone surrogates, no control characters.
export function wellFormed(text) {
  return String(text ?? "").replace(LONE_SURROGATE, "\ufffd").replace(CONTROL, "");
}

function newMessageId() {
  const bytes = new Uint8Array(16);
  if (window.crypto && window.crypto.getRandomValues) window.crypto.getRandomValues(bytes);
  else for (let i = 0; i < bytes.length; i += 1) bytes[i] = Math.floor(Math.random() * 256);
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  return Array.from(bytes, (b) => alphabet[b & 63]).join("") + Date.now().toString(36);
}

function readOptions() {
  const data = (script && script.dataset) || {};
  const global = window.KuanxinChatOptions || {};
  return {
    server: global.server || data.server || window.location.origin,
    title: global.title || data.title || "", // the catalogue's, in the chat's language, when not given
    greeting: global.greeting || data.greeting || "",
    language: LANGUAGES.includes(global.lang || data.lang) ? (global.lang || data.lang) : "zh",
    color: global.color || data.color || "#1f7a5c",
    token: usableToken(global.token || data.token || ""),
    open: (global.open ?? data.open) === true || data.open === "true",
    documents: documentsBase(script, global), // the web app that takes documents (the script's origin by default)
  };
}

function el(tag, attributes = {}, text) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

class KuanxinChat {
  constructor(options) {
    this.options = options;
    this.storageKey = `kuanxin-chat:${options.server}:${options.token ? "signed" : "anonymous"}`;
    this.ready = false;
    // The send queue: one message at a time, the next after the server acknowledged the previous.
    this.queue = [];
    this.inFlight = null; // {entry, seq} while waiting for an acknowledgement
    this.sendSeq = 0;
    this.retryTimer = null;
    this.typingSentAt = 0;
    this.language = options.language;
    this.labels = []; // [node, attribute or null, key, values]: the chrome's words, redrawn when the language changes
    this.statusKey = "connecting";
    this.documents = new Documents(this, options.documents);
    this.build();
    this.connect();
    if (options.open || sessionStorage.getItem(`${this.storageKey}:open`) === "1") this.open(false);
  }

  build() {
    const host = el("div", { id: "kuanxin-chat" });
    document.body.appendChild(host);
    const root = host.attachShadow({ mode: "open" });
    const style = el("style");
    style.textContent = STYLE;
    root.appendChild(style);
    host.style.setProperty("--kx-color", this.options.color);

    this.launcher = this.label(el("button", { class: "launcher", type: "button", "aria-haspopup": "dialog",
      "aria-expanded": "false" }), null, "launcher");
    this.label(this.launcher, "aria-label", "open", () => ({ title: this.title() }));
    this.panel = el("section", { class: "panel", role: "dialog", hidden: "" });
    this.label(this.panel, "aria-label", () => this.title());
    const header = el("header");
    header.append(this.label(el("h2"), null, () => this.title()));
    this.status = el("p", { class: "status", role: "status" });
    header.append(this.status);
    this.closeButton = this.label(el("button", { class: "close", type: "button" }, "×"), "aria-label", "close");
    header.append(this.closeButton);
    this.log = this.label(el("div", { class: "log", role: "log", "aria-live": "polite", tabindex: "0" }),
      "aria-label", "log");
    this.typing = this.label(el("p", { class: "typing", "aria-live": "polite", hidden: "" }), null, "typing");
    const form = el("form", { class: "composer" });
    this.input = this.label(el("textarea", { rows: "1", maxlength: "1000" }), "aria-label", "input");
    this.label(this.input, "placeholder", "placeholder");
    this.sendButton = this.label(el("button", { type: "submit" }), null, "send");
    // documents: a file picker (images and PDFs) and, on a phone, the camera; the server judges the content
    const picker = el("input", { type: "file", class: "file", multiple: "", hidden: "",
      accept: "image/jpeg,image/png,image/heic,image/heif,application/pdf,.jpg,.jpeg,.png,.heic,.heif,.pdf" });
    const camera = el("input", { type: "file", class: "camera-input", accept: "image/*", capture: "environment",
      hidden: "" });
    const attach = this.label(el("button", { type: "button", class: "attach" }), null, "attach_button");
    this.label(attach, "aria-label", "attach");
    this.label(attach, "title", "attach");
    const shoot = this.label(el("button", { type: "button", class: "camera" }), null, "camera_button");
    this.label(shoot, "aria-label", "camera");
    this.label(shoot, "title", "camera");
    attach.addEventListener("click", () => picker.click());
    shoot.addEventListener("click", () => camera.click());
    for (const input of [picker, camera]) {
      input.addEventListener("change", () => { this.documents.attach(input.files); input.value = ""; });
    }
    form.append(picker, camera, attach, shoot, this.input, this.sendButton);
    this.dropHint = this.label(el("p", { class: "drop-hint", hidden: "" }), null, "drop");
    this.setStatus("connecting");
    this.panel.append(header, this.log, this.typing, this.dropHint, form);
    this.panel.addEventListener("dragover", (event) => {
      if (!event.dataTransfer || !Array.from(event.dataTransfer.types || []).includes("Files")) return;
      event.preventDefault();
      this.dropHint.hidden = false;
    });
    this.panel.addEventListener("dragleave", (event) => {
      if (!this.panel.contains(event.relatedTarget)) this.dropHint.hidden = true;
    });
    this.panel.addEventListener("drop", (event) => {
      event.preventDefault();
      this.dropHint.hidden = true;
      if (event.dataTransfer) this.documents.attach(event.dataTransfer.files);
    });
    root.append(this.launcher, this.panel);

    this.launcher.addEventListener("click", () => this.open(true));
    this.closeButton.addEventListener("click", () => this.close());
    this.panel.addEventListener("keydown", (event) => { if (event.key === "Escape") this.close(); });
    form.addEventListener("submit", (event) => { event.preventDefault(); this.sendTyped(); });
    this.input.addEventListener("input", () => this.sayTyping());
    this.input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) { event.preventDefault(); this.sendTyped(); }
    });
  }

  connect() {
    // `route` lets a load balancer keep this chat on one server (its session id, or a random key at first)
    this.socket = io(this.options.server, { path: "/socket.io", reconnectionDelayMax: 5000,
      query: { route: this.routeKey() } });
    this.socket.on("connect", () => {
      this.ready = false;
      this.setStatus("resuming");
      this.socket.emit("session_request", { resume: localStorage.getItem(this.storageKey) || "",
        token: this.options.token });
    });
    this.socket.on("session_confirm", (session) => this.onSession(session || {}));
    this.socket.on("history", (messages) => this.onHistory(Array.isArray(messages) ? messages : []));
    this.socket.on("bot_uttered", (message) => this.onBotMessage(message || {}));
    this.socket.on("bot_typing", (state) => { this.typing.hidden = !(state && state.typing); });
    this.socket.on("disconnect", () => {
      this.ready = false;
      if (this.inFlight) this.inFlight.entry.attempts -= 1; // lost with the connection: not a failed attempt
      this.inFlight = null; // re-sent (same message_id) once the session is confirmed again
      this.setStatus("reconnecting", true);
    });
    this.socket.io.on("reconnect_attempt", () => this.setStatus("reconnecting", true));
    this.socket.on("connect_error", () => this.setStatus("unreachable", true));
  }

  routeKey() {
    const resume = localStorage.getItem(this.storageKey) || "";
    const sessionId = resume.split(".")[0];
    return /^[A-Za-z0-9_-]{8,64}$/.test(sessionId) ? sessionId : Math.random().toString(36).slice(2, 14);
  }

  onSession(session) {
    if (typeof session.resume === "string") localStorage.setItem(this.storageKey, session.resume);
    if (!session.resumed) {
      this.log.replaceChildren();
      this.addGreeting();
      this.showQueued();
    }
    this.ready = true;
    this.setStatus(session.signed_in ? "connected_signed_in" : "connected");
    this.pump();
  }

  onHistory(messages) {
    this.log.replaceChildren();
    this.addGreeting();
    messages.forEach((message) => (message.from === "user" ? this.addUserMessage(message.text)
      : this.addBotMessage(message)));
    this.showQueued();
  }

  showQueued() {
    this.queue.forEach((entry) => this.log.append(entry.bubble)); // not sent yet: still to come, in order
  }

  onBotMessage(message) {
    this.typing.hidden = true;
    this.addBotMessage(message);
  }

  // Tells the server that the borrower is typing, so staff watching the conversation see it: only that, never the
  // text; nothing for an empty box, and at most one signal every TYPING_EVERY_MS.
  sayTyping() {
    if (!this.ready || !this.input.value.trim()) return;
    const now = Date.now();
    if (now - this.typingSentAt < TYPING_EVERY_MS) return;
    this.typingSentAt = now;
    this.socket.emit("user_typing");
  }

  sendTyped() {
    const text = this.input.value.trim();
    if (!text) return;
    this.input.value = "";
    this.typingSentAt = 0; // the next message's first keystroke is told at once
    this.send(text, text);
  }

  send(payload, shown) {
    this.removeQuickReplies();
    const bubble = this.addUserMessage(shown);
    bubble.classList.add("pending");
    this.queue.push({ id: newMessageId(), text: wellFormed(payload), bubble, attempts: 0, failed: false });
    this.pump();
  }

  // Sends the queue's first message unless one is waiting for its acknowledgement (or the chat is offline).
  pump() {
    if (!this.ready || this.inFlight || this.retryTimer || !this.queue.length) return;
    const entry = this.queue[0];
    if (entry.failed) return; // waits for the retry button: what follows keeps its order
    entry.attempts += 1;
    const seq = (this.sendSeq += 1);
    this.inFlight = { entry, seq };
    this.socket.timeout(ACK_TIMEOUT_MS).emit("user_uttered", { message: entry.text, message_id: entry.id },
      (error, ack) => this.onAck(seq, error, ack));
  }

  onAck(seq, error, ack) {
    if (!this.inFlight || this.inFlight.seq !== seq) return; // an answer to an attempt already given up
    const { entry } = this.inFlight;
    this.inFlight = null;
    if (error && !this.socket.connected) return; // sent again after the reconnect
    const answer = ack && typeof ack === "object" ? ack : {};
    if (!error && answer.ok === true) {
      this.done(entry);
    } else if (!error && answer.ok === false && answer.retry === false) {
      this.addNotice(answer.text || this.t("not_sent"));
      entry.bubble.classList.add("refused");
      this.done(entry);
    } else {
      // refused for now (e.g. a store outage) or no acknowledgement in time: the same message again
      if (!error && typeof answer.text === "string" && answer.text) this.addNotice(answer.text);
      if (entry.attempts >= MAX_ATTEMPTS) {
        this.markFailed(entry);
        return;
      }
      const seconds = Number(answer.retry_after);
      const delay = Number.isFinite(seconds) && seconds >= 0 ? Math.min(seconds, 60) : DEFAULT_RETRY_SECONDS;
      this.retryTimer = setTimeout(() => { this.retryTimer = null; this.pump(); }, delay * 1000);
      return;
    }
    this.pump();
  }

  done(entry) {
    entry.bubble.classList.remove("pending");
    if (this.queue[0] === entry) this.queue.shift();
  }

  markFailed(entry) {
    entry.failed = true;
    entry.bubble.classList.remove("pending");
    entry.bubble.classList.add("failed");
    const retry = el("button", { type: "button", class: "retry" }, this.t("retry"));
    retry.addEventListener("click", () => {
      retry.remove();
      entry.failed = false;
      entry.attempts = 0;
      entry.bubble.classList.remove("failed");
      entry.bubble.classList.add("pending");
      this.pump();
    });
    entry.bubble.append(retry);
  }

  addNotice(text) {
    const last = this.log.lastElementChild;
    if (last && last.classList.contains("notice") && last.dataset.text === text) return; // one per outage
    const notice = el("p", { class: "notice", role: "note" }, text);
    notice.dataset.text = text;
    this.append(notice);
  }

  addUserMessage(text) {
    const bubble = el("div", { class: "message user" });
    bubble.append(el("span", { class: "sr-only" }, this.t("me")), renderText(String(text ?? "")));
    this.append(bubble);
    return bubble;
  }

  // The consent text for documents, as a message with its two answers; `onAnswer(agreed)` is called once.
  addConsent(offer, onAnswer) {
    const bubble = el("div", { class: "message bot consent", role: "group" });
    bubble.append(el("span", { class: "sr-only" }, this.t("bot")), renderText(String(offer.text ?? "")));
    const answers = el("div", { class: "quick-replies" });
    const agree = el("button", { type: "button", class: "agree" }, String(offer.agree ?? ""));
    const decline = el("button", { type: "button", class: "decline" }, String(offer.decline ?? ""));
    let answered = false;
    const answer = (agreed) => { if (!answered) { answered = true; onAnswer(agreed); } };
    agree.addEventListener("click", () => answer(true));
    decline.addEventListener("click", () => answer(false));
    answers.append(agree, decline);
    bubble.append(answers);
    this.append(bubble);
    agree.focus();
    return bubble;
  }

  addGreeting() {
    const bubble = el("div", { class: "message bot greeting" });
    bubble.append(this.label(el("span", { class: "sr-only" }), null, "bot"));
    bubble.append(this.label(el("p"), null, () => this.options.greeting || this.t("greeting")));
    this.append(bubble);
  }

  addBotMessage(message) {
    if (LANGUAGES.includes(message.lang) && message.lang !== this.language) this.setLanguage(message.lang);
    const staff = message.staff && message.staff.name;
    const bubble = el("div", { class: staff ? "message bot staff" : "message bot" });
    bubble.append(el("span", { class: staff ? "who" : "sr-only" }, staff ? this.t("staff", { name: staff }) : this.t("bot")));
    bubble.append(renderMessage(message));
    this.append(bubble);
    const replies = Array.isArray(message.quick_replies) ? message.quick_replies : [];
    if (replies.length) this.addQuickReplies(replies);
  }

  addQuickReplies(replies) {
    this.removeQuickReplies();
    const group = el("div", { class: "quick-replies", role: "group", "aria-label": this.t("quick_replies") });
    for (const reply of replies) {
      const button = el("button", { type: "button" }, String(reply.title ?? ""));
      button.addEventListener("click", () => { this.send(String(reply.payload || reply.title), reply.title); this.input.focus(); });
      group.append(button);
    }
    this.append(group);
  }

  removeQuickReplies() {
    this.log.querySelectorAll(".quick-replies").forEach((group) => group.remove());
  }

  append(node) {
    this.log.append(node);
    this.log.scrollTop = this.log.scrollHeight;
  }

  setStatus(key, problem = false) {
    this.statusKey = key;
    this.status.textContent = this.t(key);
    this.status.classList.toggle("problem", problem);
  }

  t(key, values = {}) {
    return fill(words(this.language)[key], values);
  }

  title() {
    return this.options.title || this.t("title");
  }

  // Gives `node` (its text, or `attribute`) the catalogue's words for `key` (or what a function returns),
  // now and whenever the chat's language changes.
  label(node, attribute, key, values = () => ({})) {
    const entry = [node, attribute, key, values];
    this.labels.push(entry);
    this.applyLabel(entry);
    return node;
  }

  applyLabel([node, attribute, key, values]) {
    const value = typeof key === "function" ? key() : this.t(key, values());
    if (attribute) node.setAttribute(attribute, value);
    else node.textContent = value;
  }

  setLanguage(language) {
    this.language = language;
    this.labels = this.labels.filter(([node]) => node.isConnected); // greetings of a cleared log are gone
    this.labels.forEach((entry) => this.applyLabel(entry));
    this.status.textContent = this.t(this.statusKey);
  }

  open(moveFocus) {
    this.panel.hidden = false;
    this.launcher.hidden = true;
    this.launcher.setAttribute("aria-expanded", "true");
    sessionStorage.setItem(`${this.storageKey}:open`, "1");
    if (moveFocus) this.input.focus();
  }

  close() {
    this.panel.hidden = true;
    this.launcher.hidden = false;
    this.launcher.setAttribute("aria-expanded", "false");
    sessionStorage.removeItem(`${this.storageKey}:open`);
    this.launcher.focus();
  }
}

function start() {
  if (window.KuanxinChat) return;
  window.KuanxinChat = new KuanxinChat(readOptions());
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
else start();
