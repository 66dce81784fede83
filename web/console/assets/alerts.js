// Alerts for a console left open (per browser, remembered in localStorage, off until staff switch them on):
// 提示音 plays a short tone made with the Web Audio API (no sound file); 桌面通知 shows a browser notification, only
// while the page is hidden (a visible page already shows what changed). Both are for what others bring: a new
// escalation on the queue page, a new borrower message on a conversation page; never for the page's own changes (a
// claim or a reply adds neither), and at most one alert every few seconds however much arrives at once.
// The live stream (live.js) redraws the page and then says so with the "kuanxin:redrawn" event.
(function () {
  var box = document.getElementById("alerts");
  if (!box || !window.localStorage) return;
  var sound = document.getElementById("alert-sound"), notify = document.getElementById("alert-notify");
  var said = document.getElementById("alert-state");
  var GAP_MS = 5000, lastAlert = 0, audio = null;
  var KEYS = {sound: "kuanxin.alerts.sound", notify: "kuanxin.alerts.notify"};

  function remembered(key) { try { return localStorage.getItem(key) === "on"; } catch (e) { return false; } }
  function remember(key, on) { try { localStorage.setItem(key, on ? "on" : "off"); } catch (e) { /* private mode */ } }
  function say(text) { said.textContent = text; }

  sound.checked = remembered(KEYS.sound);
  notify.checked = remembered(KEYS.notify) && !!window.Notification && Notification.permission === "granted";
  if (!window.Notification) { notify.disabled = true; notify.title = "此浏览器不支持桌面通知"; }

  // an AudioContext made while staff click is allowed to play; one made later may start suspended
  function audioContext() {
    var Context = window.AudioContext || window.webkitAudioContext;
    if (!audio && Context) audio = new Context();
    if (audio && audio.state === "suspended") audio.resume().catch(function () {});
    return audio;
  }

  function tone() {
    var context = audioContext();
    if (!context) return;
    var oscillator = context.createOscillator(), gain = context.createGain(), now = context.currentTime;
    oscillator.type = "sine";
    oscillator.frequency.setValueAtTime(880, now);
    oscillator.frequency.setValueAtTime(660, now + 0.15);
    gain.gain.setValueAtTime(0.0001, now);
    gain.gain.exponentialRampToValueAtTime(0.2, now + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, now + 0.35);
    oscillator.connect(gain).connect(context.destination);
    oscillator.start(now);
    oscillator.stop(now + 0.4);
  }

  sound.addEventListener("change", function () {
    remember(KEYS.sound, sound.checked);
    if (sound.checked) { audioContext(); say("提示音已开启"); } else say("提示音已关闭");
  });

  notify.addEventListener("change", function () {
    if (!notify.checked) { remember(KEYS.notify, false); say("桌面通知已关闭"); return; }
    // the browser is asked only now, when staff switch notifications on
    Promise.resolve(Notification.requestPermission()).then(function (permission) {
      var allowed = permission === "granted";
      notify.checked = allowed;
      remember(KEYS.notify, allowed);
      say(allowed ? "桌面通知已开启(页面不在前台时提醒)" : "浏览器未允许通知,请在浏览器设置中允许后再开启");
    });
  });

  function tell(title, body) {
    var now = Date.now();
    if (now - lastAlert < GAP_MS || !(sound.checked || notify.checked)) return;
    lastAlert = now;
    if (sound.checked) tone();
    if (notify.checked && document.hidden && Notification.permission === "granted") {
      var shown = new Notification(title, {body: body, tag: "kuanxin-console", lang: "zh-CN"});
      shown.onclick = function () { window.focus(); shown.close(); };
    }
  }

  // the queue page: an escalation is new when its number is above every one this page has shown
  function newestEscalation() {
    return Array.prototype.reduce.call(document.querySelectorAll("tr.escalation[data-escalation]"),
      function (newest, row) { return Math.max(newest, Number(row.dataset.escalation)); }, 0);
  }
  function newEscalations(since) {
    return Array.prototype.filter.call(document.querySelectorAll("tr.escalation[data-escalation]"),
      function (row) { return Number(row.dataset.escalation) > since; });
  }

  // a conversation page: the borrower wrote when their last message is another one than before
  function lastBorrowerTurn() {
    var turns = document.querySelectorAll("#transcript .turn.borrower");
    return turns.length ? turns.length + "|" + turns[turns.length - 1].textContent : "";
  }

  var seenEscalation = newestEscalation(), seenTurn = lastBorrowerTurn();
  document.addEventListener("kuanxin:redrawn", function () {
    var fresh = newEscalations(seenEscalation), turn = lastBorrowerTurn();
    seenEscalation = Math.max(seenEscalation, newestEscalation());
    if (fresh.length) {
      var row = fresh[0];
      tell("新的转人工:" + row.dataset.reasonLabel,
            row.dataset.reference + (fresh.length > 1 ? " 等 " + fresh.length + " 条" : ""));
    }
    var transcript = document.getElementById("transcript");
    if (transcript && turn && turn !== seenTurn) tell("借款人发来新消息", transcript.dataset.reference || "");
    seenTurn = turn;
  });
})();
