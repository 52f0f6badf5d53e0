// Main thread: starts Python in a Web Worker, shows its progress, renders the Panel app with
// Bokeh and keeps the browser's Bokeh document and the worker's Python document in sync.
// Modelled on Panel's pyodide-worker conversion (panel/_templates/pyodide_handler.js).
//
// Status for people and tests:
//   document.body.dataset.appState  "loading" -> "ready" | "error"
//   document.body.dataset.busy      "1" while widget changes wait for Python, else "0"
//   window.pyfadmlStages            [{stage, t}] loading stages seen (t: ms since page start)
"use strict";

(function () {
  const body = document.body;
  const stageEl = document.getElementById("pyfadml-loading-stage");
  const barEl = document.getElementById("pyfadml-loading-bar");
  const detailEl = document.getElementById("pyfadml-loading-detail");
  const errorEl = document.getElementById("pyfadml-error");
  const appEl = document.getElementById("pyfadml-app");
  const stages = (window.pyfadmlStages = []);
  const timings = (window.pyfadmlTimings = {});

  function setStage(stage, progress, detail) {
    if (!stages.length || stages[stages.length - 1].stage !== stage) {
      stages.push({ stage: stage, t: Math.round(performance.now()) });
    }
    stageEl.textContent = stage;
    if (typeof progress === "number") barEl.value = progress;
    if (detail) detailEl.textContent = detail;
  }

  // A Python error: the message first (the last line of a traceback), what to do, details folded.
  const errorMessageEl = document.getElementById("pyfadml-error-message");
  const errorAdviceEl = document.getElementById("pyfadml-error-advice");
  const errorDetailsEl = document.getElementById("pyfadml-error-details");
  document.getElementById("pyfadml-error-close").addEventListener("click", () => { errorEl.hidden = true; });

  function errorMessage(text) {
    const lines = String(text).trim().split("\n").map((l) => l.trim()).filter(Boolean);
    for (let i = lines.length - 1; i >= 0; i--) {
      const m = /^([A-Za-z_][\w.]*(?:Error|Exception|Warning|Interrupt)): (.+)$/.exec(lines[i]);
      if (m) return m[2];
    }
    return lines.length ? lines[lines.length - 1] : "unknown error";
  }

  function showError(text, fatal) {
    errorMessageEl.textContent = (fatal ? "The app could not start: " : "Something went wrong: ") + errorMessage(text);
    errorAdviceEl.textContent = fatal
      ? "Reload the page. If it happens again, the details below help a bug report."
      : "The page still works: the last change was not applied. Close this message and carry on.";
    errorDetailsEl.textContent = text;
    errorEl.hidden = false;
    if (fatal) body.dataset.appState = "error";
    console.error("pyfadml: " + text);
  }

  // Keyboard shortcuts of the shown section's live-training row: Space play/pause, S or → step,
  // R reset; P presenter mode. Not while typing in a field, and never with a modifier key.
  function deepQueryAll(selector, root, out) {
    root.querySelectorAll(selector).forEach((el) => out.push(el));
    root.querySelectorAll("*").forEach((el) => { if (el.shadowRoot) deepQueryAll(selector, el.shadowRoot, out); });
    return out;
  }

  function visibleButton(hostClass) {
    for (const host of deepQueryAll("." + hostClass, document, [])) {
      const button = (host.shadowRoot || host).querySelector("button");
      if (button && !button.disabled && host.checkVisibility && host.checkVisibility()) return button;
    }
    return null;
  }

  const SHORTCUTS = { " ": ["live-play", "live-pause"], s: ["live-step"], arrowright: ["live-step"], r: ["live-reset"] };

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || body.dataset.appState !== "ready") return;
    const target = event.composedPath()[0];
    const tag = target && target.tagName ? target.tagName.toLowerCase() : "";
    if (["input", "select", "textarea"].includes(tag) || (target && target.isContentEditable)) return;
    const key = event.key.toLowerCase();
    if (key === "p") { togglePresenter(); event.preventDefault(); return; }
    // Space on a button focused from the keyboard presses that button; after a mouse click it plays.
    const keyboardFocus = tag === "button" && target.matches && target.matches(":focus-visible");
    if (!(key in SHORTCUTS) || (key === " " && keyboardFocus)) return;
    for (const hostClass of SHORTCUTS[key]) {
      const button = visibleButton(hostClass);
      if (button) { button.click(); event.preventDefault(); return; }
    }
  });

  // Presenter mode: larger text and numbers, secondary prose hidden (remembered in this browser).
  const presenterEl = document.getElementById("pyfadml-presenter");
  function setPresenter(on) {
    body.classList.toggle("presenter", on);
    presenterEl.setAttribute("aria-pressed", on ? "true" : "false");
    try { localStorage.setItem("pyfadml-presenter", on ? "1" : "0"); } catch (e) { /* private mode */ }
  }
  function togglePresenter() { setPresenter(!body.classList.contains("presenter")); }
  presenterEl.addEventListener("click", togglePresenter);
  try { setPresenter(localStorage.getItem("pyfadml-presenter") === "1"); } catch (e) { setPresenter(false); }

  const worker = new Worker("worker.js");
  worker.busy = false;
  worker.queue = [];
  let jsdoc = null;
  let patching = 0;

  function setBusy(busy) {
    worker.busy = busy;
    body.dataset.busy = busy ? "1" : "0";
  }

  function sendChange(event) {
    if ((event.setter_id != null && event.setter_id === "py") || patching > 0) return;
    if (worker.busy && event.model && event.attr) {
      // Only the latest value of an attribute matters: drop older queued changes of it.
      worker.queue = worker.queue.filter(
        (old) => !(old.model === event.model && old.attr === event.attr));
      worker.queue.push(event);
      return;
    }
    setBusy(true);
    worker.postMessage({ type: "patch", patch: jsdoc.create_json_patch([event]) });
  }

  // Layout pre-rendered at build time: shown (inactive) while Python loads.
  function renderPrerendered() {
    const script = document.getElementById("pyfadml-prerender");
    if (!script || !window.Bokeh) return;
    try {
      const data = JSON.parse(script.textContent);
      renderInto(data.docs_json, data.render_items, data.render_items[0].root_ids);
      timings.prerendered = Math.round(performance.now());
    } catch (e) {
      console.warn("pyfadml: pre-rendered layout not shown:", e);
    }
  }

  function renderInto(docsJson, renderItems, rootIds) {
    if (window.Bokeh && Bokeh.index) {
      for (const view of [...Bokeh.index.roots]) view.remove();
    }
    appEl.innerHTML = "";
    const roots = {};
    rootIds.forEach((rootId, i) => {
      const el = document.createElement("div");
      el.id = "pyfadml-root-" + i;
      el.className = "pyfadml-root";
      appEl.appendChild(el);
      roots[rootId] = el.id;
    });
    renderItems[0].roots = roots;
    renderItems[0].root_ids = rootIds;
    return Bokeh.embed.embed_items(docsJson, renderItems);
  }

  worker.onmessage = async (event) => {
    const msg = event.data;
    if (msg.type === "status") {
      setStage(msg.stage, msg.progress, msg.detail);
      if (msg.timings) Object.assign(timings, msg.timings);
    } else if (msg.type === "render") {
      try {
        setStage("Starting app", 0.95, "Rendering");
        const [views] = await renderInto(
          JSON.parse(msg.docs_json), JSON.parse(msg.render_items), JSON.parse(msg.root_ids));
        jsdoc = [...views.roots.values()][0].model.document;
        jsdoc.on_change(sendChange, false);
        worker.postMessage({ type: "rendered" });
        worker.postMessage({ type: "location", location: JSON.stringify(window.location) });
      } catch (e) {
        showError("Rendering the app failed: " + (e && e.stack ? e.stack : e), true);
      }
    } else if (msg.type === "linked") {
      barEl.value = 1;
      timings.ready = Math.round(performance.now());
      body.dataset.appState = "ready";
    } else if (msg.type === "idle") {
      if (worker.queue.length) {
        const patch = jsdoc.create_json_patch(worker.queue);
        worker.queue = [];
        setBusy(true);
        worker.postMessage({ type: "patch", patch: patch });
      } else {
        setBusy(false);
      }
    } else if (msg.type === "patch") {
      try {
        patching += 1;
        jsdoc.apply_json_patch(msg.patch, msg.buffers);
      } finally {
        patching -= 1;
      }
    } else if (msg.type === "error") {
      showError(msg.text, msg.fatal);
    }
  };

  worker.onerror = (event) => {
    event.preventDefault();
    showError("The Python worker failed: " + (event.message || "unknown error") +
              (event.filename ? ` (${event.filename}:${event.lineno})` : ""), true);
  };

  // ---- Exercises section (issue 13, item 7): progress kept in local storage, Tab in the code editor ----
  // Python runs in a worker and cannot reach localStorage.  The Exercises section writes its progress
  // (JSON) into a hidden text input with the CSS class "pyfadml-exercise-store".  After each patch from
  // Python this block looks for that model (at most every 500 ms until the section exists); when it first
  // appears, the value saved in this browser is written into it (a change Python receives and merges),
  // and from then on every value Python writes there is saved.
  const EXERCISE_STORE = { key: "pyfadml-exercises", cls: "pyfadml-exercise-store", model: null, last: null,
                           searchedAt: -1e9, timer: null };
  function syncExerciseStore() {
    if (!jsdoc) return;
    const store = EXERCISE_STORE;
    if (!store.model) {
      const now = performance.now();
      if (now - store.searchedAt < 500) {
        if (!store.timer) store.timer = setTimeout(() => { store.timer = null; syncExerciseStore(); }, 500);
        return;
      }
      store.searchedAt = now;
      for (const model of jsdoc.all_models) {
        if (Array.isArray(model.css_classes) && model.css_classes.includes(store.cls)) { store.model = model; break; }
      }
      if (!store.model) return;
      let saved = null;
      try { saved = localStorage.getItem(store.key); } catch (e) { /* storage disabled */ }
      store.last = saved;
      if (saved && saved !== store.model.value) store.model.value = saved;   // sent to Python, which merges
      return;
    }
    const value = store.model.value;
    if (value && value !== store.last) {
      store.last = value;
      try { localStorage.setItem(store.key, value); } catch (e) { /* storage full or disabled */ }
    }
  }
  worker.addEventListener("message", (event) => {
    if (event.data.type === "patch" || event.data.type === "linked") syncExerciseStore();
  });
  // Tab indents (four spaces) in the exercise editor instead of leaving it; Shift+Tab still leaves.
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Tab" || event.shiftKey || event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.composedPath()[0];
    const root = target && target.getRootNode ? target.getRootNode() : null;
    if (!target || target.tagName !== "TEXTAREA" || !root || !root.host || !root.host.classList.contains("pyfadml-code")) return;
    event.preventDefault();
    target.setRangeText("    ", target.selectionStart, target.selectionEnd, "end");
    target.dispatchEvent(new Event("input", { bubbles: true }));
  }, true);
  document.addEventListener("focusin", (event) => {
    const target = event.composedPath()[0];
    if (target && target.tagName === "TEXTAREA") target.spellcheck = false;   // code, not prose
  });
  // ---- end of the Exercises block ----

  window.addEventListener("DOMContentLoaded", renderPrerendered);
  window.pyfadmlWorker = worker;
})();
