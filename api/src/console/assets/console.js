// Sextant console: progressive enhancement only. Every page works without this script;
// with it, the audience editor checks the rule as you type and previews the audience.
"use strict";

function debounce(fn, ms) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

// Fetches a server-rendered fragment (same origin, no credentials beyond the cookie).
async function fragment(url, target) {
  target.setAttribute("aria-busy", "true");
  try {
    const response = await fetch(url, { headers: { "x-console-fragment": "1" } });
    target.innerHTML = await response.text();
  } catch (e) {
    target.textContent = "Could not reach the server: " + e.message;
  } finally {
    target.removeAttribute("aria-busy");
  }
}

function liveEditor(editor) {
  const rule = editor.querySelector("textarea[name=rule]");
  const check = document.getElementById(editor.dataset.check);
  const preview = document.getElementById(editor.dataset.preview);
  if (!rule || !check) return;
  const run = debounce(() => {
    // A refused save describes the rule as it was: hide it once the rule changes.
    document.querySelectorAll("[data-refused]").forEach((box) => {
      box.hidden = true;
    });
    const q = "?rule=" + encodeURIComponent(rule.value);
    fragment("/console/audiences/check" + q, check);
    if (preview && editor.dataset.livePreview === "1") {
      fragment("/console/audiences/preview" + q, preview);
    }
  }, 300);
  rule.addEventListener("input", run);
  const button = editor.querySelector("button[data-preview]");
  if (button && preview) {
    button.addEventListener("click", (event) => {
      event.preventDefault();
      fragment("/console/audiences/preview?rule=" + encodeURIComponent(rule.value), preview);
    });
  }
}

// Buttons that do something that cannot be undone ask first.
function confirmations() {
  document.querySelectorAll("form[data-confirm]").forEach((form) => {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-live-editor]").forEach(liveEditor);
  confirmations();
});
