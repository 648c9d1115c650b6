//! A search by a whole phone or document number: the one rule the member list's search
//! calls ([`rule`]). Searching a whole number tells whether that person is on the list, so
//! a viewer who sees `*******0123` could find the number by trying every one ending so
//! (300 queries at 430/s did). It is an admin's action:
//! - a viewer's is refused, with a message, and recorded (`members.search_refused`);
//! - an admin's is recorded before it runs (`members.search_number`, the number masked) and
//!   limited to [`LIMIT`] per [`WINDOW_SECS`] per admin, counted from those entries (so
//!   every server sharing the database counts the same ones).
//!
//! Counted as whole numbers: a mobile number (11 digits, `1[3-9]…`), an 18-character ID
//! number (resident ID, residence permit, 2023 foreign PR ID: 17 digits and a digit or X)
//! and the older foreign PR ID (3 letters, 12 digits), typed with any spaces, dashes or
//! full-width digits. A phone's last four digits and a name stay everyone's search.

use std::sync::OnceLock;

use crate::member::document::normalize_number;
use crate::server::console::{Viewer, audited, mask};
use crate::server::refusal::Refusal;
use crate::server::state::ServerState;

/// Whole-number searches an admin may make per window.
pub const LIMIT: i64 = 20;
/// The window, in seconds (10 minutes).
pub const WINDOW_SECS: i64 = 600;

/// What a search box's text is, when it is a whole number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FullNumber {
    Phone(String),
    Document(String),
}

impl FullNumber {
    /// The text as a whole phone or document number, if it is one.
    pub fn of(q: &str) -> Option<FullNumber> {
        let n = normalize_number(q);
        let b = n.as_bytes();
        let digits = |r: &[u8]| r.iter().all(u8::is_ascii_digit);
        if b.len() == 11 && digits(b) && b[0] == b'1' && (b'3'..=b'9').contains(&b[1]) {
            return Some(FullNumber::Phone(n));
        }
        let id_family =
            b.len() == 18 && digits(&b[..17]) && (b[17].is_ascii_digit() || b[17] == b'X');
        let old_foreign =
            b.len() == 15 && b[..3].iter().all(u8::is_ascii_uppercase) && digits(&b[3..]);
        (id_family || old_foreign).then_some(FullNumber::Document(n))
    }

    /// The number as the list masks it (`*******8000`, `110*************2X`).
    pub fn masked(&self) -> String {
        match self {
            FullNumber::Phone(p) => mask::phone(p),
            FullNumber::Document(d) => mask::id_number(d),
        }
    }

    /// The audit entry's fields: the kind, and the number masked.
    fn fields(&self) -> [(&'static str, String); 2] {
        match self {
            FullNumber::Phone(_) => [("q", "phone".into()), ("phone", self.masked())],
            FullNumber::Document(_) => [("q", "document".into()), ("document", self.masked())],
        }
    }
}

/// The rule, before the search runs: nothing to say for any other search; a viewer's
/// whole-number search refused (`FullNumberAdminOnly`), an admin's over the limit refused
/// (`FullNumberTooOften`); each recorded, the number masked.
pub async fn rule(state: &ServerState, v: &Viewer, q: &str) -> Result<(), Refusal> {
    let Some(number) = FullNumber::of(q) else {
        return Ok(());
    };
    let entry = |action| {
        number
            .fields()
            .into_iter()
            .fold(v.entry(action, "", 0), |e, (k, val)| e.with(k, val))
    };
    if !v.is_admin() {
        audited(state, entry("members.search_refused")).await?;
        return Err(Refusal::FullNumberAdminOnly);
    }
    // one check and entry at a time in this server, so concurrent requests cannot all pass
    // the count before any is written
    static ONE_AT_A_TIME: OnceLock<tokio::sync::Mutex<()>> = OnceLock::new();
    let _turn = ONE_AT_A_TIME.get_or_init(Default::default).lock().await;
    let since = chrono::Utc::now() - chrono::Duration::seconds(WINDOW_SECS);
    let made = state
        .db
        .audit_count_since(&v.user, "members.search_number", since)
        .await?;
    if made >= LIMIT {
        audited(
            state,
            entry("members.search_refused").with("why", "too_often"),
        )
        .await?;
        return Err(Refusal::FullNumberTooOften);
    }
    audited(state, entry("members.search_number")).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_numbers_are_told_from_other_searches() {
        let phone = Some(FullNumber::Phone("13800138000".into()));
        assert_eq!(FullNumber::of("13800138000"), phone);
        assert_eq!(FullNumber::of("138-0013-8000"), phone);
        assert_eq!(FullNumber::of("１３８ ００１３ ８０００"), phone);
        let id = Some(FullNumber::Document("11010519491231002X".into()));
        assert_eq!(FullNumber::of("11010519491231002x"), id);
        assert!(FullNumber::of("USA123456789012").is_some());
        for other in [
            "0123",
            "8000",
            "张伟",
            "K7M2QX-0042-7",
            "1380013800",
            "12800138000",
            "",
        ] {
            assert_eq!(FullNumber::of(other), None, "{other}");
        }
        let [_, (_, masked)] = FullNumber::Phone("13800138000".into()).fields();
        assert_eq!(masked, "*******8000");
        let [_, (_, masked)] = FullNumber::Document("11010519491231002X".into()).fields();
        assert_eq!(masked, "110*************2X");
    }
}
