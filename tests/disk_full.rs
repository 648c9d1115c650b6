//! Disk full: the data folder on a tiny tmpfs. Registration answers "disk full" clearly,
//! nothing stored is damaged, and it works again when space returns. Needs permission to
//! mount (root, as in CI); skipped with a message otherwise.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use booth::store::Store;
use common::*;

struct Mount(PathBuf);

impl Mount {
    fn tmpfs(dir: &Path, size: &str) -> Option<Mount> {
        std::fs::create_dir_all(dir).ok()?;
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .status()
            .ok()?
            .success();
        ok.then(|| Mount(dir.to_path_buf()))
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// Fills the filesystem with one file until writing fails.
fn fill(dir: &Path) -> PathBuf {
    use std::io::Write;
    let path = dir.join("filler");
    let mut f = std::fs::File::create(&path).unwrap();
    let chunk = vec![0u8; 4096];
    while f.write_all(&chunk).is_ok() {}
    let _ = f.sync_all();
    path
}

#[test]
fn a_full_disk_refuses_clearly_damages_nothing_and_recovers() {
    let b = Booth::new();
    let mnt = b.dir.path().join("small");
    let Some(_mount) = Mount::tmpfs(&mnt, "3m") else {
        eprintln!("SKIPPED: cannot mount a tmpfs here (needs root); the disk-full test runs in CI");
        return;
    };
    let data = mnt.join("data");
    let run = |args: &[&str]| {
        Command::new(booth_bin())
            .arg("--data-dir")
            .arg(&data)
            .args(args)
            .env("BOOTH_PASSPHRASE", PASS)
            .env("BOOTH_KDF", "fast")
            .output()
            .unwrap()
    };
    let register = |n: u32| {
        run(&[
            "register",
            "--name",
            "葛婷婷",
            "--id",
            &valid_id(n),
            "--phone",
            &phone(n),
            "--employer",
            "某公司",
            "--consent",
            "--json",
        ])
    };
    let mut stored = Vec::new();
    for n in 0..20 {
        let out = register(n);
        assert!(out.status.success(), "{}", stderr(&out));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        stored.push(v["member_no"].as_str().unwrap().to_string());
    }

    let filler = fill(&mnt);
    let mut refused = 0;
    for n in 100..110 {
        let out = register(n);
        if !out.status.success() {
            refused += 1;
            let err = stderr(&out);
            assert_eq!(err.lines().count(), 1, "one line: {err}");
            assert!(
                err.contains("磁盘已满"),
                "a clear disk-full message, got: {err}"
            );
        }
    }
    assert!(refused > 0, "the full disk must refuse registrations");

    // space returns: everything stored is intact, and registering works again
    std::fs::remove_file(&filler).unwrap();
    // SAFETY: single-threaded here.
    unsafe { std::env::set_var("BOOTH_KDF", "fast") };
    {
        let store = Store::open(&data, PASS.as_bytes()).unwrap();
        assert!(store.integrity_check().unwrap().is_empty());
        for no in &stored {
            assert!(
                store.get(&no.parse().unwrap()).unwrap().is_some(),
                "{no} lost"
            );
        }
    }
    let out = register(200);
    assert!(
        out.status.success(),
        "after space returns: {}",
        stderr(&out)
    );
    let out = run(&["stats", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["registered"].as_u64().unwrap(), 21 + (10 - refused));
}
