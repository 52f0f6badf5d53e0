// Panel's stylesheets without one network request per view (issue 10).
//
// Panel gives each of its views its CSS files as Bokeh ImportedStyleSheet models (one model per file and
// document), and BokehJS puts a new <link rel="stylesheet"> for each into every view's shadow root
// (models/dom/stylesheets.ts: ImportedStyleSheet.underlying() makes a new core/dom ImportedStyleSheet per
// call). One section holds a few hundred views; with every section in the page (the idle prebuild,
// AppShell.prebuild_when_idle in pyfadml/app/shell.py) that is about 1400 links. Chromium serves most of them
// from the document's own cache, but not all (the site sends Cache-Control: no-cache), and when thousands
// are asked for at once it refuses them: "Failed to load resource: net::ERR_INSUFFICIENT_RESOURCES".
//
// The shim: each such file is fetched once (pyfadmlStyleSheets.prefetch, before a document is rendered),
// and from then on ImportedStyleSheet.underlying() gives the view a <style> with the file's text instead of
// a <link>. Same place in the shadow root, so the same cascade order; Blink parses one text once and shares
// it between identical <style> elements. The CSP allows inline styles (build.py: style-src 'unsafe-inline').
// Kept as Bokeh does it (a <link>): a URL of another origin, a global stylesheet, a file with @import, a
// file not fetched yet (its fetch starts then, for the views that come later) or one whose fetch failed.
// Relative url(...) references inside the text are resolved against the file's URL (a <style> would
// resolve them against the page's).
"use strict";

(function () {
  const texts = new Map();      // absolute URL -> the file's text, url(...) made absolute
  const fetches = new Map();    // absolute URL -> Promise of the fetch (settled once texts has it, or failed)
  let installed = false;

  const URL_REF = /url\(\s*(['"]?)([^'")]+)\1\s*\)/g;

  function absolute(url) {
    return new URL(url, document.baseURI);
  }

  function rebase(css, base) {
    return css.replace(URL_REF, (whole, quote, ref) =>
      /^(data:|[a-z]+:|#)/i.test(ref) ? whole : `url(${quote}${new URL(ref, base).href}${quote})`);
  }

  function fetchText(href) {
    if (!fetches.has(href)) {
      fetches.set(href, fetch(href)
        .then((r) => (r.ok ? r.text() : null))
        .then((css) => { if (css !== null && !css.includes("@import")) texts.set(href, rebase(css, href)); })
        .catch(() => {}));          // the <link> stays; its own request reports the problem
    }
    return fetches.get(href);
  }

  // Patch BokehJS once it is loaded (its scripts come after this one in index.html).
  function install() {
    if (installed || !window.Bokeh || !Bokeh.require) return;
    const models = Bokeh.require("models/dom/stylesheets");
    const dom = Bokeh.require("core/dom");
    const original = models.ImportedStyleSheet.prototype.underlying;
    models.ImportedStyleSheet.prototype.underlying = function () {
      if (this instanceof models.GlobalImportedStyleSheet) return original.call(this);
      const url = absolute(this.url);
      if (url.origin !== location.origin) return original.call(this);
      const css = texts.get(url.href);
      if (css === undefined) {
        fetchText(url.href);
        return original.call(this);
      }
      return new dom.InlineStyleSheet(css);
    };
    installed = true;
  }

  // Every ImportedStyleSheet URL of a serialized document (docs_json, or a patch), same origin only.
  function urlsOf(json) {
    const found = new Set();
    const walk = (node) => {
      if (Array.isArray(node)) node.forEach(walk);
      else if (node && typeof node === "object") {
        if (node.name === "ImportedStyleSheet" && node.attributes && typeof node.attributes.url === "string") {
          const url = absolute(node.attributes.url);
          if (url.origin === location.origin) found.add(url.href);
        }
        for (const key in node) walk(node[key]);
      }
    };
    walk(json);
    return [...found];
  }

  // Install the patch and fetch the stylesheets ``json`` refers to: render once this has resolved, and
  // its views get <style> elements from the start.
  function prefetch(json) {
    install();
    return Promise.all(urlsOf(json).map(fetchText));
  }

  window.pyfadmlStyleSheets = { install, prefetch, urlsOf, inlined: () => [...texts.keys()] };
})();
