//! Every field validator and the whole-record validation, on arbitrary text: never a panic,
//! and an accepted record never holds a hazardous character.
#![no_main]
use booth::member::text::is_hazardous;
use booth::member::{document, name, phone, uscc, validate, DocKind, MemberInput};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let s = String::from_utf8_lossy(data);
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
    for kind in DocKind::ALL {
        let _ = document::parse_document(kind, &s, today);
    }
    let _ = phone::parse_phone(&s);
    let _ = name::parse_name(&s);
    let _ = uscc::parse_uscc(&s);
    let parts: Vec<&str> = s.split('\u{1f}').collect();
    let f = |i: usize| parts.get(i).copied().unwrap_or("").to_string();
    let input = MemberInput {
        name: f(0),
        id_number: f(1),
        phone: f(2),
        employer: f(3),
        consent: data.first().is_some_and(|b| b & 1 == 1),
        ethnicity: f(4),
        political_status: f(5),
        education: f(6),
        occupation: f(7),
        employment_form: f(8),
        migrant_worker: f(9),
        employer_uscc: f(10),
        needs: f(11),
        remarks: f(12),
        ..Default::default()
    };
    if let Ok(v) = validate(&input, today) {
        let m = &v.member;
        for t in [&m.name, &m.employer, &m.phone, &m.document.number] {
            assert!(!t.chars().any(is_hazardous), "accepted a hazardous character");
        }
    }
});
