//! The release packages' own files (SPEC §13, docs/operations.md): the office server's systemd
//! unit passes `systemd-analyze verify` against the real binary and keeps its hardening, and
//! the example configuration, the unit and the package metadata name the same paths.
//! `.ci/package` checks the built packages; these catch a broken edit without a release build.

use std::path::Path;
use std::process::Command;

const UNIT: &str = include_str!("../assets/packaging/booth-server.service");
const EXAMPLE_CONFIG: &str = include_str!("../assets/packaging/server.toml");
const MANIFEST: &str = include_str!("../Cargo.toml");

/// The unit's `Key=value` lines of one section, in order (a key may repeat).
fn section(name: &str) -> Vec<(&'static str, &'static str)> {
    let mut inside = false;
    let mut out = Vec::new();
    for line in UNIT.lines().map(str::trim) {
        if line.starts_with('[') {
            inside = line == format!("[{name}]");
        } else if inside && !line.is_empty() && !line.starts_with('#') {
            let (k, v) = line.split_once('=').expect("Key=value");
            out.push((k, v));
        }
    }
    out
}

fn value(name: &str, key: &str) -> Option<&'static str> {
    section(name)
        .into_iter()
        .rev()
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v)
}

/// What issue 26 asks of the service (kanidm's and miniflux's units as the model): its own
/// user and state folder, a read-only system, no capabilities, readiness and a watchdog.
#[test]
fn the_unit_keeps_its_hardening() {
    for (key, want) in [
        ("Type", "notify"),
        ("User", "booth"),
        ("Group", "booth"),
        ("StateDirectory", "booth"),
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("NoNewPrivileges", "yes"),
        ("CapabilityBoundingSet", ""),
        ("AmbientCapabilities", ""),
        ("Restart", "on-failure"),
        (
            "ExecStart",
            "/usr/bin/booth server run --config /etc/booth/server.toml",
        ),
    ] {
        assert_eq!(value("Service", key), Some(want), "[Service] {key}");
    }
    let watchdog = value("Service", "WatchdogSec").expect("WatchdogSec");
    assert!(
        watchdog.trim_end_matches('s').parse::<u32>().unwrap_or(0) > 0,
        "WatchdogSec={watchdog}"
    );
    assert_eq!(value("Install", "WantedBy"), Some("multi-user.target"));
}

/// The unit's config path is where the server package installs the example, the example's
/// database is in the unit's state folder, and it listens on loopback until TLS is set.
#[test]
fn the_example_config_is_where_the_unit_reads_it() {
    let manifest: toml::Table = MANIFEST.parse().expect("Cargo.toml");
    let server = &manifest["package"]["metadata"]["deb"]["variants"]["server"];
    let installs = server["assets"]
        .as_array()
        .expect("server assets")
        .iter()
        .any(|a| {
            a.as_array().is_some_and(|a| {
                a[0].as_str() == Some("assets/packaging/server.toml")
                    && a[1].as_str() == Some("etc/booth/server.toml")
                    && a[2].as_str() == Some("640")
            })
        });
    assert!(
        installs,
        "the server package installs the example as /etc/booth/server.toml"
    );
    let exec = value("Service", "ExecStart").unwrap();
    assert!(exec.ends_with("--config /etc/booth/server.toml"), "{exec}");
    // the server package depends on the booth package of its own version
    let version = manifest["package"]["version"].as_str().unwrap();
    let depends = server["depends"].as_str().unwrap();
    assert!(
        depends
            .split(',')
            .any(|d| d.trim() == format!("booth (= {version})")),
        "booth-server depends on '{depends}', want booth (= {version})"
    );

    let config: toml::Table = EXAMPLE_CONFIG.parse().expect("server.toml is TOML");
    let db = config["db"].as_str().unwrap();
    let state = value("Service", "StateDirectory").unwrap();
    assert!(
        db.starts_with(&format!("sqlite:/var/lib/{state}/")),
        "db = {db}, outside StateDirectory={state}"
    );
    let listen: std::net::SocketAddr = config["listen"].as_str().unwrap().parse().unwrap();
    assert!(
        listen.ip().is_loopback(),
        "listen = {listen} before TLS is set"
    );
    assert!(
        !config.contains_key("tls_cert"),
        "no certificate in the example"
    );
}

/// `systemd-analyze verify` on a root laid out as after installing both packages: the real
/// binary at /usr/bin/booth, its manual pages, the host's own units beside ours. Any line it
/// prints fails (an unknown or misspelt key is only a warning to it). Skipped where systemd
/// is not installed; CI's machines have it.
#[test]
fn systemd_analyze_verifies_the_unit() {
    let units = Path::new("/lib/systemd/system");
    if Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_err()
        || !units.join("sysinit.target").exists()
    {
        eprintln!("systemd-analyze or the host's units missing: unit not verified");
        return;
    }
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    std::fs::create_dir_all(r.join("lib/systemd")).unwrap();
    let status = Command::new("cp")
        .arg("-a")
        .arg(units)
        .arg(r.join("lib/systemd/system"))
        .status()
        .unwrap();
    assert!(status.success(), "copy the host's units");
    let unit = r.join("lib/systemd/system/booth-server.service");
    std::fs::write(&unit, UNIT).unwrap();
    std::fs::create_dir_all(r.join("usr/bin")).unwrap();
    let bin = r.join("usr/bin/booth");
    if std::fs::hard_link(env!("CARGO_BIN_EXE_booth"), &bin).is_err() {
        std::fs::copy(env!("CARGO_BIN_EXE_booth"), &bin).unwrap();
    }
    let man = r.join("usr/share/man");
    let out = Command::new(&bin)
        .args(["--lang", "en", "man", "--out"])
        .arg(man.join("man1"))
        .env("BOOTH_DATA_DIR", r.join("data"))
        .output()
        .unwrap();
    assert!(out.status.success(), "booth man: {out:?}");

    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(format!("--root={}", r.display()))
        .arg(&unit)
        .env("MANPATH", &man)
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && said.trim().is_empty(),
        "systemd-analyze verify: {said}"
    );

    // and it does find faults here: a misspelt key is reported
    std::fs::write(
        &unit,
        UNIT.replace("ProtectSystem=strict", "ProtectSytem=strict"),
    )
    .unwrap();
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(format!("--root={}", r.display()))
        .arg(&unit)
        .env("MANPATH", &man)
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("ProtectSytem"),
        "a misspelt key goes unreported: the check above proves nothing"
    );
}

/// The example configuration is read by the server's own settings: every key it sets, and
/// every key it shows commented out (`# key = value`), is one `server run` takes, with a
/// value of the key's type; and it resolves (the database set, addresses valid).
#[test]
fn the_example_config_is_read_by_the_server() {
    use booth::server::settings::ServerSettings;
    let settings: ServerSettings = toml::from_str(EXAMPLE_CONFIG).expect("example config");
    settings.resolve().expect("example config resolves");
    let mut shown = 0;
    for line in EXAMPLE_CONFIG.lines() {
        let Some(rest) = line.strip_prefix("# ") else {
            continue;
        };
        let Some((key, value)) = rest.split_once(" = ") else {
            continue;
        };
        if !key.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
            continue;
        }
        let value = value.split("  #").next().unwrap().trim();
        let one: Result<ServerSettings, _> = toml::from_str(&format!("{key} = {value}"));
        assert!(one.is_ok(), "`{key} = {value}` in the example: {one:?}");
        shown += 1;
    }
    assert!(shown >= 8, "{shown} commented keys in the example");
}
