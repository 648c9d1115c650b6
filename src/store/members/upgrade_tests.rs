//! Upgrades of a laptop's data folder (issue 26 item 5, docs/operations.md "Upgrades"): the
//! folder as each earlier booth left it — its keyfile, the SQLCipher database keyed from the
//! passphrase, its schema made by that booth's migrations (append only: the first N of
//! today's are exactly the ones it ran) and its rows as that booth wrote them — unlocked by
//! this booth. The records, the day's figures, the kept trust bundle, the laptop's key and the
//! person hashes survive, and registration goes on where it stopped.

use chrono::NaiveDate;
use rusqlite::{Connection, params};

use super::RegisterError;
use super::register::person_hash;
use super::row::RecordColumns;
use crate::card::{DeviceKey, MemberNo};
use crate::i18n::Lang;
use crate::member::document::check_char;
use crate::member::{BoothEvent, MemberInput, State, Validated, validate};
use crate::store::keyfile::{KdfParams, KeyFile};
use crate::store::schema::{CURRENT, MIGRATIONS};
use crate::store::trust::kept_bundle;
use crate::store::{DB_FILE, Store, apply_key, stats};

const PASS: &[u8] = b"upgrade-passphrase-26";
const DAY: &str = "2026-11-24";
const SECRET: [u8; 32] = [9; 32];
const PEPPER: [u8; 32] = [5; 32];

fn day() -> NaiveDate {
    NaiveDate::parse_from_str(DAY, "%Y-%m-%d").unwrap()
}

fn person(n: u32) -> Validated {
    let body = format!("1101051988{:02}{:02}{:03}", 1 + n % 12, 1 + n % 28, n);
    let input = MemberInput {
        name: ["张伟", "王秀英", "李娜", "刘洋", "陈静"][n as usize % 5].to_string(),
        id_number: format!("{body}{}", check_char(body.as_bytes())),
        phone: format!("138{n:08}"),
        employer: "某某快递有限公司".into(),
        consent: true,
        ..Default::default()
    };
    validate(&input, day()).expect("valid member")
}

fn member_no(seq: u32) -> MemberNo {
    MemberNo::new(DeviceKey::from_secret(&SECRET).key_id(), seq).unwrap()
}

/// The data folder booth left at schema `version`: three members (uploaded, queued, voided),
/// a consultation, the booth's settings, and from version 4 the newest trust bundle kept.
fn old_folder(dir: &std::path::Path, version: i64) {
    let kf = KeyFile::new(
        KdfParams {
            memory_kib: 8 * 1024,
            iterations: 1,
            parallelism: 1,
        },
        Lang::Zh,
    )
    .unwrap();
    kf.write(dir).unwrap();
    let key = kf.derive_key(PASS).unwrap();
    let conn = Connection::open(dir.join(DB_FILE)).unwrap();
    apply_key(&conn, &key).unwrap();
    for (i, sql) in MIGRATIONS.iter().take(version as usize).enumerate() {
        conn.execute_batch(sql).unwrap();
        conn.pragma_update(None, "user_version", (i + 1) as i64)
            .unwrap();
    }
    let device = DeviceKey::from_secret(&SECRET);
    conn.execute(
        "INSERT INTO device (id, secret_key, key_id, pepper, next_seq, created_at)
         VALUES (1, ?1, ?2, ?3, 4, ?4)",
        params![
            device.secret().as_slice(),
            device.key_id(),
            PEPPER.as_slice(),
            format!("{DAY}T08:00:00+08:00")
        ],
    )
    .unwrap();
    for (k, v) in [
        ("union", "朝阳区总工会"),
        ("place", "望京"),
        ("operator", "李"),
    ] {
        conn.execute(
            "INSERT INTO settings (key, value) VALUES (?1, ?2)",
            params![k, v],
        )
        .unwrap();
    }
    for (seq, state) in [(1, "uploaded"), (2, "queued"), (3, "voided")] {
        let v = person(seq);
        let c = RecordColumns::of(&v).unwrap();
        let hash = (state != "voided").then(|| person_hash(&PEPPER, &v.member.document).to_vec());
        let at = format!("{DAY}T1{seq}:00:00+08:00");
        conn.execute(
            "INSERT INTO members (uuid, member_no, person_hash, doc_kind, record, name,
                phone_tail, gender, birth_date, region, employment_form, needs, consent_at,
                union_name, place, event_date, operator, created_at, updated_at, state,
                state_reason, answered_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, '朝阳区总工会',
                '望京', ?14, '李', ?13, ?13, ?15, ?16, ?17)",
            params![
                format!("00000000-0000-4000-8000-00000000000{seq}"),
                member_no(seq).as_str(),
                hash,
                c.doc_kind,
                c.record,
                c.name,
                c.phone_tail,
                c.gender,
                c.birth_date,
                c.region,
                c.employment_form,
                c.needs,
                at,
                DAY,
                state,
                (state == "voided").then_some("登记错了"),
                (state == "uploaded").then(|| format!("{DAY}T20:00:00+08:00")),
            ],
        )
        .unwrap();
    }
    conn.execute(
        "INSERT INTO consultations (at, event_date) VALUES (?1, ?2)",
        params![format!("{DAY}T15:00:00+08:00"), DAY],
    )
    .unwrap();
    if version >= 4 {
        conn.execute(
            "INSERT INTO trust_bundle (id, version, text, received_at) VALUES (1, 7, ?1, ?2)",
            params!["{\"bundle\":7}", format!("{DAY}T21:00:00+08:00")],
        )
        .unwrap();
    }
}

#[test]
fn every_earlier_data_folder_opens_with_its_records_figures_and_bundle() {
    const { assert!(CURRENT >= 7) };
    for version in 1..CURRENT {
        let dir = tempfile::tempdir().unwrap();
        old_folder(dir.path(), version);
        let mut store =
            Store::open(dir.path(), PASS).unwrap_or_else(|e| panic!("version {version}: {e}"));
        let found: i64 = store
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(found, CURRENT, "version {version}");
        assert_eq!(
            store.device_key().key_id(),
            DeviceKey::from_secret(&SECRET).key_id(),
            "version {version}: the laptop's key"
        );

        // the records as they were
        for (seq, state) in [(1, State::Uploaded), (2, State::Queued), (3, State::Voided)] {
            let m = store
                .get(&member_no(seq))
                .unwrap()
                .unwrap_or_else(|| panic!("version {version}: member {seq}"));
            assert_eq!(m.state, state, "version {version}: member {seq}");
            let kept = m.member.expect("personal data kept");
            assert_eq!(kept, person(seq).member, "version {version}: member {seq}");
            assert_eq!(m.event_date, day());
        }
        // the day's figures
        let f = stats::day_figures(&store.conn, day()).unwrap();
        assert_eq!(f.counts.registered, 2, "version {version}");
        assert_eq!(f.counts.consultations, 1, "version {version}");
        assert_eq!(f.counts.queued, 1, "version {version}");
        assert_eq!(f.counts.uploaded, 1, "version {version}");
        assert_eq!(f.counts.voided, 1, "version {version}");
        // the bundle kept
        let bundle = kept_bundle(&store.conn).unwrap();
        if version >= 4 {
            assert_eq!(
                bundle,
                Some((7, "{\"bundle\":7}".to_string())),
                "version {version}"
            );
        } else {
            assert_eq!(bundle, None, "version {version}");
        }

        // registration goes on: the next number, and the same person is still known
        let event = BoothEvent {
            union: "朝阳区总工会".into(),
            place: "望京".into(),
            operator: "李".into(),
        };
        let now = crate::store::now();
        let next = store.register(&person(4), &event, &now).unwrap();
        assert_eq!(next.member_no, member_no(4), "version {version}");
        assert!(
            matches!(
                store.register(&person(2), &event, &now),
                Err(RegisterError::Duplicate(_))
            ),
            "version {version}: a person already registered"
        );
        // a voided person may register again
        store.register(&person(3), &event, &now).unwrap();
    }
}
