/* Service worker of the verification page, served at /v-sw.js and registered with scope /v
 * (or /V): it keeps the page and its files so that the page opens at once, offline or with
 * a server that does not answer. The kept copy first, refreshed behind from the network (a
 * new page or file is used from the visit after it was fetched). It handles only the page and
 * /verifier/ files; everything else (the API, the bundle, the console) goes to the network
 * untouched. The bundle is kept by the page itself, in localStorage. */
'use strict';

var CACHE = 'booth-verifier-2';
var PAGE_KEY = 'booth-verifier-page';
var PAGE_PATHS = ['/v', '/V', '/v/', '/V/', '/v/index.html', '/V/index.html'];
var FILES = [
  '/verifier/verifier.css',
  '/verifier/icon.svg',
  '/verifier/strings.js',
  '/verifier/core.js',
  '/verifier/scan.js',
  '/verifier/app.js',
  '/verifier/vendor/noble/noble-ed25519.js'
];

/** A copy without the "redirected" flag, which a navigation must not be answered with. */
function plain(response) {
  if (!response.redirected) return Promise.resolve(response);
  return response.blob().then(function (body) {
    return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
  });
}

self.addEventListener('install', function (event) {
  event.waitUntil(caches.open(CACHE).then(function (cache) {
    // The page is also kept at its next visit through the worker, so a failure here is fine.
    var page = fetch(self.registration.scope, { cache: 'no-store' }).then(function (r) {
      if (!r.ok) return null;
      return plain(r).then(function (p) {
        return cache.put(PAGE_KEY, p);
      });
    }).catch(function () {
      return null;
    });
    return Promise.all([page, cache.addAll(FILES)]);
  }).then(function () {
    return self.skipWaiting();
  }));
});

self.addEventListener('activate', function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (n) {
      return n.indexOf('booth-verifier-') === 0 && n !== CACHE;
    }).map(function (n) {
      return caches.delete(n);
    }));
  }).then(function () {
    return self.clients.claim();
  }));
});

/** The kept copy at once when there is one (the page answers within its 300 ms whatever the
 * network does: a hung server must not hold the page), refreshed from the network behind it
 * for the next visit; without a copy, the network's answer (kept). */
function keptThenRefresh(event, key) {
  var request = event.request;
  return caches.open(CACHE).then(function (cache) {
    var fromNetwork = fetch(request).then(function (response) {
      if (!response.ok) return response;
      return plain(response).then(function (p) {
        return cache.put(key, p.clone()).then(function () {
          return p;
        });
      });
    });
    return cache.match(key).then(function (kept) {
      if (!kept) return fromNetwork;
      // the refresh runs on after the answer; a failure only leaves the kept copy
      event.waitUntil(fromNetwork.catch(function () { return null; }));
      return kept;
    });
  });
}

self.addEventListener('fetch', function (event) {
  var request = event.request;
  if (request.method !== 'GET') return;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === 'navigate' && PAGE_PATHS.indexOf(url.pathname) >= 0) {
    event.respondWith(keptThenRefresh(event, PAGE_KEY));
  } else if (url.pathname.indexOf('/verifier/') === 0 && !/\.json$/.test(url.pathname)) {
    event.respondWith(keptThenRefresh(event, url.pathname));
  }
});
