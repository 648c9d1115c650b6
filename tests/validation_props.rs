//! Property tests for the validation rules in `booth::member`, through the public API only.
//!
//! Each property states a rule of GB 11643 (resident IDs, ISO 7064 MOD 11-2), the residence
//! permits and foreign PR IDs sharing its layout, passports (ICAO 9303) and the travel permits
//! of Hong Kong, Macao and Taiwan residents, mobile numbers (mainland, +852, +853), names,
//! GB 32100 (USCC), roster headings and document-type wordings, and the character hygiene
//! rules, and lets proptest look for a counterexample.

mod common;

use booth::i18n::Lang;
use booth::member::document::{
    DocKind, Document, Gender, StatedType, check_char, normalize_number, parse_document,
};
use booth::member::name::{normalize_name, parse_name};
use booth::member::phone::mask_phone;
use booth::member::phone::{normalize_phone, parse_phone};
use booth::member::record::{MemberInput, validate};
use booth::member::text::{display_safe, is_hazardous, tidy};
use booth::member::uscc::{normalize_uscc, parse_uscc, uscc_check_char};
use booth::member::{FieldError, Reason};
use booth::roster::columns::recognise;
use chrono::{Datelike, Days, NaiveDate};
use proptest::prelude::*;
use proptest::sample::select;

// ------------------------------------------------------------------------------------ helpers

/// Default case count (256, or `PROPTEST_CASES`), without writing regression files into the
/// source tree: a failure prints its minimal input, which is what a bug report needs.
fn config() -> ProptestConfig {
    ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// The registration date every fixed-date property uses.
fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 24).unwrap()
}

fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// Sixteen years before `today()`: the latest birth date that may join.
fn latest_allowed_birth() -> NaiveDate {
    ymd(2010, 11, 24)
}

/// Real county codes (GB/T 2260), current and abolished (110103 崇文区, 440106 芳村区 naming).
const COUNTIES: &[&str] = &[
    "110101", "110103", "110105", "130102", "210102", "230103", "310115", "320102", "330106",
    "350203", "370102", "420102", "440106", "440305", "500103", "510104", "530102", "610113",
    "650102", "110102",
];

/// Mainland provinces (first two digits) that exist.
const PROVINCES: &[u32] = &[
    11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52,
    53, 54, 61, 62, 63, 64, 65,
];

/// A 17-digit body with its MOD 11-2 check character.
fn with_check(body: &str) -> String {
    assert_eq!(body.len(), 17, "body {body:?}");
    format!("{body}{}", check_char(body.as_bytes()))
}

/// The 18-character number for a six-character prefix, a birth date and a sequence.
fn id_for(prefix: &str, birth: NaiveDate, seq: u16) -> String {
    with_check(&format!("{prefix}{}{seq:03}", birth.format("%Y%m%d")))
}

/// The gender the 17th digit (last of the sequence) encodes: odd for men.
fn gender_of(seq: u16) -> Gender {
    if seq % 2 == 1 {
        Gender::Male
    } else {
        Gender::Female
    }
}

/// Dates from `from` to `to` inclusive.
fn date_between(from: NaiveDate, to: NaiveDate) -> impl Strategy<Value = NaiveDate> {
    let span = (to - from).num_days() as u64;
    (0..=span).prop_map(move |d| from.checked_add_days(Days::new(d)).unwrap())
}

/// A valid resident ID (county, adult birth date, sequence) and its parts.
fn valid_resident_id() -> impl Strategy<Value = (String, NaiveDate, u16)> {
    (
        select(COUNTIES),
        date_between(ymd(1930, 1, 1), latest_allowed_birth()),
        0u16..1000,
    )
        .prop_map(|(county, birth, seq)| (id_for(county, birth, seq), birth, seq))
}

/// Any valid number of the 18-character family: resident ID, HMT permit or foreign PR ID.
fn valid_id_family() -> impl Strategy<Value = String> {
    let birth = || date_between(ymd(1930, 1, 1), latest_allowed_birth());
    prop_oneof![
        valid_resident_id().prop_map(|(id, _, _)| id),
        (
            select(&["810000", "820000", "830000"][..]),
            birth(),
            0u16..1000
        )
            .prop_map(|(p, b, s)| id_for(p, b, s)),
        (select(PROVINCES), 0u16..1000, birth(), 0u16..1000).prop_map(|(p, nat, b, s)| id_for(
            &format!("9{p}{nat:03}"),
            b,
            s
        )),
    ]
}

fn chars_from(alphabet: &'static [char], len: std::ops::Range<usize>) -> BoxedStrategy<String> {
    prop::collection::vec(select(alphabet), len)
        .prop_map(|v| v.into_iter().collect())
        .boxed()
}

fn concat_of(
    fragments: &'static [&'static str],
    len: std::ops::Range<usize>,
) -> BoxedStrategy<String> {
    prop::collection::vec(select(fragments), len)
        .prop_map(|v| v.concat())
        .boxed()
}

/// Full-width form of a printable ASCII character (U+FF01..U+FF5E), U+3000 for a space.
fn full_width(c: char) -> char {
    match c {
        ' ' => '\u{3000}',
        '!'..='~' => char::from_u32(c as u32 + 0xFEE0).unwrap(),
        _ => c,
    }
}

const SEPARATORS: &[&str] = &[
    " ", "-", "\u{3000}", "\u{FF0D}", "\u{2014}", "\u{2010}", "\t", "  ",
];

/// `s` with each character possibly full-width (and `X` possibly lower-case), and separators
/// possibly inserted before each character and at the end.
fn decorate(s: &str) -> impl Strategy<Value = String> + use<> {
    let chars: Vec<char> = s.chars().collect();
    let n = chars.len();
    (
        prop::collection::vec((0u8..4, prop::option::of(select(SEPARATORS))), n),
        prop::option::of(select(SEPARATORS)),
    )
        .prop_map(move |(choices, tail)| {
            let mut out = String::new();
            for (&c, (style, sep)) in chars.iter().zip(choices) {
                if let Some(sep) = sep {
                    out.push_str(sep);
                }
                let c = match style {
                    0 => c,
                    1 => full_width(c),
                    2 => c.to_ascii_lowercase(),
                    _ => full_width(c.to_ascii_lowercase()),
                };
                out.push(c);
            }
            if let Some(tail) = tail {
                out.push_str(tail);
            }
            out
        })
}

fn han_string(len: std::ops::RangeInclusive<usize>) -> impl Strategy<Value = String> {
    prop::collection::vec(0x4E00u32..=0x9FA5, len)
        .prop_map(|v| v.into_iter().map(|u| char::from_u32(u).unwrap()).collect())
}

/// The hazard set of the brief: C0 and C1 controls that are not whitespace, zero-width
/// characters and directional marks, bidi embeddings/overrides and isolates, the BOM.
fn hazard_char() -> impl Strategy<Value = char> {
    let not_ws = |c: &char| !c.is_whitespace();
    prop_oneof![
        (0u32..=0x1F)
            .prop_map(|u| char::from_u32(u).unwrap())
            .prop_filter("whitespace", not_ws),
        (0x7Fu32..=0x9F)
            .prop_map(|u| char::from_u32(u).unwrap())
            .prop_filter("whitespace", not_ws),
        (0x200Bu32..=0x200F).prop_map(|u| char::from_u32(u).unwrap()),
        (0x202Au32..=0x202E).prop_map(|u| char::from_u32(u).unwrap()),
        (0x2066u32..=0x2069).prop_map(|u| char::from_u32(u).unwrap()),
        Just('\u{FEFF}'),
    ]
}

/// Arbitrary strings, and strings built from the pieces the normalisers treat specially (so
/// the interesting cases come up in a few hundred runs).
fn tricky_string() -> BoxedStrategy<String> {
    const PIECES: &[&str] = &[
        "+86",
        "0086",
        "86",
        "＋８６",
        "1",
        "3",
        "8",
        "0",
        "x",
        "X",
        "ｘ",
        "１",
        " ",
        "  ",
        "\t",
        "\n",
        "\u{3000}",
        "-",
        "－",
        "—",
        "(",
        ")",
        ".",
        "．",
        "·",
        "•",
        "・",
        "张",
        "三",
        "𠮷",
        "a",
        "'",
        "\u{1b}",
        "\u{202e}",
        "\u{200b}",
        "\u{85}",
        "\u{a0}",
        "13800138000",
    ];
    prop_oneof![any::<String>(), concat_of(PIECES, 0..12)].boxed()
}

// --------------------------------------------------------------------------- 1. resident IDs

proptest! {
    #![proptest_config(config())]

    /// 1. A real county, an adult birth date and any sequence, with the computed check
    /// character, is a valid resident ID whose facts are the ones put in.
    #[test]
    fn valid_resident_ids_are_accepted((id, birth, seq) in valid_resident_id()) {
        let parsed = parse_document(DocKind::ResidentId, &id, today());
        prop_assert!(parsed.is_ok(), "{id} refused: {parsed:?}");
        let parsed = parsed.unwrap();
        prop_assert_eq!(parsed.document.kind, DocKind::ResidentId, "kind of {}", id);
        prop_assert_eq!(&parsed.document.number, &id, "number of {} changed", id);
        let facts = parsed.facts.expect("an ID carries facts");
        prop_assert_eq!(facts.birth_date, birth, "birth date of {}", id);
        prop_assert_eq!(facts.gender, gender_of(seq), "gender of {} (17th digit)", id);
        let region = facts.region;
        prop_assert!(region.is_some(), "{id}: region of a real county not found");
        prop_assert!(parsed.warnings.is_empty(), "{id}: a real county warned: {:?}", parsed.warnings);
    }

    /// 2. MOD 11-2 catches every single-character substitution.
    #[test]
    fn single_substitutions_are_rejected(
        (id, _, _) in valid_resident_id(),
        pos in 0usize..18,
        pick in 0usize..10,
    ) {
        let mut chars: Vec<char> = id.chars().collect();
        // One of the ten characters of [0-9X] that differ from the one there.
        let others: Vec<char> = "0123456789X".chars().filter(|&c| c != chars[pos]).collect();
        let replacement = others[pick];
        chars[pos] = replacement;
        let changed: String = chars.into_iter().collect();
        let parsed = parse_document(DocKind::ResidentId, &changed, today());
        prop_assert!(parsed.is_err(), "{id} with position {pos} changed to {replacement} accepted: {changed}");
    }

    /// 3. MOD 11-2 catches every transposition of two adjacent different characters.
    #[test]
    fn adjacent_transpositions_are_rejected((id, _, _) in valid_resident_id(), pick in any::<prop::sample::Index>()) {
        let mut chars: Vec<char> = id.chars().collect();
        // One of the adjacent pairs whose characters differ (the county codes used here
        // guarantee there is one).
        let pairs: Vec<usize> = (0..17).filter(|&i| chars[i] != chars[i + 1]).collect();
        prop_assume!(!pairs.is_empty());
        let pos = *pick.get(&pairs);
        chars.swap(pos, pos + 1);
        let swapped: String = chars.into_iter().collect();
        let parsed = parse_document(DocKind::ResidentId, &swapped, today());
        prop_assert!(parsed.is_err(), "{id} with positions {pos} and {} swapped accepted: {swapped}", pos + 1);
    }
}

// ----------------------------------------------------------------------- 4. idempotent forms

proptest! {
    #![proptest_config(config())]

    /// 4. Normalising twice is normalising once: the ID/passport number normaliser.
    #[test]
    fn normalize_number_is_idempotent(s in tricky_string()) {
        let once = normalize_number(&s);
        let twice = normalize_number(&once);
        prop_assert_eq!(&twice, &once, "normalize_number({:?})", s);
    }

    /// 4. The phone normaliser. (Once it stripped only one country code, so "+86+86" changed
    /// again on a second pass.)
    #[test]
    fn normalize_phone_is_idempotent(s in tricky_string()) {
        let once = normalize_phone(&s);
        let twice = normalize_phone(&once);
        prop_assert_eq!(&twice, &once, "normalize_phone({:?})", s);
    }

    /// 4. The name normaliser.
    #[test]
    fn normalize_name_is_idempotent(s in tricky_string()) {
        let once = normalize_name(&s);
        let twice = normalize_name(&once);
        prop_assert_eq!(&twice, &once, "normalize_name({:?})", s);
    }

    /// 4. The USCC normaliser.
    #[test]
    fn normalize_uscc_is_idempotent(s in tricky_string()) {
        let once = normalize_uscc(&s);
        let twice = normalize_uscc(&once);
        prop_assert_eq!(&twice, &once, "normalize_uscc({:?})", s);
    }

    /// 4. The free-text tidier.
    #[test]
    fn tidy_is_idempotent(s in tricky_string()) {
        let once = tidy(&s);
        let twice = tidy(&once);
        prop_assert_eq!(&twice, &once, "tidy({:?})", s);
    }
}

// ----------------------------------------------------------------- 5. decoration is harmless

fn decorated_id() -> impl Strategy<Value = (String, String)> {
    valid_id_family().prop_flat_map(|id| (Just(id.clone()), decorate(&id)))
}

fn valid_phone() -> impl Strategy<Value = String> {
    "1[3-9][0-9]{9}"
}

fn decorated_phone() -> impl Strategy<Value = (String, String)> {
    const PREFIXES: &[&str] = &[
        "",
        "+86",
        "0086",
        "86",
        "+86 ",
        "0086 ",
        "86 ",
        "(+86) ",
        "+86-",
        "＋８６",
        "０086",
        "(0086)",
    ];
    (valid_phone(), select(PREFIXES)).prop_flat_map(|(phone, prefix)| {
        let whole = format!("{prefix}{phone}");
        (Just(phone), decorate(&whole))
    })
}

proptest! {
    #![proptest_config(config())]

    /// 5. Spaces, dashes, full-width digits and a lower-case x do not change an ID.
    #[test]
    fn decorated_ids_are_accepted_unchanged((id, raw) in decorated_id()) {
        prop_assert_eq!(normalize_number(&raw), id.clone(), "normalize_number({:?})", raw);
        let parsed = parse_document(DocKind::ResidentId, &raw, today());
        prop_assert!(parsed.is_ok(), "{raw:?} (for {id}) refused: {parsed:?}");
        prop_assert_eq!(parsed.unwrap().document.number, id, "number parsed from {:?}", raw);
    }

    /// 5. Country code prefixes, spaces, dashes and full-width digits do not change a phone.
    #[test]
    fn decorated_phones_are_accepted_unchanged((phone, raw) in decorated_phone()) {
        prop_assert_eq!(normalize_phone(&raw), phone.clone(), "normalize_phone({:?})", raw);
        prop_assert_eq!(parse_phone(&raw), Ok(phone), "parse_phone({:?})", raw);
    }
}

// ------------------------------------------------------------------------------- 6. phones

proptest! {
    #![proptest_config(config())]

    /// 6. Every 1[3-9] + 9 digits number is a mainland mobile number.
    #[test]
    fn mobile_numbers_are_accepted(phone in valid_phone()) {
        prop_assert_eq!(parse_phone(&phone), Ok(phone.clone()), "parse_phone({})", phone);
    }

    /// 6. Eleven digits not starting 13–19 are refused: for the prefix, or, when they start
    /// with the country code 0086, for the length of what follows it.
    #[test]
    fn wrong_prefixes_are_rejected(phone in prop_oneof!["1[0-2][0-9]{9}", "[02-9][0-9]{10}", "0086[0-9]{7}"]) {
        // eleven digits starting 852/853 are a Hong Kong/Macao number with its country code
        // (or, after 00, a too-short one: refused for its length)
        prop_assume!(!["852", "853", "00852", "00853"].iter().any(|p| phone.starts_with(p)));
        let parsed = parse_phone(&phone);
        // what follows 0086 is read again: another country code is stripped too (0086 0086 …),
        // and a Hong Kong/Macao one (852/853, 00852/00853) makes it such a number, refused for
        // its own 8-digit length (852/853 without 00 only in an eleven-digit number)
        let rest = normalize_phone(&phone);
        if phone.starts_with("0086")
            && ["00852", "00853"].iter().any(|p| rest.starts_with(p))
        {
            prop_assert!(
                matches!(parsed, Err(Reason::Length { expected: 8, .. })),
                "parse_phone({}) = {:?}", phone, parsed
            );
            return Ok(());
        }
        let expected = if phone.starts_with("0086") {
            Reason::Length { expected: 11, actual: rest.len() }
        } else {
            Reason::PhonePrefix
        };
        prop_assert_eq!(parsed.clone(), Err(expected), "parse_phone({}) = {:?}", phone, parsed);
    }

    /// 6. Digit strings of any other length are refused (unless they are 11 digits behind a
    /// country code, which is not this property).
    #[test]
    fn wrong_lengths_are_rejected(phone in "[0-9]{1,30}") {
        prop_assume!(phone.len() != 11);
        let country_code = (phone.len() == 13 && phone.starts_with("86"))
            || (phone.len() == 15 && phone.starts_with("0086"))
            || (phone.len() == 13 && (phone.starts_with("00852") || phone.starts_with("00853")));
        prop_assume!(!country_code);
        let parsed = parse_phone(&phone);
        prop_assert!(parsed.is_err(), "{phone} ({} digits) accepted: {parsed:?}", phone.len());
    }
}

// ------------------------------------------------------------------------------ 7. age rule

proptest! {
    #![proptest_config(config())]

    /// 7. Born less than 16 years before the registration date: too young.
    #[test]
    fn under_sixteen_is_too_young(
        county in select(COUNTIES),
        birth in date_between(latest_allowed_birth().succ_opt().unwrap(), today()),
        seq in 0u16..1000,
    ) {
        let id = id_for(county, birth, seq);
        let parsed = parse_document(DocKind::ResidentId, &id, today());
        prop_assert_eq!(parsed.clone(), Err(Reason::TooYoung { min_age: 16 }), "{} born {} = {:?}", id, birth, parsed);
    }

    /// 7. Born after the registration date: a future birth.
    #[test]
    fn future_birth_is_rejected(
        county in select(COUNTIES),
        birth in date_between(today().succ_opt().unwrap(), ymd(2299, 12, 31)),
        seq in 0u16..1000,
    ) {
        let id = id_for(county, birth, seq);
        let parsed = parse_document(DocKind::ResidentId, &id, today());
        prop_assert_eq!(parsed.clone(), Err(Reason::FutureBirth), "{} born {} = {:?}", id, birth, parsed);
    }

    /// 7. The sixteenth birthday is the first day one may join, and the day before it is not,
    /// whatever the registration date (29 February included).
    #[test]
    fn sixteenth_birthday_is_the_boundary(
        today in date_between(ymd(1950, 1, 1), ymd(2099, 12, 31)),
        county in select(COUNTIES),
        seq in 0u16..1000,
    ) {
        let Some(sixteen) = today.with_year(today.year() - 16) else {
            // 29 February sixteen years before a 29 February that does not exist (2100 − 16
            // is not reached in this range, but keep the property total).
            return Ok(());
        };
        let id = id_for(county, sixteen, seq);
        let parsed = parse_document(DocKind::ResidentId, &id, today);
        prop_assert!(parsed.is_ok(), "{id}, born {sixteen}, refused on {today}: {parsed:?}");
        let day_later = sixteen.succ_opt().unwrap();
        let id = id_for(county, day_later, seq);
        let parsed = parse_document(DocKind::ResidentId, &id, today);
        prop_assert_eq!(parsed.clone(), Err(Reason::TooYoung { min_age: 16 }), "{} born {} on {}: {:?}", id, day_later, today, parsed);
    }

    /// 7. Exactly 16 today (the fixed date).
    #[test]
    fn exactly_sixteen_today_is_accepted(county in select(COUNTIES), seq in 0u16..1000) {
        let id = id_for(county, latest_allowed_birth(), seq);
        let parsed = parse_document(DocKind::ResidentId, &id, today());
        prop_assert!(parsed.is_ok(), "{id} refused: {parsed:?}");
    }
}

// --------------------------------------------------------------------- 8. impossible dates

/// Eight digits that are not a calendar date: month 00 or 13–99, day 00 or 32–99, a day past
/// the end of a 30-day month, 30/31 February, 29 February of a common year.
fn impossible_date() -> impl Strategy<Value = String> {
    let year = 1930u32..=2009;
    prop_oneof![
        (year.clone(), prop_oneof![Just(0u32), 13u32..=99], 1u32..=28)
            .prop_map(|(y, m, d)| format!("{y:04}{m:02}{d:02}")),
        (year.clone(), 1u32..=12, prop_oneof![Just(0u32), 32u32..=99])
            .prop_map(|(y, m, d)| format!("{y:04}{m:02}{d:02}")),
        (year.clone(), select(&[4u32, 6, 9, 11][..])).prop_map(|(y, m)| format!("{y:04}{m:02}31")),
        (year.clone(), 30u32..=31).prop_map(|(y, d)| format!("{y:04}02{d:02}")),
        year.prop_filter("common years", |y| NaiveDate::from_ymd_opt(
            *y as i32, 2, 29
        )
        .is_none())
            .prop_map(|y| format!("{y:04}0229")),
    ]
}

proptest! {
    #![proptest_config(config())]

    /// 8. An impossible birth date with a correct check character is a bad date.
    #[test]
    fn impossible_dates_are_bad_dates(
        county in select(COUNTIES),
        date in impossible_date(),
        seq in 0u16..1000,
    ) {
        let id = with_check(&format!("{county}{date}{seq:03}"));
        let parsed = parse_document(DocKind::ResidentId, &id, today());
        prop_assert_eq!(parsed.clone(), Err(Reason::BadDate), "{} = {:?}", id, parsed);
    }
}

// ------------------------------------------------------------ 9. permits and foreign PR IDs

proptest! {
    #![proptest_config(config())]

    /// 9. A residence permit is recognised by its prefix whatever type was chosen.
    #[test]
    fn hmt_permits_are_classified(
        prefix in select(&["810000", "820000", "830000"][..]),
        birth in date_between(ymd(1930, 1, 1), latest_allowed_birth()),
        seq in 0u16..1000,
        chosen in select(&[DocKind::ResidentId, DocKind::HmtPermit, DocKind::ForeignPermanent][..]),
    ) {
        let id = id_for(prefix, birth, seq);
        let parsed = parse_document(chosen, &id, today());
        prop_assert!(parsed.is_ok(), "{id} as {chosen:?} refused: {parsed:?}");
        let parsed = parsed.unwrap();
        prop_assert_eq!(parsed.document.kind, DocKind::HmtPermit, "{} as {:?}", id, chosen);
        let facts = parsed.facts.expect("a permit carries facts");
        prop_assert_eq!(facts.birth_date, birth, "birth date of {}", id);
        prop_assert_eq!(facts.gender, gender_of(seq), "gender of {}", id);
    }

    /// 9. A 2023 foreign PR ID (9, issuing province, nationality) likewise.
    #[test]
    fn foreign_permanent_ids_are_classified(
        province in select(PROVINCES),
        nationality in 0u16..1000,
        birth in date_between(ymd(1930, 1, 1), latest_allowed_birth()),
        seq in 0u16..1000,
        chosen in select(&[DocKind::ResidentId, DocKind::HmtPermit, DocKind::ForeignPermanent][..]),
    ) {
        let id = id_for(&format!("9{province}{nationality:03}"), birth, seq);
        let parsed = parse_document(chosen, &id, today());
        prop_assert!(parsed.is_ok(), "{id} as {chosen:?} refused: {parsed:?}");
        let parsed = parsed.unwrap();
        prop_assert_eq!(parsed.document.kind, DocKind::ForeignPermanent, "{} as {:?}", id, chosen);
        let facts = parsed.facts.expect("a foreign PR ID carries facts");
        prop_assert_eq!(facts.birth_date, birth, "birth date of {}", id);
        prop_assert_eq!(facts.gender, gender_of(seq), "gender of {}", id);
        prop_assert!(facts.region.is_none(), "{id}: a foreign PR ID has no native region");
    }

    /// 9. (Corollary) A valid number of the ID family typed as a passport is refused as the
    /// wrong type, so it cannot bypass the person check.
    #[test]
    fn id_numbers_are_not_passports(id in valid_id_family()) {
        let parsed = parse_document(DocKind::Passport, &id, today());
        prop_assert_eq!(parsed.clone(), Err(Reason::WrongDocType), "{} as passport: {:?}", id, parsed);
    }
}

// ------------------------------------------------------------------------------ 10. names

proptest! {
    #![proptest_config(config())]

    /// 10. Up to 40 Han characters are a name, unchanged.
    #[test]
    fn han_names_are_accepted_unchanged(name in han_string(1..=40)) {
        prop_assert_eq!(parse_name(&name), Ok(name.clone()), "parse_name({})", name);
    }

    /// 10. 41 or more are too long.
    #[test]
    fn long_han_names_are_too_long(name in han_string(41..=120)) {
        let parsed = parse_name(&name);
        prop_assert_eq!(parsed.clone(), Err(Reason::TooLong { max: 40 }), "{} chars: {:?}", name.chars().count(), parsed);
    }

    /// 10. A control, invisible or bidi character anywhere (even after ordinary whitespace) is
    /// a bad character.
    #[test]
    fn names_with_hazards_are_rejected(
        before in han_string(0..=19),
        ws_before in select(&["", " ", "\t", "\n", "\r\n", "\u{3000}"][..]),
        hazard in hazard_char(),
        after in han_string(0..=19),
    ) {
        let name = format!("{before}{ws_before}{hazard}{after}");
        let parsed = parse_name(&name);
        prop_assert!(
            matches!(parsed, Err(Reason::BadChar { .. })),
            "{name:?} (hazard U+{:04X}) = {parsed:?}", hazard as u32
        );
    }
}

// ------------------------------------------------------------------------------- 11. USCC

const USCC_ALPHABET: &[char] = &[
    '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'J',
    'K', 'L', 'M', 'N', 'P', 'Q', 'R', 'T', 'U', 'W', 'X', 'Y',
];

fn valid_uscc() -> impl Strategy<Value = String> {
    chars_from(USCC_ALPHABET, 17..18).prop_map(|body| {
        let check = uscc_check_char(body.as_bytes()).expect("body from the alphabet");
        format!("{body}{check}")
    })
}

proptest! {
    #![proptest_config(config())]

    /// 11. Any body from the alphabet with its check character is a USCC.
    #[test]
    fn valid_usccs_are_accepted(code in valid_uscc()) {
        prop_assert_eq!(parse_uscc(&code), Ok(code.clone()), "parse_uscc({})", code);
        let lower = code.to_ascii_lowercase();
        prop_assert_eq!(parse_uscc(&lower), Ok(code.clone()), "parse_uscc({})", lower);
    }

    /// 11. The mod-31 check catches every substitution within the alphabet.
    #[test]
    fn uscc_substitutions_are_rejected(
        code in valid_uscc(),
        pos in 0usize..18,
        pick in 0usize..30,
    ) {
        let mut chars: Vec<char> = code.chars().collect();
        // One of the thirty characters of the alphabet that differ from the one there.
        let others: Vec<char> = USCC_ALPHABET.iter().copied().filter(|&c| c != chars[pos]).collect();
        let replacement = others[pick];
        chars[pos] = replacement;
        let changed: String = chars.into_iter().collect();
        let parsed = parse_uscc(&changed);
        prop_assert_eq!(parsed.clone(), Err(Reason::CheckChar), "{} changed at {} to {}: {:?}", code, pos, changed, parsed);
    }
}

// ----------------------------------------------------------------- 12. validate never leaks

fn arbitrary_input() -> impl Strategy<Value = MemberInput> {
    let s = any::<String>;
    (
        (
            s(),
            select(&DocKind::ALL[..]),
            s(),
            s(),
            s(),
            any::<bool>(),
            s(),
            s(),
        ),
        (s(), s(), s(), s(), s(), s(), s()),
    )
        .prop_map(
            |(
                (name, doc_type, id_number, phone, employer, consent, ethnicity, political_status),
                (
                    education,
                    occupation,
                    employment_form,
                    migrant_worker,
                    employer_uscc,
                    needs,
                    remarks,
                ),
            )| MemberInput {
                name,
                doc_type,
                id_number,
                phone,
                employer,
                consent,
                ethnicity,
                political_status,
                education,
                occupation,
                employment_form,
                migrant_worker,
                employer_uscc,
                needs,
                remarks,
            },
        )
}

/// Number-like text of at least four consecutive alphanumerics (so that any message containing
/// it really echoes it), with spaces and dashes around: reaches the ID and phone checks.
fn number_like() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9Xx -]{0,3}[0-9Xx]{4,22}[0-9Xx -]{0,3}",
        valid_id_family().prop_map(|id| id[..17].to_string()),
        valid_id_family().prop_map(|id| format!("{}0", &id[..17])),
        valid_id_family().prop_map(|id| id[..15].to_string()),
        "1[0-9]{10,12}",
        "(\\+86|0086)?1[3-9][0-9]{9}[0-9]?",
    ]
}

fn assert_messages_do_not_leak(
    input: &MemberInput,
    errors: &[FieldError],
) -> Result<(), TestCaseError> {
    prop_assert!(!errors.is_empty(), "Err(empty list) for {input:?}");
    for e in errors {
        for lang in Lang::ALL {
            let msg = e.message(lang);
            prop_assert!(!msg.trim().is_empty(), "empty {lang:?} message for {e:?}");
            for (what, raw) in [("id_number", &input.id_number), ("phone", &input.phone)] {
                if raw.chars().count() > 3 {
                    prop_assert!(
                        !msg.contains(raw.as_str()),
                        "{lang:?} message {msg:?} ({:?}) echoes the {what} {raw:?}",
                        e.field
                    );
                }
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    /// 12. `validate` never panics, and its messages are never empty and never echo the ID
    /// number or the phone number.
    #[test]
    fn validate_never_panics_nor_leaks(input in arbitrary_input()) {
        if let Err(errors) = validate(&input, today()) {
            assert_messages_do_not_leak(&input, &errors)?;
        }
    }

    /// 12. The same with number-like ID and phone values, which reach the deeper checks.
    #[test]
    fn validate_never_leaks_number_like_values(
        input in arbitrary_input(),
        id_number in number_like(),
        phone in number_like(),
        doc_type in select(&DocKind::ALL[..]),
    ) {
        let input = MemberInput { id_number, phone, doc_type, ..input };
        if let Err(errors) = validate(&input, today()) {
            assert_messages_do_not_leak(&input, &errors)?;
        }
    }
}

// ---------------------------------------------------------------------- 13. display safety

/// `c` as a `char` (every value below is a scalar value).
fn scalar(u: u32) -> char {
    char::from_u32(u).unwrap()
}

/// What must never reach a screen, written out here from the classes `display_safe` promises
/// to replace (its doc comment), independently of `is_hazardous`, which it is built on: C0
/// and C1 controls (tabs and line breaks too: a screen cell is no layout), zero-width
/// characters and directional marks, line and paragraph separators, bidi embeddings,
/// overrides and isolates, the BOM, tag characters, variation selectors.
fn display_hazard() -> impl Strategy<Value = char> {
    prop_oneof![
        (0x00u32..=0x1F).prop_map(scalar),
        (0x7Fu32..=0x9F).prop_map(scalar),
        (0x200Bu32..=0x200F).prop_map(scalar),
        (0x2028u32..=0x202E).prop_map(scalar),
        (0x2066u32..=0x2069).prop_map(scalar),
        Just('\u{FEFF}'),
        (0xE0000u32..=0xE007F).prop_map(scalar),
        (0xFE00u32..=0xFE0F).prop_map(scalar),
    ]
}

/// Characters names, employers and remarks really hold, shown as they are: printable ASCII,
/// CJK and its extension B (𠮷), CJK punctuation and the middle dot of transcribed names,
/// Latin letters with diacritics, Hangul, Arabic script (Uyghur names), emoji, U+FFFD itself.
fn shown_char() -> impl Strategy<Value = char> {
    prop_oneof![
        (0x20u32..=0x7E).prop_map(scalar),
        (0x4E00u32..=0x9FA5).prop_map(scalar),
        (0x20000u32..=0x2A6DF).prop_map(scalar),
        (0x3001u32..=0x3003).prop_map(scalar),
        Just('·'),
        (0xC0u32..=0xFF).prop_map(scalar),
        (0xAC00u32..=0xD7A3).prop_map(scalar),
        (0x0621u32..=0x064A).prop_map(scalar),
        (0x1F600u32..=0x1F64F).prop_map(scalar),
        Just('\u{FFFD}'),
    ]
}

proptest! {
    #![proptest_config(config())]

    /// 13. `display_safe` replaces every hazard with U+FFFD and leaves everything shown as it
    /// is: the expected output is built with the string, character by character, from which
    /// list each character came.
    #[test]
    fn display_safe_replaces_exactly_the_hazards(
        pairs in prop::collection::vec(
            prop_oneof![
                3 => shown_char().prop_map(|c| (c, c)),
                1 => display_hazard().prop_map(|c| (c, '\u{FFFD}')),
            ],
            0..40,
        )
    ) {
        let s: String = pairs.iter().map(|p| p.0).collect();
        let expected: String = pairs.iter().map(|p| p.1).collect();
        let safe = display_safe(&s);
        prop_assert_eq!(safe.as_ref(), expected.as_str(), "from {:?}", s);
    }

    /// 13. On any text: one character out for each in, each the same or U+FFFD, every control
    /// character (Unicode's Cc, as the standard library knows it) replaced; a second pass
    /// changes nothing.
    #[test]
    fn display_safe_only_replaces(s in prop_oneof![any::<String>(), tricky_string(), ".*[\u{0}-\u{9f}\u{2000}-\u{206f}\u{feff}].*"]) {
        let safe = display_safe(&s);
        prop_assert_eq!(safe.chars().count(), s.chars().count(), "display_safe changes the length of {:?}", s);
        for (c, shown) in s.chars().zip(safe.chars()) {
            prop_assert!(shown == c || shown == '\u{FFFD}', "U+{:04X} became U+{:04X}", c as u32, shown as u32);
            if c.is_control() {
                prop_assert_eq!(shown, '\u{FFFD}', "control U+{:04X} shown in {:?}", c as u32, s);
            }
        }
        let again = display_safe(&safe);
        prop_assert_eq!(again.as_ref(), safe.as_ref());
    }
}

/// 13. The attacks by name: what a terminal would act on is defused, names are untouched.
#[test]
fn display_safe_defuses_the_known_attacks_and_keeps_names() {
    for (raw, shown) in [
        ("\u{1b}[2J", "\u{FFFD}[2J"), // CSI: clear the screen
        ("\u{1b}]0;pwned\u{7}", "\u{FFFD}]0;pwned\u{FFFD}"), // OSC: the window title
        ("\u{9b}31m", "\u{FFFD}31m"), // C1 CSI
        ("葛\u{202E}婷婷", "葛\u{FFFD}婷婷"), // right-to-left override
        ("\u{2066}x\u{2069}", "\u{FFFD}x\u{FFFD}"), // isolates
        ("王\u{200B}芳", "王\u{FFFD}芳"), // zero-width space
        ("\u{FEFF}某公司", "\u{FFFD}某公司"), // BOM
        ("A\u{E0041}", "A\u{FFFD}"),  // tag character
        ("备注\n第二行", "备注\u{FFFD}第二行"), // a line break
    ] {
        assert_eq!(display_safe(raw), shown, "{raw:?}");
    }
    for name in [
        "葛婷婷",
        "𠮷野家",
        "买买提·吐尔逊",
        "José Núñez",
        "김민준",
        "😀",
    ] {
        assert!(
            matches!(display_safe(name), std::borrow::Cow::Borrowed(n) if n == name),
            "{name} changed"
        );
    }
}

// --------------------------------------------------- beyond the brief: hygiene end to end

/// Text fields built from Han characters, letters, whitespace (including tabs and line breaks
/// from spreadsheet cells) and hazardous characters.
fn hazard_rich_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        3 => han_string(1..=3),
        1 => "[a-zA-Z]{1,3}",
        2 => select(&[" ", "\t", "\n", "\r\n", "\u{3000}", "\u{a0}"][..]).prop_map(str::to_string),
        2 => hazard_char().prop_map(|c| c.to_string()),
        1 => select(&["\u{3164}", "\u{115f}", "\u{ffa0}", "\u{ad}", "\u{2028}", "\u{e0041}"][..]).prop_map(str::to_string),
    ];
    prop::collection::vec(piece, 1..8).prop_map(|v| v.concat())
}

fn good_input() -> MemberInput {
    common::GE_TINGTING.input()
}

proptest! {
    #![proptest_config(config())]

    /// Whatever `validate` accepts holds no hazardous character (display_safe is only the
    /// second line of defence). Guards against a fixed bug: the check once looked only at the
    /// first hazardous character and skipped it when that one was whitespace, so
    /// "某公司\n\u{1b}]0;pwned\u{7}" was stored.
    #[test]
    fn accepted_records_hold_no_hazards(
        name in prop_oneof![Just("葛婷婷".to_string()), hazard_rich_text()],
        employer in prop_oneof![Just("某某快递有限公司".to_string()), hazard_rich_text()],
        occupation in prop_oneof![Just(String::new()), hazard_rich_text()],
        remarks in prop_oneof![Just(String::new()), hazard_rich_text()],
        needs in prop_oneof![Just(String::new()), hazard_rich_text()],
    ) {
        let input = MemberInput { name, employer, occupation, remarks, needs, ..good_input() };
        if let Ok(v) = validate(&input, today()) {
            let m = &v.member;
            let d = &m.details;
            let stored = [
                ("name", Some(&m.name)),
                ("employer", Some(&m.employer)),
                ("occupation", d.occupation.as_ref()),
                ("remarks", d.remarks.as_ref()),
                ("needs_other", d.needs_other.as_ref()),
            ];
            for (field, value) in stored {
                if let Some(value) = value {
                    let bad = value.chars().find(|&c| is_hazardous(c));
                    prop_assert!(
                        bad.is_none(),
                        "{field} accepted with U+{:04X}: {value:?} (from {input:?})",
                        bad.map_or(0, |c| c as u32)
                    );
                }
            }
        }
    }

    /// Error messages are printed to terminals and logs: they never carry a hazardous
    /// character (the Reason docs: "controls are named by code point, never echoed"). Guards
    /// against a fixed bug that echoed U+202E RIGHT-TO-LEFT OVERRIDE into a name's message.
    #[test]
    fn error_messages_hold_no_hazards(
        name in hazard_rich_text(),
        employer in hazard_rich_text(),
        employer_uscc in hazard_rich_text(),
        remarks in hazard_rich_text(),
    ) {
        let input = MemberInput { name, employer, employer_uscc, remarks, ..good_input() };
        if let Err(errors) = validate(&input, today()) {
            for e in &errors {
                for lang in Lang::ALL {
                    let msg = e.message(lang);
                    let bad = msg.chars().find(|&c| is_hazardous(c));
                    prop_assert!(
                        bad.is_none(),
                        "{lang:?} message for {:?} carries U+{:04X}: {msg:?} (from {input:?})",
                        e.field,
                        bad.map_or(0, |c| c as u32)
                    );
                }
            }
        }
    }
}

// ------------------------------------------------------------- 14. passports are not a catch-all

fn letter() -> impl Strategy<Value = char> {
    (b'A'..=b'Z').prop_map(char::from)
}

proptest! {
    #![proptest_config(config())]

    /// 14. A resident ID with a letter typed for one of its first 17 digits (O for 0, I for 1,
    /// any letter) is refused as a mistyped ID naming the position and the letter — as a
    /// resident ID, as a passport, and with no type given.
    #[test]
    fn ids_with_a_letter_for_a_digit_are_mistyped_ids(
        (id, _, _) in valid_resident_id(),
        pos in 0usize..17,
        l in letter(),
        lower in any::<bool>(),
    ) {
        let mut chars: Vec<char> = id.chars().collect();
        chars[pos] = l;
        let typo: String = chars.into_iter().collect();
        let typed = if lower { typo.to_lowercase() } else { typo.clone() };
        let want = Err(Reason::LetterInId { position: pos + 1, letter: l });
        prop_assert_eq!(DocKind::unstated(&typed), DocKind::ResidentId, "{}", typed);
        prop_assert_eq!(parse_document(DocKind::ResidentId, &typed, today()).map(|_| ()), want.clone());
        prop_assert_eq!(parse_document(DocKind::Passport, &typed, today()).map(|_| ()), want);
        for lang in Lang::ALL {
            let msg = Reason::LetterInId { position: pos + 1, letter: l }.message(lang);
            prop_assert!(msg.contains(&(pos + 1).to_string()) && msg.contains(l), "{msg}");
            prop_assert!(!msg.contains(&typo), "{msg} echoes the number");
        }
    }

    /// 14. ICAO 9303: five to nine letters and digits (at least one digit) are a passport
    /// number; ten or more never are.
    #[test]
    fn passports_have_at_most_nine_characters(
        n in "[A-Z0-9]{4,8}[0-9]",
        long in "[A-Z][A-Z0-9]{9,20}",
    ) {
        let p = parse_document(DocKind::Passport, &n, today());
        prop_assert!(p.is_ok(), "{} refused: {:?}", n, p);
        prop_assert_eq!(p.unwrap().document.kind, DocKind::Passport);
        prop_assert!(parse_document(DocKind::Passport, &long, today()).is_err(), "{}", long);
        prop_assert_ne!(DocKind::unstated(&long), DocKind::Passport, "{}", long);
    }

    /// 14. A masked passport shows at most its first letter and last two characters.
    #[test]
    fn masked_passports_show_at_most_three_characters(n in "[A-Z][A-Z0-9]{3,7}[0-9]") {
        let d = Document { kind: DocKind::Passport, number: n.clone() };
        let m = d.masked();
        prop_assert_eq!(m.chars().count(), n.chars().count());
        let shown: Vec<(usize, char)> = m.chars().enumerate().filter(|(_, c)| *c != '*').collect();
        prop_assert!(shown.len() <= 3, "{} → {}", n, m);
        let len = n.chars().count();
        for (i, c) in shown {
            prop_assert!(i == 0 || i >= len - 2, "{} → {}: position {}", n, m, i);
            prop_assert_eq!(n.chars().nth(i), Some(c));
        }
    }

    /// 14. Travel permits: H/M + 8 digits (+ 2 for the issue count) for Hong Kong and Macao
    /// residents, 8 digits (+ 2, + a bracketed office code) for Taiwan residents; the person is
    /// the lifelong number, whatever the issue.
    #[test]
    fn travel_permits_keep_their_holder(
        hm in "[HM][0-9]{8}",
        issue in "[0-9]{2}",
        tw in "[0-9]{8}",
        office in "[A-Z0-9]",
    ) {
        let a = parse_document(DocKind::HkMacaoPermit, &hm, today()).unwrap();
        let b = parse_document(DocKind::HkMacaoPermit, &format!("{hm}{issue}"), today()).unwrap();
        prop_assert_eq!(a.document.person_key(), b.document.person_key());
        let c = parse_document(DocKind::TaiwanPermit, &tw, today()).unwrap();
        let d = parse_document(DocKind::TaiwanPermit, &format!("{tw}{issue}({office})"), today()).unwrap();
        prop_assert_eq!(c.document.person_key(), d.document.person_key());
        prop_assert_ne!(a.document.person_key(), c.document.person_key());
    }
}

// ------------------------------------------------------------ 15. Hong Kong and Macao mobiles

proptest! {
    #![proptest_config(config())]

    /// 15. +852 and 8 digits starting 4–9, +853 and 8 digits starting 6, however typed, are
    /// stored as `+852 91234567`; parsing the stored form gives it back.
    #[test]
    fn hong_kong_and_macao_mobiles_are_accepted(
        (code, digits) in prop_oneof![
            "[4-9][0-9]{7}".prop_map(|d| (852u16, d)),
            "6[0-9]{7}".prop_map(|d| (853u16, d)),
        ],
        prefix in select(&["+", "00", "＋", "+ "][..]),
        sep in select(&["", " ", "-", "\u{3000}"][..]),
    ) {
        let raw = format!("{prefix}{code}{sep}{}{sep}{}", &digits[..4], &digits[4..]);
        let stored = format!("+{code} {digits}");
        prop_assert_eq!(parse_phone(&raw), Ok(stored.clone()), "{}", raw);
        prop_assert_eq!(parse_phone(&stored), Ok(stored.clone()));
        prop_assert_eq!(mask_phone(&stored), format!("+{code} ****{}", &digits[4..]));
    }

    /// 15. The phone's error never talks about ID cards, whatever was typed.
    #[test]
    fn phone_errors_never_talk_about_id_cards(raw in prop_oneof![tricky_string(), "[+0-9A-Za-z -]{0,20}"]) {
        if let Err(reason) = parse_phone(&raw) {
            for lang in Lang::ALL {
                let msg = reason.message(lang);
                for word in ["身份证", "证件", "ID", "X"] {
                    prop_assert!(!msg.contains(word), "{:?}: {}", raw, msg);
                }
            }
        }
    }
}

// ---------------------------------------------------- 16. roster headings and document types

fn table_wordings(toml_text: &str) -> Vec<String> {
    let v: toml::Value = toml::from_str(toml_text).unwrap();
    let mut out = Vec::new();
    fn walk(v: &toml::Value, out: &mut Vec<String>) {
        match v {
            toml::Value::String(s) => out.push(s.clone()),
            toml::Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            toml::Value::Table(t) => t.values().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    walk(&v, &mut out);
    out
}

/// A heading as a spreadsheet may carry it: spaces inside, full-width letters, a marker, a
/// bracketed note, a colon.
fn dressed(w: &str) -> impl Strategy<Value = String> + use<> {
    let chars: Vec<char> = w.chars().collect();
    (
        prop::collection::vec((any::<bool>(), any::<bool>()), chars.len()),
        select(&["", "*", "＊", " *"][..]),
        select(&["", "（必填）", "(选填)", "【必填】", "："][..]),
    )
        .prop_map(move |(styles, lead, tail)| {
            let mut out = String::from(lead);
            for (&c, (wide, space)) in chars.iter().zip(styles) {
                if space {
                    out.push('\u{3000}');
                }
                out.push(if wide { full_width(c) } else { c });
            }
            out.push_str(tail);
            out
        })
}

proptest! {
    #![proptest_config(config())]

    /// 16. Every heading of `assets/import/headers.toml`, however dressed, names its field.
    #[test]
    fn dressed_headings_name_the_same_field(
        (plain, dressed) in select(table_wordings(include_str!("../assets/import/headers.toml")))
            .prop_flat_map(|w| (Just(w.clone()), dressed(&w)))
    ) {
        let field = recognise(&plain);
        prop_assert!(field.is_some(), "{plain}");
        prop_assert_eq!(recognise(&dressed), field, "{:?} vs {:?}", dressed, plain);
    }

    /// 16. Every document-type wording of `assets/import/doc_types.toml`, however dressed,
    /// names the same type.
    #[test]
    fn dressed_document_types_name_the_same_type(
        (plain, dressed) in select(table_wordings(include_str!("../assets/import/doc_types.toml")))
            .prop_flat_map(|w| (Just(w.clone()), dressed(&w)))
    ) {
        let stated = StatedType::parse(&plain);
        prop_assert!(stated.is_some(), "{plain}");
        prop_assert_eq!(StatedType::parse(&dressed), stated, "{:?} vs {:?}", dressed, plain);
    }
}

// ----------------------------------------------------------- day summaries at the office

fn need_code() -> impl Strategy<Value = String> {
    prop_oneof![
        select(vec!["legal_aid", "skills", "childcare", "other"]).prop_map(String::from),
        "[a-z_]{1,12}",
    ]
}

fn day_summary() -> impl Strategy<Value = booth::protocol::DaySummary> {
    (
        -3000i64..400,
        prop_oneof![Just("朝阳区总工会".to_string()), ".{0,70}"],
        prop_oneof![
            Just("望京".to_string()),
            Just("亦庄".to_string()),
            ".{0,70}"
        ],
        prop_oneof![Just("李".to_string()), ".{0,50}"],
        0u64..200_000,
        proptest::collection::btree_map(need_code(), 0u64..200_000, 0..4),
        0u64..200_000,
        0u64..200_000,
    )
        .prop_map(
            |(offset, union, place, operator, consultations, needs, registrations, voids)| {
                booth::protocol::DaySummary {
                    date: today() - chrono::Duration::days(offset),
                    union,
                    place,
                    operator,
                    consultations,
                    needs,
                    registrations,
                    voids,
                }
            },
        )
}

proptest! {
    #![proptest_config(config())]

    /// Every summary is stored or refused with a reason, never both and never lost; what is
    /// stored holds the laptop's rules (fields as `config set` keeps them, counts in bounds,
    /// needs of the list and no more than the consultations, one per day, union and place).
    #[test]
    fn day_summaries_stored_hold_the_laptops_rules(
        days in proptest::collection::vec(day_summary(), 0..8),
    ) {
        use booth::member::options::ListKind;
        use booth::protocol::MAX_DAY_COUNT;
        let (stored, refused) = booth::server::ingest::check_days(&days, today(), Lang::En);
        prop_assert_eq!(stored.len() + refused.len(), days.len());
        prop_assert!(refused.iter().all(|r| !r.errors.is_empty()));
        let mut keys = std::collections::HashSet::new();
        for d in &stored {
            prop_assert!(keys.insert((d.date, d.union.clone(), d.place.clone())));
            for text in [&d.union, &d.place, &d.operator] {
                prop_assert!(!text.is_empty() && !text.chars().any(is_hazardous) && tidy(text) == *text);
            }
            prop_assert!(d.union.chars().count() <= 60 && d.place.chars().count() <= 60);
            prop_assert!(d.operator.chars().count() <= 40);
            prop_assert!(d.date <= today() + Days::new(1));
            prop_assert!(d.date >= NaiveDate::from_ymd_opt(2020, 1, 1).unwrap());
            for n in [d.consultations, d.registrations, d.voids] {
                prop_assert!(n <= MAX_DAY_COUNT);
            }
            for (code, n) in &d.needs {
                prop_assert!(ListKind::Needs.by_code(code).is_some());
                prop_assert!(*n > 0 && *n <= d.consultations);
            }
        }
    }
}
