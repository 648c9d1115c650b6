//! Upgrades of the office database (issue 26 item 5, docs/operations.md "Upgrades"): a SQLite
//! office database as each earlier booth left it — its schema made by that booth's migrations
//! (append only: the first N of today's list are exactly the ones it ran, backfills included)
//! and its rows as that booth's ingest and commands wrote them — opened by this booth. The
//! records, the figures, the bundle's version, office key and revocations, and the laptops'
//! tokens survive unchanged, and the upgraded office takes uploads as before.

use rusqlite::{Connection, params};

use super::{Db, sqlite_schema};
use crate::i18n::Lang;
use crate::member::document::check_char;
use crate::member::{MemberInput, validate};
use crate::protocol::{WireRecord, content_hash};

/// A valid resident ID number for person `n`.
fn id_number(n: u32) -> String {
    let body = format!(
        "1101051985{:02}{:02}{:03}",
        1 + n % 12,
        1 + n % 28,
        n % 1000
    );
    format!("{body}{}", check_char(body.as_bytes()))
}

const DAY: &str = "2026-11-24";
const TOKEN_HASH: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
const OFFICE_KEY: &str = "pm-7u-9mWt8yrEzlxAJM0wDH0YOKCuJrrolstG5GYrg";

/// A stored record as the ingest of every version wrote it: the wire record's JSON, its
/// content hash and the person key.
fn record(n: u32) -> (String, String, String, String) {
    let day = chrono::NaiveDate::parse_from_str(DAY, "%Y-%m-%d").unwrap();
    let input = MemberInput {
        name: ["张伟", "王秀英", "李娜", "刘洋"][n as usize % 4].to_string(),
        id_number: id_number(n),
        phone: format!("139{n:08}"),
        employer: "某某快递有限公司".into(),
        consent: true,
        ..Default::default()
    };
    let member = validate(&input, day).expect("valid member").member;
    let person_key = member.document.person_key();
    let ts = format!("{DAY}T10:00:00+08:00");
    let wire = serde_json::to_value(WireRecord {
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
    let hash = content_hash(&wire);
    let text = serde_json::to_string(&wire).unwrap();
    (text, hash, person_key, format!("62BY5Q-{n:04}-0"))
}

/// The office database booth left at schema `version`, with a laptop, three members and,
/// from version 2 (the trust chain), the office key, a bundle at version 7 and one revoked
/// number.
fn old_office(path: &std::path::Path, version: i64) {
    let mut conn = Connection::open(path).unwrap();
    sqlite_schema::migrate_to(&mut conn, version).unwrap();
    conn.execute(
        "INSERT INTO devices (name, token_hash, created_at) VALUES ('lap-a', ?1, ?2)",
        params![TOKEN_HASH, format!("{DAY}T08:00:00Z")],
    )
    .unwrap();
    for n in 1..=3 {
        let (text, hash, person_key, member_no) = record(n);
        conn.execute(
            "INSERT INTO members (uuid, member_no, person_key, content_hash, record, device,
                batch_id, event_date, received_at)
             VALUES (?1, ?2, ?3, ?4, ?5, 'lap-a', 'b1', ?6, ?7)",
            params![
                format!("00000000-0000-4000-8000-00000000000{n}"),
                member_no,
                person_key,
                hash,
                text,
                DAY,
                format!("{DAY}T20:00:00Z")
            ],
        )
        .unwrap();
    }
    if version >= 3 {
        // the ingest of a booth with the figures' tables counted each record as it came:
        // what today's ingest writes, but for figure_days, which came with migration 5; at
        // schema 3 and 4 today's code writes that one into a temporary table, dropped after
        let early = version < 5;
        if early {
            conn.execute_batch(EARLY_FIGURE_DAYS).unwrap();
        }
        let tx = conn.transaction().unwrap();
        sqlite_schema::backfill_figures(&tx).unwrap();
        tx.commit().unwrap();
        if early {
            conn.execute_batch(EARLY_DROP).unwrap();
        }
    }
    if version >= 2 {
        conn.execute_batch(&format!(
            "UPDATE office SET bundle_version = 7, bundle_issued_at = '{DAY}T21:00:00Z',
                 office_key = '{OFFICE_KEY}', server_url = 'https://booth.office.lan:8443';
             INSERT INTO revoked (member_no, reason, source, revoked_at)
                 VALUES ('62BY5Q-0099-0', '登记错了', 'office', '{DAY}T21:00:00Z');"
        ))
        .unwrap();
    }
    let found: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(found, version);
}

/// Where today's ingest code puts a day's totals and the pick lists' names (migration 5),
/// as temporary tables for an office database of schema 3 or 4.
const EARLY_FIGURE_DAYS: &str = "CREATE TEMP TABLE figure_days (
        event_date TEXT NOT NULL, item TEXT NOT NULL, n BIGINT NOT NULL, UNIQUE (event_date, item));
    CREATE TEMP TABLE figure_names (kind TEXT NOT NULL, name TEXT NOT NULL, UNIQUE (kind, name))";
/// What [`EARLY_FIGURE_DAYS`] made, dropped.
const EARLY_DROP: &str = "DROP TABLE figure_days; DROP TABLE figure_names";

#[tokio::test(flavor = "multi_thread")]
async fn every_earlier_office_database_opens_with_its_records_figures_and_bundle() {
    let supported = sqlite_schema::supported();
    assert!(supported >= 6, "{supported}");
    for version in 1..supported {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("office.db");
        old_office(&path, version);
        let db = Db::open(&format!("sqlite:{}", path.display()))
            .await
            .unwrap_or_else(|e| panic!("version {version}: {e}"));
        let now: i64 = {
            let conn = Connection::open(&path).unwrap();
            conn.query_row("PRAGMA user_version", [], |r| r.get(0))
                .unwrap()
        };
        assert_eq!(now, supported, "version {version} upgraded");

        // the records as stored, and the figures counted from them
        let stats = db.stats(Lang::En, "root").await.unwrap();
        assert_eq!(stats.members, 3, "version {version}");
        // the figures: members by day and employers (booth sign-ups come from day summaries,
        // which no booth before the figures sent)
        assert_eq!(stats.by_day.len(), 1, "version {version}");
        assert_eq!(stats.by_day[0].date, DAY, "version {version}");
        assert_eq!(stats.by_day[0].counts.members, 3, "version {version}");
        assert_eq!(stats.enterprises, 1, "version {version}");
        let (text, hash, ..) = record(2);
        let stored: (String, String) = {
            let conn = Connection::open(&path).unwrap();
            conn.query_row(
                "SELECT record, content_hash FROM members WHERE member_no = '62BY5Q-0002-0'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap()
        };
        assert_eq!(stored, (text, hash), "version {version}");
        // the laptop's token still opens its uploads
        assert_eq!(
            db.device_for_token(TOKEN_HASH.into()).await.unwrap(),
            Some("lap-a".into()),
            "version {version}"
        );
        let state = db.office_state().await.unwrap();
        let (_, revoked) = db.bundle_rows().await.unwrap();
        if version >= 2 {
            // the bundle laptops hold: same version, key and revocations
            assert_eq!(state.version, 7, "version {version}");
            assert_eq!(state.office_key.as_deref(), Some(OFFICE_KEY));
            assert_eq!(revoked, vec!["62BY5Q-0099-0".to_string()]);
        } else {
            assert_eq!(state.version, 1, "version {version}");
            assert!(revoked.is_empty());
        }
        // and the console finds an older record by name (search keys filled at open)
        let conn = Connection::open(&path).unwrap();
        let named: i64 = conn
            .query_row(
                "SELECT count(*) FROM members WHERE s_name IS NOT NULL",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(named, 3, "version {version}");
    }
}

/// The test cluster's URL (`BOOTH_TEST_PG_URL`); `None` skips a PostgreSQL test, except under
/// CI, which sets it.
pub(super) fn test_pg_base() -> Option<String> {
    let Ok(base) = std::env::var("BOOTH_TEST_PG_URL") else {
        assert!(
            std::env::var("CI").is_err(),
            "BOOTH_TEST_PG_URL is required under CI"
        );
        eprintln!("SKIPPED: BOOTH_TEST_PG_URL is unset");
        return None;
    };
    Some(base)
}

/// A new database on the test cluster (`BOOTH_TEST_PG_URL`), its URL.
pub(super) async fn fresh_pg(base: &str) -> String {
    let mut r = [0u8; 8];
    getrandom::fill(&mut r).unwrap();
    let name = format!("booth_up_{}", data_encoding::HEXLOWER.encode(&r));
    let (client, conn) = tokio_postgres::connect(base, tokio_postgres::NoTls)
        .await
        .expect("connect to BOOTH_TEST_PG_URL");
    let task = tokio::spawn(conn);
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    drop(client);
    let _ = task.await;
    let (prefix, _) = base.rsplit_once('/').expect("URL with a database name");
    format!("{prefix}/{name}")
}

/// The PostgreSQL office database booth left at schema `version`, as [`old_office`].
async fn old_pg_office(url: &str, version: i64) {
    let db = super::postgres::PgDb::connect(url).unwrap();
    super::postgres_schema::migrate_to(&db, version)
        .await
        .unwrap();
    let mut client = db.client().await.unwrap();
    client
        .execute(
            "INSERT INTO devices (name, token_hash) VALUES ('lap-a', $1)",
            &[&TOKEN_HASH],
        )
        .await
        .unwrap();
    for n in 1..=3 {
        let (text, hash, person_key, member_no) = record(n);
        client
            .execute(
                "INSERT INTO members (uuid, member_no, person_key, content_hash, record, device,
                    batch_id, event_date)
                 VALUES ($1, $2, $3, $4, $5, 'lap-a', 'b1', $6::text::date)",
                &[
                    &format!("00000000-0000-4000-8000-00000000000{n}"),
                    &member_no,
                    &person_key,
                    &hash,
                    &text,
                    &DAY,
                ],
            )
            .await
            .unwrap();
    }
    if version >= 3 {
        // as for SQLite: figure_days a temporary table at schema 3 and 4
        let early = version < 5;
        let tx = client.transaction().await.unwrap();
        if early {
            tx.batch_execute(
                &EARLY_FIGURE_DAYS.replace("TEXT NOT NULL, item", "DATE NOT NULL, item"),
            )
            .await
            .unwrap();
        }
        super::postgres_schema::backfill_figures(&super::conn::PgConn::of_tx(&tx))
            .await
            .unwrap();
        if early {
            tx.batch_execute(EARLY_DROP).await.unwrap();
        }
        tx.commit().await.unwrap();
    }
    if version >= 2 {
        client
            .batch_execute(&format!(
                "UPDATE office SET bundle_version = 7, bundle_issued_at = '{DAY}T21:00:00Z',
                     office_key = '{OFFICE_KEY}', server_url = 'https://booth.office.lan:8443';
                 INSERT INTO revoked (member_no, reason, source)
                     VALUES ('62BY5Q-0099-0', '登记错了', 'office');"
            ))
            .await
            .unwrap();
    }
    assert_eq!(super::postgres_schema::version(&db).await.unwrap(), version);
}

/// The same for PostgreSQL (when `BOOTH_TEST_PG_URL` names a test cluster; CI sets it).
#[tokio::test(flavor = "multi_thread")]
async fn every_earlier_postgres_office_database_opens_with_its_records_figures_and_bundle() {
    let Some(base) = test_pg_base() else {
        return;
    };
    let supported = super::postgres_schema::supported();
    for version in 1..supported {
        let url = fresh_pg(&base).await;
        old_pg_office(&url, version).await;
        let db = Db::open(&url)
            .await
            .unwrap_or_else(|e| panic!("version {version}: {e}"));
        let stats = db.stats(Lang::En, "root").await.unwrap();
        assert_eq!(stats.members, 3, "version {version}");
        assert_eq!(stats.by_day.len(), 1, "version {version}");
        assert_eq!(stats.by_day[0].counts.members, 3, "version {version}");
        assert_eq!(stats.enterprises, 1, "version {version}");
        assert_eq!(
            db.device_for_token(TOKEN_HASH.into()).await.unwrap(),
            Some("lap-a".into()),
            "version {version}"
        );
        let state = db.office_state().await.unwrap();
        let (_, revoked) = db.bundle_rows().await.unwrap();
        if version >= 2 {
            assert_eq!(state.version, 7, "version {version}");
            assert_eq!(state.office_key.as_deref(), Some(OFFICE_KEY));
            assert_eq!(revoked, vec!["62BY5Q-0099-0".to_string()]);
        } else {
            assert_eq!(state.version, 1, "version {version}");
        }
        let Db::Postgres(pg) = &db else {
            unreachable!()
        };
        let client = pg.client().await.unwrap();
        let (text, hash, ..) = record(2);
        let row = client
            .query_one(
                "SELECT record, content_hash, s_name IS NOT NULL FROM members
                 WHERE member_no = '62BY5Q-0002-0'",
                &[],
            )
            .await
            .unwrap();
        assert_eq!(
            (
                row.get::<_, String>(0),
                row.get::<_, String>(1),
                row.get::<_, bool>(2)
            ),
            (text, hash, true),
            "version {version}"
        );
        assert_eq!(
            super::postgres_schema::version(pg).await.unwrap(),
            supported
        );
    }
}
