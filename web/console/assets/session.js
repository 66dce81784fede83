// The idle timeout (policy.yml console.idle_minutes): a session nobody uses ends. Shortly before that
// (console.idle_warning_minutes) the page says so, counts down and offers 继续使用, which extends the session.
// Before warning it asks the server how long is really left: work in another tab keeps the same session alive.
(function () {
  var box = document.getElementById("session-warning");
  if (!box || !window.fetch) return;
  var warnMs = Number(box.dataset.warnSeconds) * 1000, left = document.getElementById("session-left");
  var form = box.querySelector("form"), timer = null, ticker = null, endsAt = 0;
  var BACKGROUND = {"X-Kuanxin-Background": "1"};  // asking is not working: it does not extend the session

  function signedOut() { location.assign("/console/login?expired=1"); }

  function schedule(secondsLeft) {
    clearTimeout(timer); clearInterval(ticker);
    box.hidden = true;
    endsAt = Date.now() + secondsLeft * 1000;
    timer = setTimeout(check, Math.max(0, secondsLeft * 1000 - warnMs));
  }

  // when the page's count says the time is near (or up), the server's word decides
  function check(unanswered) {
    fetch("/console/session", {credentials: "same-origin", headers: BACKGROUND}).then(function (answer) {
      return answer.json();
    }).then(function (state) {
      if (!state.seconds_left) return signedOut();
      if (state.seconds_left * 1000 > warnMs + 1000) return schedule(state.seconds_left);
      endsAt = Date.now() + state.seconds_left * 1000;
      warn();
    }).catch(unanswered || warn);  // the server could not be asked: warn on the page's own count
  }

  function warn() {
    clearInterval(ticker);
    box.hidden = false;
    tick();
    ticker = setInterval(tick, 1000);
    if (!box.contains(document.activeElement)) form.querySelector("button").focus();
  }

  function tick() {
    var seconds = Math.ceil((endsAt - Date.now()) / 1000);
    if (seconds <= 0) { clearInterval(ticker); return check(signedOut); }
    left.textContent = Math.floor(seconds / 60) + ":" + String(seconds % 60).padStart(2, "0");
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    fetch(form.action, {method: "POST", credentials: "same-origin", body: new URLSearchParams(new FormData(form))})
      .then(function (answer) { return answer.ok ? answer.json() : Promise.reject(answer.status); })
      .then(function (state) { schedule(state.seconds_left); })
      .catch(signedOut);
  });

  schedule(Number(box.dataset.idleSeconds));
})();
