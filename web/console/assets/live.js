// The live queue: told by /console/live (server-sent events) that something changed, the page reads itself again and
// swaps the parts named in its script tag's data-parts; a part the staff member is typing in is left alone (so a
// reply being written survives a new message from the borrower).
(function () {
  var script = document.currentScript, parts = (script.dataset.parts || "").split(" ").filter(Boolean);
  if (!window.EventSource || !parts.length) return;
  var busy = false, again = false;
  function inUse(element) {
    return element.contains(document.activeElement) || Array.prototype.some.call(
      element.querySelectorAll("input:not([type=hidden]), textarea"), function (field) { return field.value; });
  }
  function redraw() {
    if (busy) { again = true; return; }
    busy = true;
    // marked as the page's own read: it does not keep an unattended session alive
    fetch(location.href, {credentials: "same-origin", headers: {"X-Kuanxin-Background": "1"}}).then(function (answer) {
      if (!answer.ok || answer.redirected) throw new Error(answer.status);
      return answer.text();
    }).then(function (html) {
      var fresh = new DOMParser().parseFromString(html, "text/html");
      parts.forEach(function (id) {
        var shown = document.getElementById(id), next = fresh.getElementById(id);
        if (shown && next && !inUse(shown)) shown.replaceWith(next);
      });
      var state = document.getElementById("live-state");
      if (state) state.textContent = (state.dataset.updated || "") + new Date().toLocaleTimeString("zh-CN", {hour12: false});
      document.dispatchEvent(new CustomEvent("kuanxin:redrawn"));  // for alerts.js: what is new on the page
    }).catch(function () {}).then(function () {
      busy = false;
      if (again) { again = false; redraw(); }
    });
  }
  // a conversation page names its escalation (and the newest event it shows): it also hears its transcript move on
  var source = new EventSource(script.dataset.stream || "/console/live");
  source.addEventListener("queue", redraw);
  source.addEventListener("transcript", redraw);
  window.KuanxinLive = source;  // for the page's own listeners (conversation.js: the borrower typing)
  source.onopen = function () { document.body.dataset.live = "on"; };
  setInterval(redraw, 60000);  // the service clocks move on even when nothing changes
})();
