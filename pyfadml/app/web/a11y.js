// Accessibility (issue 15), loaded after index.js: what Bokeh's and Panel's own markup leave out, the
// reflow of the layout on narrow screens, a live region for screen readers, plot names, the keyboard for
// pixel grids and latent planes, touch drawing and reduced motion. Uses index.js's window.pyfadmlWorker
// (Python's messages) and window.pyfadmlDocument() (the Bokeh document); tests: tests/browser/test_a11y.py.
//
// Bokeh gives no option for the names (bokeh/bokeh#12259, #14336), so after the app renders and after
// Python's patches (at most every 400 ms) this file walks the open shadow roots and adds what is missing:
//   * a slider's handle (noUiSlider, role=slider) is named after the slider's title (noUiSlider has a
//     handleAttributes option, leongersen/noUiSlider#1223, that Bokeh does not expose);
//   * a number box's arrow buttons are named "Increase <title>" / "Decrease <title>";
//   * a formula (MathJax SVG, role=img) gets a spoken text rebuilt from its MathML structure.
// window.pyfadmlA11y.fix() runs it at once (tests); .runs counts the passes.
"use strict";

(function () {
  const body = document.body;
  if (!window.pyfadmlWorker) return;        // index.js did not start (it shows why)

  // Passes skip the sections the idle prebuild put into the page hidden (pyfadml/app/shell.py, each in a
  // .pyfadml-slot): about 1400 of the page's views once all are there, which made a pass 5x longer (3 -> 16 ms).
  // A section shown is named from its first pass on (its visibility is a patch, which schedules one).
  function hiddenSlot(el) {
    return !!el.classList && el.classList.contains("pyfadml-slot") && !el.checkVisibility();
  }
  function walked(el) {
    return el.shadowRoot && !hiddenSlot(el);
  }

  function deepQueryAll(selector, root, out) {
    root.querySelectorAll(selector).forEach((el) => out.push(el));
    root.querySelectorAll("*").forEach((el) => { if (walked(el)) deepQueryAll(selector, el.shadowRoot, out); });
    return out;
  }

  // Every shadow root, as [root, inside a hidden section?]: the reflow sheet goes into all of them (a section
  // shown lays out with it from its first frame), the names and roles only into those shown.
  function allRoots(root, out, hidden = false) {
    out.push([root, hidden]);
    for (const el of root.querySelectorAll("*")) if (el.shadowRoot) allRoots(el.shadowRoot, out, hidden || hiddenSlot(el));
    return out;
  }

  const MATH_JOIN = { msub: " sub ", msup: " to the ", mfrac: " over ", munder: " under ", mover: " over " };
  function mathText(node) {
    if (node.tagName === "defs") return "";
    if (node.tagName === "use" || node.tagName === "text") {
      const c = node.getAttribute("data-c");
      return c ? String.fromCodePoint(parseInt(c, 16)) : (node.textContent || "");
    }
    const kind = node.getAttribute && node.getAttribute("data-mml-node");
    const parts = [...node.children].map(mathText).filter((t) => t.trim());
    if (kind === "mo") return " " + parts.join("") + " ";
    if (kind === "msqrt") return " square root of (" + parts.join("") + ") ";
    if (kind === "msubsup" && parts.length === 3) return `${parts[0]} sub ${parts[1]} to the ${parts[2]} `;
    if (kind in MATH_JOIN && parts.length === 2) return parts[0] + MATH_JOIN[kind] + parts[1] + " ";
    return parts.join("");
  }
  function spokenMath(svg) {
    return mathText(svg).normalize("NFKC").replace(/\u2212/g, "minus").replace(/\s+/g, " ").trim();
  }

  function titleIn(root) {
    const title = root.querySelector(".bk-slider-title, label");
    return title ? title.textContent.replace(/\s*:[\s\S]*$/, "").trim() : "";
  }

  // Reflow (WCAG 1.4.10) on phones and at 200% zoom: every row of the layout wraps, so what sat side by
  // side reads top to bottom. One shared sheet, adopted by every shadow root (Panel's rows render in their
  // own); the cards' own narrow-screen rules are in theme.py (NARROW_CSS).
  // Panel gives each layout a min-width as wide as its fixed-size children: on a narrow screen it is dropped.
  const REFLOW_CSS = "@media (max-width: 760px) { :host(.bk-Row) { flex-wrap: wrap !important; row-gap: 8px; } " +
    ":host(.bk-Row), :host(.bk-Column), :host(.bk-panel-models-layout-Column), :host(.bk-panel-models-tabs-Tabs) " +
    "{ min-width: 0 !important; max-width: 100%; } " +
    // a row's layout children (side panel, card, a column of plots) each take a whole line
    ":host(.bk-Row) > .bk-panel-models-layout-Column, :host(.bk-Row) > .bk-Column, :host(.bk-Row) > .bk-Row " +
    "{ flex: 1 1 100% !important; min-width: 0 !important; max-width: 100% !important; } " +
    // a group of buttons (the CNN's two screens) wraps instead of running off the screen
    ":host([class*=ButtonGroup]) { min-width: 0 !important; max-width: 100% !important; } " +
    ".bk-btn-group { flex-wrap: wrap !important; } " +
    // a text pane of fixed width (a caption above a plot) wraps at the card's width, as its plot shrinks to it
    ":host(.bk-panel-models-markup-HTML), :host(.bk-panel-models-markup-HTML) > div " +
    "{ min-width: 0 !important; max-width: 100% !important; } }";
  let reflowSheet = null;
  try { reflowSheet = new CSSStyleSheet(); reflowSheet.replaceSync(REFLOW_CSS); } catch (e) { reflowSheet = null; }
  const adopted = new WeakSet();

  const a11y = (window.pyfadmlA11y = { runs: 0, timer: null, last: 0 });
  a11y.fix = function () {
    a11y.runs += 1;
    a11y.last = performance.now();
    for (const [root, hidden] of allRoots(document, [])) {
      if (reflowSheet && root !== document && !adopted.has(root)) {
        root.adoptedStyleSheets = [...root.adoptedStyleSheets, reflowSheet];
        adopted.add(root);
      }
      if (hidden) continue;
      for (const handle of root.querySelectorAll(".noUi-handle:not([aria-label])")) {
        const name = titleIn(root);
        if (name) handle.setAttribute("aria-label", name);
      }
      for (const button of root.querySelectorAll("button.bk-spin-btn:not([aria-label])")) {
        const name = titleIn(root) || "the value";
        button.setAttribute("aria-label", (button.classList.contains("bk-spin-btn-up") ? "Increase " : "Decrease ") + name);
        button.tabIndex = -1;             // the arrow keys in the box do the same, without two extra tab stops
      }
      for (const box of root.querySelectorAll("input[type=checkbox]:not([aria-label])")) {
        if (box.closest("label")) continue;      // already named by its label
        const text = [...root.querySelectorAll(".bk-label, label, span")].map((e) => e.textContent).join(" ").trim();
        if (text) box.setAttribute("aria-label", text);
      }
      // the page's file boxes (Load model, Load points, an image for a pad): named after what they take
      for (const input of root.querySelectorAll("input[type=file]:not([aria-label])")) {
        const cls = root.host ? [...root.host.classList].join(" ") : "";
        const what = /-load-points\b/.test(cls) ? "Load points (a CSV of x, y, label)"
          : /-load-image\b/.test(cls) ? "Load an image (PNG or JPEG) onto the pad"
          : /-load-model\b/.test(cls) ? "Load a model (.npz from pyfadml.save)" : "Choose a file";
        input.setAttribute("aria-label", what);
      }
      if (root.host && root.host.classList.contains("pyfadml-code")) {
        for (const area of root.querySelectorAll("textarea:not([aria-label])")) area.setAttribute("aria-label", "Your code (Python)");
      }
      // a plot's event layer is focusable in Bokeh (for tools' keys, which the page has none of): one empty
      // tab stop per plot. Out of the Tab order; the pictures that take keys are focusable themselves.
      for (const layer of root.querySelectorAll(".bk-events[tabindex='0']")) layer.tabIndex = -1;
      // Panel's tabs are focusable but only a click switches them: role tab, and Enter/Space (below)
      for (const header of root.querySelectorAll(".bk-headers-wrapper:not([role])")) header.setAttribute("role", "tablist");
      for (const tab of root.querySelectorAll(".bk-tab")) {
        tab.setAttribute("role", "tab");
        tab.setAttribute("aria-selected", tab.classList.contains("bk-active") ? "true" : "false");
      }
      for (const host of root.querySelectorAll(KEY_TARGETS)) keyTargetSetUp(host);
      // a finger drawing on a pixel grid paints, it does not scroll the page (Bokeh sets touch-action: auto
      // on a figure without pan tools; the grids' drag is a Python Pan handler)
      for (const host of root.querySelectorAll(".pixel-editor.pe-editable")) {
        const layer = host.shadowRoot && deepQueryAll(".bk-events", host.shadowRoot, [])[0];
        if (layer && layer.style.touchAction !== "none") layer.style.touchAction = "none";
      }
      for (const host of root.querySelectorAll(".pixel-editor[data-pf-keys]:not(.pe-editable)")) {
        for (const name of ["tabindex", "role", "aria-roledescription", "aria-label", "data-pf-keys"]) host.removeAttribute(name);
      }
      for (const svg of root.querySelectorAll("mjx-container svg[role=img]:not([aria-label])")) {
        const text = spokenMath(svg);
        if (text) svg.setAttribute("aria-label", text);
      }
    }
  };
  // Screen readers: one polite live region (#pyfadml-announce) says how the shown section's training goes,
  // e.g. "Training, step 480. Train loss 0.013, test accuracy 97.5%": at once when the state changes
  // (playing, paused, diverged), else at most every ANNOUNCE_EVERY_MS while the numbers move.
  const ANNOUNCE_EVERY_MS = 5000;
  const announceEl = document.getElementById("pyfadml-announce");
  const spoken = { text: "", state: "", at: -1e9 };
  function shown(selector) {
    return deepQueryAll(selector, document, []).filter((el) => el.checkVisibility && el.checkVisibility());
  }
  a11y.announcement = function () {
    const status = shown('.live-state[data-testid$="-live"]')[0];
    if (!status) return null;
    const state = status.dataset.state, step = Number(status.dataset.step || 0).toLocaleString("en");
    let head = state === "playing" ? `Training, step ${step}.` : state === "diverged"
      ? "Training stopped: " + status.textContent.trim() : `Paused at step ${step}.`;
    const stats = shown(".stats")[0];
    const parts = stats ? [...stats.querySelectorAll(".stat")].map((cell) => {
      const label = cell.querySelector(".label"), value = cell.querySelector(".value");
      const name = label ? label.textContent.trim().toLowerCase().replace(/\bacc\./g, "accuracy") : "";
      return name && value ? `${name} ${value.textContent.trim()}` : "";
    }).filter(Boolean) : [];
    if (parts.length) head += " " + parts.join(", ").replace(/\u2212/g, "minus ") + ".";
    return { state: state, text: head };
  };
  a11y.announce = function () {
    const now = performance.now(), a = a11y.announcement();
    a11y.training = !!a && a.state === "playing";
    if (!announceEl) return;
    if (!a || a.text === spoken.text) return;
    if (a.state === spoken.state && now - spoken.at < ANNOUNCE_EVERY_MS) {
      setTimeout(a11y.schedule, ANNOUNCE_EVERY_MS - (now - spoken.at) + 10);   // say the latest numbers later
      return;
    }
    Object.assign(spoken, { text: a.text, state: a.state, at: now });
    announceEl.textContent = a.text;
    announceEl.dataset.count = String(Number(announceEl.dataset.count) + 1);
  };
  // Plots: each Bokeh figure (not the keyboard targets, which name themselves) is an image whose name is the
  // nearest heading or caption before it, what it draws (legend, axes) and the last value of each series, so
  // it stays current while training: "Loss: train loss 0.0131, test loss 0.0207 at step 480".
  function headingBefore(el) {
    for (let node = el, level = 0; node && level < 5; node = node.getRootNode().host, level++) {
      for (let sib = node.previousElementSibling; sib; sib = sib.previousElementSibling) {
        const root = sib.shadowRoot || sib;
        const found = [...root.querySelectorAll("h1, h2, h3, h4, .cap")].pop();
        if (found && found.textContent.trim()) return found.textContent.trim();
      }
    }
    return "";
  }
  function lastValue(renderer, key) {
    const glyph = renderer.glyph, data = renderer.data_source && renderer.data_source.data;
    const field = glyph && glyph[key] && glyph[key].field;
    const column = field && data ? data[field] : null;
    if (!column || !column.length) return null;
    for (let i = column.length - 1; i >= 0; i--) if (Number.isFinite(column[i])) return column[i];
    return null;
  }
  const fmt = (v) => (Math.abs(v) >= 1000 || Number.isInteger(v) ? String(Math.round(v)) : v.toPrecision(3));
  function plotLabel(view) {
    const m = view.model, series = [];
    let x = null;
    for (const panel of [...m.center, ...m.above, ...m.below, ...m.left, ...m.right]) {
      if (panel.type !== "Legend") continue;
      for (const item of panel.items) {
        const name = item.label && (item.label.value || item.label.field);
        const r = item.renderers && item.renderers[0];
        const y = r ? lastValue(r, "y") : null;
        if (r && x === null) x = lastValue(r, "x");
        if (name) series.push(y === null ? name : `${name} ${fmt(y)}`);
      }
    }
    const axis = (list) => list.filter((a) => typeof a.axis_label === "string" && a.axis_label).map((a) => a.axis_label)[0] || "";
    const xName = axis(m.below), yName = axis(m.left);
    let text = headingBefore(view.el) || "Plot";
    if (series.length) text += ": " + series.join(", ") + (x !== null && xName ? ` at ${xName} ${fmt(x)}` : "");
    else if (xName && yName) text += `: ${yName} against ${xName}`;
    return text;
  }
  a11y.labelPlots = function () {
    if (!window.Bokeh || !Bokeh.index) return;
    const seen = new Set();
    const walk = (v) => {
      if (!v || seen.has(v) || (v.el && hiddenSlot(v.el))) return;
      seen.add(v);
      if (v.model && v.model.type === "Figure" && v.el && !v.el.matches(KEY_TARGETS) && v.el.checkVisibility()) {
        const label = plotLabel(v);
        v.el.setAttribute("role", "img");
        if (v.el.getAttribute("aria-label") !== label) v.el.setAttribute("aria-label", label);
      }
      for (const c of (typeof v.children === "function" ? v.children() : [])) walk(c);
    };
    for (const root of Bokeh.index.roots) walk(root);
  };
  // A pass walks every shadow root (tens of ms on a weak laptop, in the page's one thread): after a click's
  // answer within 400 ms, but while the shown section trains (its frames' patches, no click waiting) at most
  // every TRAINING_EVERY_MS, so it does not hold up the frames, nor a Pause's answer, 2-3 times a second.
  const TRAINING_EVERY_MS = 1500;
  a11y.schedule = function (every = 400) {
    const due = a11y.last + every;
    if (a11y.timer) {
      if (a11y.due <= due) return;
      clearTimeout(a11y.timer);
    }
    a11y.due = due;
    a11y.timer = setTimeout(() => { a11y.timer = null; a11y.fix(); a11y.labelPlots(); a11y.announce(); },
                            Math.max(0, due - performance.now()));
  };
  window.pyfadmlWorker.addEventListener("message", (event) => {
    const type = event.data.type;
    if (type === "patch" && a11y.training && body.dataset.busy !== "1") a11y.schedule(TRAINING_EVERY_MS);
    else if (type === "patch" || type === "linked" || type === "idle") a11y.schedule();
  });

  // Keyboard for the clickable pictures (pixel grids, latent planes): Tab reaches them; on a pixel grid the
  // arrow keys move a focus cell (Home/End: row start/end) and Space or Enter clicks it; on a latent plane
  // the arrow keys move a cursor (a 20th of the plot per press) and Enter clicks there. A "click" is the
  // pointer events a mouse would send to Bokeh's canvas, so Python gets the same Tap event it already
  // handles. The cursor is an outline drawn over the canvas; a polite region says where it is.
  const KEY_TARGETS = ".pixel-editor.pe-editable, .latent-plane";
  const PLANE_STEPS = 20;
  function captionOf(host) {
    const id = [...host.classList].find((c) => c.startsWith("pe-"));
    return id ? deepQueryAll(`.cap[data-grid="${id.slice(3)}"]`, document, [])[0] || null : null;
  }
  function gridShape(host) {
    const cap = captionOf(host);
    if (!cap || !cap.dataset.shape) return null;
    const [h, w] = cap.dataset.shape.split("x").map(Number);
    return { h: h, w: w, cap: cap };
  }
  function keyTargetSetUp(host) {
    if (host.dataset.pfKeys) return;
    host.dataset.pfKeys = "1";
    host.tabIndex = 0;
    host.setAttribute("role", "application");
    const grid = host.classList.contains("pixel-editor");
    host.setAttribute("aria-roledescription", grid ? "pixel grid" : "clickable plot");
    const cap = grid ? captionOf(host) : null;
    const what = cap && cap.textContent.trim() ? cap.textContent.trim() : (grid ? "Pixel grid" : "Latent plane");
    host.setAttribute("aria-label", what + (grid ? ": arrow keys move, Space or Enter clicks the cell"
                                                : ": arrow keys move the cursor, Enter picks the point"));
    host.pfCursor = { r: 0, c: 0, fx: 0.5, fy: 0.5 };
  }
  function cursorBox(host) {
    const rect = host.getBoundingClientRect();
    const cur = host.pfCursor;
    if (host.classList.contains("pixel-editor")) {
      const g = gridShape(host);
      if (!g) return null;
      cur.r = Math.min(cur.r, g.h - 1); cur.c = Math.min(cur.c, g.w - 1);
      const cw = (rect.width - 2) / g.w, ch = (rect.height - 2) / g.h;
      return { x: 1 + cur.c * cw, y: 1 + cur.r * ch, w: cw, h: ch, rect: rect, g: g };
    }
    const frame = host.shadowRoot && host.shadowRoot.querySelector(".bk-Canvas");
    const r = frame ? frame.getBoundingClientRect() : rect;
    return { x: cur.fx * r.width + (r.left - rect.left) - 6, y: cur.fy * r.height + (r.top - rect.top) - 6,
             w: 12, h: 12, rect: rect };
  }
  function drawCursor(host) {
    const box = cursorBox(host);
    const root = host.shadowRoot;
    if (!box || !root) return null;
    let el = root.querySelector(".pf-cursor");
    if (!el) {
      el = document.createElement("div");
      el.className = "pf-cursor";
      el.setAttribute("aria-hidden", "true");
      el.style.cssText = "position:absolute;pointer-events:none;box-sizing:border-box;border:3px solid #1d4ed8;" +
        "outline:2px solid #ffffff;border-radius:3px;z-index:10;";
      root.appendChild(el);
    }
    Object.assign(el.style, { left: box.x + "px", top: box.y + "px", width: box.w + "px", height: box.h + "px",
                              display: host.matches(":focus") ? "block" : "none" });
    return box;
  }
  function sayCursor(host, box) {
    if (!announceEl || !box) return;
    const cur = host.pfCursor;
    if (box.g) {
      const rows = (box.g.cap.dataset.values || "").split(";");
      const v = rows[cur.r] ? rows[cur.r].split(" ")[cur.c] : "";
      announceEl.textContent = `Row ${cur.r + 1}, column ${cur.c + 1}` + (v !== "" && v !== undefined ? `: ${v}` : "");
    } else {
      announceEl.textContent = `Cursor at ${Math.round(cur.fx * 100)}% across, ${Math.round((1 - cur.fy) * 100)}% up`;
    }
    host.dataset.cursor = box.g ? `${cur.r},${cur.c}` : `${cur.fx.toFixed(2)},${cur.fy.toFixed(2)}`;
  }
  function clickAt(host, box) {
    const target = (host.shadowRoot && deepQueryAll(".bk-events", host.shadowRoot, [])[0]) || host;
    const cx = box.rect.left + box.x + box.w / 2, cy = box.rect.top + box.y + box.h / 2;
    const init = { clientX: cx, clientY: cy, bubbles: true, composed: true, cancelable: true, pointerId: 1,
                   pointerType: "mouse", isPrimary: true, button: 0, buttons: 1 };
    // Bokeh captures the pointer on pointerdown; a synthetic pointer cannot be captured (NotFoundError), so
    // capture is a no-op for these two events only.
    target.setPointerCapture = target.releasePointerCapture = () => {};
    try {
      for (const type of ["pointerdown", "pointerup"]) {
        const ev = new PointerEvent(type, type === "pointerup" ? { ...init, buttons: 0 } : init);
        // a synthetic event's pageX/Y leave out the page's scroll; Bokeh places the click with them
        Object.defineProperty(ev, "pageX", { value: cx + window.scrollX });
        Object.defineProperty(ev, "pageY", { value: cy + window.scrollY });
        target.dispatchEvent(ev);
      }
    } catch (e) {
      console.warn("pyfadml: keyboard click failed", e);
    } finally {
      delete target.setPointerCapture;
      delete target.releasePointerCapture;
    }
  }
  window.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const host = event.composedPath()[0];
    if (host && host.classList && host.classList.contains("bk-tab") && (event.key === "Enter" || event.key === " ")) {
      host.click();                       // Bokeh switches a tab on click only
      event.preventDefault();
      event.stopPropagation();
      return;
    }
    if (!host || !host.matches || !host.matches(KEY_TARGETS) || !host.pfCursor) return;
    const cur = host.pfCursor, grid = host.classList.contains("pixel-editor");
    const g = grid ? gridShape(host) : null;
    const move = { ArrowLeft: [0, -1], ArrowRight: [0, 1], ArrowUp: [-1, 0], ArrowDown: [1, 0] }[event.key];
    if (move) {
      if (g) {
        cur.r = Math.max(0, Math.min(g.h - 1, cur.r + move[0]));
        cur.c = Math.max(0, Math.min(g.w - 1, cur.c + move[1]));
      } else {
        cur.fy = Math.max(0, Math.min(1, cur.fy + move[0] / PLANE_STEPS));
        cur.fx = Math.max(0, Math.min(1, cur.fx + move[1] / PLANE_STEPS));
      }
    } else if (g && (event.key === "Home" || event.key === "End")) {
      cur.c = event.key === "Home" ? 0 : g.w - 1;
    } else if (event.key === "Enter" || (grid && event.key === " ")) {
      const box = drawCursor(host);
      if (box) clickAt(host, box);
      event.preventDefault();
      event.stopPropagation();          // not the page's Space = Play shortcut
      return;
    } else {
      return;
    }
    event.preventDefault();
    event.stopPropagation();
    sayCursor(host, drawCursor(host));
  }, true);
  document.addEventListener("focusin", (event) => {
    const host = event.composedPath()[0];
    if (host && host.matches && host.matches(KEY_TARGETS) && host.pfCursor) {
      host.style.outline = "3px solid #1d4ed8";          // the focus ring (the host lives in Panel's shadow DOM)
      host.style.outlineOffset = "2px";
      sayCursor(host, drawCursor(host));
    }
  });
  document.addEventListener("focusout", (event) => {
    const host = event.composedPath()[0];
    if (host && host.matches && host.matches(KEY_TARGETS)) {
      host.style.outline = "";
      const el = host.shadowRoot && host.shadowRoot.querySelector(".pf-cursor");
      if (el) el.style.display = "none";
    }
  });

  // prefers-reduced-motion: Python redraws live views at most once a second (live.py set_reduced_motion). The
  // preference goes through the shell's hidden "pyfadml-prefs" input, as the exercises' store does.
  const motionQuery = window.matchMedia ? window.matchMedia("(prefers-reduced-motion: reduce)") : null;
  function sendPrefs() {
    const jsdoc = window.pyfadmlDocument ? window.pyfadmlDocument() : null;
    if (!jsdoc) return;
    const model = [...jsdoc.all_models].find((m) => Array.isArray(m.css_classes) && m.css_classes.includes("pyfadml-prefs"));
    const value = JSON.stringify({ reducedMotion: !!(motionQuery && motionQuery.matches) });
    if (model && model.value !== value) model.value = value;
    body.dataset.reducedMotion = motionQuery && motionQuery.matches ? "1" : "0";
  }
  window.pyfadmlWorker.addEventListener("message", (event) => { if (event.data.type === "linked") sendPrefs(); });
  if (motionQuery && motionQuery.addEventListener) motionQuery.addEventListener("change", sendPrefs);
})();
