// Main thread: starts Python in a Web Worker, shows its progress, renders the Panel app with
// Bokeh and keeps the browser's Bokeh document and the worker's Python document in sync.
// Modelled on Panel's pyodide-worker conversion (panel/_templates/pyodide_handler.js).
//
// Status for people and tests:
//   document.body.dataset.appState  "loading" -> "ready" | "error"
//   document.body.dataset.busy      "1" while widget changes wait for Python, else "0"
//   window.pyfadmlStages            [{stage, t}] loading stages seen (t: ms since page start)
//   document.body.dataset.scene     the scene the address holds ("cnn&lr=0.03"; see the scene block)
//   document.body.dataset.offline   "" -> "installing" -> "ready" (this version is cached for
//                                   offline use) | "update" (a newer version is cached: the
//                                   notice offers a reload) | "unsupported" (no service workers:
//                                   plain http to another computer) | "error"
//
// Also: the Share button (address + QR code, from the server's share.json when build.py --serve
// serves the page, else this page's own address) and the service worker (sw.js) set up once the
// app is ready, so it never competes with the first start.
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

  let pointerButton = null;          // the button the mouse last pressed (it keeps the focus)
  document.addEventListener("pointerdown", (event) => {
    pointerButton = event.composedPath().find((el) => el.tagName === "BUTTON") || null;
  }, true);

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || body.dataset.appState !== "ready") return;
    const target = event.composedPath()[0];
    const tag = target && target.tagName ? target.tagName.toLowerCase() : "";
    if (["input", "select", "textarea"].includes(tag) || (target && target.isContentEditable)) return;
    const key = event.key.toLowerCase();
    if (key === "p") { togglePresenter(); event.preventDefault(); return; }
    if (key === "tab") pointerButton = null;
    // Space on a button reached with the keyboard presses that button; on one just clicked it plays.
    const keyboardFocus = tag === "button" && target !== pointerButton;
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

  // The fragment (#cnn&lr=0.03) is the scene to open; the worker hands it to Python (pyfadml.app.scene).
  const worker = new Worker("worker.js" + (location.hash.length > 1 ? "#" + encodeURIComponent(location.hash.slice(1)) : ""));
  worker.busy = false;
  worker.queue = [];
  let jsdoc = null;
  let patching = 0;

  function setBusy(busy) {
    worker.busy = busy;
    body.dataset.busy = busy ? "1" : "0";
    showWorking(busy);
  }

  // ---- start-up branch (issue 10): "Working…" when Python takes a while to answer a click ----
  // A section opened for the first time is built and sent by Python (up to a few seconds on a slow
  // laptop): after WORKING_AFTER_MS without an answer a small status pill says so, until Python answers.
  const WORKING_AFTER_MS = 300;
  const workingEl = document.getElementById("pyfadml-working");
  let workingTimer = null;
  function showWorking(busy) {
    if (!workingEl) return;
    clearTimeout(workingTimer);
    if (busy) {
      workingTimer = setTimeout(() => { workingEl.hidden = false; body.dataset.working = "1"; }, WORKING_AFTER_MS);
    } else {
      workingEl.hidden = true;
      body.dataset.working = "0";
    }
  }
  // ---- end of the start-up block ----

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
    const warn = (e) => console.warn("pyfadml: pre-rendered layout not shown:", e);
    try {
      const data = JSON.parse(script.textContent);
      renderInto(data.docs_json, data.render_items, data.render_items[0].root_ids).then((views) => {
        if (views) timings.prerendered = Math.round(performance.now());
      }, warn);
    } catch (e) {
      warn(e);
    }
  }

  // The latest render wins: each waits for its stylesheets first (stylesheets.js), and a pre-rendered layout
  // whose wait ends after the app's render has started is dropped (null).
  let renders = 0;
  async function renderInto(docsJson, renderItems, rootIds) {
    const ticket = ++renders;
    await window.pyfadmlStyleSheets.prefetch(docsJson);
    if (ticket !== renders) return null;
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

  // The worker's backlog count (worker.js): each patch is acknowledged once the page has painted it, not
  // when apply_json_patch returns. BokehJS paints plots in a later animation frame, and that painting (not
  // the patching) is most of a training frame's cost in the page: acknowledged at once, the worker saw no
  // backlog while the page still had frames to paint, and a click's answer queued behind them. The acks of
  // one frame go as one message, after the next animation frame; a hidden page (no animation frames) acks
  // at once.
  let unacknowledged = 0;
  let ackPending = false;
  function sendAcks() {
    ackPending = false;
    if (!unacknowledged) return;
    worker.postMessage({ type: "applied", count: unacknowledged });
    unacknowledged = 0;
  }
  function acknowledgeAfterPaint() {
    unacknowledged += 1;
    if (document.hidden) return sendAcks();
    if (ackPending) return;
    ackPending = true;
    requestAnimationFrame(() => requestAnimationFrame(sendAcks));
  }
  document.addEventListener("visibilitychange", () => { if (document.hidden) sendAcks(); });

  worker.onmessage = async (event) => {
    const msg = event.data;
    if (msg.type === "status") {
      setStage(msg.stage, msg.progress, msg.detail);
      if (msg.timings) Object.assign(timings, msg.timings);
    } else if (msg.type === "render") {
      try {
        setStage("Starting app", 0.95, "Rendering");
        timings.render = Math.round(performance.now());
        const [views] = await renderInto(
          JSON.parse(msg.docs_json), JSON.parse(msg.render_items), JSON.parse(msg.root_ids));
        timings.rendered = Math.round(performance.now());
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
      setUpOffline();
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
      const t0 = performance.now();
      try {
        patching += 1;
        jsdoc.apply_json_patch(msg.patch, msg.buffers);
      } finally {
        const ms = performance.now() - t0;      // the longest patch the page applied (bench_site.py)
        if (!(timings.patchMaxMs >= ms)) timings.patchMaxMs = Math.round(ms);
        patching -= 1;
        acknowledgeAfterPaint();
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

  // ---- The address holds the scene (issue 12, item 1) ----
  // Python writes the scene of the section shown ("cnn&lr=0.03", "" for the first section with every default)
  // into a hidden text input with the CSS class "pyfadml-scene-store"; this block copies every new value into
  // the address with history.replaceState (no reload, no history entry per change). An address edited by
  // hand (hashchange) goes the other way: written into the input, Python opens that scene. "Copy link"
  // copies the address.
  const SCENE = { cls: "pyfadml-scene-store", model: null, last: null };
  function sceneModel() {
    if (!SCENE.model && jsdoc) {
      for (const model of jsdoc.all_models) {
        if (Array.isArray(model.css_classes) && model.css_classes.includes(SCENE.cls)) { SCENE.model = model; break; }
      }
    }
    return SCENE.model;
  }
  function syncScene() {
    const model = sceneModel();
    if (!model || model.value === SCENE.last) return;
    SCENE.last = model.value;
    const address = location.pathname + location.search + (model.value ? "#" + model.value : "");
    if (address !== location.pathname + location.search + location.hash) history.replaceState(history.state, "", address);
    body.dataset.scene = model.value;
  }
  worker.addEventListener("message", (event) => {
    if (event.data.type === "patch" || event.data.type === "linked") syncScene();
  });
  window.addEventListener("hashchange", () => {
    const model = sceneModel();
    const wanted = location.hash.slice(1);                            // Python unquotes each part
    if (model && wanted !== model.value) model.value = wanted;     // sent to Python, which opens that scene
  });
  const copyLinkEl = document.getElementById("pyfadml-copy-link");
  copyLinkEl.addEventListener("click", async () => {
    syncScene();
    try {
      await navigator.clipboard.writeText(location.href);
      copyLinkEl.textContent = "Link copied";
    } catch (err) {                            // no clipboard (plain http): show the address, selected
      window.prompt("Copy this link (Ctrl+C):", location.href);
    }
    setTimeout(() => { copyLinkEl.textContent = "Copy link"; }, 2000);
  });
  // ---- end of the scene block ----

  window.addEventListener("DOMContentLoaded", renderPrerendered);
  window.pyfadmlWorker = worker;
  window.pyfadmlDocument = () => jsdoc;      // the browser's Bokeh document once rendered (a11y.js)

  // --- offline: the service worker, versioned by the sha256 of SHA256SUMS ---------------------

  const offlineEl = document.getElementById("pyfadml-offline-status");
  const updateEl = document.getElementById("pyfadml-update");
  const OFFLINE_TEXT = {
    installing: "Saving this page for offline use…",
    ready: "This page works offline on this device: it opens again without the server.",
    update: "A newer version is saved: reload to use it.",
    unsupported: "Offline use needs https or this computer's own address (localhost): " +
      "browsers allow it nowhere else. Keep this tab open to keep working.",
  };

  function setOffline(state, text) {
    body.dataset.offline = state;
    offlineEl.textContent = text || OFFLINE_TEXT[state] || "";
  }

  async function sha256hex(buffer) {
    const digest = await crypto.subtle.digest("SHA-256", buffer);
    return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
  }

  function versionOf(sw) {
    return sw ? new URL(sw.scriptURL).searchParams.get("v") : null;
  }

  function showUpdate(waiting) {
    setOffline("update");
    updateEl.hidden = false;
    document.getElementById("pyfadml-update-reload").onclick = () => {
      navigator.serviceWorker.addEventListener("controllerchange", () => location.reload());
      waiting.postMessage("skipWaiting");
    };
  }

  function follow(sw, controlled) {
    const settle = () => {
      if (sw.state === "installed" && controlled) showUpdate(sw);
      else if (sw.state === "installed") sw.postMessage("skipWaiting");   // nothing older to keep
      else if (sw.state === "activated" && !controlled) setOffline("ready");
      else if (sw.state === "redundant") {
        setOffline("error", "Saving this page for offline use failed; it is tried again on the next visit.");
      }
    };
    sw.addEventListener("statechange", settle);
    settle();
  }

  async function setUpOffline() {
    if (!("serviceWorker" in navigator) || !window.isSecureContext) {
      setOffline("unsupported");
      return;
    }
    const container = navigator.serviceWorker;
    const controlled = container.controller;
    let version;
    try {
      const response = await fetch("SHA256SUMS", { cache: "no-store" });
      if (!response.ok) throw new Error("HTTP " + response.status);
      version = await sha256hex(await response.arrayBuffer());
    } catch (e) {                        // the server is gone: the offline copy is in use
      setOffline(controlled ? "ready" : "error",
                 controlled ? OFFLINE_TEXT.ready : "Not saved for offline use (no SHA256SUMS).");
      return;
    }
    const registration = await container.getRegistration();
    if (registration && registration.waiting && versionOf(registration.waiting) === version) {
      if (controlled) return showUpdate(registration.waiting);
    }
    if (registration && versionOf(registration.active) === version) {
      setOffline("ready");
      return;
    }
    setOffline("installing");
    try {
      const reg = await container.register("sw.js?v=" + version, { updateViaCache: "none" });
      const sw = reg.installing || reg.waiting || reg.active;
      if (versionOf(sw) === version) follow(sw, controlled);
      reg.addEventListener("updatefound", () => follow(reg.installing, controlled));
    } catch (e) {
      setOffline("error", "Saving this page for offline use failed: " + (e.message || e));
    }
  }

  // --- Share: the address students open, large, with its QR code ------------------------------

  const shareDialog = document.getElementById("pyfadml-share");
  const shareUrlEl = document.getElementById("pyfadml-share-url");
  const shareQrEl = document.getElementById("pyfadml-share-qr");
  const shareMoreEl = document.getElementById("pyfadml-share-more");
  const shareNoteEl = document.getElementById("pyfadml-share-note");
  const isLoopback = (url) => /^https?:\/\/(127\.|localhost[:/]|\[::1\])/.test(url);

  async function openShare() {
    const here = location.href.split("#")[0];
    let urls = [here];
    let fromServer = false;
    try {   // build.py --serve knows the room's addresses; other hosts answer 404
      const response = await fetch("share.json", { cache: "no-store" });
      if (response.ok) {
        const data = await response.json();
        if (Array.isArray(data.urls) && data.urls.length) {
          urls = data.urls;
          fromServer = true;
        }
      }
    } catch (e) { /* offline copy, or a host without share.json */ }
    const main = urls.includes(here) ? here : urls[0];
    const scene = location.hash.length > 1 ? location.hash : "";     // the scene shown travels with the link
    shareUrlEl.textContent = main + scene;
    shareMoreEl.replaceChildren(...urls.filter((u) => u !== main).map((u) => {
      const li = document.createElement("li");
      li.textContent = "or " + u + scene;
      return li;
    }));
    if (fromServer) {
      shareQrEl.src = "share-qr.svg?url=" + encodeURIComponent(main + scene);
      shareQrEl.hidden = false;
    } else {
      shareQrEl.hidden = true;
      shareQrEl.removeAttribute("src");
    }
    shareNoteEl.textContent = fromServer && isLoopback(main)
      ? "Only this computer can open this address: serve the room with " +
        "python3 build.py --serve-only --host 0.0.0.0"
      : fromServer ? "" : "(QR code: shown when the page is served by build.py --serve)";
    if (!body.dataset.offline) setOffline(window.isSecureContext && "serviceWorker" in navigator
                                          ? "" : "unsupported");
    shareDialog.showModal();
  }

  document.getElementById("pyfadml-share-button").addEventListener("click", openShare);
  document.getElementById("pyfadml-share-close").addEventListener("click", () => shareDialog.close());
  shareDialog.addEventListener("click", (e) => { if (e.target === shareDialog) shareDialog.close(); });
  document.getElementById("pyfadml-share-copy").addEventListener("click", async (e) => {
    try {
      await navigator.clipboard.writeText(shareUrlEl.textContent);
      e.target.textContent = "Copied";
    } catch (err) {
      getSelection().selectAllChildren(shareUrlEl);     // no clipboard on plain http: select it
      e.target.textContent = "Selected: press Ctrl+C";
    }
  });
  shareDialog.addEventListener("close", () => {
    document.getElementById("pyfadml-share-copy").textContent = "Copy address";
  });
})();
