//! The chain of trust end to end (docs/trust.md), each attack of issue 12 against the real
//! binary and server on 127.0.0.1 (SQLite, and PostgreSQL when BOOTH_TEST_PG_URL is set):
//! tokens bound to one laptop's key, unsigned and forged batches, revocation on the laptop
//! and at the office, the signed bundle and `booth verify` with it, enrolment codes, weak
//! and colliding keys, the page's routes, publish-verifier and the office key rotation.

mod common;

use std::collections::HashMap;

use common::net::*;
use common::*;
use serde_json::{Value, json};

fn upload(b: &Booth, url: &str, token: &str) -> (std::process::Output, Value) {
    b.json(&[
        "upload",
        "--server",
        url,
        "--token",
        token,
        "--give-up-after",
        "5",
    ])
}

fn queued(b: &Booth) -> u64 {
    let (out, v) = b.json(&["stats"]);
    assert!(out.status.success(), "{}", stderr(&out));
    v["queue"]["queued"].as_u64().unwrap()
}

fn office_fingerprint(db: &str) -> String {
    let (out, v) = server_cmd(&["keys", "--db", db]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    v["fingerprint"].as_str().unwrap().to_string()
}

fn bundle(url: &str) -> (Value, Value) {
    let env: Value = http_client()
        .get(format!("{url}/v1/bundle"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let body = data_encoding::BASE64URL_NOPAD
        .decode(env["body"].as_str().unwrap().as_bytes())
        .unwrap();
    let body: Value = serde_json::from_slice(&body).unwrap();
    (env, body)
}

/// `booth verify` on a service point's PC: no data folder, the bundle from the server and
/// the fingerprint on the command line.
fn verify_at_service_point(url: &str, fp: &str, code: &str) -> Value {
    let b = Booth::new();
    let (out, v) = b.json(&[
        "verify",
        code,
        "--bundle",
        &format!("{url}/v1/bundle"),
        "--office-key",
        fp,
    ]);
    assert!(
        !b.data().join("keyfile.toml").exists(),
        "a service point needs no data folder of its own"
    );
    assert_eq!(out.status.success(), v["verdict"] == "valid", "{v}");
    v
}

fn register(b: &Booth, n: u32) -> (String, String) {
    let (out, v) = b.register(&person_name(n), &valid_id(n), &phone(n));
    assert!(out.status.success(), "{}", stderr(&out));
    (
        v["member_no"].as_str().unwrap().to_string(),
        v["qr_payload"].as_str().unwrap().to_string(),
    )
}

/// Token A used with laptop B's records: the whole request refused, nothing stored, B's
/// records still queued; then B's own token works.
#[test]
fn a_token_belongs_to_the_laptop_that_first_used_it() {
    for db in test_dbs() {
        eprintln!("backend: {}", db.label);
        let (ta, tb) = (add_device(&db.url, "lap-a"), add_device(&db.url, "lap-b"));
        let server = Server::start(&db.url);
        let url = server.url();
        let (a, b) = (Booth::new(), Booth::new());
        register(&a, 1);
        register(&b, 2);
        register(&b, 3);
        let (out, _) = upload(&a, &url, &ta);
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(
            stderr(&out).contains("--token"),
            "a token on the command line is warned about"
        );

        let (out, v) = upload(&b, &url, &ta);
        assert_eq!(out.status.code(), Some(4), "{v}");
        assert_eq!(v["error"], "token_bound_to_other_key", "{v}");
        assert!(
            v["message"].as_str().unwrap().contains("记录仍保留在本机"),
            "{v}"
        );
        assert_eq!(members_on_server(&db.url), 1);
        assert_eq!(queued(&b), 2, "B's records stay queued");

        // B's own token, from the environment (never on a command line)
        let out = b
            .cmd(&["upload", "--server", &url, "--json"])
            .env("BOOTH_TOKEN", &tb)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(!stderr(&out).contains("--token"));
        assert_eq!(members_on_server(&db.url), 3);
        assert_eq!(queued(&b), 0);

        // The export says which device each record came from.
        let file = tempfile::NamedTempFile::new().unwrap();
        let (out, _) = server_cmd(&[
            "export",
            "--format",
            "json",
            "--out",
            file.path().to_str().unwrap(),
            "--db",
            &db.url,
        ]);
        assert!(out.status.success());
        let v: Value = serde_json::from_slice(&std::fs::read(file.path()).unwrap()).unwrap();
        let mut devices: Vec<String> = v["records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["device"].as_str().unwrap_or_default().to_string())
            .collect();
        devices.sort();
        assert_eq!(devices, ["lap-a", "lap-b", "lap-b"], "{v}");
    }
}

/// Batches of the previous release (unsigned), forged signatures, other laptops' numbers and
/// a colliding key id are refused whole, with their reason codes.
#[test]
fn unsigned_forged_foreign_and_colliding_batches_are_refused_whole() {
    for db in test_dbs() {
        eprintln!("backend: {}", db.label);
        let (t1, t2) = (add_device(&db.url, "one"), add_device(&db.url, "two"));
        let server = Server::start(&db.url);
        let url = server.url();
        let c = http_client();
        let ct = "application/json";
        let body = serde_json::to_vec(&batch(vec![batch_item(
            1,
            chrono::Local::now().date_naive(),
        )]))
        .unwrap();

        let (st, v) = post_signed(&c, &url, &t1, body.clone(), ct, None).unwrap();
        assert_eq!(
            (st, v["error"].as_str()),
            (426, Some("upgrade_required")),
            "{v}"
        );

        let other = booth::card::DeviceKey::from_secret(&[9; 32]);
        let (st, v) = post_signed(&c, &url, &t1, body.clone(), ct, Some(&other)).unwrap();
        assert_eq!(st, 403, "{v}");
        assert_eq!(
            v["error"], "bad_device_key",
            "the body names another key id: {v}"
        );

        // the test key's numbers, signed by another key that claims the test key's id
        let mut forged = batch(vec![batch_item(2, chrono::Local::now().date_naive())]);
        forged["device_key_id"] = json!(other.key_id());
        let (st, v) = post_signed(
            &c,
            &url,
            &t1,
            serde_json::to_vec(&forged).unwrap(),
            ct,
            Some(&other),
        )
        .unwrap();
        assert_eq!(
            (st, v["error"].as_str()),
            (403, Some("foreign_member_number")),
            "{v}"
        );
        // a void of someone else's number
        let mut foreign_void = batch(vec![]);
        foreign_void["device_key_id"] = json!(other.key_id());
        foreign_void["voids"] = json!([booth::card::MemberNo::new(&test_key_id(), 5)
            .unwrap()
            .as_str()]);
        let (st, v) = post_signed(
            &c,
            &url,
            &t1,
            serde_json::to_vec(&foreign_void).unwrap(),
            ct,
            Some(&other),
        )
        .unwrap();
        assert_eq!(
            (st, v["error"].as_str()),
            (403, Some("foreign_member_number")),
            "{v}"
        );

        // a body changed after signing
        let key = test_key();
        let sig = key.sign(&booth::protocol::batch_message(&body));
        let mut altered = body.clone();
        let at = altered.len() - 3;
        altered[at] ^= 1;
        let r = c
            .post(format!("{url}/v1/batches"))
            .header("authorization", format!("Bearer {t1}"))
            .header("content-type", ct)
            .header(
                booth::protocol::HEADER_DEVICE_KEY,
                data_encoding::BASE64URL_NOPAD.encode(key.public().as_bytes()),
            )
            .header(
                booth::protocol::HEADER_SIGNATURE,
                data_encoding::BASE64URL_NOPAD.encode(&sig),
            )
            .body(altered)
            .send()
            .unwrap();
        assert_eq!(r.status(), 403);
        assert_eq!(r.json::<Value>().unwrap()["error"], "bad_batch_signature");
        assert_eq!(
            members_on_server(&db.url),
            0,
            "nothing stored by any refusal"
        );

        // two real keys with one 30-bit id: the second is refused, naming what to do
        let (k1, k2) = colliding_pair();
        let empty = |k: &booth::card::DeviceKey| {
            let mut b = batch(vec![]);
            b["device_key_id"] = json!(k.key_id());
            serde_json::to_vec(&b).unwrap()
        };
        let (st, v) = post_signed(&c, &url, &t1, empty(&k1), ct, Some(&k1)).unwrap();
        assert_eq!(st, 200, "{v}");
        let (st, v) = post_signed(&c, &url, &t2, empty(&k2), ct, Some(&k2)).unwrap();
        assert_eq!(
            (st, v["error"].as_str()),
            (403, Some("key_id_taken")),
            "{v}"
        );
        assert!(
            v["message"]
                .as_str()
                .unwrap()
                .contains("booth keys regenerate"),
            "{v}"
        );
        // and token one stays with its key
        let (st, v) = post_signed(&c, &url, &t1, empty(&other), ct, Some(&other)).unwrap();
        assert_eq!(
            (st, v["error"].as_str()),
            (403, Some("token_bound_to_other_key")),
            "{v}"
        );
    }
}

fn colliding_pair() -> (booth::card::DeviceKey, booth::card::DeviceKey) {
    let mut seen: HashMap<String, [u8; 32]> = HashMap::new();
    for n in 0u64.. {
        let mut seed = [0u8; 32];
        seed[..8].copy_from_slice(&n.to_le_bytes());
        seed[31] = 0x77;
        let k = booth::card::DeviceKey::from_secret(&seed);
        if let Some(other) = seen.get(k.key_id()) {
            return (booth::card::DeviceKey::from_secret(other), k);
        }
        seen.insert(k.key_id().to_string(), seed);
    }
    unreachable!()
}

/// Void on the laptop → refused there at once; after the upload the office's bundle lists
/// it, and a service point with only the bundle says revoked. `server void` and
/// `duplicate_person` revoke too; a revoked laptop's later codes are invalid.
#[test]
fn revocations_reach_every_verifier() {
    for db in test_dbs() {
        eprintln!("backend: {}", db.label);
        let (ta, tb) = (add_device(&db.url, "lap-a"), add_device(&db.url, "lap-b"));
        let server = Server::start(&db.url);
        let url = server.url();
        let fp = office_fingerprint(&db.url);
        let a = Booth::new();
        let (_, code1) = register(&a, 1);
        let (no2, code2) = register(&a, 2);
        let (no3, code3) = register(&a, 3);
        let (out, _) = a.json(&["void", &no3, "--reason", "登记错了"]);
        assert!(out.status.success());
        let (out, v) = a.json(&["verify", &code3]);
        assert!(!out.status.success());
        assert_eq!(
            (v["verdict"].as_str(), v["reason"].as_str()),
            (Some("revoked"), Some("revoked")),
            "{v}"
        );

        let (out, v) = upload(&a, &url, &ta);
        assert!(out.status.success(), "{}", stderr(&out));
        assert_eq!(v["voids_reported"], 1, "{v}");
        let (_, body) = bundle(&url);
        let canon = |n: &str| n.replace('-', "");
        assert_eq!(body["revoked"], json!([canon(&no3)]), "{body}");
        assert_eq!(body["keys"].as_array().unwrap().len(), 1);
        assert_eq!(
            verify_at_service_point(&url, &fp, &code1)["verdict"],
            "valid"
        );
        assert_eq!(
            verify_at_service_point(&url, &fp, &code3)["verdict"],
            "revoked"
        );
        // altered: one base45 character changed
        let i = code1.len() / 2;
        let altered = format!(
            "{}{}{}",
            &code1[..i],
            if &code1[i..=i] == "A" { "B" } else { "A" },
            &code1[i + 1..]
        );
        assert_eq!(
            verify_at_service_point(&url, &fp, &altered)["verdict"],
            "invalid"
        );

        // the office voids a card; the laptop learns it with its next upload (nothing queued)
        let (out, _) = server_cmd(&["void", &no2, "--reason", "重复登记", "--db", &db.url]);
        assert!(out.status.success());
        assert_eq!(
            verify_at_service_point(&url, &fp, &code2)["verdict"],
            "revoked"
        );
        assert_eq!(
            a.json(&["verify", &code2]).1["verdict"],
            "valid",
            "not known yet"
        );
        let (out, v) = upload(&a, &url, &ta);
        assert!(out.status.success(), "{v}");
        let (out, v) = a.json(&["verify", &code2]);
        assert!(!out.status.success());
        assert_eq!(v["verdict"], "revoked", "{v}");
        // the reason stays at the office
        assert!(!bundle(&url).0.to_string().contains("重复登记"));

        // the same person on laptop B: refused as duplicate_person, and its card revoked
        let b = Booth::new();
        let (out, v) = b.register(&person_name(1), &valid_id(1), &phone(9));
        assert!(out.status.success());
        let (dup_no, dup_code) = (
            v["member_no"].as_str().unwrap().to_string(),
            v["qr_payload"].as_str().unwrap().to_string(),
        );
        let (out, v) = upload(&b, &url, &tb);
        assert!(out.status.success(), "{v}");
        assert_eq!(v["rejected"][0]["code"], "duplicate_person", "{v}");
        assert!(
            bundle(&url).1["revoked"]
                .as_array()
                .unwrap()
                .contains(&json!(canon(&dup_no)))
        );
        assert_eq!(
            verify_at_service_point(&url, &fp, &dup_code)["verdict"],
            "revoked"
        );

        // a revoked laptop: its cards up to the last number it uploaded stay valid, later
        // ones (a stolen laptop issuing cards) are invalid
        let (out, _) = server_cmd(&["revoke-device", "lap-a", "--db", &db.url]);
        assert!(out.status.success());
        let (_, later) = register(&a, 4);
        let v = verify_at_service_point(&url, &fp, &later);
        assert_eq!(
            (v["verdict"].as_str(), v["reason"].as_str()),
            (Some("invalid"), Some("device_revoked")),
            "{v}"
        );
        assert_eq!(
            verify_at_service_point(&url, &fp, &code1)["verdict"],
            "valid"
        );
        let (_, body) = bundle(&url);
        let key = body["keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["device"] == "lap-a")
            .unwrap()
            .clone();
        // seq 3 was voided on the laptop, never uploaded: the last uploaded is 2
        assert_eq!(key["max_seq"], 2, "{body}");

        // cacheable: the same version answers 304
        let (env, body) = bundle(&url);
        let r = http_client()
            .get(format!("{url}/v1/bundle"))
            .header("if-none-match", format!("\"{}\"", body["version"]))
            .send()
            .unwrap();
        assert_eq!(r.status(), 304);
        assert_eq!(env["format"], "booth-bundle/1");

        // another office's fingerprint: the bundle is refused, no verdict
        let other = booth::card::office::OfficeKey::generate()
            .unwrap()
            .fingerprint();
        let s = Booth::new();
        let (out, v) = s.json(&[
            "verify",
            &code1,
            "--bundle",
            &format!("{url}/v1/bundle"),
            "--office-key",
            &other,
        ]);
        assert!(!out.status.success());
        assert_eq!(v["reason"], "office_key_untrusted", "{v}");
        // no fingerprint at all: told how to get one
        let (out, v) = s.json(&["verify", &code1, "--bundle", &format!("{url}/v1/bundle")]);
        assert!(!out.status.success());
        assert_eq!(v["error"], "no_office_key", "{v}");
        drop(server);
    }
}

/// The enrolment code carries server, token and office fingerprint; an enrolled laptop checks
/// the office's key before it sends anyone's data.
#[test]
fn enrolment_codes_and_the_office_key_check() {
    for db in test_dbs() {
        eprintln!("backend: {}", db.label);
        let server = Server::start(&db.url);
        let url = server.url();
        let (out, v) = server_cmd(&["add-device", "lap-e", "--db", &db.url, "--server-url", &url]);
        assert!(out.status.success());
        let code = v["enrolment_code"].as_str().unwrap().to_string();
        assert!(code.starts_with("BOOTH1-"));
        let e = booth::card::enrol::Enrolment::parse(&code).unwrap();
        assert_eq!(e.token, v["token"].as_str().unwrap());
        assert_eq!(e.office_key, office_fingerprint(&db.url));
        assert_eq!(e.server.as_deref(), Some(url.as_str()));

        // human output: the code first, the token last (scripts read the last word)
        let mut cmd = std::process::Command::new(booth_bin());
        office_key_env(&mut cmd, &["--db", &db.url]);
        let out = cmd
            .args(["server", "add-device", "lap-h", "--db", &db.url])
            .env_remove("BOOTH_LANG")
            .output()
            .unwrap();
        let text = stdout(&out);
        let last = text.split_whitespace().last().unwrap();
        assert_eq!(last.len(), 43, "{text}");
        assert!(text.contains("BOOTH1-"), "{text}");

        let b = Booth::new();
        register(&b, 30);
        let out = b
            .cmd(&["enroll", "-", "--json"])
            .stdin_bytes(code.as_bytes());
        assert!(out.status.success(), "{}", stderr(&out));
        let (out, v) = b.json(&["upload"]);
        assert!(out.status.success(), "{v}");
        assert_eq!(v["accepted"], 1);
        assert!(v["bundle_version"].as_u64().is_some(), "{v}");

        // enrolled with another office's fingerprint: nothing sent, records stay queued
        let other_fp = booth::card::office::OfficeKey::generate()
            .unwrap()
            .fingerprint();
        let (_, v) = server_cmd(&["add-device", "lap-x", "--db", &db.url]);
        let forged = booth::card::enrol::Enrolment {
            server: Some(url.clone()),
            token: v["token"].as_str().unwrap().into(),
            office_key: other_fp,
            device: None,
            seal_key: None,
            verify_url: None,
            union: None,
        }
        .encode();
        let x = Booth::new();
        register(&x, 31);
        let (out, _) = x.json(&["enroll", &forged]);
        assert!(out.status.success());
        let (out, v) = x.json(&["upload"]);
        assert!(!out.status.success());
        assert_eq!(v["error"], "office_key_untrusted", "{v}");
        assert_eq!(queued(&x), 1);
        let (out, v) = x.json(&["enroll", "BOOTH1-garbage"]);
        assert!(!out.status.success());
        assert_eq!(v["error"], "enrolment_damaged");
    }
}

trait StdinBytes {
    fn stdin_bytes(&mut self, input: &[u8]) -> std::process::Output;
}

impl StdinBytes for std::process::Command {
    fn stdin_bytes(&mut self, input: &[u8]) -> std::process::Output {
        use std::io::Write;
        let mut child = self
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(input).unwrap();
        child.wait_with_output().unwrap()
    }
}

/// A hand-made key list with two keys of one id, or with the identity point, is refused
/// naming the line (before, the second silently replaced the first, and the identity key
/// verified a forged code).
#[test]
fn key_lists_refuse_colliding_ids_and_weak_keys() {
    let a = Booth::new();
    let (_, code) = register(&a, 1);
    let (k1, k2) = colliding_pair();
    let list = a.dir.path().join("keys.txt");
    std::fs::write(
        &list,
        format!(
            "# office list\n{}\n{}\n",
            k1.export_line("A"),
            k2.export_line("B")
        ),
    )
    .unwrap();
    let (out, v) = a.json(&["verify", &code, "--keys", list.to_str().unwrap()]);
    assert!(!out.status.success());
    let msg = v["message"].as_str().unwrap();
    assert!(msg.contains("line 3") && msg.contains(k1.key_id()), "{msg}");

    let mut identity = [0u8; 32];
    identity[0] = 1;
    let id = booth::card::number::key_id_from_digest(&{
        use sha2::Digest;
        sha2::Sha256::digest(identity)
    });
    std::fs::write(
        &list,
        format!(
            "booth-key/1 {id} ed25519:{} 工会\n",
            data_encoding::BASE64URL_NOPAD.encode(&identity)
        ),
    )
    .unwrap();
    // a code "signed" by the identity key: R = identity, S = 0
    let no = booth::card::MemberNo::new(&id, 1).unwrap();
    let mut bytes = vec![1u8];
    let v55 = no.as_str().chars().fold(0u64, |n, c| {
        (n << 5) | u64::from(booth::card::number::symbol_value(c).unwrap())
    });
    bytes.extend_from_slice(&(v55 << 9).to_be_bytes()[..7]);
    bytes.extend_from_slice(&[0x0b, 0x00, 0]);
    let mut sig = [0u8; 64];
    sig[0] = 1;
    bytes.extend_from_slice(&sig);
    let forged = format!("GH1:{}", base45::encode(&bytes));
    let (out, v) = a.json(&["verify", &forged, "--keys", list.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(v["message"].as_str().unwrap().contains("line 1"), "{v}");

    // the same two attacks inside a bundle signed by the office: the whole bundle is refused
    use booth::card::bundle::{BundleBody, BundleKey, key_text, sign};
    let office = booth::card::office::OfficeKey::generate().unwrap();
    let entry = |id: String, key: String| BundleKey {
        key_id: id,
        key,
        device: "d".into(),
        union: "工会".into(),
        from: "2026-11-01".into(),
        max_seq: None,
    };
    let body = |keys: Vec<BundleKey>| BundleBody {
        version: 1,
        issued_at: "2026-11-28T10:00:00Z".into(),
        office_key: key_text(&office.public()),
        next_office_key: None,
        keys,
        revoked: vec![],
        verify_url: None,
    };
    let file = a.dir.path().join("bundle.json");
    for (keys, reason) in [
        (
            vec![
                entry(k1.key_id().into(), key_text(&k1.public())),
                entry(k2.key_id().into(), key_text(&k2.public())),
            ],
            "duplicate_key_id",
        ),
        (
            vec![entry(
                id.clone(),
                data_encoding::BASE64URL_NOPAD.encode(&identity),
            )],
            "weak_key",
        ),
    ] {
        std::fs::write(&file, sign(&office, &body(keys))).unwrap();
        let (out, v) = a.json(&[
            "verify",
            &forged,
            "--bundle",
            file.to_str().unwrap(),
            "--office-key",
            &office.fingerprint(),
        ]);
        assert!(!out.status.success());
        assert_eq!(v["reason"], reason, "{v}");
    }
}

/// The page and its files with the headers it was built under; publish-verifier's layout;
/// the office key made 0600 beside the database, `server keys`, and a rotation.
#[test]
fn the_page_the_published_copy_and_the_office_key() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite:{}", dir.path().join("office.db").display());
    let (out, v) = server_cmd(&[
        "init",
        "--db",
        &db,
        "--server-url",
        "https://booth.office.lan:8443",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let key_file = dir.path().join("office-key.pem");
    assert_eq!(v["office_key_file"], json!(key_file));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o640)).unwrap();
        let (out, v) = server_cmd(&["keys", "--db", &db]);
        assert!(!out.status.success());
        assert_eq!(v["error"], "office_key", "{v}");
        std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let fp = office_fingerprint(&db);
    let (_, v) = server_cmd(&["add-device", "lap", "--db", &db]);
    let e = booth::card::enrol::Enrolment::parse(v["enrolment_code"].as_str().unwrap()).unwrap();
    assert_eq!(e.server.as_deref(), Some("https://booth.office.lan:8443"));

    let server = Server::start(&db);
    let url = server.url();
    let c = http_client();
    for p in ["/v", "/V", "/v/", "/V/"] {
        let r = c.get(format!("{url}{p}")).send().unwrap();
        assert_eq!(r.status(), 200, "{p}");
        assert_eq!(r.headers()["content-type"], "text/html; charset=utf-8");
        assert_eq!(
            r.headers()["content-security-policy"],
            booth::server::page::CSP
        );
        let page = r.text().unwrap();
        assert!(
            page.contains(&format!(r#"<meta name="booth-office-key" content="{fp}">"#)),
            "{page}"
        );
        assert!(page.contains(r#"<meta name="booth-bundle" content="/v1/bundle">"#));
    }
    for (p, ty) in [
        (
            "/verifier/vendor/zxing-wasm/zxing_reader.wasm",
            "application/wasm",
        ),
        ("/verifier/core.js", "text/javascript; charset=utf-8"),
        ("/verifier/icon.svg", "image/svg+xml"),
        ("/v-sw.js", "text/javascript; charset=utf-8"),
    ] {
        let r = c.get(format!("{url}{p}")).send().unwrap();
        assert_eq!(r.status(), 200, "{p}");
        assert_eq!(r.headers()["content-type"], ty, "{p}");
    }
    for p in [
        "/verifier/tools/check-page.py",
        "/verifier/../Cargo.toml",
        "/verifier/index.html",
    ] {
        assert_eq!(
            c.get(format!("{url}{p}")).send().unwrap().status(),
            404,
            "{p}"
        );
    }

    let out_dir = dir.path().join("site");
    let (out, v) = server_cmd(&[
        "publish-verifier",
        "--out",
        out_dir.to_str().unwrap(),
        "--db",
        &db,
    ]);
    assert!(out.status.success(), "{v}");
    for f in [
        "v/index.html",
        "V/index.html",
        "v-sw.js",
        "bundle.json",
        "verifier/app.js",
        "verifier/vendor/zxing-wasm/zxing_reader.wasm",
    ] {
        assert!(out_dir.join(f).is_file(), "{f}");
    }
    assert!(!out_dir.join("verifier/tools").exists());
    let page = std::fs::read_to_string(out_dir.join("v/index.html")).unwrap();
    assert!(page.contains(r#"content="/bundle.json""#));
    let published = std::fs::read_to_string(out_dir.join("bundle.json")).unwrap();
    assert!(booth::card::bundle::open(&published, std::slice::from_ref(&fp)).is_ok());

    // rotation: announce, a laptop keeps the announcing bundle, switch, the laptop follows
    let laptop = Booth::new();
    register(&laptop, 40);
    let (out, _) = laptop.json(&["enroll", v_code(&db, &url).as_str()]);
    assert!(out.status.success());
    let next = dir.path().join("next-office-key.pem");
    let (out, v) = server_cmd(&["rotate-key", "--next", next.to_str().unwrap(), "--db", &db]);
    assert!(out.status.success(), "{v}");
    let next_fp = v["announced"].as_str().unwrap().to_string();
    assert_eq!(
        bundle(&url).1["next_office_key"].as_str().map(str::len),
        Some(43)
    );
    let (out, v) = laptop.json(&["upload"]);
    assert!(out.status.success(), "{v}");
    let (out, v) = server_cmd(&[
        "rotate-key",
        "--next",
        next.to_str().unwrap(),
        "--finish",
        "--db",
        &db,
    ]);
    assert!(out.status.success(), "{v}");
    // a server still holding the old key says so rather than signing with it
    let r = c.get(format!("{url}/v1/bundle")).send().unwrap();
    assert_eq!(r.status(), 503);
    drop(server);
    assert_eq!(office_fingerprint(&db), next_fp);
    assert!(dir.path().join("office-key.pem.old").exists());
    let server = Server::start(&db);
    let url = server.url();
    register(&laptop, 41);
    let (out, v) = laptop.json(&["upload", "--server", &url]);
    assert!(out.status.success(), "{v}");
    assert!(
        v["bundle_warning"].is_null(),
        "the laptop follows the announced key: {v}"
    );
    let (env, _) = bundle(&url);
    assert_eq!(
        booth::card::bundle::claimed_fingerprint(&env.to_string()).unwrap(),
        next_fp
    );
}

fn v_code(db: &str, url: &str) -> String {
    let (out, v) = server_cmd(&["add-device", "lap-rot", "--db", db, "--server-url", url]);
    assert!(out.status.success());
    v["enrolment_code"].as_str().unwrap().to_string()
}
