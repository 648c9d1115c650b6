//! The upload protocol's wire types, shared by the laptop client ([`crate::sync`]) and the
//! ingest server ([`crate::server`]). The contract is `docs/upload-protocol.md` and
//! `docs/openapi.yaml`; change the three together.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::member::Member;

/// Records per request unless `--batch` says otherwise.
pub const DEFAULT_BATCH: usize = 500;
/// The server refuses larger batches (400): one batch is one transaction, and one request
/// should stay well inside the client's time limit.
pub const MAX_RECORDS_PER_BATCH: usize = 5_000;
/// The server refuses more day summaries in one request (400): a laptop has one per booth
/// day and place, so this is years of daily booths.
pub const MAX_DAYS_PER_BATCH: usize = 5_000;
/// The largest count a day summary may carry: far above any booth day (Beijing's meetings
/// averaged a few dozen consulted), low enough that sums over millions of days stay exact.
pub const MAX_DAY_COUNT: u64 = 100_000;

pub const PATH_BATCHES: &str = "/v1/batches";
pub const PATH_HEALTH: &str = "/v1/health";
/// The office's signed trust bundle (docs/trust.md); public, `ETag` = its version.
pub const PATH_BUNDLE: &str = "/v1/bundle";

/// The laptop's Ed25519 public key (unpadded base64url), on every batch request.
pub const HEADER_DEVICE_KEY: &str = "booth-device-key";
/// Strict Ed25519 by that key over [`BATCH_DOMAIN`] ‖ the exact request body bytes.
pub const HEADER_SIGNATURE: &str = "booth-signature";
pub const BATCH_DOMAIN: &[u8] = b"booth-batch/1";

/// Segments a laptop holds for its peers (SPEC §12, docs/trust.md "Peers"): a relay sends
/// them here with its own token and signature; the office takes each on its origin's
/// signature and binding, never on the relay's word.
pub const PATH_SEGMENTS: &str = "/v1/segments";
pub const RELAY_DOMAIN: &[u8] = b"booth-relay/1";
/// Segments one `POST /v1/segments` may carry (413 `too_many_segments` above).
pub const MAX_SEGMENTS_PER_REQUEST: usize = 50;

/// The message a relay's request signature covers.
pub fn relay_message(body: &[u8]) -> Vec<u8> {
    [RELAY_DOMAIN, body].concat()
}

/// `POST /v1/segments`: segments as their origins signed them (`card::segment`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SegmentsRequest {
    pub segments: Vec<String>,
}

/// The office's answer, one per segment: `accepted`, `already_there`, or `refused` with a
/// code (`card::segment::SegmentError::code`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SegmentsResponse {
    pub results: Vec<SegmentResult>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentResult {
    /// The origin's device key (base64url).
    pub origin: String,
    pub counter: u64,
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// What became of the segment's records, for a segment taken now (absent otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub records: Option<SegmentCounts>,
    /// Its day summaries were not applied: the office keeps newer ones of that laptop (a
    /// segment with a higher counter, or the laptop's own upload, came first).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub days_superseded: bool,
}

/// The records of one relayed segment, by what the office did with each (as a batch's
/// answers would say), and its day summaries stored. Counts only: a relay learns nothing of
/// the records it delivered.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentCounts {
    pub accepted: u64,
    pub already_there: u64,
    pub conflict: u64,
    pub duplicate_person: u64,
    pub rejected: u64,
    pub days_stored: u64,
}

/// The message a batch signature covers.
pub fn batch_message(body: &[u8]) -> Vec<u8> {
    [BATCH_DOMAIN, body].concat()
}

/// One record's content as sent: the validated member plus where, when and by whom it was
/// taken. Its canonical JSON is what the content hash covers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireRecord {
    #[serde(flatten)]
    pub member: Member,
    /// RFC 3339 with the laptop's UTC offset, to the second.
    pub consent_at: String,
    pub created_at: String,
    /// The registration date: the server validates with it as "today" (age rule).
    pub event_date: NaiveDate,
    pub union: String,
    pub place: String,
    pub operator: String,
    /// Registered by `booth import` from a staff list, not at the booth: the office counts
    /// it as a member, not as a booth sign-up. Absent (false) for booth sign-ups.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub imported: bool,
}

/// The laptop's current count for one booth day and place (SPEC §8). Each upload sends
/// them all; the office replaces its copy (device × date × place × union) with it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DaySummary {
    pub date: NaiveDate,
    pub union: String,
    pub place: String,
    /// The operator of the day's latest entry.
    pub operator: String,
    /// People who asked but did not join.
    pub consultations: u64,
    /// Need code → consultations that named it.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub needs: BTreeMap<String, u64>,
    /// Booth sign-ups (form or `booth register`) not voided; imports are not counted.
    pub registrations: u64,
    /// Booth sign-ups voided.
    pub voids: u64,
}

/// A day summary the office did not take, and why (the rest of the request stands).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayRejected {
    pub date: NaiveDate,
    pub place: String,
    pub errors: Vec<WireError>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BatchRequest {
    pub batch_id: Uuid,
    pub device_key_id: String,
    pub records: Vec<BatchItem>,
    /// Member numbers voided on the laptop and not yet reported (canonical): the office
    /// revokes them. Only numbers of the signing key.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub voids: Vec<String>,
    /// The laptop key's creation date, for the bundle's `from`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_created: Option<NaiveDate>,
    /// The union name the laptop's cards carry, for the bundle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub union: Option<String>,
    /// The laptop's day summaries (in the first request of an upload, which is sent even
    /// when nothing is queued). Absent from older laptops.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub days: Vec<DaySummary>,
    /// The laptop's segment counter (SPEC §12) when it read these day summaries, on a direct
    /// upload of a laptop in a group: a relayed segment at or below it carries older ones,
    /// and the office then keeps these. Absent in segments (their header has the counter)
    /// and from laptops that never made one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment_counter: Option<u64>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BatchItem {
    pub uuid: Uuid,
    /// Canonical 11 symbols (no dashes).
    pub member_no: String,
    /// Lower-case hex SHA-256 of [`canonical_json`] of `record`.
    pub content_hash: String,
    /// A [`WireRecord`]; kept as a JSON value so one malformed record is answered
    /// `rejected` instead of failing the whole batch.
    pub record: Value,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Accepted,
    AlreadyThere,
    Conflict,
    DuplicatePerson,
    Rejected,
}

impl Status {
    pub fn code(self) -> &'static str {
        match self {
            Status::Accepted => "accepted",
            Status::AlreadyThere => "already_there",
            Status::Conflict => "conflict",
            Status::DuplicatePerson => "duplicate_person",
            Status::Rejected => "rejected",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireError {
    pub field: String,
    pub code: String,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemResult {
    pub uuid: Uuid,
    pub status: Status,
    /// For `duplicate_person`: the member number the office already has for this person.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member_no: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<WireError>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BatchResponse {
    pub batch_id: Uuid,
    pub results: Vec<ItemResult>,
    /// Day summaries stored (each replaced the office's copy).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub days_stored: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub days_rejected: Vec<DayRejected>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// The body of every non-200 answer.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: String,
    pub message: String,
}

/// Canonical JSON (RFC 8785 for the values records hold): object keys sorted by code point,
/// no whitespace, strings escaped minimally (`"`, `\`, and U+0000–U+001F only, the latter as
/// `\b \f \n \r \t` or `\u00xx` lower-case), integers in decimal, `true`/`false`/`null`.
pub fn canonical_json(v: &Value) -> String {
    let mut out = String::with_capacity(512);
    write_canonical(v, &mut out);
    out
}

fn write_canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(map) => {
            // Sorted here rather than trusting the map type: serde_json's `preserve_order`
            // feature, switched on by any crate in the build, would keep insertion order.
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(k, out);
                out.push(':');
                write_canonical(&map[k], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        Value::String(s) => write_string(s, out),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Null => out.push_str("null"),
    }
}

fn write_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Lower-case hex SHA-256 of the canonical JSON.
pub fn content_hash(v: &Value) -> String {
    data_encoding::HEXLOWER.encode(&Sha256::digest(canonical_json(v).as_bytes()))
}

/// Lower-case hex SHA-256 of a device token: all the server keeps of it.
pub fn token_hash(token: &str) -> String {
    data_encoding::HEXLOWER.encode(&Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Found by `cargo fuzz run server_batch`: without serde_json's exact float parsing a
    /// number's canonical form changed on a second pass.
    #[test]
    fn canonical_numbers_are_stable() {
        let v: Value = serde_json::from_str("224.222e45").unwrap();
        let again: Value = serde_json::from_str(&canonical_json(&v)).unwrap();
        assert_eq!(canonical_json(&again), canonical_json(&v));
    }

    #[test]
    fn canonical_form_sorts_keys_and_escapes_minimally() {
        let v = json!({"b": [1, true, null], "a": "引号\"\\\n\u{1}/é", "c": {"z": 0, "y": -3}});
        assert_eq!(
            canonical_json(&v),
            r#"{"a":"引号\"\\\n\u0001/é","b":[1,true,null],"c":{"y":-3,"z":0}}"#
        );
        // Same value, different key order and spacing: same hash.
        let w: Value = serde_json::from_str(
            r#"{ "c": {"y": -3, "z": 0}, "b": [1,true,null], "a": "引号\"\\\n\u0001/é" }"#,
        )
        .unwrap();
        assert_eq!(content_hash(&v), content_hash(&w));
        assert_eq!(content_hash(&v).len(), 64);
    }

    #[test]
    fn wire_record_round_trips() {
        let input = crate::member::MemberInput {
            name: "葛婷婷".into(),
            id_number: "11010519491231002X".into(),
            phone: "13800138000".into(),
            employer: "某公司".into(),
            consent: true,
            needs: "legal_aid,夜校".into(),
            ..Default::default()
        };
        let today = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
        let m = crate::member::validate(&input, today).unwrap().member;
        let r = WireRecord {
            member: m,
            consent_at: "2026-11-24T09:00:00+08:00".into(),
            created_at: "2026-11-24T09:00:00+08:00".into(),
            event_date: today,
            union: "工会".into(),
            place: "望京".into(),
            operator: "李".into(),
            imported: false,
        };
        let v = serde_json::to_value(&r).unwrap();
        let back: WireRecord = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(back, r);
        assert_eq!(v["document"]["number"], "11010519491231002X");
        // a booth sign-up's record is what it was before imports were marked (same hash)
        assert!(v.get("imported").is_none());
        let imported = WireRecord {
            imported: true,
            ..r
        };
        let v = serde_json::to_value(&imported).unwrap();
        assert_eq!(v["imported"], true);
        assert_eq!(serde_json::from_value::<WireRecord>(v).unwrap(), imported);
    }

    /// A request from a laptop that knows no day summaries still parses, and one with them
    /// parses back to what was sent.
    #[test]
    fn day_summaries_are_optional_in_a_batch() {
        let old = r#"{"batch_id":"7f0c2a7e-7c1a-4c55-9d5e-0b6d1c7e2d8f","device_key_id":"R853PE","records":[]}"#;
        let b: BatchRequest = serde_json::from_str(old).unwrap();
        assert!(b.days.is_empty() && b.voids.is_empty());
        let day = DaySummary {
            date: NaiveDate::from_ymd_opt(2026, 11, 24).unwrap(),
            union: "朝阳区总工会".into(),
            place: "望京".into(),
            operator: "李".into(),
            consultations: 3,
            needs: [("legal_aid".to_string(), 2)].into(),
            registrations: 1,
            voids: 0,
        };
        let with = BatchRequest {
            days: vec![day.clone()],
            ..b
        };
        let text = serde_json::to_string(&with).unwrap();
        let back: BatchRequest = serde_json::from_str(&text).unwrap();
        assert_eq!(back.days, vec![day]);
        // counts are unsigned: a negative one is not a request of this shape
        let negative = text.replace("\"consultations\":3", "\"consultations\":-3");
        assert!(serde_json::from_str::<BatchRequest>(&negative).is_err());
    }
}
