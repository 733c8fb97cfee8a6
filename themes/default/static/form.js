/* hubgen consent form: inline validation and submission, then the unlocked content.
 *
 * Without JavaScript the form is a plain POST to its backend. With it:
 * - errors appear next to their fields (aria-invalid, aria-describedby) and focus moves to the
 *   first one;
 * - the submission goes out with fetch in the backend's own format (local collector / webhook:
 *   hubgen's documented JSON; HubSpot: Forms API v3; Netlify: its form POST), never before the
 *   visitor presses submit;
 * - on success the visitor is taken to the unlocked address, and the browser remembers it in
 *   first-party localStorage ("hubgen:unlocked"; no cookie), so other gated items of the hub offer
 *   their content without asking again.
 */
(function () {
  "use strict";

  var STORE = "hubgen:unlocked";
  var EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

  function readStore() {
    try {
      var value = JSON.parse(window.localStorage.getItem(STORE) || "{}");
      return value && typeof value === "object" ? value : {};
    } catch (e) {
      return {};
    }
  }

  function writeStore(update) {
    try {
      var store = readStore();
      Object.keys(update).forEach(function (key) { store[key] = update[key]; });
      window.localStorage.setItem(STORE, JSON.stringify(store));
    } catch (e) { /* private mode or storage full: the visitor is simply asked again */ }
  }

  function text(form, name) {
    return form.getAttribute("data-" + name) || "";
  }

  function field(form, name) {
    return form.elements.namedItem(name);
  }

  function setError(form, name, message) {
    var input = field(form, name);
    var box = form.querySelector("#" + CSS.escape(name) + "-error");
    if (box) { box.textContent = message || ""; }
    if (input && input.setAttribute) {
      if (message) { input.setAttribute("aria-invalid", "true"); }
      else { input.removeAttribute("aria-invalid"); }
    }
  }

  function status(form, message, kind) {
    var box = form.querySelector("[data-form-status]");
    if (!box) { return; }
    box.textContent = message;
    box.classList.toggle("is-error", kind === "error");
    box.classList.toggle("is-success", kind === "ok");
  }

  function consents(form) {
    var list = [];
    form.querySelectorAll("input[type=checkbox][name^='consent_']").forEach(function (box) {
      var label = form.querySelector("label[for='" + CSS.escape(box.id) + "']");
      list.push({
        id: box.name.slice("consent_".length),
        value: box.checked,
        text: label ? label.textContent.replace(/\s*\*\s*$/, "").replace(/\s+/g, " ").trim() : "",
        subscriptionTypeId: parseInt(box.getAttribute("data-subscription-type-id") || "0", 10)
      });
    });
    return list;
  }

  function validate(form) {
    var errors = {};
    var email = (field(form, "email").value || "").trim();
    if (!email) { errors.email = "error-email-required"; }
    else if (email.length > 254 || !EMAIL.test(email)) { errors.email = "error-email-invalid"; }
    if (!field(form, "role").value) { errors.role = "error-role-required"; }
    var started = parseInt(field(form, "started").value || "0", 10);
    var minimum = parseInt(text(form, "min-seconds") || "0", 10) * 1000;
    if (started && Date.now() - started < minimum) { errors._form = "error-too-fast"; }
    return errors;
  }

  function showErrors(form, errors) {
    ["email", "role"].forEach(function (name) {
      setError(form, name, errors[name] ? text(form, errors[name]) : "");
    });
    if (errors._form) { status(form, text(form, errors._form), "error"); }
    var first = ["email", "role"].filter(function (name) { return errors[name]; })[0];
    if (first) { field(form, first).focus(); }
    else if (errors._form) { form.querySelector("[data-form-status]").focus(); }
  }

  /* The submission as hubgen documents it (schemas/submission.schema.json). */
  function record(form) {
    var list = consents(form);
    var chosen = {};
    list.forEach(function (c) { chosen[c.id] = c.value; });
    return {
      item_id: field(form, "item_id").value,
      item_url: field(form, "item_url").value,
      language: field(form, "language").value,
      email: field(form, "email").value.trim(),
      role: field(form, "role").value,
      consents: chosen,
      consent_texts: list.map(function (c) { return { id: c.id, text: c.text }; }),
      consent_version: field(form, "consent_version").value,
      submitted_at: new Date().toISOString(),
      started: parseInt(field(form, "started").value || "0", 10) || null,
      website: (field(form, "website") || { value: "" }).value
    };
  }

  /* HubSpot Forms API v3: fields, context and legalConsentOptions from the same words. */
  function hubspotBody(form, data) {
    var list = consents(form);
    return {
      submittedAt: String(Date.now()),
      fields: [
        { objectTypeId: "0-1", name: "email", value: data.email },
        { objectTypeId: "0-1", name: text(form, "role-property") || "jobtitle", value: data.role }
      ],
      context: { pageUri: data.item_url, pageName: document.title },
      legalConsentOptions: {
        consent: {
          consentToProcess: true,
          text: text(form, "processing-text"),
          communications: list.map(function (c) {
            return { value: c.value, subscriptionTypeId: c.subscriptionTypeId, text: c.text };
          })
        }
      }
    };
  }

  function request(form, data) {
    var backend = text(form, "backend");
    if (backend === "netlify") {
      var params = new URLSearchParams(new FormData(form));
      return fetch(form.getAttribute("action") || "/", {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
        body: params.toString()
      });
    }
    var body = backend === "hubspot" ? hubspotBody(form, data) : data;
    return fetch(form.action, {
      method: "POST",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify(body),
      credentials: "omit"
    });
  }

  function unlocked(form, url, visitor) {
    var update = {};
    update[field(form, "item_id").value] = url || true;
    update["*"] = visitor || readStore()["*"] || true;
    writeStore(update);
    status(form, text(form, "success"), "ok");
    if (url) { window.location.assign(url); }
  }

  function onSubmit(event) {
    var form = event.currentTarget;
    event.preventDefault();
    status(form, "", "info");
    var errors = validate(form);
    showErrors(form, errors);
    if (Object.keys(errors).length) { return; }
    var data = record(form);
    var button = form.querySelector("button[type=submit]");
    button.disabled = true;
    status(form, text(form, "sending"), "info");
    request(form, data).then(function (response) {
      return response.text().then(function (raw) {
        var reply = {};
        try { reply = raw ? JSON.parse(raw) : {}; } catch (e) { reply = {}; }
        if (response.ok) {
          unlocked(form, reply.unlock_url || text(form, "unlock-url"), reply.visitor);
          return;
        }
        var serverErrors = {};
        Object.keys(reply.errors || {}).forEach(function (name) {
          serverErrors[name === "email" || name === "role" ? name : "_form"] =
            String(reply.errors[name]).replace(/_/g, "-");
        });
        if (!Object.keys(serverErrors).length) { serverErrors._form = "error-generic"; }
        showErrors(form, serverErrors);
      });
    }).catch(function () {
      showErrors(form, { _form: "error-generic" });
    }).then(function () {
      button.disabled = false;
    });
  }

  /* Strict mode: the page does not know its unlocked address. A browser that submitted before
   * shows its key to the backend, which answers with the address; only when the visitor asks. */
  function askBackend(form, key, link) {
    link.addEventListener("click", function (event) {
      event.preventDefault();
      fetch(form.action, {
        method: "POST",
        headers: { "Content-Type": "application/json", "Accept": "application/json" },
        body: JSON.stringify({ item_id: field(form, "item_id").value, visitor: key }),
        credentials: "omit"
      }).then(function (response) {
        return response.json().then(function (reply) {
          if (response.ok && reply.unlock_url) { unlocked(form, reply.unlock_url, key); return; }
          throw new Error("not known");
        });
      }).catch(function () {
        link.parentNode.remove();
        form.hidden = false;
        start(form);
      });
    });
  }

  /* A visitor who has submitted once is offered the content instead of the form. */
  function offer(form) {
    var store = readStore();
    var id = field(form, "item_id").value;
    var url = typeof store[id] === "string" ? store[id] : null;
    if (!url && store["*"]) { url = text(form, "unlock-url") || null; }
    var key = typeof store["*"] === "string" ? store["*"] : null;
    var backend = text(form, "backend");
    if (!url && !(key && (backend === "local" || backend === "webhook"))) { return false; }
    var link = document.createElement("a");
    link.href = url || "#";
    link.className = "button button--primary";
    link.textContent = text(form, "unlock-label");
    var note = document.createElement("p");
    note.className = "consent-form__known";
    note.setAttribute("data-known-visitor", "");
    note.appendChild(link);
    form.hidden = true;
    form.parentNode.insertBefore(note, form);
    if (!url) { askBackend(form, key, link); }
    return true;
  }

  function start(form) {
    field(form, "started").value = String(Date.now());
    form.setAttribute("novalidate", "");
    form.addEventListener("submit", onSubmit);
    var box = form.querySelector("[data-form-status]");
    if (box) { box.setAttribute("tabindex", "-1"); }
  }

  document.querySelectorAll("form[data-hubgen-form]").forEach(function (form) {
    if (!offer(form)) { start(form); }
  });
}());
