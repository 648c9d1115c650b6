/* Booth verification page: trust anchors, the bundle (fetched, kept for offline use), the
 * engine, the language, and what the page shows. Runs on Chrome 78 (see core.js).
 * Exposes window.boothVerify(code) and window.boothReady for tests and the bench. */
(function () {
  'use strict';

  var core = window.BoothCore;
  var STRINGS = window.BoothStrings;
  var NOBLE_SRC = '/verifier/vendor/noble/noble-ed25519.js';
  var LANG_KEY = 'booth-verifier-lang';
  var BUNDLE_KEY = 'booth-verifier-bundle';
  var FETCH_TIMEOUT_MS = 8000;
  // how long a kept list waits for the network before its verdict is given (issue 23 item 9:
  // a verdict within 300 ms whatever the network does)
  var FRESH_WAIT_MS = 80;

  var params = new URLSearchParams(location.search);
  var lang = pickLang();
  var engine = null;
  var bundle = null;
  var refreshedAt = null;
  var refreshed = null;
  var bundleState = { key: 'bundle_loading', vars: {}, attr: 'loading' };
  var shown = { state: 'idle' };
  var checkSeq = 0;
  var lastCheck = null;
  var stopScan = null;

  function $(id) {
    return document.getElementById(id);
  }

  // ---------------------------------------------------------------- language

  function pickLang() {
    var asked = params.get('lang');
    if (asked === 'en' || asked === 'zh') return asked;
    try {
      var kept = localStorage.getItem(LANG_KEY);
      if (kept === 'en' || kept === 'zh') return kept;
    } catch (e) { /* storage may be off (private mode): Chinese */ }
    return 'zh';
  }

  function t(key, vars) {
    var s = STRINGS[lang][key];
    if (s === undefined) s = STRINGS.zh[key] === undefined ? key : STRINGS.zh[key];
    return s.replace(/\{(\w+)\}/g, function (all, name) {
      return vars && vars[name] !== undefined && vars[name] !== null ? String(vars[name]) : '';
    });
  }

  function applyLang() {
    document.documentElement.lang = lang === 'en' ? 'en' : 'zh-CN';
    document.title = t('title');
    var nodes = document.querySelectorAll('[data-i18n]');
    for (var i = 0; i < nodes.length; i++) nodes[i].textContent = t(nodes[i].getAttribute('data-i18n'));
    $('code-input').setAttribute('placeholder', t('paste_placeholder'));
    // the switch names the other language, in that language
    $('lang-button').setAttribute('lang', lang === 'zh' ? 'en' : 'zh-CN');
    renderBundle();
    renderVerdict();
  }

  function switchLang() {
    lang = lang === 'zh' ? 'en' : 'zh';
    try {
      localStorage.setItem(LANG_KEY, lang);
    } catch (e) { /* not remembered, still switched */ }
    applyLang();
  }

  // ---------------------------------------------------------------- trust anchors and bundle

  function meta(name) {
    var m = document.querySelector('meta[name="' + name + '"]');
    var v = m ? m.getAttribute('content') : '';
    return v && v.indexOf('{{') < 0 ? v.trim() : '';
  }

  var officeFingerprint = meta('booth-office-key');
  var bundleUrl = meta('booth-bundle');

  function readKept() {
    try {
      var kept = JSON.parse(localStorage.getItem(BUNDLE_KEY) || 'null');
      return kept && kept.anchor === officeFingerprint && typeof kept.envelope === 'string' ? kept : null;
    } catch (e) {
      return null;
    }
  }

  /** The newest bundle version this page has taken under its anchor (kept beside the bundle,
   * so it holds even when the kept envelope no longer opens): no older bundle is taken. */
  function newestSeen(kept) {
    return kept && typeof kept.version === 'number' ? kept.version : -1;
  }

  function keep(envelope, opened) {
    try {
      localStorage.setItem(BUNDLE_KEY, JSON.stringify({
        anchor: officeFingerprint,
        fingerprint: opened.fingerprint,
        envelope: envelope,
        version: opened.version,
        refreshed_at: Date.now()
      }));
    } catch (e) { /* full or off: the bundle is still used for this visit */ }
  }

  function fetchText(url) {
    var request = fetch(url, { cache: 'no-store', credentials: 'same-origin' }).then(function (r) {
      if (!r.ok) throw new Error('HTTP ' + r.status);
      return r.text();
    });
    var timeout = new Promise(function (resolve, reject) {
      setTimeout(function () {
        reject(new Error('timeout'));
      }, FETCH_TIMEOUT_MS);
    });
    return Promise.race([request, timeout]);
  }

  /** Office keys a fetched bundle may be signed by: the page's own, and the one the newest
   * trusted bundle is signed by or announces as next (rotation, docs/trust.md). */
  function trustedFor(current, sha256) {
    var trusted = [officeFingerprint];
    if (!current) return Promise.resolve(trusted);
    trusted.push(current.fingerprint);
    if (!current.nextOfficeKey) return Promise.resolve(trusted);
    return sha256(current.nextOfficeKey).then(function (d) {
      trusted.push(core.b64urlEncode(d));
      return trusted;
    });
  }

  function describeRefusal(e) {
    if (e && e.code) return t('bundle.' + e.code, { detail: e.detail });
    return t('bundle.fetch');
  }

  /** The local date and time of `ms` (the phone's own time zone), `YYYY-MM-DD HH:MM`. */
  function localTime(ms) {
    var d = new Date(ms);
    function two(n) {
      return (n < 10 ? '0' : '') + n;
    }
    return d.getFullYear() + '-' + two(d.getMonth() + 1) + '-' + two(d.getDate()) + ' ' +
      two(d.getHours()) + ':' + two(d.getMinutes());
  }

  /** Fetches the bundle and takes it if it is trusted and not older than the newest this page
   * has taken; says what happened. Resolves when settled (rejects only when nothing is held). */
  function refresh(kept, current, sha256) {
    return trustedFor(current, sha256).then(function (trusted) {
      return fetchText(bundleUrl).then(function (text) {
        return core.openBundle(text, trusted, engine, sha256).then(function (fresh) {
          var newest = Math.max(newestSeen(kept), current ? current.version : -1);
          if (fresh.version >= newest) {
            bundle = fresh;
            refreshedAt = Date.now();
            keep(text, fresh);
            setBundleState('bundle_status', 'fresh');
            return;
          }
          // older than one already taken: a rollback would bring back revoked cards
          var vars = { fetched: fresh.version, newest: newest };
          if (!current) {
            setBundleState('bundle_older_none', 'error', vars);
            throw failure('bundle_older');
          }
          setBundleState('bundle_older', 'kept', vars);
        }, function (e) {
          if (!current) {
            setBundleState('bad_bundle', 'error', { why: describeRefusal(e) });
            throw e;
          }
          setBundleState('bundle_kept', 'kept', { why: describeRefusal(e) });
        });
      }, function (e) {
        if (!current) {
          setBundleState('no_bundle', 'error');
          throw e;
        }
        setBundleState('bundle_offline', 'offline');
      });
    });
  }

  /** The bundle to check with. A kept bundle that opens is used at once (after at most
   * FRESH_WAIT_MS for the network, so a good link still gives the newest list's verdict) and
   * the list is refreshed behind it; without one the page waits for the network. */
  function loadBundle(sha256) {
    var kept = readKept();
    refreshedAt = kept && typeof kept.refreshed_at === 'number' ? kept.refreshed_at : null;
    var opening = kept ?
      core.openBundle(kept.envelope, [officeFingerprint, kept.fingerprint], engine, sha256).catch(function () {
        return null;
      }) :
      Promise.resolve(null);
    return opening.then(function (current) {
      bundle = current;
      if (current) setBundleState('bundle_refreshing', 'refreshing');
      var refreshing = refresh(kept, current, sha256);
      refreshed = refreshing.then(function () {
        return bundleState.attr;
      }, function () {
        return bundleState.attr;
      });
      if (!current) return refreshing;
      // a newer list behind a verdict already shown: check that code again
      refreshing.then(recheckShown, function () { /* the kept one stays */ });
      return new Promise(function (resolve) {
        setTimeout(resolve, FRESH_WAIT_MS);
        refreshing.then(resolve, resolve);
      });
    });
  }

  function setBundleState(key, attr, vars) {
    bundleState = { key: key, attr: attr, vars: vars || {} };
    renderBundle();
  }

  function shortTime(issuedAt) {
    var m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})/.exec(issuedAt);
    return m ? m[1] + ' ' + m[2] : issuedAt;
  }

  function renderBundle() {
    var el = $('bundle-status');
    var vars = {};
    for (var k in bundleState.vars) vars[k] = bundleState.vars[k];
    if (bundle) {
      vars.version = bundle.version;
      // the union's time of issue, as the phone's local time like the refresh beside it
      var issued = Date.parse(bundle.issuedAt);
      vars.date = isNaN(issued) ? shortTime(bundle.issuedAt) : localTime(issued);
      vars.refreshed = refreshedAt === null ? t('never') : localTime(refreshedAt);
    }
    el.setAttribute('data-bundle', bundleState.attr);
    el.textContent = t(bundleState.key, vars);
    $('engine').textContent = engine ? t('engine', { engine: engine.name === 'js' ? 'JS (noble)' : 'WebCrypto' }) : '';
  }

  // ---------------------------------------------------------------- engine

  function failure(code) {
    var e = new Error(code);
    e.code = code;
    return e;
  }

  function loadNoble() {
    if (window.boothNoble) return Promise.resolve(window.boothNoble);
    // noble needs BigInt (Chrome 67, Safari 14, Firefox 68); without it nothing can be checked.
    if (typeof BigInt !== 'function') return Promise.reject(failure('old_browser'));
    return window.BoothScan.loadScript(NOBLE_SRC).then(function () {
      if (!window.boothNoble) throw failure('old_browser');
      return window.boothNoble;
    }, function () {
      throw failure('no_engine');
    });
  }

  function chooseEngine() {
    var forceJs = params.get('engine') === 'js';
    var probe = forceJs ? Promise.resolve(null) : core.probeWebCrypto();
    return probe.then(function (webcrypto) {
      var needNoble = !webcrypto || !(window.crypto && window.crypto.subtle);
      return (needNoble ? loadNoble() : Promise.resolve(null)).then(function (noble) {
        engine = webcrypto || core.nobleEngine(noble);
        document.body.setAttribute('data-engine', engine.name);
        return core.sha256With(noble);
      });
    });
  }

  // ---------------------------------------------------------------- ready

  var ready = (function () {
    if (!officeFingerprint || !bundleUrl) {
      bundleState = { key: 'unconfigured', attr: 'error', vars: {} };
      return Promise.reject(new Error('unconfigured'));
    }
    return chooseEngine().catch(function (e) {
      var code = e && e.code === 'old_browser' ? 'old_browser' : 'no_engine';
      setBundleState(code, 'error');
      throw failure(code);
    }).then(loadBundle).then(function () {
      return {
        version: bundle.version,
        issued_at: bundle.issuedAt,
        offline: bundleState.attr === 'offline',
        refreshing: bundleState.attr === 'refreshing',
        refreshed_at: refreshedAt,
        engine: engine.name
      };
    });
  })();
  ready.catch(function () { /* shown on the page; boothVerify rejects */ });
  /** Settles when the refresh behind the kept list has: the final `data-bundle` state. */
  var refreshSettled = ready.then(function () {
    return refreshed;
  }, function () {
    return refreshed || bundleState.attr;
  });

  /** The verdict for a code (the code itself or its URL form); does not touch the page. */
  function boothVerify(code) {
    return ready.then(function () {
      var payload;
      try {
        payload = core.payloadFromText(code);
      } catch (e) {
        if (!(e instanceof core.Refusal)) throw e;
        return { verdict: 'invalid', member_no: null, union: null, date: null, key_id: null,
          reason: e.code, detail: e.detail };
      }
      return core.verdict(payload, bundle, engine);
    });
  }

  window.boothReady = ready;
  window.boothRefreshed = refreshSettled;
  /** The list in use now (it may have been refreshed since boothReady resolved). */
  window.boothBundle = function () {
    return bundle ? { version: bundle.version, issued_at: bundle.issuedAt, state: bundleState.attr,
      refreshed_at: refreshedAt } : null;
  };
  window.boothVerify = boothVerify;

  // ---------------------------------------------------------------- the verdict on the page

  function renderVerdict() {
    var box = $('verdict');
    box.removeAttribute('data-verdict');
    box.setAttribute('data-state', shown.state);
    var word = $('verdict-word');
    var note = $('verdict-note');
    var details = $('verdict-details');
    var next = $('verdict-next');
    details.hidden = true;
    word.textContent = '';
    note.textContent = '';
    next.textContent = '';
    if (shown.state === 'idle') {
      note.textContent = t('idle');
    } else if (shown.state === 'checking') {
      word.textContent = t('checking');
    } else if (shown.state === 'error') {
      note.textContent = t('cannot_check');
    } else if (shown.state === 'done') {
      var r = shown.result;
      box.setAttribute('data-verdict', r.verdict);
      word.textContent = t(r.verdict);
      next.textContent = t(r.verdict + '_next');
      if (r.verdict === 'invalid') {
        note.textContent = t('invalid_note', { why: t('reason.' + r.reason, { detail: r.detail }) });
      } else {
        note.textContent = t(r.verdict + '_note');
        $('member-no').textContent = r.member_no;
        $('union').textContent = r.union;
        $('date').textContent = r.date;
        details.hidden = false;
      }
    }
  }

  function show(state, result) {
    shown = { state: state, result: result };
    renderVerdict();
  }

  /** Shows the verdict `produce()` gives; a later check wins over an earlier one. */
  function run(produce, quiet) {
    var mine = ++checkSeq;
    lastCheck = produce;
    if (!quiet) show('checking');
    produce().then(function (result) {
      if (mine === checkSeq) show('done', result);
    }, function () {
      if (mine === checkSeq) show('error');
    });
  }

  /** The list was refreshed behind a verdict already shown: the same code again, with it. */
  function recheckShown() {
    if (lastCheck && shown.state === 'done') run(lastCheck, true);
  }

  function check(code) {
    run(function () {
      return boothVerify(code);
    });
  }

  function checkFragment() {
    var hash = location.hash;
    if (!hash || hash === '#') return;
    var fragment = hash.slice(1);
    run(function () {
      return ready.then(function () {
        var payload;
        try {
          payload = core.fromFragment(fragment);
        } catch (e) {
          return { verdict: 'invalid', member_no: null, union: null, date: null, key_id: null,
            reason: e.code, detail: null };
        }
        return core.verdict(payload, bundle, engine);
      });
    });
  }

  // ---------------------------------------------------------------- camera

  function toggleScan() {
    if (stopScan) return endScan();
    $('scanner').hidden = false;
    $('scan-button').textContent = t('stop');
    $('scan-button').setAttribute('data-i18n', 'stop');
    $('scan-message').textContent = '';
    $('scanner').scrollIntoView({ block: 'center', behavior: 'smooth' });
    stopScan = window.BoothScan.start($('video'), function (text) {
      endScan();
      check(text);
    }, function (key) {
      endScan();
      $('scan-message').textContent = t(key);
      $('scan-message').setAttribute('data-i18n', key);
    }, { zxing: params.get('scanner') === 'zxing' });
  }

  function endScan() {
    if (stopScan) stopScan();
    stopScan = null;
    $('scanner').hidden = true;
    $('scan-button').setAttribute('data-i18n', 'scan');
    $('scan-button').textContent = t('scan');
  }

  // ---------------------------------------------------------------- offline

  function registerServiceWorker() {
    if (!('serviceWorker' in navigator)) return;
    // The worker is served at /v-sw.js; one registration for each spelling of the page.
    var scope = location.pathname.charAt(1) === 'V' ? '/V' : '/v';
    navigator.serviceWorker.register('/v-sw.js', { scope: scope }).catch(function () {
      /* no offline copy of the page; the bundle is still kept in localStorage */
    });
  }

  // ---------------------------------------------------------------- start

  function start() {
    $('lang-button').addEventListener('click', switchLang);
    $('scan-button').addEventListener('click', toggleScan);
    $('code-form').addEventListener('submit', function (e) {
      e.preventDefault();
      check($('code-input').value);
    });
    window.addEventListener('hashchange', checkFragment);
    applyLang();
    ready.then(renderBundle, function () {
      renderBundle();
      if (shown.state !== 'checking') show('error');
    });
    checkFragment();
    registerServiceWorker();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
