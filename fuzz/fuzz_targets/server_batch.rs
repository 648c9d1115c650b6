//! The ingest server's request body: JSON parsing into a batch, then every per-record check
//! (content hash, shared validation). Errors are answers, never panics; the canonical JSON
//! used for content hashes is stable (hashing twice agrees).
#![no_main]
use booth::i18n::Lang;
use booth::protocol::{BatchRequest, canonical_json, content_hash};
use booth::server::ingest;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) {
        assert_eq!(content_hash(&v), content_hash(&v));
        let again: serde_json::Value = serde_json::from_str(&canonical_json(&v)).expect("canonical JSON parses");
        assert_eq!(canonical_json(&again), canonical_json(&v));
    }
    if let Ok(batch) = serde_json::from_slice::<BatchRequest>(data) {
        let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 28).unwrap();
        for (i, item) in batch.records.iter().enumerate() {
            let _ = ingest::check(i, item, today, Lang::En);
        }
        let _ = ingest::check_days(&batch.days, today, Lang::En);
    }
});
