#!/usr/bin/env python3
"""Checks the verification page end to end in headless Chromium, and benches it.

    check-page.py --booth target/release/booth --out /tmp/verifier-check [--bench 10000]

Makes two laptops with the real `booth` (genuine codes), an office key and bundles with
make-test-bundle.py, serves the page with serve.py (the server's CSP), and drives Chromium
through chromedriver (Python `selenium`, `cryptography`; `segno` for the camera check). Prints one line per check and
`N passed, M failed`; screenshots go to --out. CPU-light: one browser at a time.
"""

import argparse
import base64
import importlib.util
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

TOOLS = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("mtb", os.path.join(TOOLS, "make-test-bundle.py"))
mtb = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mtb)

RESULTS = []


def check(name, ok, detail=""):
    RESULTS.append(ok)
    print(("ok   " if ok else "FAIL ") + name + (f"  [{detail}]" if detail else ""), flush=True)


# ---------------------------------------------------------------- Ed25519 arithmetic (RFC 8032 §6)

P = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493
D = -121665 * pow(121666, P - 2, P) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)


def pt_add(a, b):
    x1, y1, z1, t1 = a
    x2, y2, z2, t2 = b
    A, B = (y1 - x1) * (y2 - x2) % P, (y1 + x1) * (y2 + x2) % P
    C, Dd = t1 * 2 * D * t2 % P, z1 * 2 * z2 % P
    E, F, G, H = B - A, Dd - C, Dd + C, B + A
    return (E * F % P, G * H % P, F * G % P, E * H % P)


def pt_mul(s, pt):
    q = (0, 1, 1, 0)
    while s:
        if s & 1:
            q = pt_add(q, pt)
        pt = pt_add(pt, pt)
        s >>= 1
    return q


def pt_encode(pt):
    x, y, z, _ = pt
    zi = pow(z, P - 2, P)
    x, y = x * zi % P, y * zi % P
    return int.to_bytes(y | ((x & 1) << 255), 32, "little")


def pt_decode(s):
    y = int.from_bytes(s, "little")
    sign = y >> 255
    y &= (1 << 255) - 1
    x2 = (y * y - 1) * pow(D * y * y + 1, P - 2, P)
    x = pow(x2, (P + 3) // 8, P)
    if (x * x - x2) % P:
        x = x * SQRT_M1 % P
    if (x * x - x2) % P:
        raise ValueError("not a point")
    if (x & 1) != sign:
        x = P - x
    return (x, y, 1, x * y % P)


ORDER8 = bytes.fromhex("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05")
IDENTITY = bytes([1] + [0] * 31)


def edge_vectors():
    """(name, key, message, signature, expected) — the same verdict is expected of both engines."""
    key = mtb.Ed25519PrivateKey.generate()
    public = mtb.raw_public(key)
    msg = b"booth-card/1 edge"
    sig = key.sign(msg)
    r, s = sig[:32], int.from_bytes(sig[32:], "little")
    r_torsion = pt_encode(pt_add(pt_decode(r), pt_decode(ORDER8)))
    vectors = [
        ("genuine", public, msg, sig, True),
        ("S + L (non-canonical S)", public, msg, r + int.to_bytes(s + L, 32, "little"), False),
        ("R + 8-torsion (passes cofactored checks only)", public, msg,
         r_torsion + sig[32:], False),
        ("R of small order", public, msg, ORDER8 + sig[32:], False),
        ("R non-canonical (y = p)", public, msg,
         bytes([0xED] + [0xFF] * 30 + [0x7F]) + sig[32:], False),
        ("identity key, R = identity, S = 0", IDENTITY, msg, IDENTITY + bytes(32), False),
        ("other message", public, msg + b"!", sig, False),
    ]
    # RFC 8032 §7.1 tests 1-3
    for k, m, sg in [
        ("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
         "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"),
        ("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
         "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"),
        ("fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
         "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"),
    ]:
        vectors.append((f"RFC 8032 {m or 'empty'}", bytes.fromhex(k), bytes.fromhex(m),
                        bytes.fromhex(sg), True))
    return vectors


# ---------------------------------------------------------------- fixtures

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def booth(binary, data, *args):
    env = dict(os.environ, BOOTH_PASSPHRASE="check-page")
    out = subprocess.run([binary, "--data-dir", data, *args], env=env, capture_output=True,
                         text=True, check=True)
    return out.stdout


def id_number(i):
    body = "110105198001%02d%03d" % (1 + i % 28, i)
    w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return body + "10X98765432"[sum(int(c) * x for c, x in zip(body, w)) % 11]


def register(binary, data, i):
    out = booth(binary, data, "register", "--name", "测试", "--id", id_number(i),
                "--phone", "138%08d" % i, "--employer", "测试单位", "--consent", "--json")
    return json.loads(out)


def make_fixtures(binary, work):
    a, b = os.path.join(work, "laptop-a"), os.path.join(work, "laptop-b")
    cards = {"a1": register(binary, a, 1)}
    booth(binary, a, "config", "set", "union", "北京市朝阳区总工会")
    cards["a2"] = register(binary, a, 2)
    cards["a3"] = register(binary, a, 3)
    for i in range(1, 4):
        cards[f"b{i}"] = register(binary, b, 10 + i)
    keys = os.path.join(work, "keys.txt")
    with open(keys, "w", encoding="utf-8") as f:
        f.write(booth(binary, a, "keys", "export") + booth(binary, b, "keys", "export"))
    return cards, keys


def base_args(work, cards, keys, office=None):
    """The test bundle: both laptops, laptop B revoked after its 2nd card, card a3 revoked."""
    return ["--office-key", office or os.path.join(work, "office.pem"), "--keys", keys,
            "--device", f"{cards['a1']['member_no'][:6]}=laptop-a",
            "--device", f"{cards['b1']['member_no'][:6]}=laptop-b",
            "--max-seq", f"{cards['b1']['member_no'][:6]}=2", "--revoke", cards["a3"]["member_no"]]


def run_bundle_tool(*args):
    subprocess.run([sys.executable, os.path.join(TOOLS, "make-test-bundle.py"), *args],
                   check=True, capture_output=True)


def fingerprint(pem):
    return mtb.fingerprint(mtb.raw_public(mtb.load_office_key(pem)))


def fragment(code):
    return code.replace("%", "%25").replace(" ", "%20")


def altered(code):
    """One base45 character changed (the same change every run: the 30th)."""
    i = 30
    alphabet = mtb.BASE45
    c = alphabet[(alphabet.index(code[i]) + 1) % 45]
    return code[:i] + c + code[i + 1:]


# ---------------------------------------------------------------- browser

def browser(phone=True, lang_width=None, extra=()):
    o = Options()
    o.binary_location = "/usr/bin/chromium"
    for a in ["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
              "--disable-background-networking", "--disable-component-update", "--disable-sync",
              "--hide-scrollbars", "--user-data-dir=" + tempfile.mkdtemp(prefix="verifier-chrome-"),
              *extra]:
        o.add_argument(a)
    if phone:
        o.add_experimental_option("mobileEmulation", {
            "deviceMetrics": {"width": 390, "height": 844, "pixelRatio": 2, "touch": True}})
    else:
        o.add_argument("--window-size=1280,900")
    o.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    d = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=o)
    d.set_script_timeout(900)
    return d


def wait_verdict(d, timeout=20):
    end = time.time() + timeout
    while time.time() < end:
        state = d.execute_script(
            "var v=document.getElementById('verdict');"
            "return [v.getAttribute('data-state'), v.getAttribute('data-verdict')];")
        if state[0] in ("done", "error"):
            return state
        time.sleep(0.1)
    return state


def page_text(d):
    return d.find_element(By.ID, "verdict").text.replace("\n", " / ")


def ready(d):
    """boothReady once the refresh behind a kept list has settled (version and offline as then)."""
    return d.execute_async_script(
        "var cb=arguments[arguments.length-1];"
        "boothReady.then(function(r){boothRefreshed.then(function(state){"
        "var b=boothBundle(); r.version=b.version; r.issued_at=b.issued_at;"
        "r.offline=state==='offline'; r.refreshing=false; cb(r)})},"
        " function(e){cb({error: String(e && (e.code || e.message))})});")


def verify_js(d, code):
    return d.execute_async_script(
        "var cb=arguments[arguments.length-1];"
        "boothVerify(arguments[0]).then(cb, function(e){cb({error: String(e)})});", code)


def csp_errors(d):
    try:
        return [m["message"] for m in d.get_log("browser")
                if "Content Security Policy" in m["message"] or "Refused" in m["message"]]
    except Exception:  # noqa: BLE001 - logs are best effort
        return []


# ---------------------------------------------------------------- the checks

class Server:
    def __init__(self, fp, bundle, work):
        self.fp, self.bundle, self.work = fp, bundle, work
        self.port = free_port()
        self.fail = os.path.join(work, "fail-bundle")
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(TOOLS, "serve.py"), "--fingerprint", self.fp,
             "--bundle", self.bundle, "--port", str(self.port), "--fail-bundle", self.fail,
             "--extra", self.work], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(50):
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                time.sleep(0.1)

    def stop(self):
        if self.proc:
            self.proc.terminate()
            self.proc.wait()
            self.proc = None

    def url(self, path="/v", query="", code=None):
        return (f"http://127.0.0.1:{self.port}{path}" + (f"?{query}" if query else "") +
                (f"#{fragment(code)}" if code is not None else ""))


def verdict_cases(cards, unknown):
    return [
        ("genuine 工会", cards["a1"]["qr_payload"], "valid", None),
        ("genuine 北京市朝阳区总工会", cards["a2"]["qr_payload"], "valid", None),
        ("altered (one base45 character)", altered(cards["a1"]["qr_payload"]), "invalid", "*"),
        ("revoked number", cards["a3"]["qr_payload"], "revoked", "revoked"),
        ("revoked device, seq within max_seq", cards["b2"]["qr_payload"], "valid", None),
        ("revoked device, seq above max_seq", cards["b3"]["qr_payload"], "invalid", "device_revoked"),
        ("unknown key", unknown, "invalid", "unknown_key"),
        ("not a code", "hello", "invalid", "not_booth"),
    ]


def run_verdicts(srv, cards, unknown, out):
    for engine in ("webcrypto", "js"):
        for lang in ("zh", "en"):
            d = browser(phone=True)
            try:
                query = f"lang={lang}" + ("&engine=js" if engine == "js" else "")
                for name, code, want, reason in verdict_cases(cards, unknown):
                    d.get("about:blank")
                    d.get(srv.url(query=query, code=code))
                    state, verdict = wait_verdict(d)
                    got_engine = d.execute_script("return document.body.getAttribute('data-engine')")
                    r = verify_js(d, code)
                    ok = (verdict == want and r.get("verdict") == want and got_engine == engine and
                          (reason in (None, "*") and (reason == "*" or r.get("reason") is None)
                           or r.get("reason") == reason))
                    check(f"{engine:9} {lang} {name}: {verdict}", ok,
                          f"reason={r.get('reason')} text={page_text(d)}")
                    slug = {"genuine 工会": "genuine", "altered (one base45 character)": "altered",
                            "revoked number": "revoked"}.get(name)
                    if slug:
                        d.save_screenshot(os.path.join(out, f"phone-{lang}-{engine}-{slug}.png"))
                errors = csp_errors(d)
                check(f"{engine:9} {lang} no CSP violation", not errors, "; ".join(errors)[:300])
            finally:
                d.quit()


def run_desktop(srv, cards, out):
    d = browser(phone=False)
    try:
        for lang in ("zh", "en"):
            for slug, key in (("genuine", "a2"), ("revoked", "a3")):
                d.get("about:blank")
                d.get(srv.url(query=f"lang={lang}", code=cards[key]["qr_payload"]))
                wait_verdict(d)
                d.save_screenshot(os.path.join(out, f"desktop-{lang}-{slug}.png"))
        # the page under /V, and the URL form typed into the field
        d.get("about:blank")
        d.get(srv.url(path="/V"))
        ready(d)
        code = cards["a1"]["qr_payload"]
        box = d.find_element(By.ID, "code-input")
        box.send_keys("HTTPS://127.0.0.1/V#" + fragment(code))
        d.find_element(By.CSS_SELECTOR, "#code-form button").click()
        check("/V, URL form typed: valid", wait_verdict(d)[1] == "valid", page_text(d))
        box.clear()
        box.send_keys(code)
        d.find_element(By.CSS_SELECTOR, "#code-form button").click()
        time.sleep(0.3)
        check("raw code typed: valid", wait_verdict(d)[1] == "valid", page_text(d))
        # hashchange on the same page
        d.execute_script("location.hash = arguments[0]", fragment(cards["a3"]["qr_payload"]))
        time.sleep(0.5)
        check("hashchange: revoked", wait_verdict(d)[1] == "revoked", page_text(d))
        d.execute_script("location.hash = arguments[0]", "GH1:%ZZ")
        time.sleep(0.5)
        r = verify_js(d, "HTTPS://X/V#GH1:%ZZ")
        check("damaged percent-encoding: invalid bad_fragment",
              wait_verdict(d)[1] == "invalid" and r["reason"] == "bad_fragment", page_text(d))
        # the language toggle is remembered
        d.get(srv.url(query="lang=zh"))
        d.find_element(By.ID, "lang-button").click()
        d.get(srv.url())
        lang = d.execute_script("return document.documentElement.lang")
        check("language toggle remembered", lang == "en", lang)
        d.save_screenshot(os.path.join(out, "desktop-en-idle.png"))
    finally:
        d.quit()


REASONS = ["empty", "too_long", "not_booth", "not_base45", "truncated", "version", "malformed",
           "unknown_key", "bad_signature", "device_revoked", "bad_fragment"]
BUNDLE_FAULTS = ["bundle_malformed", "bundle_format", "office_key_untrusted", "bundle_signature",
                 "key_id_mismatch", "duplicate_key_id", "weak_key", "fetch"]


def run_strings(srv):
    """Both languages have every text, with the same placeholders; every reason has a text."""
    d = browser(phone=False)
    try:
        d.get(srv.url())
        ready(d)
        s = d.execute_script("return window.BoothStrings")
        zh, en = s["zh"], s["en"]
        check("strings: zh and en have the same keys", set(zh) == set(en),
              str(set(zh) ^ set(en)))
        bad = [k for k in zh if sorted(re.findall(r"\{\w+\}", zh[k])) !=
               sorted(re.findall(r"\{\w+\}", en.get(k, "")))]
        check("strings: the same placeholders in both", not bad, str(bad))
        missing = [k for k in ["reason." + r for r in REASONS] + ["bundle." + b for b in BUNDLE_FAULTS]
                   if k not in zh]
        check("strings: every reason code has a text", not missing, str(missing))
    finally:
        d.quit()


def run_old_browsers(srv, cards):
    """What older browsers do, imitated: WebCrypto without Ed25519 (Chrome 78–136, the usual
    XWeb) makes the page pick the JS engine by itself; without BigInt too, it says so."""
    no_ed25519 = """
        (function () {
          var s = crypto.subtle, importKey = s.importKey.bind(s);
          s.importKey = function (format, key, alg) {
            var name = alg && (alg.name || alg);
            if (String(name).toLowerCase() === 'ed25519') {
              return Promise.reject(new DOMException('Unrecognized name.', 'NotSupportedError'));
            }
            return importKey.apply(null, arguments);
          };
        })();"""
    for name, source, want in (("WebCrypto without Ed25519", no_ed25519, "js"),
                               ("no BigInt, WebCrypto with Ed25519", "delete window.BigInt;",
                                "webcrypto"),
                               ("no BigInt, no Ed25519", no_ed25519 + "delete window.BigInt;",
                                "old_browser")):
        d = browser(phone=True)
        try:
            d.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": source})
            d.get(srv.url(code=cards["a1"]["qr_payload"]))
            r = ready(d)
            state, verdict = wait_verdict(d)
            if want in ("js", "webcrypto"):
                ok = r.get("engine") == want and verdict == "valid"
            else:
                ok = r.get("error") == want and state == "error" and verdict is None
            check(f"{name}: {want}", ok, f"{r} {d.find_element(By.ID, 'bundle-status').text}")
        finally:
            d.quit()


def qr_video(text, path, width=640, height=480):
    """A few frames of a QR code as a .y4m file, for Chromium's fake camera."""
    import segno  # only this check needs it (pip install segno)
    rows = list(segno.make(text, error="m", micro=False).matrix_iter(scale=5, border=4))
    y = bytearray([235]) * (width * height)
    top, left = (height - len(rows)) // 2, (width - len(rows[0])) // 2
    for r, row in enumerate(rows):
        for c, dark in enumerate(row):
            if dark:
                y[(top + r) * width + left + c] = 16
    chroma = bytes([128]) * (width // 2 * height // 2)
    with open(path, "wb") as f:
        f.write(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(5):
            f.write(b"FRAME\n" + bytes(y) + chroma + chroma)


def run_camera(srv, work, cards, out):
    """The Scan button with Chromium's fake camera showing a QR code: zxing-wasm under the CSP."""
    for key, form in (("a1", "code"), ("a3", "URL form")):
        code = cards[key]["qr_payload"]
        text = code if form == "code" else "HTTPS://GH.EXAMPLE.CN/V#" + fragment(code)
        video = os.path.join(work, f"camera-{key}.y4m")
        qr_video(text, video)
        d = browser(phone=True, extra=["--use-fake-ui-for-media-stream",
                                       "--use-fake-device-for-media-stream",
                                       "--use-file-for-fake-video-capture=" + video])
        try:
            d.get(srv.url(query="scanner=zxing"))
            ready(d)
            d.find_element(By.ID, "scan-button").click()
            state, verdict = wait_verdict(d, timeout=30)
            want = "valid" if key == "a1" else "revoked"
            check(f"camera (zxing-wasm), {form}: {verdict}", verdict == want,
                  d.find_element(By.ID, "scan-message").text + " " + "; ".join(csp_errors(d))[:200])
        finally:
            d.quit()


def run_insecure(srv, cards):
    """Plain http on a LAN name: no crypto.subtle, no service worker, no camera; noble does
    the hashing and the signatures, and the page still gives verdicts."""
    d = browser(phone=True, extra=["--host-resolver-rules=MAP booth.test 127.0.0.1"])
    try:
        for key, want in (("a1", "valid"), ("a3", "revoked")):
            d.get("about:blank")
            d.get(srv.url(code=cards[key]["qr_payload"]).replace("127.0.0.1", "booth.test"))
            r = ready(d)
            secure = d.execute_script("return window.isSecureContext")
            check(f"insecure origin (no crypto.subtle): {key} {want} with the JS engine",
                  secure is False and r.get("engine") == "js" and wait_verdict(d)[1] == want,
                  f"secure={secure} ready={r}")
    finally:
        d.quit()


def run_engines(srv):
    d = browser(phone=False)
    try:
        d.get(srv.url())
        ready(d)
        vectors = edge_vectors()
        payload = [[n, base64.b64encode(k).decode(), base64.b64encode(m).decode(),
                    base64.b64encode(s).decode(), want] for n, k, m, s, want in vectors]
        got = d.execute_async_script("""
            var cb = arguments[arguments.length - 1], vectors = arguments[0], C = BoothCore;
            function b(x) { return Uint8Array.from(atob(x), function (c) { return c.charCodeAt(0); }); }
            BoothScan.loadScript('/verifier/vendor/noble/noble-ed25519.js').then(function () {
              return C.probeWebCrypto();
            }).then(function (wc) {
              var js = C.nobleEngine(window.boothNoble);
              return Promise.all(vectors.map(function (v) {
                var k = b(v[1]), m = b(v[2]), s = b(v[3]);
                return Promise.all([C.verifySignature(wc, k, m, s), C.verifySignature(js, k, m, s),
                  js.verify(k, m, s).catch(function () { return 'throws'; }),
                  wc.verify(k, m, s).catch(function () { return 'throws'; })]);
              }));
            }).then(cb, function (e) { cb(String(e)); });""", payload)
        for (name, *_, want), (wc, js, raw_js, raw_wc) in zip(vectors, got):
            check(f"engines agree: {name} → {want}", wc == want and js == want,
                  f"webcrypto={wc} js={js} (without prechecks: js={raw_js} webcrypto={raw_wc})")
    finally:
        d.quit()


def run_bundles(srv, work, cards, keys, out):
    office = os.path.join(work, "office.pem")
    good = srv.bundle
    saved = good + ".good"
    os.replace(good, saved)
    try:
        for attack, code in [("duplicate-id", "duplicate_key_id"), ("id-mismatch", "key_id_mismatch"),
                             ("identity-key", "weak_key"), ("order2-key", "weak_key"),
                             ("bad-signature", "bundle_signature"),
                             ("other-office", "office_key_untrusted")]:
            run_bundle_tool("--office-key", office, "--keys", keys, "--attack", attack,
                            "--version", "9", "--out", good)
            d = browser(phone=True)
            try:
                d.get(srv.url(code=cards["a1"]["qr_payload"]))
                r = ready(d)
                state, verdict = wait_verdict(d)
                status = d.find_element(By.ID, "bundle-status").text
                check(f"bundle attack {attack}: refused ({code}), no verdict",
                      r.get("error") == code and state == "error" and verdict is None, status)
                if attack == "duplicate-id":
                    d.save_screenshot(os.path.join(out, "phone-zh-bad-bundle.png"))
            finally:
                d.quit()
    finally:
        os.replace(saved, good)


def run_offline_and_versions(srv, work, cards, keys, out):
    office2 = os.path.join(work, "office2.pem")
    d = browser(phone=True)
    try:
        d.get(srv.url(code=cards["a1"]["qr_payload"]))
        check("first visit: version 5", ready(d).get("version") == 5)
        d.execute_async_script("var cb=arguments[arguments.length-1];"
                               "navigator.serviceWorker.ready.then(function(){cb(1)});")
        # bundle unreachable (in-app browsers: no service worker), page still served
        open(srv.fail, "w").close()
        d.get("about:blank")
        d.get(srv.url(code=cards["a3"]["qr_payload"]))
        r = ready(d)
        check("bundle unreachable: kept bundle, offline shown, revoked",
              r.get("offline") is True and wait_verdict(d)[1] == "revoked",
              d.find_element(By.ID, "bundle-status").text)
        os.remove(srv.fail)
        # the whole server gone: page from the service worker, bundle from localStorage
        srv.stop()
        d.get("about:blank")
        d.get(srv.url(query="lang=zh", code=cards["a1"]["qr_payload"]))
        r = ready(d)
        state, verdict = wait_verdict(d)
        check("server down: page from service worker, kept bundle, valid",
              r.get("offline") is True and verdict == "valid",
              d.find_element(By.ID, "bundle-status").text)
        d.save_screenshot(os.path.join(out, "phone-zh-offline.png"))
        srv.start()
        # an older bundle never replaces a newer one
        run_bundle_tool(*base_args(work, cards, keys), "--version", "4", "--out", srv.bundle)
        d.get("about:blank")
        d.get(srv.url(code=cards["a3"]["qr_payload"]))
        check("older bundle (v4) ignored, v5 kept", ready(d).get("version") == 5 and
              wait_verdict(d)[1] == "revoked")
        # a newer one, announcing the next office key, then one signed by that key
        run_bundle_tool(*base_args(work, cards, keys), "--version", "6",
                        "--revoke", cards["a1"]["member_no"], "--next-office-key", office2,
                        "--out", srv.bundle)
        d.get("about:blank")
        d.get(srv.url(code=cards["a1"]["qr_payload"]))
        check("newer bundle (v6) used: a1 now revoked", ready(d).get("version") == 6 and
              wait_verdict(d)[1] == "revoked")
        run_bundle_tool(*base_args(work, cards, keys, office2), "--version", "7",
                        "--out", srv.bundle)
        d.get("about:blank")
        d.get(srv.url(code=cards["a1"]["qr_payload"]))
        check("rotation: v7 signed by the announced next key accepted",
              ready(d).get("version") == 7 and wait_verdict(d)[1] == "valid")
        d.get("about:blank")
        d.get(srv.url(code=cards["a1"]["qr_payload"]))
        check("rotation: v7 kept and reopened on the next visit", ready(d).get("version") == 7)
    finally:
        d.quit()
    d = browser(phone=True)
    try:
        d.get(srv.url())
        check("fresh browser: a bundle signed by an unannounced key is refused",
              ready(d).get("error") == "office_key_untrusted")
    finally:
        d.quit()


def run_bench(srv, work, n):
    office = os.path.join(work, "office.pem")
    codes = os.path.join(work, "bench-codes.txt")
    bundle = os.path.join(work, "bench-bundle.json")
    run_bundle_tool("--office-key", office, "--codes", str(n), "--codes-out", codes,
                    "--version", "100", "--out", bundle)
    saved = srv.bundle + ".main"
    os.replace(srv.bundle, saved)
    os.replace(bundle, srv.bundle)
    figures = {}
    try:
        for engine in ("webcrypto", "js"):
            d = browser(phone=False)
            try:
                d.get(srv.url(query="engine=js" if engine == "js" else ""))
                ready(d)
                r = d.execute_async_script("""
                    var cb = arguments[arguments.length - 1];
                    fetch('/extra/bench-codes.txt').then(function (r) { return r.text(); }).then(function (t) {
                      var codes = t.split('\\n').filter(function (l) { return l; });
                      var valid = 0, i = 0, t0 = performance.now();
                      function next() {
                        if (i === codes.length) {
                          return cb({n: codes.length, valid: valid, ms: performance.now() - t0});
                        }
                        boothVerify(codes[i++]).then(function (r) {
                          if (r.verdict === 'valid') valid++;
                          next();
                        });
                      }
                      next();
                    });""")
                figures[engine] = r
                check(f"bench {engine}: {r['n']} codes, {r['valid']} valid, {r['ms']:.0f} ms "
                      f"({r['ms'] / r['n']:.3f} ms/code)", r["valid"] == r["n"] == n)
            finally:
                d.quit()
    finally:
        os.replace(saved, srv.bundle)
    return figures


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--booth", required=True, help="the booth binary")
    p.add_argument("--out", required=True, help="folder for screenshots")
    p.add_argument("--bench", type=int, default=0, help="also verify N codes per engine")
    p.add_argument("--only", default="", help="comma list: verdicts,desktop,strings,engines,insecure,camera,bundles,offline")
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    work = tempfile.mkdtemp(prefix="verifier-check-")
    cards, keys = make_fixtures(os.path.abspath(a.booth), work)
    office = os.path.join(work, "office.pem")
    bundle = os.path.join(work, "bundle.json")
    run_bundle_tool(*base_args(work, cards, keys), "--version", "5", "--out", bundle)
    stranger = mtb.Ed25519PrivateKey.generate()
    unknown = mtb.card_code(stranger, mtb.member_no(mtb.key_id(mtb.raw_public(stranger)), 1),
                            "工会", mtb.datetime.date(2026, 11, 24))
    srv = Server(fingerprint(office), bundle, work)
    srv.start()
    only = set(filter(None, a.only.split(",")))
    try:
        if not only or "verdicts" in only:
            run_verdicts(srv, cards, unknown, a.out)
        if not only or "desktop" in only:
            run_desktop(srv, cards, a.out)
        if not only or "engines" in only:
            run_engines(srv)
        if not only or "strings" in only:
            run_strings(srv)
        if not only or "insecure" in only:
            run_insecure(srv, cards)
            run_old_browsers(srv, cards)
        if not only or "camera" in only:
            run_camera(srv, work, cards, a.out)
        if not only or "bundles" in only:
            run_bundles(srv, work, cards, keys, a.out)
        if a.bench:
            print(json.dumps(run_bench(srv, work, a.bench)))
        if not only or "offline" in only:
            run_offline_and_versions(srv, work, cards, keys, a.out)
    finally:
        srv.stop()
    passed = sum(RESULTS)
    print(f"{passed} passed, {len(RESULTS) - passed} failed")
    sys.exit(0 if passed == len(RESULTS) else 1)


if __name__ == "__main__":
    main()
