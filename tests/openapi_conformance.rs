//! The upload API against its contract: schemathesis generates requests from
//! docs/openapi.yaml (valid ones and broken ones: missing headers, wrong types, odd paths) and
//! sends them to the real `booth server run` on loopback, checking every answer — status,
//! content type, headers, body — against what the spec says that operation can answer. A
//! refusal the spec does not list fails here.
//!
//! schemathesis is Python: `.ci/run` installs it in a venv at `/tmp/booth-schemathesis`
//! (`python3 -m venv /tmp/booth-schemathesis && /tmp/booth-schemathesis/bin/pip install
//! schemathesis==4.32.5`, the version whose config keys `tests/schemathesis.toml` uses);
//! `BOOTH_SCHEMATHESIS` names another binary. Without it the test is skipped
//! with a message, and fails under `CI=true`. `BOOTH_SCHEMATHESIS_SEED` replays or varies the
//! generated cases (a fixed seed otherwise, so CI runs the same cases each time).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::net::*;

const VENV_BIN: &str = "/tmp/booth-schemathesis/bin/schemathesis";
const INSTALL: &str = "python3 -m venv /tmp/booth-schemathesis && /tmp/booth-schemathesis/bin/pip install schemathesis==4.32.5";

fn schemathesis() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("BOOTH_SCHEMATHESIS") {
        return Some(PathBuf::from(p));
    }
    if Path::new(VENV_BIN).is_file() {
        return Some(VENV_BIN.into());
    }
    // on the PATH, if someone installed it there
    Command::new("schemathesis")
        .arg("--version")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|_| "schemathesis".into())
}

/// The numbers in a line of schemathesis's summary.
fn numbers(line: &str) -> Vec<u64> {
    line.split(|c: char| !c.is_ascii_digit())
        .filter_map(|s| s.parse().ok())
        .collect()
}

/// `857 generated, 857 passed` → (857, 857).
fn cases(out: &str) -> Option<(u64, u64)> {
    let line = out.lines().find(|l| l.contains(" generated, "))?;
    let n = numbers(line);
    let passed = if line.contains(" passed") {
        n.get(1).copied()?
    } else {
        0
    };
    Some((*n.first()?, passed))
}

#[test]
fn the_server_answers_as_its_openapi_spec_says() {
    let Some(st) = schemathesis() else {
        let ci = std::env::var("CI").is_ok_and(|v| v == "true");
        assert!(
            !ci,
            "schemathesis is missing (CI=true); install it: {INSTALL}"
        );
        eprintln!("SKIPPED: schemathesis not found; install it with: {INSTALL}");
        return;
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    // the spec describes the wire, the same for both databases: SQLite is enough here
    let db = test_dbs().into_iter().next().expect("a database");
    let token = add_device(&db.url, "laptop-1");
    let server = Server::start(&db.url);
    let seed = std::env::var("BOOTH_SCHEMATHESIS_SEED").unwrap_or_else(|_| "20261207".into());
    let work = tempfile::tempdir().unwrap();
    let out = Command::new(&st)
        .arg("--config-file")
        .arg(root.join("tests/schemathesis.toml"))
        .arg("run")
        .arg(root.join("docs/openapi.yaml"))
        .args(["--url", &server.url()])
        .args(["--header", &format!("Authorization: Bearer {token}")])
        .args(["--checks", "all", "--seed", &seed])
        .args(["--generation-database", "none", "--no-color"])
        .args(["--request-timeout", "30"])
        // reports and caches land here, not in the checkout
        .current_dir(work.path())
        .env("NO_COLOR", "1")
        .output()
        .expect("run schemathesis");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let (generated, passed) = cases(&text).unwrap_or((0, 0));
    eprintln!("schemathesis (seed {seed}): {generated} cases generated, {passed} passed");
    assert!(
        out.status.success(),
        "schemathesis found answers the spec does not describe:\n{text}\nserver log:\n{}",
        server.log_text()
    );
    assert!(
        generated >= 100 && passed == generated,
        "schemathesis ran too few cases to mean anything:\n{text}"
    );
    let operations = text
        .lines()
        .find(|l| l.contains(" selected / "))
        .map(numbers);
    assert!(
        matches!(operations.as_deref(), Some([n, total]) if n == total && *n >= 6),
        "every operation of the spec was tested:\n{text}"
    );
    // and the server is still there after all that
    assert_eq!(
        http_client()
            .get(format!("{}/v1/health", server.url()))
            .send()
            .unwrap()
            .status(),
        200
    );
}

#[test]
fn the_case_count_is_read_from_schemathesis_summary() {
    assert_eq!(
        cases("Test cases:\n  857 generated, 857 passed\n"),
        Some((857, 857))
    );
    assert_eq!(
        cases("  153 generated, 1 found 2 unique failures"),
        Some((153, 0))
    );
    assert_eq!(cases("nothing"), None);
}
