//! Which records get cards in a batch (`booth cards`, and the terminal UI's "print these
//! cards"): all, one booth day, or a list of member numbers; never a voided, purged or revoked
//! record. The selection is member numbers only (a few bytes each): the records are read one
//! at a time as the cards are made, so memory stays flat for any roster.

use chrono::NaiveDate;

use super::{Slip, SlipError};
use crate::card::{DeviceKey, MemberNo};
use crate::config::Config;
use crate::i18n::Lang;
use crate::member::State;
use crate::store::members::{ListFilter, StateFilter};
use crate::store::{Store, StoreError, StoredMember};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Selection {
    All,
    /// The records of one booth day.
    Date(NaiveDate),
    /// These member numbers, in this order.
    Members(Vec<MemberNo>),
}

/// Why a record asked for gets no card.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Skip {
    NotFound,
    Voided,
    /// Its personal data left the laptop after upload and retention.
    Purged,
    /// The office revoked its member number.
    Revoked,
}

impl Skip {
    pub fn code(self) -> &'static str {
        match self {
            Skip::NotFound => "not_found",
            Skip::Voided => "voided",
            Skip::Purged => "purged",
            Skip::Revoked => "revoked",
        }
    }
}

/// The member numbers to make cards for, in order, and those left out with the reason.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Selected {
    pub numbers: Vec<MemberNo>,
    pub skipped: Vec<(MemberNo, Skip)>,
}

/// The office's revocations, as a check on a member number: the numbers the newest trust bundle
/// this laptop received lists as revoked (voided or erased at the office, refused as a
/// duplicate person), and those above a revoked laptop's last valid sequence. A card for them
/// would not verify, so `booth cards` and the TUI leave them out. No bundle yet: none.
pub fn office_revocations(store: &Store) -> impl Fn(&MemberNo) -> bool + use<> {
    let bundle = store.kept_bundle().ok().flatten().and_then(|(_, text)| {
        // checked against the enrolled office key when it was kept; opened again here
        let fp = crate::card::bundle::claimed_fingerprint(&text)?;
        crate::card::bundle::open(&text, &[fp]).ok()
    });
    let (revoked, max_seq) = bundle.map(|b| (b.revoked, b.max_seq)).unwrap_or_default();
    move |no: &MemberNo| {
        revoked.contains(no.as_str()) || max_seq.get(no.device()).is_some_and(|&m| no.seq() > m)
    }
}

fn why_not(m: &StoredMember, revoked: &dyn Fn(&MemberNo) -> bool) -> Option<Skip> {
    // voided here first: the office revokes a number because this laptop voided it
    if m.state == State::Voided {
        Some(Skip::Voided)
    } else if revoked(&m.member_no) {
        Some(Skip::Revoked)
    } else if m.may_print() {
        None
    } else {
        Some(Skip::Purged)
    }
}

/// Resolves a selection against the store. Records the office revoked (`revoked`) and those
/// that may not be printed (voided, purged: [`StoredMember::may_print`]) are left out.
pub fn select(
    store: &Store,
    selection: &Selection,
    revoked: &dyn Fn(&MemberNo) -> bool,
) -> Result<Selected, StoreError> {
    let mut out = Selected::default();
    match selection {
        Selection::Members(numbers) => {
            let mut seen = std::collections::HashSet::new();
            for no in numbers {
                if !seen.insert(no.clone()) {
                    continue;
                }
                match store.get(no)? {
                    None => out.skipped.push((no.clone(), Skip::NotFound)),
                    Some(m) => match why_not(&m, revoked) {
                        None => out.numbers.push(no.clone()),
                        Some(why) => out.skipped.push((no.clone(), why)),
                    },
                }
            }
        }
        Selection::All | Selection::Date(_) => {
            let day = match selection {
                Selection::Date(d) => Some(*d),
                _ => None,
            };
            store.for_each(StateFilter::All, |m| {
                if day.is_some_and(|d| m.event_date != d) {
                    return Ok::<(), StoreError>(());
                }
                match why_not(&m, revoked) {
                    None => out.numbers.push(m.member_no),
                    // voided records were never cards: only a revoked one is worth a line
                    Some(Skip::Revoked) => out.skipped.push((m.member_no, Skip::Revoked)),
                    Some(_) => {}
                }
                Ok(())
            })?;
        }
    }
    Ok(out)
}

/// The records a filter of the records list names (the terminal UI's "print these cards"), on
/// any connection to the store (a worker thread's): the purged are left out silently, the
/// voided (on this laptop) and the revoked (by the office) with their reason, so the panel can
/// say how many of each.
pub fn select_matching(
    conn: &rusqlite::Connection,
    filter: &ListFilter,
    revoked: &dyn Fn(&MemberNo) -> bool,
) -> Result<Selected, StoreError> {
    let mut out = Selected::default();
    crate::store::members::for_each_matching(conn, filter, |m| {
        match why_not(&m, revoked) {
            None => out.numbers.push(m.member_no),
            Some(why @ (Skip::Revoked | Skip::Voided)) => out.skipped.push((m.member_no, why)),
            Some(_) => {}
        }
        Ok::<(), StoreError>(())
    })?;
    Ok(out)
}

/// A line of a members file that is not a member number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadLine {
    pub line: usize,
}

/// Reads a members file: one member number per line, or a CSV whose first column holds them
/// (a header line is skipped). Blank lines and `#` comments are ignored.
pub fn parse_members(text: &str) -> (Vec<MemberNo>, Vec<BadLine>) {
    let mut numbers = Vec::new();
    let mut bad = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_start_matches('\u{feff}').trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let first = line
            .split([',', '\t', ';'])
            .next()
            .unwrap_or("")
            .trim()
            .trim_matches('"');
        match first.parse::<MemberNo>() {
            Ok(no) => numbers.push(no),
            Err(_) if i == 0 => {} // a header
            Err(_) => bad.push(BadLine { line: i + 1 }),
        }
    }
    (numbers, bad)
}

/// The slips of the selected numbers, read and signed one at a time, on any connection to the
/// store (a worker thread's [`Store::second_connection`]).
pub fn slips<'a>(
    conn: &'a rusqlite::Connection,
    config: &'a Config,
    key: &'a DeviceKey,
    lang: Lang,
    numbers: &'a [MemberNo],
) -> impl Iterator<Item = Result<Slip, CardsError>> + 'a {
    numbers.iter().map(move |no| {
        let m = crate::store::members::get_on(conn, no)?.ok_or(CardsError::Vanished)?;
        Ok(Slip::new(&m, config, key, lang)?)
    })
}

#[derive(Debug, thiserror::Error)]
pub enum CardsError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Slip(#[from] SlipError),
    #[error(transparent)]
    Pdf(#[from] super::pdf::PdfError),
    #[error("a record left the store during the run")]
    Vanished,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_files_take_plain_lines_and_csv_first_columns() {
        let a = "5NC0DH-0001-8";
        let (nos, bad) = parse_members(&format!(
            "member_no,name\n{a},葛婷婷\n\n# note\n  {}  \nnot-a-number\n",
            a.to_lowercase()
        ));
        assert_eq!(nos.len(), 2);
        assert_eq!(nos[0], nos[1]);
        assert_eq!(bad, vec![BadLine { line: 6 }]);
    }
}
