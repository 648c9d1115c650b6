//! The office's time zone (SPEC §14): kept in the database (`booth server init --time-zone`,
//! Asia/Shanghai when never set), so every server and command shows one local time. The
//! database keeps UTC; this turns its times into the office's local time, with the offset
//! wherever a time is written as text (`2026-12-07T20:33:10+08:00`).

use chrono::{DateTime, FixedOffset, Utc};

/// The zone of an office that never chose one.
pub const DEFAULT_ZONE: &str = "Asia/Shanghai";

/// An IANA time zone, as the office set it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Zone(chrono_tz::Tz);

impl Default for Zone {
    fn default() -> Zone {
        Zone(chrono_tz::Asia::Shanghai)
    }
}

impl Zone {
    /// An IANA name (`Asia/Shanghai`, `Asia/Urumqi`, `UTC`); `None` for anything else.
    pub fn parse(name: &str) -> Option<Zone> {
        name.trim().parse::<chrono_tz::Tz>().ok().map(Zone)
    }

    /// The stored value: a zone's name, or nothing (the default).
    pub fn of_stored(name: Option<&str>) -> Zone {
        name.and_then(Zone::parse).unwrap_or_default()
    }

    pub fn name(&self) -> &'static str {
        self.0.name()
    }

    /// A UTC instant in the office's time.
    pub fn at(&self, utc: DateTime<Utc>) -> DateTime<FixedOffset> {
        utc.with_timezone(&self.0).fixed_offset()
    }

    /// A time as the database gives it (RFC 3339, UTC: `utc_text`), in the office's time.
    pub fn of_text(&self, utc_text: &str) -> Option<DateTime<FixedOffset>> {
        DateTime::parse_from_rfc3339(utc_text.trim())
            .ok()
            .map(|t| self.at(t.with_timezone(&Utc)))
    }

    /// RFC 3339 with the office's offset, whole seconds (`2026-12-07T20:33:10+08:00`): the
    /// audit log's JSON and every time written for programs. Text that is not a time stays.
    pub fn rfc3339(&self, utc_text: &str) -> String {
        self.of_text(utc_text)
            .map(|t| t.format("%Y-%m-%dT%H:%M:%S%:z").to_string())
            .unwrap_or_else(|| utc_text.to_string())
    }

    /// A time as a page shows it: `2026-12-07 20:33 +08:00` (minutes are enough to read).
    pub fn shown(&self, utc_text: &str) -> String {
        self.of_text(utc_text)
            .map(|t| t.format("%Y-%m-%d %H:%M %:z").to_string())
            .unwrap_or_else(|| utc_text.to_string())
    }

    /// Today's date in the office (file names, "3 days ago").
    pub fn today(&self) -> chrono::NaiveDate {
        self.at(Utc::now()).date_naive()
    }

    /// Now, for a file's name: `20261207-2033`.
    pub fn stamp(&self) -> String {
        self.at(Utc::now()).format("%Y%m%d-%H%M").to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_from_the_database_reads_as_the_office_time() {
        let z = Zone::default();
        assert_eq!(z.name(), DEFAULT_ZONE);
        assert_eq!(
            z.rfc3339("2026-12-07T12:33:10.123Z"),
            "2026-12-07T20:33:10+08:00"
        );
        assert_eq!(z.shown("2026-12-07T23:59:00Z"), "2026-12-08 07:59 +08:00");
        let utc = Zone::parse("UTC").unwrap();
        assert_eq!(
            utc.rfc3339("2026-12-07T12:33:10Z"),
            "2026-12-07T12:33:10+00:00"
        );
        assert_eq!(Zone::parse("Mars/Olympus"), None);
        assert_eq!(Zone::of_stored(None), Zone::default());
        assert_eq!(z.rfc3339("not a time"), "not a time");
    }
}
