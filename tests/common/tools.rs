//! What some tests need from the machine (Chromium and chromedriver, PostgreSQL, zbarimg,
//! man-db, poppler, qpdf, permission to mount a tmpfs): found here, in one place, so a missing
//! one is handled the same way everywhere. Under CI (`CI` set, as `.ci/run` and every CI
//! service set it) a missing tool fails the test naming it: a green CI run means the check
//! ran. Elsewhere the test may skip, saying so on stderr.
//!
//! `BOOTH_TEST_HIDE_TOOLS=chromium,zbarimg` makes the named tools count as missing, to see what
//! a machine without them does (`BOOTH_TEST_PG_URL` is hidden as `postgresql`).
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// True on a CI machine: `CI` set to anything but empty, `0` or `false`.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !matches!(v.trim(), "" | "0" | "false" | "FALSE"))
}

/// True if `BOOTH_TEST_HIDE_TOOLS` names `tool` (to try a machine without it).
fn hidden(tool: &str) -> bool {
    std::env::var("BOOTH_TEST_HIDE_TOOLS").is_ok_and(|v| v.split(',').any(|t| t.trim() == tool))
}

/// A tool that is not there: under CI the test fails naming it and the package that brings
/// it; elsewhere the test goes on without it (the caller skips what needs it) after saying so.
pub fn missing(tool: &str, install: &str) {
    if in_ci() {
        panic!("{tool} is missing ({install}); under CI=true every test must run");
    }
    eprintln!("SKIPPED: {tool} is missing ({install}); CI=true would fail here");
}

/// The executable `name` on `PATH`, unless hidden.
fn on_path(name: &str) -> Option<PathBuf> {
    if hidden(name) {
        return None;
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The executable `name` (from the Debian package `package`), or `None` after [`missing`].
pub fn tool(name: &str, package: &str) -> Option<PathBuf> {
    let found = on_path(name);
    if found.is_none() {
        missing(name, &format!("apt-get install {package}"));
    }
    found
}

/// The executable `name`, needed wherever the test runs (no skip, CI or not).
pub fn required_tool(name: &str, package: &str) -> PathBuf {
    on_path(name).unwrap_or_else(|| {
        panic!("{name} is missing (apt-get install {package}; .ci/run installs it)")
    })
}

/// A file the test needs wherever it runs (a font, say), named with its package.
pub fn required_file(path: &str, package: &str) {
    assert!(
        Path::new(path).exists() && !hidden(path),
        "{path} is missing (apt-get install {package}; .ci/run installs it)"
    );
}

/// The PostgreSQL cluster the server tests use (`BOOTH_TEST_PG_URL`), or `None` after
/// [`missing`].
pub fn postgres_url() -> Option<String> {
    let url = std::env::var("BOOTH_TEST_PG_URL")
        .ok()
        .filter(|u| !u.is_empty() && !hidden("postgresql"));
    if url.is_none() {
        missing(
            "PostgreSQL (BOOTH_TEST_PG_URL)",
            "apt-get install postgresql; `. .ci/postgres.sh` starts one and sets it",
        );
    }
    url
}

/// Chromium and chromedriver (Debian's `chromium`, `chromium-driver`): their paths, or `None`
/// after [`missing`].
pub fn browser() -> Option<(PathBuf, PathBuf)> {
    let chromium = tool("chromium", "chromium")?;
    let driver = tool("chromedriver", "chromium-driver")?;
    Some((chromium, driver))
}
