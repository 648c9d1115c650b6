//! The figures' tables: migration 3 made them, migration 5 added what lets a request read a
//! few thousand aggregate rows at campaign scale (meeting shares, needs as rows, the pick
//! lists, the day totals, indexes for counting employers under a filter).

/// The SQLite migration that adds the figures' tables (empty: see [`Increments`] for how
/// members already held are counted).
pub(crate) const SQLITE_MIGRATION: &str = r#"
    CREATE TABLE booth_days (
        device        TEXT NOT NULL,
        event_date    TEXT NOT NULL,
        union_name    TEXT NOT NULL,
        place         TEXT NOT NULL,
        operator      TEXT NOT NULL,
        consultations INTEGER NOT NULL,
        -- need code -> consultations that named it, as a JSON object
        needs         TEXT NOT NULL,
        registrations INTEGER NOT NULL,
        voids         INTEGER NOT NULL,
        received_at   TEXT NOT NULL,
        PRIMARY KEY (device, event_date, union_name, place)
    );
    CREATE INDEX booth_days_date ON booth_days (event_date);
    CREATE TABLE member_days (
        event_date TEXT NOT NULL,
        union_name TEXT NOT NULL,
        place      TEXT NOT NULL,
        device     TEXT NOT NULL,
        imported   INTEGER NOT NULL,
        n          INTEGER NOT NULL,
        PRIMARY KEY (event_date, union_name, place, device, imported)
    );
    CREATE TABLE member_forms (
        event_date TEXT NOT NULL,
        union_name TEXT NOT NULL,
        place      TEXT NOT NULL,
        device     TEXT NOT NULL,
        form       TEXT NOT NULL,
        n          INTEGER NOT NULL,
        PRIMARY KEY (event_date, union_name, place, device, form)
    );
    CREATE TABLE member_needs (
        event_date TEXT NOT NULL,
        union_name TEXT NOT NULL,
        place      TEXT NOT NULL,
        device     TEXT NOT NULL,
        need       TEXT NOT NULL,
        n          INTEGER NOT NULL,
        PRIMARY KEY (event_date, union_name, place, device, need)
    );
    CREATE TABLE enterprise_days (
        enterprise TEXT NOT NULL,
        event_date TEXT NOT NULL,
        union_name TEXT NOT NULL,
        place      TEXT NOT NULL,
        device     TEXT NOT NULL,
        PRIMARY KEY (enterprise, event_date, union_name, place, device)
    );
    CREATE TABLE enterprises (enterprise TEXT PRIMARY KEY);
"#;

/// The PostgreSQL migration that adds the figures' tables.
pub(crate) const PG_MIGRATION: &str = r#"
    CREATE TABLE booth_days (
        device        TEXT NOT NULL,
        event_date    DATE NOT NULL,
        union_name    TEXT NOT NULL,
        place         TEXT NOT NULL,
        operator      TEXT NOT NULL,
        consultations BIGINT NOT NULL,
        needs         TEXT NOT NULL,
        registrations BIGINT NOT NULL,
        voids         BIGINT NOT NULL,
        received_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
        PRIMARY KEY (device, event_date, union_name, place)
    );
    CREATE INDEX booth_days_date ON booth_days (event_date);
    CREATE TABLE member_days (
        event_date DATE NOT NULL,
        union_name TEXT NOT NULL,
        place      TEXT NOT NULL,
        device     TEXT NOT NULL,
        imported   BOOLEAN NOT NULL,
        n          BIGINT NOT NULL,
        PRIMARY KEY (event_date, union_name, place, device, imported)
    );
    CREATE TABLE member_forms (
        event_date DATE NOT NULL,
        union_name TEXT NOT NULL,
        place      TEXT NOT NULL,
        device     TEXT NOT NULL,
        form       TEXT NOT NULL,
        n          BIGINT NOT NULL,
        PRIMARY KEY (event_date, union_name, place, device, form)
    );
    CREATE TABLE member_needs (
        event_date DATE NOT NULL,
        union_name TEXT NOT NULL,
        place      TEXT NOT NULL,
        device     TEXT NOT NULL,
        need       TEXT NOT NULL,
        n          BIGINT NOT NULL,
        PRIMARY KEY (event_date, union_name, place, device, need)
    );
    CREATE TABLE enterprise_days (
        enterprise TEXT NOT NULL,
        event_date DATE NOT NULL,
        union_name TEXT NOT NULL,
        place      TEXT NOT NULL,
        device     TEXT NOT NULL,
        PRIMARY KEY (enterprise, event_date, union_name, place, device)
    );
    CREATE TABLE enterprises (enterprise TEXT PRIMARY KEY);
"#;

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

/// SQLite migration 5: meeting shares, the summaries' needs as rows, the filter pick lists,
/// and indexes for counting distinct employers under a filter.
pub(crate) const SQLITE_MIGRATION_5: &str = r#"
    ALTER TABLE booth_days ADD COLUMN meeting_share INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE booth_day_needs (
        device     TEXT NOT NULL,
        event_date TEXT NOT NULL,
        union_name TEXT NOT NULL,
        place      TEXT NOT NULL,
        need       TEXT NOT NULL,
        n          INTEGER NOT NULL,
        PRIMARY KEY (device, event_date, union_name, place, need)
    );
    INSERT INTO booth_day_needs
        SELECT b.device, b.event_date, b.union_name, b.place, j.key, j.value
        FROM booth_days b, json_each(b.needs) j WHERE j.type = 'integer' AND j.value > 0;
    CREATE TABLE figure_names (
        kind TEXT NOT NULL,
        name TEXT NOT NULL,
        PRIMARY KEY (kind, name)
    );
    INSERT OR IGNORE INTO figure_names
        SELECT 'union', union_name FROM booth_days UNION SELECT 'union', union_name FROM member_days
        UNION SELECT 'place', place FROM booth_days UNION SELECT 'place', place FROM member_days
        UNION SELECT 'device', device FROM booth_days UNION SELECT 'device', device FROM member_days;
    CREATE TABLE figure_days (
        event_date TEXT NOT NULL,
        -- consultations, registrations, meetings (re-summed from booth_days when a summary
        -- of the day arrives); members, form:CODE, need:CODE (members' increments);
        -- bneed:CODE (consultations' needs, re-summed with the summaries)
        item       TEXT NOT NULL,
        n          INTEGER NOT NULL,
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
"#;

/// PostgreSQL migration 5 (see [`SQLITE_MIGRATION_5`]).
pub(crate) const PG_MIGRATION_5: &str = r#"
    ALTER TABLE booth_days ADD COLUMN meeting_share BIGINT NOT NULL DEFAULT 0;
    CREATE TABLE booth_day_needs (
        device     TEXT NOT NULL,
        event_date DATE NOT NULL,
        union_name TEXT NOT NULL,
        place      TEXT NOT NULL,
        need       TEXT NOT NULL,
        n          BIGINT NOT NULL,
        PRIMARY KEY (device, event_date, union_name, place, need)
    );
    INSERT INTO booth_day_needs
        SELECT b.device, b.event_date, b.union_name, b.place, j.key, j.value::bigint
        FROM booth_days b, jsonb_each(b.needs::jsonb) j
        WHERE jsonb_typeof(j.value) = 'number' AND j.value::bigint > 0;
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
        event_date DATE NOT NULL,
        -- consultations, registrations, meetings (re-summed from booth_days when a summary
        -- of the day arrives); members, form:CODE, need:CODE (members' increments);
        -- bneed:CODE (consultations' needs, re-summed with the summaries)
        item       TEXT NOT NULL,
        n          BIGINT NOT NULL,
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
"#;

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
