//! The card verification page (`assets/verifier/`, docs/verifier.md), embedded at compile
//! time and served as the page was built and checked: `/v`, `/V`, `/v/`, `/V/` (the page with
//! its trust anchors filled in), `/verifier/…` (its files, `tools/` never), `/v-sw.js` (the
//! service worker, at the root so its scope can be `/v`), all under one CSP. Also what
//! `booth server publish-verifier` writes for a static host.

use std::io::Write;
use std::path::Path;
use std::sync::OnceLock;

use super::nofollow::{Tree, WriteError};

/// The header the page was built and checked under (docs/verifier.md); keep it.
pub const CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
    worker-src 'self' blob:; img-src 'self' data: blob:; media-src 'self' blob:; \
    style-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; \
    frame-ancestors 'none'";

pub const PAGE_PATHS: [&str; 4] = ["/v", "/V", "/v/", "/V/"];
pub const SERVICE_WORKER_PATH: &str = "/v-sw.js";
pub const FILES_PREFIX: &str = "/verifier/";

const INDEX: &str = include_str!("../../assets/verifier/index.html");
const SERVICE_WORKER: &[u8] = include_bytes!("../../assets/verifier/v-sw.js");

/// `/verifier/<path>` → bytes. Everything in `assets/verifier/` but `tools/`, `index.html`
/// and `v-sw.js` (a test checks this list against the folder).
pub const FILES: &[(&str, &[u8])] = &[
    ("app.js", include_bytes!("../../assets/verifier/app.js")),
    ("core.js", include_bytes!("../../assets/verifier/core.js")),
    ("icon.svg", include_bytes!("../../assets/verifier/icon.svg")),
    ("scan.js", include_bytes!("../../assets/verifier/scan.js")),
    (
        "strings.js",
        include_bytes!("../../assets/verifier/strings.js"),
    ),
    (
        "verifier.css",
        include_bytes!("../../assets/verifier/verifier.css"),
    ),
    (
        "vendor/noble/LICENSE-noble-ed25519",
        include_bytes!("../../assets/verifier/vendor/noble/LICENSE-noble-ed25519"),
    ),
    (
        "vendor/noble/LICENSE-noble-hashes",
        include_bytes!("../../assets/verifier/vendor/noble/LICENSE-noble-hashes"),
    ),
    (
        "vendor/noble/noble-ed25519.js",
        include_bytes!("../../assets/verifier/vendor/noble/noble-ed25519.js"),
    ),
    (
        "vendor/zxing-wasm/LICENSE",
        include_bytes!("../../assets/verifier/vendor/zxing-wasm/LICENSE"),
    ),
    (
        "vendor/zxing-wasm/LICENSE-zxing-cpp",
        include_bytes!("../../assets/verifier/vendor/zxing-wasm/LICENSE-zxing-cpp"),
    ),
    (
        "vendor/zxing-wasm/zxing-reader.js",
        include_bytes!("../../assets/verifier/vendor/zxing-wasm/zxing-reader.js"),
    ),
    (
        "vendor/zxing-wasm/zxing_reader.wasm",
        include_bytes!("../../assets/verifier/vendor/zxing-wasm/zxing_reader.wasm"),
    ),
];

/// The page with its trust anchors: the office key's fingerprint and where the bundle is
/// (same origin). Both are base64url or a path: attribute text that needs no escaping, but a
/// bundle path is checked anyway.
pub fn index_html(fingerprint: &str, bundle_url: &str) -> String {
    let safe_url: String = bundle_url
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "/._-~".contains(*c))
        .collect();
    INDEX
        .replace("{{OFFICE_KEY}}", fingerprint)
        .replace("{{BUNDLE_URL}}", &safe_url)
}

pub fn service_worker() -> &'static [u8] {
    SERVICE_WORKER
}

/// A file under `/verifier/`, by its path there.
pub fn file(path: &str) -> Option<&'static [u8]> {
    FILES.iter().find(|(p, _)| *p == path).map(|(_, b)| *b)
}

/// `bytes` gzipped (best compression): what the server sends to a browser that accepts gzip
/// (issue 23 item 9: the first visit's weight).
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    // writing into a Vec cannot fail
    let _ = enc.write_all(bytes);
    enc.finish().unwrap_or_default()
}

/// A file under `/verifier/` gzipped, made at its first request and kept.
pub fn file_gzipped(path: &str) -> Option<&'static [u8]> {
    static GZ: [OnceLock<Vec<u8>>; FILES.len()] = [const { OnceLock::new() }; FILES.len()];
    let i = FILES.iter().position(|(p, _)| *p == path)?;
    Some(GZ[i].get_or_init(|| gzip(FILES[i].1)).as_slice())
}

/// The service worker gzipped.
pub fn service_worker_gzipped() -> &'static [u8] {
    static GZ: OnceLock<Vec<u8>> = OnceLock::new();
    GZ.get_or_init(|| gzip(SERVICE_WORKER)).as_slice()
}

/// The content type by extension: `.wasm` must be `application/wasm` for streaming compile.
pub fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, e)| e) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("wasm") => "application/wasm",
        Some("json") => "application/json",
        _ => "text/plain; charset=utf-8",
    }
}

/// Writes the page for a static HTTPS host (docs/verifier.md, "published copy"): `v/index.html`,
/// `V/index.html`, `verifier/…`, `v-sw.js`, and the bundle at `bundle_path` (relative to the
/// root, e.g. `bundle.json`), plus `_headers` with the CSP for hosts that read one. No symbolic
/// link is followed ([`Tree`]): one where a folder or file of ours goes is refused, by its
/// path, before anything is written.
pub fn publish(
    out: &Path,
    fingerprint: &str,
    bundle_path: &str,
    bundle: &str,
) -> Result<usize, WriteError> {
    let rel = bundle_path.trim_start_matches('/');
    let page = index_html(fingerprint, &format!("/{rel}"));
    let headers = format!(
        "/*\n  Content-Security-Policy: {CSP}\n  X-Content-Type-Options: nosniff\n  Referrer-Policy: no-referrer\n"
    );
    let verifier: Vec<(String, &[u8])> = FILES
        .iter()
        .map(|(p, bytes)| (format!("verifier/{p}"), *bytes))
        .collect();
    let mut files: Vec<(&str, &[u8])> = vec![
        ("v/index.html", page.as_bytes()),
        ("V/index.html", page.as_bytes()),
        ("v-sw.js", SERVICE_WORKER),
    ];
    files.extend(verifier.iter().map(|(p, b)| (p.as_str(), *b)));
    files.push((rel, bundle.as_bytes()));
    files.push(("_headers", headers.as_bytes()));
    let tree = Tree::open(out)?;
    for (path, _) in &files {
        tree.check(path)?;
    }
    for (path, bytes) in &files {
        tree.write(path, bytes)?;
    }
    Ok(files.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The embedded list is the folder, less tools/, index.html and v-sw.js.
    #[test]
    fn embedded_files_are_the_folder() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/verifier");
        let mut on_disk = Vec::new();
        let mut stack = vec![root.clone()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap().flatten() {
                let p = e.path();
                let rel = p
                    .strip_prefix(&root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                if p.is_dir() {
                    if rel != "tools" {
                        stack.push(p);
                    }
                } else if rel != "index.html" && rel != "v-sw.js" {
                    on_disk.push(rel);
                }
            }
        }
        on_disk.sort();
        let mut listed: Vec<String> = FILES.iter().map(|(p, _)| p.to_string()).collect();
        listed.sort();
        assert_eq!(listed, on_disk);
    }

    #[test]
    fn placeholders_are_filled() {
        let page = index_html("FP", "/v1/bundle");
        assert!(!page.contains("{{"));
        assert!(page.contains(r#"content="FP""#));
        assert!(page.contains(r#"content="/v1/bundle""#));
        assert_eq!(content_type("a/b.wasm"), "application/wasm");
    }

    /// Every file's gzipped copy inflates to the file.
    #[test]
    fn gzipped_files_inflate_to_the_files() {
        use std::io::Read;
        for (path, bytes) in FILES {
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(file_gzipped(path).unwrap())
                .read_to_end(&mut out)
                .unwrap();
            assert_eq!(&out, bytes, "{path}");
        }
        assert!(file_gzipped("nope.js").is_none());
    }
}
