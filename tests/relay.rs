//! The office side of a booth of several laptops (SPEC §12, docs/trust.md "Peers"): the real
//! `booth server run` on loopback, on SQLite and PostgreSQL (`BOOTH_TEST_PG_URL`), taking
//! segments that laptops made with the library's own `card::segment` — relayed by another
//! laptop (`POST /v1/segments`) or in a backup file (`booth server import-backup`, the
//! console's upload). A segment counts only on its origin's signature and binding: forged,
//! altered, replayed, unproven ones and a relay's word alone are refused; a laptop lost
//! before its first upload is bound on its proof; each record is stored once, under its
//! origin's device, whoever delivers it and however often.

mod common;

use std::path::PathBuf;

use booth::card::DeviceKey;
use booth::card::office::OfficeKey;
use booth::card::segment::{self, Making, Segment};
use booth::protocol::{DaySummary, content_hash};
use chrono::NaiveDate;
use common::net::*;
use common::{phone, valid_id};
use serde_json::{Value, json};

/// The office key file of a test database (where `office_key_env` puts it).
fn office_key(db: &str) -> OfficeKey {
    let path = if let Some(file) = db.strip_prefix("sqlite:") {
        PathBuf::from(file).with_file_name("office-key.pem")
    } else {
        use sha2::Digest;
        let name = data_encoding::HEXLOWER.encode(&sha2::Sha256::digest(db.as_bytes())[..8]);
        std::env::temp_dir().join(format!("booth-test-office-{name}.pem"))
    };
    OfficeKey::from_pem(&std::fs::read_to_string(&path).expect("office key file")).unwrap()
}

fn today() -> NaiveDate {
    chrono::Local::now().date_naive()
}

/// A laptop as the office sees it: its key, its token and device name.
struct Laptop {
    key: DeviceKey,
    token: String,
    device: String,
}

impl Laptop {
    fn new(db: &str, device: &str, seed: u8) -> Laptop {
        Laptop {
            key: DeviceKey::from_secret(&[seed; 32]),
            token: add_device(db, device),
            device: device.to_string(),
        }
    }

    fn key_id(&self) -> String {
        self.key.key_id().to_string()
    }

    fn public(&self) -> String {
        data_encoding::BASE64URL_NOPAD.encode(self.key.public().as_bytes())
    }

    /// A record of person `n` with member sequence `seq`, as the laptop sends it; `phone_n`
    /// varies the content (an edit while queued).
    fn item(&self, n: u32, seq: u32, phone_n: u32) -> Value {
        let day = today();
        let input = booth::member::MemberInput {
            name: person_name(n),
            id_number: valid_id(n),
            phone: phone(phone_n),
            employer: "某某快递有限公司".into(),
            consent: true,
            ..Default::default()
        };
        let member = booth::member::validate(&input, day).unwrap().member;
        let ts = format!("{day}T10:00:00+08:00");
        let record = serde_json::to_value(booth::protocol::WireRecord {
            member,
            consent_at: ts.clone(),
            created_at: ts,
            event_date: day,
            union: "朝阳区总工会".into(),
            place: "望京".into(),
            operator: "李".into(),
            imported: false,
        })
        .unwrap();
        let member_no = booth::card::MemberNo::new(&self.key_id(), seq).unwrap();
        // one UUID per person and laptop: an edit keeps it
        let uuid = uuid::Uuid::from_u128(u128::from(n) << 32 | u128::from(seq));
        json!({
            "uuid": uuid,
            "member_no": member_no.as_str(),
            "content_hash": content_hash(&record),
            "record": record,
        })
    }

    /// An upload request body of these records, voids and day summaries.
    fn body(&self, items: Vec<Value>, voids: &[String], days: &[DaySummary]) -> Value {
        json!({
            "batch_id": uuid::Uuid::new_v4(),
            "device_key_id": self.key_id(),
            "records": items,
            "voids": voids,
            "days": days,
            "key_created": today(),
            "union": "朝阳区总工会",
        })
    }

    /// A segment of that body, sealed to `office`, with this laptop's binding proof.
    fn segment(&self, office: &OfficeKey, counter: u64, body: &Value) -> Segment {
        self.segment_proved(office, counter, body, &self.token)
    }

    fn segment_proved(
        &self,
        office: &OfficeKey,
        counter: u64,
        body: &Value,
        token: &str,
    ) -> Segment {
        let b: booth::protocol::BatchRequest = serde_json::from_value(body.clone()).unwrap();
        Segment::make(
            &self.key,
            &office.seal_key().public(),
            &Making {
                device: Some(&self.device),
                binding: Some(segment::binding_proof(
                    token,
                    &self.device,
                    &self.key.public(),
                )),
                counter,
                created_at: format!("{}T12:00:00+08:00", today()),
                records: b.records.len() as u64,
                voids: b.voids.len() as u64,
                days: b.days.len() as u64,
            },
            body.to_string().as_bytes(),
        )
        .unwrap()
    }

    /// Its own upload (`POST /v1/batches`), signed by its key.
    fn upload(&self, url: &str, body: &Value) -> (u16, Value) {
        post_signed(
            &http_client(),
            url,
            &self.token,
            body.to_string().into_bytes(),
            "application/json",
            Some(&self.key),
        )
        .unwrap()
    }

    /// Relays `segments` it holds for others (`POST /v1/segments`), signed as a relay.
    fn relay(&self, url: &str, segments: &[&str]) -> (u16, Value) {
        relay_as(url, &self.token, Some(&self.key), segments)
    }
}

fn relay_as(url: &str, token: &str, key: Option<&DeviceKey>, segments: &[&str]) -> (u16, Value) {
    let body = serde_json::to_vec(&json!({ "segments": segments })).unwrap();
    let mut req = http_client()
        .post(format!("{url}/v1/segments"))
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .header("accept-language", "en");
    if let Some(k) = key {
        let b64 = data_encoding::BASE64URL_NOPAD;
        req = req
            .header("booth-device-key", b64.encode(k.public().as_bytes()))
            .header(
                "booth-signature",
                b64.encode(&k.sign(&booth::protocol::relay_message(&body))),
            );
    }
    let r = req.body(body).send().unwrap();
    (r.status().as_u16(), r.json().unwrap_or(Value::Null))
}

fn day(consultations: u64) -> DaySummary {
    DaySummary {
        date: today(),
        union: "朝阳区总工会".into(),
        place: "望京".into(),
        operator: "李".into(),
        consultations,
        needs: Default::default(),
        registrations: 0,
        voids: 0,
    }
}

/// The office's records (`server export --format json`): member number → (device, record).
fn office_records(db: &str) -> std::collections::BTreeMap<String, (String, Value)> {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("office.json");
    let (o, _) = server_cmd(&[
        "export",
        "--format",
        "json",
        "--out",
        out.to_str().unwrap(),
        "--db",
        db,
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_str(&std::fs::read_to_string(out).unwrap()).unwrap();
    v["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["member_no"].as_str().unwrap().replace('-', ""),
                (
                    r["device"].as_str().unwrap_or_default().to_string(),
                    r.clone(),
                ),
            )
        })
        .collect()
}

/// Consultations the office counts for a device (its day summaries).
fn consultations_of(db: &str, device: &str) -> u64 {
    server_stats(db)["by_device"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["device"] == device)
        .map_or(0, |d| d["consultations"].as_u64().unwrap())
}

/// The bundle's entry for a key id, as laptops and pages read it.
fn bundle_key(url: &str, key_id: &str) -> Option<Value> {
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
    body["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["key_id"] == key_id)
        .cloned()
}

fn result_of(answer: &Value, i: usize) -> (String, Option<String>) {
    let r = &answer["results"][i];
    (
        r["status"].as_str().unwrap_or("-").to_string(),
        r["error"].as_str().map(str::to_string),
    )
}

fn refused_with(answer: &Value, i: usize, code: &str) {
    assert_eq!(
        result_of(answer, i),
        ("refused".to_string(), Some(code.to_string())),
        "{answer}"
    );
}

/// A laptop lost before its first upload: another laptop delivers its records, each once,
/// under its own device; the office binds its key on its proof; delivered again, or
/// uploaded by the laptop itself later, nothing is doubled.
#[test]
fn a_relay_delivers_a_lost_laptops_records_once_under_its_own_device() {
    for db in test_dbs() {
        let a = Laptop::new(&db.url, "lap-a", 0xA1);
        let b = Laptop::new(&db.url, "lap-b", 0xB2);
        let office = office_key(&db.url);
        let server = Server::start(&db.url);
        let url = server.url();
        // B's own upload comes first and binds its token
        let (status, v) = b.upload(&url, &b.body(vec![b.item(900, 1, 900)], &[], &[]));
        assert_eq!(status, 200, "{v}");

        let items: Vec<Value> = (1..=3).map(|s| a.item(100 + s, s, 100 + s)).collect();
        let body = a.body(items.clone(), &[], &[day(4)]);
        let seg = a.segment(&office, 1, &body);
        // what B holds is sealed: no name, no ID number in clear
        assert!(!seg.text.contains(&valid_id(101)) && !seg.text.contains(&person_name(101)));
        let (status, v) = b.relay(&url, &[&seg.text]);
        assert_eq!(status, 200, "[{}] {v}", db.label);
        assert_eq!(result_of(&v, 0), ("accepted".into(), None), "{v}");
        assert_eq!(v["results"][0]["records"]["accepted"], 3, "{v}");
        assert_eq!(v["results"][0]["origin"], a.public());
        assert_eq!(v["results"][0]["counter"], 1);

        let held = office_records(&db.url);
        assert_eq!(held.len(), 4, "[{}] {held:?}", db.label);
        for s in 1..=3 {
            let no = booth::card::MemberNo::new(&a.key_id(), s).unwrap();
            assert_eq!(held[no.as_str()].0, "lap-a", "counted for its origin");
        }
        assert_eq!(consultations_of(&db.url, "lap-a"), 4);
        // bound on its proof: the bundle lists A's key under lap-a, in service
        let k = bundle_key(&url, &a.key_id()).expect("A's key in the bundle");
        assert_eq!(k["device"], "lap-a");
        assert_eq!(k["max_seq"], Value::Null);

        // delivered again (by B, or by another relay): already there, nothing doubled
        let (_, v) = b.relay(&url, &[&seg.text]);
        assert_eq!(result_of(&v, 0), ("already_there".into(), None), "{v}");
        assert_eq!(office_records(&db.url).len(), 4);

        // A turns up after all and uploads its queue itself: already there, each record
        let (status, v) = a.upload(&url, &a.body(items, &[], &[day(4)]));
        assert_eq!(status, 200, "{v}");
        let statuses: Vec<&str> = v["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["status"].as_str().unwrap())
            .collect();
        assert_eq!(statuses, ["already_there"; 3], "{v}");
        assert_eq!(office_records(&db.url).len(), 4);
        assert_eq!(members_on_server(&db.url), 4);
    }
}

/// Only the origin's signature and binding count: each way of getting a segment taken
/// without them is refused, and refused alone (the good segment beside it is taken).
#[test]
fn forged_altered_replayed_and_unproven_segments_are_refused() {
    for db in test_dbs() {
        let a = Laptop::new(&db.url, "lap-a", 0xA1);
        let b = Laptop::new(&db.url, "lap-b", 0xB2);
        let c = Laptop::new(&db.url, "lap-c", 0xC3);
        let office = office_key(&db.url);
        let server = Server::start(&db.url);
        let url = server.url();
        let (status, _) = b.upload(&url, &b.body(vec![], &[], &[]));
        assert_eq!(status, 200);
        let thief = Laptop {
            key: DeviceKey::from_secret(&[0xEE; 32]),
            token: "guessed".into(),
            device: "lap-a".into(),
        };
        let good = a.segment(&office, 1, &a.body(vec![a.item(201, 1, 201)], &[], &[]));
        let env: Value = serde_json::from_str(&good.text).unwrap();
        let with = |field: &str, value: String| {
            let mut e = env.clone();
            e[field] = value.into();
            e.to_string()
        };
        // forged: A's header and sealed body, signed by another key
        let forged_sig = thief.key.sign(b"anything");
        let forged = with(
            "signature",
            data_encoding::BASE64URL_NOPAD.encode(&forged_sig),
        );
        // altered: one byte of the sealed body changed
        let mut sealed = good.sealed.clone();
        sealed[40] ^= 1;
        let altered = with("sealed", data_encoding::BASE64URL_NOPAD.encode(&sealed));
        // a thief's own key claiming lap-a, its proof made with a guessed token
        let claim = thief.segment(
            &office,
            1,
            &thief.body(vec![thief.item(202, 1, 202)], &[], &[]),
        );
        // lap-c's key with a proof made from lap-b's token (the wrong binding proof)
        let wrong_proof = c.segment_proved(
            &office,
            1,
            &c.body(vec![c.item(203, 1, 203)], &[], &[]),
            &b.token,
        );
        // the relay's word alone: B signs a segment of A's numbers as its own
        let mut theft = b.body(vec![a.item(204, 7, 204)], &[], &[]);
        theft["device_key_id"] = b.key_id().into();
        let theft = b.segment(&office, 1, &theft);
        // sealed to another office
        let elsewhere = a.segment(
            &OfficeKey::generate().unwrap(),
            2,
            &a.body(vec![a.item(205, 2, 205)], &[], &[]),
        );
        let (status, v) = b.relay(
            &url,
            &[
                &forged,
                &altered,
                &claim.text,
                &wrong_proof.text,
                &theft.text,
                &elsewhere.text,
                "{\"not\":\"a segment\"}",
                &good.text,
            ],
        );
        assert_eq!(status, 200, "[{}] {v}", db.label);
        refused_with(&v, 0, "bad_segment_signature");
        refused_with(&v, 1, "bad_segment_signature");
        refused_with(&v, 2, "bad_binding_proof");
        refused_with(&v, 3, "bad_binding_proof");
        refused_with(&v, 4, "foreign_member_number");
        refused_with(&v, 5, "segment_other_office");
        refused_with(&v, 6, "segment_malformed");
        assert_eq!(result_of(&v, 7), ("accepted".into(), None), "{v}");
        let held = office_records(&db.url);
        assert_eq!(held.len(), 1, "only the good segment's record: {held:?}");
        assert!(held.values().all(|(d, _)| d == "lap-a"));
        // the thief's key was not bound to lap-a, nor lap-c's to anything
        assert_eq!(bundle_key(&url, &thief.key_id()), None);
        assert_eq!(bundle_key(&url, &c.key_id()), None);
        // lap-c's own token still binds its own key at its first upload
        let (status, v) = c.upload(&url, &c.body(vec![], &[], &[]));
        assert_eq!(status, 200, "{v}");

        // another segment under a counter taken: refused (an origin never signs two)
        let twin = a.segment(&office, 1, &a.body(vec![a.item(206, 3, 206)], &[], &[]));
        let (_, v) = b.relay(&url, &[&twin.text]);
        refused_with(&v, 0, "segment_replayed");

        // the relay itself must be one of the office's laptops, with its own key
        let (status, v) = relay_as(&url, "not-a-token", Some(&b.key), &[&good.text]);
        assert_eq!((status, v["error"].as_str()), (401, Some("unauthorized")));
        let (status, v) = relay_as(&url, &b.token, None, &[&good.text]);
        assert_eq!(
            (status, v["error"].as_str()),
            (426, Some("upgrade_required"))
        );
        let (status, v) = relay_as(&url, &b.token, Some(&thief.key), &[&good.text]);
        assert_eq!(
            (status, v["error"].as_str()),
            (403, Some("token_bound_to_other_key"))
        );
        let d = Laptop::new(&db.url, "lap-d", 0xD4);
        let (status, v) = d.relay(&url, &[&good.text]);
        assert_eq!(
            (status, v["error"].as_str()),
            (403, Some("relay_not_bound"))
        );
        let body = serde_json::to_vec(&json!({ "segments": [&good.text] })).unwrap();
        let (status, v) = {
            let b64 = data_encoding::BASE64URL_NOPAD;
            let r = http_client()
                .post(format!("{url}/v1/segments"))
                .header("authorization", format!("Bearer {}", b.token))
                .header("content-type", "application/json")
                .header("booth-device-key", b64.encode(b.key.public().as_bytes()))
                // signed as a batch, not as a relay: another message
                .header(
                    "booth-signature",
                    b64.encode(&b.key.sign(&booth::protocol::batch_message(&body))),
                )
                .body(body)
                .send()
                .unwrap();
            (r.status().as_u16(), r.json::<Value>().unwrap())
        };
        assert_eq!(
            (status, v["error"].as_str()),
            (403, Some("bad_relay_signature"))
        );
        let many: Vec<&str> = std::iter::repeat_n(good.text.as_str(), 51).collect();
        let (status, v) = b.relay(&url, &many);
        assert_eq!(
            (status, v["error"].as_str()),
            (413, Some("too_many_segments"))
        );
        assert_eq!(office_records(&db.url).len(), 1);
    }
}

/// Day summaries replace only older ones: a segment older than those kept (replayed, or
/// delivered late) brings its records but not its counts; a direct upload says which
/// segment it is as new as.
#[test]
fn an_older_segment_never_puts_older_day_summaries_back() {
    for db in test_dbs() {
        let a = Laptop::new(&db.url, "lap-a", 0xA1);
        let b = Laptop::new(&db.url, "lap-b", 0xB2);
        let office = office_key(&db.url);
        let server = Server::start(&db.url);
        let url = server.url();
        assert_eq!(b.upload(&url, &b.body(vec![], &[], &[])).0, 200);
        let older = a.segment(
            &office,
            1,
            &a.body(vec![a.item(301, 1, 301)], &[], &[day(3)]),
        );
        let newer = a.segment(
            &office,
            2,
            &a.body(vec![a.item(302, 2, 302)], &[], &[day(5)]),
        );
        let (_, v) = b.relay(&url, &[&newer.text]);
        assert_eq!(result_of(&v, 0), ("accepted".into(), None), "{v}");
        assert_eq!(consultations_of(&db.url, "lap-a"), 5);
        // the older one arrives after (another relay, or replayed): its record is taken, its
        // day summary is not
        let (_, v) = b.relay(&url, &[&older.text]);
        assert_eq!(result_of(&v, 0), ("accepted".into(), None), "{v}");
        assert_eq!(v["results"][0]["days_superseded"], true, "{v}");
        assert_eq!(v["results"][0]["records"]["accepted"], 1);
        assert_eq!(consultations_of(&db.url, "lap-a"), 5, "[{}]", db.label);
        assert_eq!(office_records(&db.url).len(), 2);
        // replayed byte for byte: nothing at all
        let (_, v) = b.relay(&url, &[&older.text, &newer.text]);
        assert_eq!(result_of(&v, 0), ("already_there".into(), None));
        assert_eq!(result_of(&v, 1), ("already_there".into(), None));
        assert_eq!(consultations_of(&db.url, "lap-a"), 5);

        // A's own upload, its counts read when its last segment was 2: newer than segment 2's
        let mut own = a.body(vec![], &[], &[day(7)]);
        own["segment_counter"] = 2.into();
        assert_eq!(a.upload(&url, &own).0, 200);
        assert_eq!(consultations_of(&db.url, "lap-a"), 7);
        // … and again, with no segment made since: newer still
        let mut own = a.body(vec![], &[], &[day(8)]);
        own["segment_counter"] = 2.into();
        assert_eq!(a.upload(&url, &own).0, 200);
        assert_eq!(consultations_of(&db.url, "lap-a"), 8);
        // segment 2 again through another laptop, or an upload that read an older counter:
        // older than what is kept
        let mut stale = a.body(vec![], &[], &[day(6)]);
        stale["segment_counter"] = 1.into();
        assert_eq!(a.upload(&url, &stale).0, 200);
        assert_eq!(consultations_of(&db.url, "lap-a"), 8);
        // a segment made after the upload read its counts: newer
        let later = a.segment(&office, 3, &a.body(vec![], &[], &[day(9)]));
        let (_, v) = b.relay(&url, &[&later.text]);
        assert_eq!(result_of(&v, 0), ("accepted".into(), None), "{v}");
        assert_eq!(consultations_of(&db.url, "lap-a"), 9, "[{}]", db.label);
    }
}

/// A record edited while queued reaches the office in two segments: the newer version
/// replaces the older, counted once, and the laptop's own later upload of it is already there.
#[test]
fn a_newer_version_of_a_relayed_record_replaces_the_older() {
    for db in test_dbs() {
        let a = Laptop::new(&db.url, "lap-a", 0xA1);
        let b = Laptop::new(&db.url, "lap-b", 0xB2);
        let office = office_key(&db.url);
        let server = Server::start(&db.url);
        let url = server.url();
        assert_eq!(b.upload(&url, &b.body(vec![], &[], &[])).0, 200);
        let v1 = a.item(401, 1, 401);
        let v2 = a.item(401, 1, 4011);
        assert_eq!(v1["uuid"], v2["uuid"]);
        assert_ne!(v1["content_hash"], v2["content_hash"]);
        let s1 = a.segment(&office, 1, &a.body(vec![v1.clone()], &[], &[]));
        let s2 = a.segment(&office, 2, &a.body(vec![v2.clone()], &[], &[]));
        let (_, v) = b.relay(&url, &[&s1.text, &s2.text]);
        assert_eq!(v["results"][0]["records"]["accepted"], 1, "{v}");
        assert_eq!(v["results"][1]["records"]["accepted"], 1, "{v}");
        let no = v1["member_no"].as_str().unwrap().to_string();
        let held = office_records(&db.url);
        assert_eq!(held.len(), 1);
        assert_eq!(
            held[&no].1["phone"],
            phone(4011),
            "[{}] {:?}",
            db.label,
            held[&no]
        );
        assert_eq!(members_on_server(&db.url), 1);
        assert_eq!(server_stats(&db.url)["by_device"][0]["members"], 1);
        // the older version delivered again later: the newer stays, nothing refused
        let (_, v) = b.relay(&url, &[&s1.text]);
        assert_eq!(result_of(&v, 0), ("already_there".into(), None));
        // A's own upload of the version it holds, read when its last segment was 2
        let mut own = a.body(vec![v2], &[], &[]);
        own["segment_counter"] = 2.into();
        let (status, v) = a.upload(&url, &own);
        assert_eq!(status, 200);
        assert_eq!(v["results"][0]["status"], "already_there", "{v}");
        // an older version sent after the newer one: the office keeps the newer, and says the
        // record is there (the laptop does not mark it refused)
        let mut old = a.body(vec![v1], &[], &[]);
        old["segment_counter"] = 0.into();
        let (_, v) = a.upload(&url, &old);
        assert_eq!(v["results"][0]["status"], "already_there", "{v}");
        assert_eq!(office_records(&db.url)[&no].1["phone"], phone(4011));
    }
}

/// A revoked laptop's cards it issued before it was lost are genuine: the numbers relayed
/// for it extend its valid range, also for a laptop revoked before its first upload.
#[test]
fn a_revoked_laptops_relayed_numbers_count_in_its_valid_range() {
    for db in test_dbs() {
        let a = Laptop::new(&db.url, "lap-a", 0xA1);
        let b = Laptop::new(&db.url, "lap-b", 0xB2);
        let c = Laptop::new(&db.url, "lap-c", 0xC3);
        let office = office_key(&db.url);
        let server = Server::start(&db.url);
        let url = server.url();
        assert_eq!(b.upload(&url, &b.body(vec![], &[], &[])).0, 200);
        assert_eq!(
            a.upload(&url, &a.body(vec![a.item(501, 1, 501)], &[], &[]))
                .0,
            200
        );
        for name in ["lap-a", "lap-c"] {
            let (o, _) = server_cmd(&["revoke-device", name, "--db", &db.url]);
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        }
        assert_eq!(bundle_key(&url, &a.key_id()).unwrap()["max_seq"], 1);
        let sa = a.segment(
            &office,
            1,
            &a.body(vec![a.item(502, 2, 502), a.item(503, 3, 503)], &[], &[]),
        );
        let sc = c.segment(&office, 1, &c.body(vec![c.item(504, 4, 504)], &[], &[]));
        let (_, v) = b.relay(&url, &[&sa.text, &sc.text]);
        assert_eq!(result_of(&v, 0), ("accepted".into(), None), "{v}");
        assert_eq!(result_of(&v, 1), ("accepted".into(), None), "{v}");
        assert_eq!(
            bundle_key(&url, &a.key_id()).unwrap()["max_seq"],
            3,
            "[{}]",
            db.label
        );
        // C was revoked before it ever uploaded: bound on its proof, and born revoked
        let k = bundle_key(&url, &c.key_id()).expect("C's key");
        assert_eq!(
            (k["device"].as_str(), k["max_seq"].as_u64()),
            (Some("lap-c"), Some(4))
        );
        assert_eq!(office_records(&db.url).len(), 4);
    }
}

/// `booth server import-backup`: a laptop's backup file (its own queue and what it holds for
/// others), each laptop's records under its own device; imported twice, stored once; a file
/// whose signature does not check is refused whole.
#[test]
fn a_backup_file_imported_twice_is_stored_once() {
    for db in test_dbs() {
        let a = Laptop::new(&db.url, "lap-a", 0xA1);
        let b = Laptop::new(&db.url, "lap-b", 0xB2);
        let office = office_key(&db.url);
        let own = b.segment(
            &office,
            4,
            &b.body(vec![b.item(601, 1, 601)], &[], &[day(2)]),
        );
        let held = a.segment(
            &office,
            1,
            &a.body(
                vec![a.item(602, 1, 602), a.item(603, 2, 603)],
                &[],
                &[day(3)],
            ),
        );
        let text = segment::backup_text(
            &b.key,
            &format!("{}T18:00:00+08:00", today()),
            &[own.text.clone(), held.text.clone()],
        );
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("b-backup.json");
        std::fs::write(&file, &text).unwrap();
        let import = || server_cmd(&["import-backup", file.to_str().unwrap(), "--db", &db.url]);
        let (o, v) = import();
        assert!(
            o.status.success(),
            "[{}] {}",
            db.label,
            String::from_utf8_lossy(&o.stderr)
        );
        assert_eq!(v["written_by"], b.key_id());
        assert_eq!(v["records"]["accepted"], 3, "{v}");
        let records = office_records(&db.url);
        assert_eq!(records.len(), 3);
        let devices: Vec<&str> = records.values().map(|(d, _)| d.as_str()).collect();
        assert_eq!(devices.iter().filter(|d| **d == "lap-a").count(), 2);
        assert_eq!(devices.iter().filter(|d| **d == "lap-b").count(), 1);
        assert_eq!(consultations_of(&db.url, "lap-a"), 3);
        assert_eq!(consultations_of(&db.url, "lap-b"), 2);
        // again: every segment already there, nothing added
        let (o, v) = import();
        assert!(o.status.success());
        let statuses: Vec<&str> = v["segments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["status"].as_str().unwrap())
            .collect();
        assert_eq!(statuses, ["already_there", "already_there"], "{v}");
        assert_eq!(office_records(&db.url).len(), 3);
        assert_eq!(members_on_server(&db.url), 3);
        // audited, naming the laptop that wrote the file, never a record
        let (_, audit) = server_cmd(&["audit", "--db", &db.url]);
        assert!(
            audit["entries"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["action"] == "backup.import" && e["target"] == b.key_id()),
            "{audit}"
        );
        // a segment dropped from the file: its writer's signature no longer checks
        let mut cut: Value = serde_json::from_str(&text).unwrap();
        cut["segments"] = json!([held.text]);
        std::fs::write(&file, cut.to_string()).unwrap();
        let (o, v) = import();
        assert!(!o.status.success());
        assert_eq!(v["error"], "bad_backup", "{v}");
    }
}

/// The console's devices page takes a backup file from an admin (a file upload), with the
/// same rules; a viewer cannot.
#[test]
fn an_admin_uploads_a_backup_file_on_the_devices_page() {
    let db = sqlite_db();
    let a = Laptop::new(&db.url, "lap-a", 0xA1);
    let office = office_key(&db.url);
    let seg = a.segment(&office, 1, &a.body(vec![a.item(701, 1, 701)], &[], &[]));
    let text = segment::backup_text(&a.key, "2026-11-24T18:00:00+08:00", &[seg.text]);
    common::console::add_user(&db.url, "admin1", "admin", common::console::ADMIN_PASS);
    common::console::add_user(&db.url, "viewer1", "viewer", common::console::VIEWER_PASS);
    let server = Server::start(&db.url);
    let upload = |web: &mut common::console::Web, csrf: &str| {
        let boundary = "booth-test-boundary";
        let body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; \
             filename=\"backup.json\"\r\nContent-Type: application/json\r\n\r\n{text}\r\n\
             --{boundary}--\r\n"
        );
        let r = web
            .client
            .post(format!("{}/devices/backup", web.base))
            .header(
                "cookie",
                format!("booth_session={}", web.cookie.clone().unwrap()),
            )
            .header("origin", web.base.clone())
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body)
            .send()
            .unwrap();
        (r.status().as_u16(), r.text().unwrap())
    };
    let mut viewer = common::console::Web::new(&server.url());
    assert_eq!(
        viewer.login("viewer1", common::console::VIEWER_PASS).status,
        303
    );
    let csrf = viewer.csrf.clone().unwrap();
    assert_eq!(upload(&mut viewer, &csrf).0, 403);
    assert_eq!(members_on_server(&db.url), 0);

    let mut admin = common::console::Web::new(&server.url());
    assert_eq!(
        admin.login("admin1", common::console::ADMIN_PASS).status,
        303
    );
    let page = admin.get("/devices");
    assert!(page.body.contains("id=\"backup-import\""), "{}", page.body);
    let csrf = admin.csrf.clone().unwrap();
    // without this session's token: refused
    assert_eq!(upload(&mut admin, "not-the-token").0, 403);
    let (status, page) = upload(&mut admin, &csrf);
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("data-count=\"accepted\">1<"), "{page}");
    assert_eq!(members_on_server(&db.url), 1);
    let (status, page) = upload(&mut admin, &csrf);
    assert_eq!(status, 200);
    assert!(page.contains("data-count=\"already_there\">0<"), "{page}");
    assert_eq!(members_on_server(&db.url), 1);
}

/// A device re-issued before its first upload (`add-device --reissue`: its token lost or
/// leaked) proves its key with the new token only: a segment proved with the old token is
/// refused, the same records proved with the new one are taken under the device.
#[test]
fn a_device_reissued_before_its_first_upload_proves_with_its_new_token() {
    for db in test_dbs() {
        let mut a = Laptop::new(&db.url, "lap-a", 0xA1);
        let b = Laptop::new(&db.url, "lap-b", 0xB2);
        let office = office_key(&db.url);
        let server = Server::start(&db.url);
        let url = server.url();
        let old = a.token.clone();
        let (out, v) = server_cmd(&["add-device", "lap-a", "--reissue", "--db", &db.url]);
        assert!(out.status.success(), "{v}");
        a.token = v["token"].as_str().unwrap().to_string();
        assert_ne!(a.token, old);
        // the relay's own upload binds it
        let (status, v) = b.upload(&url, &b.body(vec![b.item(900, 1, 900)], &[], &[]));
        assert_eq!(status, 200, "{v}");

        let body = a.body(vec![a.item(300, 1, 300)], &[], &[]);
        let leaked = a.segment_proved(&office, 1, &body, &old);
        let (status, v) = b.relay(&url, &[&leaked.text]);
        assert_eq!(status, 200, "[{}] {v}", db.label);
        refused_with(&v, 0, "bad_binding_proof");
        assert_eq!(members_on_server(&db.url), 1);
        assert!(bundle_key(&url, &a.key_id()).is_none());

        let proved = a.segment(&office, 2, &body);
        let (_, v) = b.relay(&url, &[&proved.text]);
        assert_eq!(
            result_of(&v, 0),
            ("accepted".into(), None),
            "[{}] {v}",
            db.label
        );
        let no = booth::card::MemberNo::new(&a.key_id(), 1).unwrap();
        assert_eq!(office_records(&db.url)[no.as_str()].0, "lap-a");
        assert_eq!(
            bundle_key(&url, &a.key_id()).expect("bound")["device"],
            "lap-a"
        );
    }
}
