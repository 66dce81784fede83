// The kuanxin chat widget. Embed with one tag; options are data attributes:
//   <script src="https://lender.example/widget/kuanxin-chat.js" data-server="https://chat.lender.example"
//           data-title="宽心助手" data-greeting="您好…" data-color="#1f7a5c" data-token="<signed JWT>" defer></script>
// Everything is drawn inside a shadow root, so the lender's CSS and ours never meet, and every
// text from the network is inserted as text, never as HTML.
import { io } from "socket.io-client";
import { STYLE } from "./style.js";
import { renderText } from "./render.js";

const script = document.currentScript;

function readOptions() {
  const data = (script && script.dataset) || {};
  const global = window.KuanxinChatOptions || {};
  return {
    server: global.server || data.server || window.location.origin,
    title: global.title || data.title || "宽心 · 在线助手",
    greeting: global.greeting || data.greeting || "您好,我是宽心智能助手,可以帮您查询欠款、了解逾期影响、申请延期或分期。",
    color: global.color || data.color || "#1f7a5c",
    token: global.token || data.token || "",
    open: (global.open ?? data.open) === true || data.open === "true",
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
    this.outbox = [];
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

    this.launcher = el("button", { class: "launcher", type: "button", "aria-haspopup": "dialog",
      "aria-expanded": "false", "aria-label": `打开${this.options.title}` }, "在线咨询");
    this.panel = el("section", { class: "panel", role: "dialog", "aria-label": this.options.title, hidden: "" });
    const header = el("header");
    header.append(el("h2", {}, this.options.title));
    this.status = el("p", { class: "status", role: "status" }, "正在连接…");
    header.append(this.status);
    this.closeButton = el("button", { class: "close", type: "button", "aria-label": "关闭对话窗口" }, "×");
    header.append(this.closeButton);
    this.log = el("div", { class: "log", role: "log", "aria-live": "polite", "aria-label": "对话记录",
      tabindex: "0" });
    this.typing = el("p", { class: "typing", "aria-live": "polite", hidden: "" }, "宽心正在输入…");
    const form = el("form", { class: "composer" });
    this.input = el("textarea", { rows: "1", maxlength: "1000", "aria-label": "输入消息",
      placeholder: "请输入您的问题,例如:我逾期了多少钱" });
    this.sendButton = el("button", { type: "submit" }, "发送");
    form.append(this.input, this.sendButton);
    this.panel.append(header, this.log, this.typing, form);
    root.append(this.launcher, this.panel);

    this.launcher.addEventListener("click", () => this.open(true));
    this.closeButton.addEventListener("click", () => this.close());
    this.panel.addEventListener("keydown", (event) => { if (event.key === "Escape") this.close(); });
    form.addEventListener("submit", (event) => { event.preventDefault(); this.sendTyped(); });
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
      this.setStatus("正在恢复会话…");
      this.socket.emit("session_request", { resume: localStorage.getItem(this.storageKey) || "",
        token: this.options.token });
    });
    this.socket.on("session_confirm", (session) => this.onSession(session || {}));
    this.socket.on("history", (messages) => this.onHistory(Array.isArray(messages) ? messages : []));
    this.socket.on("bot_uttered", (message) => this.onBotMessage(message || {}));
    this.socket.on("bot_typing", (state) => { this.typing.hidden = !(state && state.typing); });
    this.socket.on("disconnect", () => { this.ready = false; this.setStatus("连接已断开,正在重新连接…", true); });
    this.socket.io.on("reconnect_attempt", () => this.setStatus("连接已断开,正在重新连接…", true));
    this.socket.on("connect_error", () => this.setStatus("暂时连不上服务,正在重试…", true));
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
      this.addBotMessage({ text: this.options.greeting });
    }
    this.ready = true;
    this.setStatus(session.signed_in ? "已连接 · 已登录" : "已连接");
    const waiting = this.outbox.splice(0);
    waiting.forEach((text) => this.socket.emit("user_uttered", { message: text }));
  }

  onHistory(messages) {
    this.log.replaceChildren();
    this.addBotMessage({ text: this.options.greeting });
    messages.forEach((message) => (message.from === "user" ? this.addUserMessage(message.text)
      : this.addBotMessage(message)));
  }

  onBotMessage(message) {
    this.typing.hidden = true;
    this.addBotMessage(message);
  }

  sendTyped() {
    const text = this.input.value.trim();
    if (!text) return;
    this.input.value = "";
    this.send(text, text);
  }

  send(payload, shown) {
    this.removeQuickReplies();
    this.addUserMessage(shown);
    if (this.ready) this.socket.emit("user_uttered", { message: payload });
    else this.outbox.push(payload);
  }

  addUserMessage(text) {
    const bubble = el("div", { class: "message user" });
    bubble.append(el("span", { class: "sr-only" }, "我:"), renderText(String(text ?? "")));
    this.append(bubble);
  }

  addBotMessage(message) {
    const staff = message.staff && message.staff.name;
    const bubble = el("div", { class: staff ? "message bot staff" : "message bot" });
    bubble.append(el("span", { class: staff ? "who" : "sr-only" }, staff ? `人工客服 · ${staff}` : "宽心:"));
    bubble.append(renderText(String(message.text ?? "")));
    this.append(bubble);
    const replies = Array.isArray(message.quick_replies) ? message.quick_replies : [];
    if (replies.length) this.addQuickReplies(replies);
  }

  addQuickReplies(replies) {
    this.removeQuickReplies();
    const group = el("div", { class: "quick-replies", role: "group", "aria-label": "快捷回复" });
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

  setStatus(text, problem = false) {
    this.status.textContent = text;
    this.status.classList.toggle("problem", problem);
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
