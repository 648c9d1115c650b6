//! The figures' tables: migration 3 made them, migration 5 added what lets a request read a
//! few thousand aggregate rows at campaign scale (meeting shares, needs as rows, the pick
//! lists, the day totals, indexes for counting employers under a filter).
//!
//! The tables are the same on both databases but for their column types ([`Types`]), so each
//! migration is written once and given each database's types.

use std::sync::LazyLock;

/// What differs between the databases in the figures' tables.
pub(crate) struct Types {
    /// `event_date`: SQLite keeps `YYYY-MM-DD` text.
    date: &'static str,
    int: &'static str,
    flag: &'static str,
    /// When a summary arrived (SQLite's server writes it; PostgreSQL's default is now).
    received_at: &'static str,
    /// Migration 5: the stored summaries' needs (a JSON object per row) as rows.
    needs_as_rows: &'static str,
}

const SQLITE: Types = Types {
    date: "TEXT",
    int: "INTEGER",
    flag: "INTEGER",
    received_at: "TEXT NOT NULL",
    needs_as_rows: "SELECT b.device, b.event_date, b.union_name, b.place, j.key, j.value
        FROM booth_days b, json_each(b.needs) j WHERE j.type = 'integer' AND j.value > 0",
};

const POSTGRES: Types = Types {
    date: "DATE",
    int: "BIGINT",
    flag: "BOOLEAN",
    received_at: "TIMESTAMPTZ NOT NULL DEFAULT now()",
    needs_as_rows: "SELECT b.device, b.event_date, b.union_name, b.place, j.key, j.value::bigint
        FROM booth_days b, jsonb_each(b.needs::jsonb) j
        WHERE jsonb_typeof(j.value) = 'number' AND j.value::bigint > 0",
};

/// Migration 11 (SQLite) / 12 (PostgreSQL): the cards the office voided that were booth
/// sign-ups, one row per member, where they were counted (subtracted from 现场入会).
pub(crate) static SQLITE_OFFICE_VOIDS: LazyLock<String> =
    LazyLock::new(|| office_voids_migration(&SQLITE));
pub(crate) static PG_OFFICE_VOIDS: LazyLock<String> =
    LazyLock::new(|| office_voids_migration(&POSTGRES));

fn office_voids_migration(t: &Types) -> String {
    let date = t.date;
    format!(
        r#"
    CREATE TABLE office_voids (
        member_no  TEXT PRIMARY KEY,
        device     TEXT NOT NULL,
        event_date {date} NOT NULL,
        union_name TEXT NOT NULL,
        place      TEXT NOT NULL
    );
    CREATE INDEX office_voids_date ON office_voids (event_date);
"#
    )
}

/// Migration 3 on SQLite (see [`migration_3`]).
pub(crate) static SQLITE_MIGRATION: LazyLock<String> = LazyLock::new(|| migration_3(&SQLITE));
/// Migration 3 on PostgreSQL.
pub(crate) static PG_MIGRATION: LazyLock<String> = LazyLock::new(|| migration_3(&POSTGRES));
/// Migration 5 on SQLite (see [`migration_5`]).
pub(crate) static SQLITE_MIGRATION_5: LazyLock<String> = LazyLock::new(|| migration_5(&SQLITE));
/// Migration 5 on PostgreSQL.
pub(crate) static PG_MIGRATION_5: LazyLock<String> = LazyLock::new(|| migration_5(&POSTGRES));

/// The migration that adds the figures' tables (empty: the members already held are counted
/// right after, by `increments_of_stored`).
fn migration_3(t: &Types) -> String {
    let Types {
        date,
        int,
        flag,
        received_at,
        ..
    } = t;
    format!(
        r#"
    CREATE TABLE booth_days (
        device        TEXT NOT NULL,
        event_date    {date} NOT NULL,
        union_name    TEXT NOT NULL,
        place         TEXT NOT NULL,
        operator      TEXT NOT NULL,
        consultations {int} NOT NULL,
        -- need code -> consultations that named it, as a JSON object
        needs         TEXT NOT NULL,
        registrations {int} NOT NULL,
        voids         {int} NOT NULL,
        received_at   {received_at},
        PRIMARY KEY (device, event_date, union_name, place)
    );
    CREATE INDEX booth_days_date ON booth_days (event_date);
    CREATE TABLE member_days (
        event_date {date} NOT NULL,
        union_name TEXT NOT NULL,
        place      TEXT NOT NULL,
        device     TEXT NOT NULL,
        imported   {flag} NOT NULL,
        n          {int} NOT NULL,
        PRIMARY KEY (event_date, union_name, place, device, imported)
    );
    CREATE TABLE member_forms (
        event_date {date} NOT NULL,
        union_name TEXT NOT NULL,
        place      TEXT NOT NULL,
        device     TEXT NOT NULL,
        form       TEXT NOT NULL,
        n          {int} NOT NULL,
        PRIMARY KEY (event_date, union_name, place, device, form)
    );
    CREATE TABLE member_needs (
        event_date {date} NOT NULL,
        union_name TEXT NOT NULL,
        place      TEXT NOT NULL,
        device     TEXT NOT NULL,
        need       TEXT NOT NULL,
        n          {int} NOT NULL,
        PRIMARY KEY (event_date, union_name, place, device, need)
    );
    CREATE TABLE enterprise_days (
        enterprise TEXT NOT NULL,
        event_date {date} NOT NULL,
        union_name TEXT NOT NULL,
        place      TEXT NOT NULL,
        device     TEXT NOT NULL,
        PRIMARY KEY (enterprise, event_date, union_name, place, device)
    );
    CREATE TABLE enterprises (enterprise TEXT PRIMARY KEY);
"#
    )
}

/// Marks, per booth day row, whether it is the one that counts its meeting: a meeting is a
/// distinct device × date × place with something done (SPEC §8), and one laptop may send a
/// place's day under two unions. The row with the least union name among the active ones
/// carries the meeting, so every grouping but the union's sums `meeting_share` instead of
/// counting distinct triples per request. (The same SQL on both databases.)
pub(crate) const MEETING_SHARE_UPDATE: &str = "UPDATE booth_days SET meeting_share = CASE
        WHEN consultations + registrations > 0 AND union_name = (
            SELECT min(x.union_name) FROM booth_days x
            WHERE x.device = booth_days.device AND x.event_date = booth_days.event_date
              AND x.place = booth_days.place AND x.consultations + x.registrations > 0)
        THEN 1 ELSE 0 END";

/// Migration 5: meeting shares, the summaries' needs as rows, the filter pick lists, and
/// indexes for counting distinct employers under a filter.
fn migration_5(t: &Types) -> String {
    let Types {
        date,
        int,
        needs_as_rows,
        ..
    } = t;
    format!(
        r#"
    ALTER TABLE booth_days ADD COLUMN meeting_share {int} NOT NULL DEFAULT 0;
    CREATE TABLE booth_day_needs (
        device     TEXT NOT NULL,
        event_date {date} NOT NULL,
        union_name TEXT NOT NULL,
        place      TEXT NOT NULL,
        need       TEXT NOT NULL,
        n          {int} NOT NULL,
        PRIMARY KEY (device, event_date, union_name, place, need)
    );
    INSERT INTO booth_day_needs {needs_as_rows};
    CREATE TABLE figure_names (
        kind TEXT NOT NULL,
        name TEXT NOT NULL,
        PRIMARY KEY (kind, name)
    );
    INSERT INTO figure_names
        SELECT 'union', union_name FROM booth_days UNION SELECT 'union', union_name FROM member_days
        UNION SELECT 'place', place FROM booth_days UNION SELECT 'place', place FROM member_days
        UNION SELECT 'device', device FROM booth_days UNION SELECT 'device', device FROM member_days;
    CREATE TABLE figure_days (
        event_date {date} NOT NULL,
        -- consultations, registrations, meetings (re-summed from booth_days when a summary
        -- of the day arrives); members, form:CODE, need:CODE (members' increments);
        -- bneed:CODE (consultations' needs, re-summed with the summaries)
        item       TEXT NOT NULL,
        n          {int} NOT NULL,
        PRIMARY KEY (event_date, item)
    );
    INSERT INTO figure_days (event_date, item, n)
        SELECT event_date, 'members', sum(n) FROM member_days GROUP BY event_date
        UNION ALL SELECT event_date, 'form:' || form, sum(n) FROM member_forms
            GROUP BY event_date, form
        UNION ALL SELECT event_date, 'need:' || need, sum(n) FROM member_needs
            GROUP BY event_date, need;
    CREATE INDEX enterprise_days_date ON enterprise_days (event_date, enterprise);
    CREATE INDEX enterprise_days_union ON enterprise_days (union_name, event_date, enterprise);
    CREATE INDEX enterprise_days_place ON enterprise_days (place, event_date, enterprise);
    CREATE INDEX enterprise_days_device ON enterprise_days (device, event_date, enterprise);
"#
    )
}

/// The day totals of the booth summaries (`figure_days`' booth items) for the days `dates`
/// selects, summed again from `booth_days` and `booth_day_needs`: a replaced summary leaves
/// nothing stale. Two statements (delete, insert); the same SQL on both databases.
pub(crate) fn booth_day_totals(dates: &str) -> [String; 2] {
    [
        format!(
            "DELETE FROM figure_days WHERE {dates} AND (item IN ('consultations',
                'registrations', 'meetings') OR item LIKE 'bneed:%')"
        ),
        format!(
            "INSERT INTO figure_days (event_date, item, n)
                SELECT event_date, 'consultations', sum(consultations) FROM booth_days
                    WHERE {dates} GROUP BY event_date
                UNION ALL SELECT event_date, 'registrations', sum(registrations) FROM booth_days
                    WHERE {dates} GROUP BY event_date
                UNION ALL SELECT event_date, 'meetings', sum(meeting_share) FROM booth_days
                    WHERE {dates} GROUP BY event_date
                UNION ALL SELECT event_date, 'bneed:' || need, sum(n) FROM booth_day_needs
                    WHERE {dates} GROUP BY event_date, need"
        ),
    ]
}
