/* hubgen serve's live-reload client, injected into every previewed page (never into a build).
 * It keeps to what every current browser has (EventSource, fetch, sessionStorage), builds its UI
 * with textContent only (problem texts come from editors' files), and sets styles through the
 * CSSOM so a theme's Content-Security-Policy without 'unsafe-inline' does not block it.
 * @NAMES@ are filled in by livereload.py. */
(function () {
  "use strict";
  var me = document.getElementById("hubgen-live");
  var build = me ? me.getAttribute("data-build") : "";
  var scrollKey = "hubgen:scroll:" + location.pathname + location.search;
  var unlockedKey = "@UNLOCKED_KEY@";
  var panel = null;
  var saved = null;
  try {
    saved = JSON.parse(sessionStorage.getItem(scrollKey) || "null");
    sessionStorage.removeItem(scrollKey);
  } catch (e) { saved = null; }
  function restore() { if (saved) { window.scrollTo(saved[0], saved[1]); } }
  if (saved) { restore(); window.addEventListener("load", restore); }

  function reload() {
    try {
      sessionStorage.setItem(scrollKey, JSON.stringify([window.scrollX, window.scrollY]));
    } catch (e) { /* private mode: reload without the position */ }
    location.reload();
  }
  function el(tag, text, css) {
    var node = document.createElement(tag);
    if (text) { node.textContent = text; }
    if (css) { node.style.cssText = css; }
    return node;
  }
  function hideProblems() {
    if (panel) { panel.remove(); panel = null; }
  }
  function showProblems(problems) {
    hideProblems();
    panel = el("div", "", "position:fixed;left:1rem;right:1rem;bottom:3rem;max-height:60vh;" +
      "overflow:auto;z-index:2147483646;background:#2b0b0b;color:#fff;padding:1rem 1.25rem;" +
      "font:14px/1.5 ui-monospace,Menlo,Consolas,monospace;border-left:6px solid #ff5c5c;" +
      "border-radius:6px;box-shadow:0 4px 24px rgba(0,0,0,.45);text-align:left");
    panel.id = "hubgen-overlay";
    panel.setAttribute("role", "alert");
    panel.appendChild(el("p", "Build failed \u2013 still showing the last good version. " +
      "Fix the file and save; this goes away by itself.",
      "margin:0 0 .5rem;font-weight:bold;color:#ffb3b3"));
    var list = el("ul", "", "margin:0;padding:0;list-style:none");
    (problems || []).forEach(function (p) {
      var item = el("li", "", "margin:.3rem 0;white-space:pre-wrap");
      item.appendChild(el("span", p.location + ": " + p.message));
      if (p.hint) { item.appendChild(el("span", " (" + p.hint + ")", "color:#ffd9a0")); }
      list.appendChild(item);
    });
    panel.appendChild(list);
    document.body.appendChild(panel);
  }
  function status(data) {
    if (data.build !== build) { reload(); }
    else if (data.ok) { hideProblems(); }
    else { showProblems(data.problems); }
  }
  var events = null;
  function connect() {
    var source = events = new EventSource("@EVENTS_URL@");
    source.addEventListener("hello", function (e) { status(JSON.parse(e.data)); });
    source.addEventListener("reload", reload);
    source.addEventListener("ok", hideProblems);
    source.addEventListener("error", function (e) {
      if (e.data) { showProblems(JSON.parse(e.data).problems); return; }
      // A dropped stream: EventSource retries by itself unless it gave up (CLOSED).
      if (source === events && source.readyState === EventSource.CLOSED) {
        events = null;
        setTimeout(function () { if (!events && !document.hidden) { connect(); } }, 2000);
      }
    });
  }
  // Browsers allow about six connections per server: only visible tabs keep a stream open. A tab
  // shown again reconnects, and the stream's first event (hello) reloads it if it is stale.
  document.addEventListener("visibilitychange", function () {
    if (document.hidden && events) { events.close(); events = null; }
    else if (!document.hidden && !events) { connect(); }
  });
  function tools() {
    var link = el("a", "hubgen", "position:fixed;right:.5rem;bottom:.5rem;" +
      "z-index:2147483645;font:12px/1 system-ui,sans-serif;padding:.4rem .55rem;" +
      "border-radius:4px;background:rgba(20,20,20,.7);color:#fff;text-decoration:none;" +
      "opacity:.55");
    link.id = "hubgen-tools";
    link.href = "@TOOLS_URL@";
    link.title = "hubgen preview tools";
    document.body.appendChild(link);
  }
  function visitorButtons() {
    var state = document.getElementById("hubgen-visitor-state");
    function show() {
      if (state) {
        state.textContent = localStorage.getItem(unlockedKey) ?
          "a known visitor (has submitted a form)" : "a new visitor";
      }
    }
    document.querySelectorAll("[data-hubgen-visitor]").forEach(function (button) {
      button.addEventListener("click", function () {
        if (button.getAttribute("data-hubgen-visitor") === "known") {
          var known = {};
          try { known = JSON.parse(localStorage.getItem(unlockedKey) || "{}") || {}; }
          catch (e) { known = {}; }
          known["*"] = true;
          localStorage.setItem(unlockedKey, JSON.stringify(known));
        } else {
          localStorage.removeItem(unlockedKey);
        }
        show();
      });
    });
    show();
  }

  tools();
  visitorButtons();
  fetch("@STATUS_URL@", {cache: "no-store"})
    .then(function (r) { return r.json(); })
    .then(function (data) { if (!data.ok) { showProblems(data.problems); } })
    .catch(function () { /* the stream's hello says the same */ });
  if (!document.hidden) { connect(); }
})();
