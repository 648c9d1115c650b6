#!/usr/bin/env python3
"""Serves the verification page as `booth server` will, for trying it in a browser.

    serve.py --fingerprint FP --bundle bundle.json [--port 8765]

Routes: /v /V /v/ /V/ (index.html, meta placeholders filled in), /verifier/* (this folder,
tools/ excluded), /v-sw.js, /v1/bundle (the file, read at each request, so it can be
replaced while the page is open). Every answer carries the server's Content-Security-Policy.
Listens on 127.0.0.1 only (a secure origin for WebCrypto, camera and service worker).
"""

import argparse
import http.server
import os
import posixpath
import urllib.parse

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CSP = ("default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self' blob:; "
       "img-src 'self' data: blob:; media-src 'self' blob:; style-src 'self'; "
       "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")
TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
         ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml", ".wasm": "application/wasm",
         ".json": "application/json", ".txt": "text/plain; charset=utf-8"}
PAGES = {"/v", "/V", "/v/", "/V/"}


def make_handler(args):
    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *a):
            if args.verbose:
                super().log_message(*a)

        def send(self, status, body, ctype):
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Content-Security-Policy", CSP)
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("Referrer-Policy", "no-referrer")
            self.send_header("Cache-Control", "no-cache")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def do_HEAD(self):
            self.do_GET()

        def do_GET(self):
            path = urllib.parse.urlsplit(self.path).path
            if path in PAGES:
                with open(os.path.join(HERE, "index.html"), encoding="utf-8") as f:
                    page = f.read()
                page = page.replace("{{OFFICE_KEY}}", args.fingerprint)
                page = page.replace("{{BUNDLE_URL}}", "/v1/bundle")
                return self.send(200, page.encode("utf-8"), TYPES[".html"])
            if path == "/v1/bundle":
                if args.fail_bundle and os.path.exists(args.fail_bundle):
                    return self.send(503, b"unavailable", TYPES[".txt"])
                with open(args.bundle, "rb") as f:
                    return self.send(200, f.read(), TYPES[".json"])
            if path == "/v-sw.js":
                return self.file(os.path.join(HERE, "v-sw.js"))
            if path.startswith("/verifier/"):
                rel = posixpath.normpath(path[len("/verifier/"):])
                if rel.startswith("..") or rel.startswith("tools") or rel in ("index.html", "v-sw.js"):
                    return self.send(404, b"not found", TYPES[".txt"])
                return self.file(os.path.join(HERE, rel))
            if args.extra and path.startswith("/extra/"):
                rel = posixpath.normpath(path[len("/extra/"):])
                if not rel.startswith(".."):
                    return self.file(os.path.join(args.extra, rel))
            return self.send(404, b"not found", TYPES[".txt"])

        def file(self, full):
            if not os.path.isfile(full):
                return self.send(404, b"not found", TYPES[".txt"])
            with open(full, "rb") as f:
                body = f.read()
            ext = os.path.splitext(full)[1]
            return self.send(200, body, TYPES.get(ext, "application/octet-stream"))

    return Handler


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--fingerprint", required=True, help="the office key fingerprint")
    p.add_argument("--bundle", required=True, help="bundle.json to serve at /v1/bundle")
    p.add_argument("--port", type=int, default=8765)
    p.add_argument("--fail-bundle", help="while this file exists, /v1/bundle answers 503")
    p.add_argument("--extra", help="a folder served at /extra/ (test pages, bench data)")
    p.add_argument("--verbose", action="store_true")
    args = p.parse_args()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(args))
    print(f"http://127.0.0.1:{args.port}/v", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
