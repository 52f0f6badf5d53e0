// Service worker: the whole site offline after one visit, cache-first, one cache per version.
//
// The page registers "sw.js?v=VERSION", VERSION being the sha256 of the site's SHA256SUMS (so a
// new build is a new worker).  Installing fetches SHA256SUMS, checks that its sha256 is VERSION,
// then fetches every file it lists, checks each file's sha256 against it and stores it: the
// cache holds one complete, verified build or nothing.  Once active it answers every request for
// a listed file from that cache (a warm start touches no network); anything else (SHA256SUMS,
// share.json, share-qr.svg?url=...) goes to the network as usual.  Old versions' caches are
// deleted when the new version takes over (the page asks with "skipWaiting" after showing its
// "new version" notice).
"use strict";

const VERSION = new URL(self.location.href).searchParams.get("v") || "unversioned";
const SCOPE = self.registration.scope;
const CACHE_PREFIX = `pyfadml ${SCOPE} `;
const CACHE = CACHE_PREFIX + VERSION;
const NOT_CACHED = new Set(["SHA256SUMS", "sw.js", "_headers", "nginx.conf"]);
const PARALLEL = 4;

const cached = (path) => !NOT_CACHED.has(path) && !path.endsWith(".gz");

async function sha256hex(buffer) {
  const digest = await crypto.subtle.digest("SHA-256", buffer);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

async function precache() {
  const sums = await fetch(new URL("SHA256SUMS", SCOPE), { cache: "no-cache" });
  if (!sums.ok) throw new Error(`SHA256SUMS: HTTP ${sums.status}`);
  const text = await sums.arrayBuffer();
  if ((await sha256hex(text)) !== VERSION) {
    throw new Error("SHA256SUMS is not the version being installed (the site changed meanwhile)");
  }
  const entries = new TextDecoder().decode(text).split("\n").filter(Boolean)
    .map((line) => [line.slice(0, 64), line.slice(66)]).filter(([, path]) => cached(path));
  const cache = await caches.open(CACHE);
  let next = 0;
  async function worker() {
    while (next < entries.length) {
      const [digest, path] = entries[next++];
      const url = new URL(path, SCOPE).href;
      if (await cache.match(url)) continue;          // a retried install keeps what it has
      const response = await fetch(url, { cache: "no-cache" });
      if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
      const body = await response.arrayBuffer();
      if ((await sha256hex(body)) !== digest) {
        throw new Error(`${path}: its sha256 is not the one in SHA256SUMS`);
      }
      // The body is stored decoded: keep the headers that still describe it.
      const headers = new Headers();
      for (const name of ["Content-Type", "Content-Security-Policy", "X-Content-Type-Options"]) {
        const value = response.headers.get(name);
        if (value) headers.set(name, value);
      }
      await cache.put(url, new Response(body, { status: 200, headers: headers }));
    }
  }
  await Promise.all(Array.from({ length: PARALLEL }, worker));
}

self.addEventListener("install", (event) => {
  event.waitUntil(precache().catch(async (error) => {
    await caches.delete(CACHE);
    throw error;                         // the install fails; the page tries again next visit
  }));
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith(CACHE_PREFIX) && name !== CACHE) await caches.delete(name);
    }
  })());
});

self.addEventListener("message", (event) => {
  if (event.data === "skipWaiting") self.skipWaiting();
  else if (event.data === "version" && event.source) event.source.postMessage({ version: VERSION });
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET" || !request.url.startsWith(SCOPE)) return;
  let path = request.url.slice(SCOPE.length).split("#")[0];
  // A query is a version tag (Panel asks for css/loading.css?v=1.9.4: the file of this build) or a
  // dynamic request (share-qr.svg?url=...): the cached file without the query, else the network.
  path = path.split("?")[0];
  if (path === "") path = "index.html";
  if (!cached(path)) return;
  event.respondWith((async () => {
    const cache = await caches.open(CACHE);
    const hit = await cache.match(new URL(path, SCOPE).href);
    return hit || fetch(request);
  })());
});
