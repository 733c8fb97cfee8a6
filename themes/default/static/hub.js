/* hubgen default theme: instant filters and checklist progress.
   Vanilla JavaScript, no dependencies, loaded with `defer`. No cookies: checklist ticks live in
   localStorage only, and every storage call is wrapped so a blocked store changes nothing but
   persistence. All visible text comes from data-* attributes the templates fill from t(). */
(function () {
  "use strict";

  var each = function (list, fn) { Array.prototype.forEach.call(list, fn); };

  /* ---------- Storage (never throws) ---------- */
  function storage() {
    try { return window.localStorage || null; } catch (e) { return null; }
  }
  function load(key) {
    try {
      var s = storage();
      return s ? JSON.parse(s.getItem(key) || "null") : null;
    } catch (e) { return null; }
  }
  function save(key, value) {
    try { var s = storage(); if (s) { s.setItem(key, JSON.stringify(value)); } } catch (e) { /* full or blocked */ }
  }
  function forget(key) {
    try { var s = storage(); if (s) { s.removeItem(key); } } catch (e) { /* blocked */ }
  }

  /* "{done} of {total}" + {done: 3, total: 12} -> "3 of 12" */
  function fill(template, values) {
    return String(template || "").replace(/\{(\w+)\}/g, function (match, name) {
      return Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : match;
    });
  }

  /* ---------- Filters ----------
     The filter nav is a set of plain links to real filtered pages. Where every card the filters
     select is on the page (data-hubgen-filters), a group with no active option becomes a row of
     toggle buttons that filter the cards in the enclosing [data-filter-scope]: OR within a group,
     AND across groups. A group with an active option (this page *is* that filter) stays links. */
  var CARD_ATTR = { persona: "data-personas", phase: "data-phases", type: "data-type", topic: "data-topics" };

  function initFilters(nav) {
    var scope = nav.closest("[data-filter-scope]") || document;
    var cards = scope.querySelectorAll("[data-filter-card]");
    if (!cards.length) { return; }
    var selected = {};
    var buttons = [];
    var footer = nav.querySelector(".filters__footer");
    var status = nav.querySelector(".filters__status");
    var reset = nav.querySelector("[data-filter-reset]");

    function cardKeys(card, kind) {
      return (card.getAttribute(CARD_ATTR[kind]) || "").split(/\s+/).filter(Boolean);
    }

    each(nav.querySelectorAll("[data-filter-kind]"), function (group) {
      var kind = group.getAttribute("data-filter-kind");
      if (!CARD_ATTR[kind] || group.querySelector('[aria-current="page"]')) { return; }
      selected[kind] = [];
      each(group.querySelectorAll("a[data-filter-value]"), function (link) {
        var value = link.getAttribute("data-filter-value");
        var button = document.createElement("button");
        button.type = "button";
        button.className = link.className;
        button.textContent = link.textContent;
        button.setAttribute("aria-pressed", "false");
        button.setAttribute("data-filter-value", value);
        // An option that matches no card here would only ever empty the list.
        var matches = Array.prototype.some.call(cards, function (card) {
          return cardKeys(card, kind).indexOf(value) !== -1;
        });
        if (!matches) { link.parentNode.hidden = true; return; }
        button.addEventListener("click", function () {
          var on = button.getAttribute("aria-pressed") !== "true";
          button.setAttribute("aria-pressed", on ? "true" : "false");
          var list = selected[kind];
          var at = list.indexOf(value);
          if (on && at === -1) { list.push(value); }
          if (!on && at !== -1) { list.splice(at, 1); }
          apply();
        });
        link.parentNode.replaceChild(button, link);
        buttons.push(button);
      });
    });
    if (!buttons.length) { return; }

    function apply() {
      var shown = 0;
      each(cards, function (card) {
        var visible = Object.keys(selected).every(function (kind) {
          var wanted = selected[kind];
          if (!wanted.length) { return true; }
          var keys = cardKeys(card, kind);
          return wanted.some(function (v) { return keys.indexOf(v) !== -1; });
        });
        card.hidden = !visible;
        if (visible) { shown += 1; }
      });
      // Sections (e.g. a phase on a persona's journey) whose cards are all hidden go too.
      each(scope.querySelectorAll("[data-filter-section]"), function (section) {
        section.hidden = !section.querySelector("[data-filter-card]:not([hidden])");
      });
      if (status) {
        var key = shown === 0 ? "data-count-none" : shown === 1 ? "data-count-one" : "data-count-other";
        status.textContent = fill(nav.getAttribute(key), { count: shown });
      }
    }

    if (footer) { footer.hidden = false; }
    if (reset) {
      reset.addEventListener("click", function () {
        Object.keys(selected).forEach(function (kind) { selected[kind] = []; });
        buttons.forEach(function (b) { b.setAttribute("aria-pressed", "false"); });
        apply();
        buttons[0].focus();
      });
    }
  }

  /* ---------- Checklists ----------
     Ticks are stored per item id as {checkbox index: true/false}; the markup's own ticks are the
     default that "reset" returns to. */
  function initChecklist(tools) {
    var id = tools.getAttribute("data-hubgen-checklist");
    var root = tools.closest("article") || document;
    var boxes = root.querySelectorAll(".item-body input.task-box");
    if (!id || !boxes.length) { return; }
    var key = "hubgen:checklist:" + id;
    var progress = tools.querySelector("progress");
    var text = tools.querySelector(".checklist-progress__text");
    var template = tools.getAttribute("data-progress-text");

    function update() {
      var done = Array.prototype.filter.call(boxes, function (b) { return b.checked; }).length;
      if (progress) { progress.max = boxes.length; progress.value = done; }
      if (text) { text.textContent = fill(template, { done: done, total: boxes.length }); }
    }
    function remember() {
      var state = {};
      each(boxes, function (b, i) { state[i] = b.checked; });
      save(key, state);
    }

    var saved = load(key);
    each(boxes, function (box, i) {
      box.disabled = false;
      if (saved && typeof saved[i] === "boolean") { box.checked = saved[i]; }
      box.addEventListener("change", function () { remember(); update(); });
    });

    var resetButton = tools.querySelector("[data-checklist-reset]");
    if (resetButton) {
      resetButton.addEventListener("click", function () {
        var question = tools.getAttribute("data-reset-confirm");
        if (question && !window.confirm(question)) { return; }
        each(boxes, function (b) { b.checked = b.defaultChecked; });
        forget(key);
        update();
      });
    }
    var printButton = tools.querySelector("[data-checklist-print]");
    if (printButton) {
      printButton.addEventListener("click", function () { window.print(); });
    }

    update();
    tools.hidden = false;
  }

  /* ---------- The persona menu in the header (a <details>): close on Escape / outside click ---------- */
  function initMenus() {
    var menus = document.querySelectorAll("details.nav-menu");
    if (!menus.length) { return; }
    document.addEventListener("keydown", function (event) {
      if (event.key !== "Escape") { return; }
      each(menus, function (menu) {
        if (menu.open) {
          menu.open = false;
          var summary = menu.querySelector("summary");
          if (summary && menu.contains(document.activeElement)) { summary.focus(); }
        }
      });
    });
    document.addEventListener("click", function (event) {
      each(menus, function (menu) {
        if (menu.open && !menu.contains(event.target)) { menu.open = false; }
      });
    });
  }

  function init() {
    each(document.querySelectorAll("[data-hubgen-filters]"), initFilters);
    each(document.querySelectorAll("[data-hubgen-checklist]"), initChecklist);
    initMenus();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
