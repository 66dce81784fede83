// A conversation page: "对方正在输入…" while the borrower types in the web chat. The stream (live.js) says only that
// they are typing, never what; the hint goes after a few seconds without another signal, or when their message
// arrives (the transcript is redrawn).
(function () {
  var source = window.KuanxinLive, hint = document.getElementById("typing");
  if (!source || !hint) return;
  var SHOWN_MS = 5000, timer = null;
  function hide() { hint.hidden = true; clearTimeout(timer); timer = null; }
  source.addEventListener("typing", function () {
    hint.hidden = false;
    clearTimeout(timer);
    timer = setTimeout(hide, SHOWN_MS);
  });
  source.addEventListener("transcript", hide);
})();
