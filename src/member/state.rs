//! Where a record is in its life, where it was taken, and what may still be done with it.
//! One function per rule: the store, the command line, the terminal UI and the server all ask
//! here, so they cannot disagree.

use serde::{Deserialize, Serialize};

use crate::i18n::{self, Lang};

/// Where a record is in its life (SPEC §4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Queued,
    Uploaded,
    Voided,
    Rejected,
}

impl State {
    pub const ALL: [State; 4] = [
        State::Queued,
        State::Uploaded,
        State::Voided,
        State::Rejected,
    ];

    pub fn code(self) -> &'static str {
        match self {
            State::Queued => "queued",
            State::Uploaded => "uploaded",
            State::Voided => "voided",
            State::Rejected => "rejected",
        }
    }

    pub fn parse(s: &str) -> Option<State> {
        State::ALL.into_iter().find(|st| st.code() == s)
    }

    pub fn label(self, lang: Lang) -> &'static str {
        i18n::text(lang, &format!("state.{}", self.code()))
    }
}

/// Whether a member's card still holds, as the office sees it (SPEC §14, one word per state
/// everywhere): 有效 / valid; voided on the laptop (已作废 / voided); revoked at the office — a
/// void there, a duplicate person, an erase (已撤销 / revoked).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CardStatus {
    Valid,
    Voided,
    Revoked,
}

impl CardStatus {
    pub const ALL: [CardStatus; 3] = [CardStatus::Valid, CardStatus::Voided, CardStatus::Revoked];

    pub fn code(self) -> &'static str {
        match self {
            CardStatus::Valid => "valid",
            CardStatus::Voided => "voided",
            CardStatus::Revoked => "revoked",
        }
    }

    pub fn parse(s: &str) -> Option<CardStatus> {
        CardStatus::ALL.into_iter().find(|st| st.code() == s)
    }

    /// The same words as the laptop's states: 已作废 is the laptop's own `voided`.
    pub fn label(self, lang: Lang) -> &'static str {
        match self {
            CardStatus::Valid => i18n::text(lang, "status.valid"),
            CardStatus::Voided => State::Voided.label(lang),
            CardStatus::Revoked => i18n::text(lang, "status.revoked"),
        }
    }
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// The booth a record was taken at, and by whom.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoothEvent {
    pub union: String,
    pub place: String,
    pub operator: String,
}

/// Longest union name, place and operator name, in characters (the setup screen, `config set`
/// and the office server all hold records to these).
pub const UNION_MAX_CHARS: usize = 60;
pub const PLACE_MAX_CHARS: usize = 60;
pub const OPERATOR_MAX_CHARS: usize = 40;

impl BoothEvent {
    /// Each field checked as the laptop checks it when it is set (required, no control or
    /// hazardous characters, within its length), and tidied the same way. `Err` names the
    /// first bad field.
    pub fn checked(&self) -> Result<BoothEvent, (&'static str, crate::member::Reason)> {
        use crate::member::record::free_text;
        let field = |name: &'static str, value: &str, max: usize| match free_text(value, max, true)
        {
            Ok(Some(tidy)) => Ok(tidy),
            Ok(None) => Err((name, crate::member::Reason::Required)),
            Err(reason) => Err((name, reason)),
        };
        Ok(BoothEvent {
            union: field("union", &self.union, UNION_MAX_CHARS)?,
            place: field("place", &self.place, PLACE_MAX_CHARS)?,
            operator: field("operator", &self.operator, OPERATOR_MAX_CHARS)?,
        })
    }
}

/// May the operator still change or void this record? Only before the office has it, and only
/// while its personal data is on the laptop (a purged record has nothing left to edit).
pub fn may_edit(state: State, has_personal_data: bool) -> bool {
    has_personal_data && matches!(state, State::Queued | State::Rejected)
}

/// May this record's card be printed or shown again? Not once voided: its code would still
/// verify. Not once purged: the slip's name is gone.
pub fn may_print(state: State, has_personal_data: bool) -> bool {
    has_personal_data && state != State::Voided
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_fields_are_held_to_the_laptops_rules() {
        let ok = BoothEvent {
            union: "朝阳区总工会".into(),
            place: " 望京  SOHO ".into(),
            operator: "李明".into(),
        };
        assert_eq!(ok.checked().unwrap().place, "望京 SOHO");
        let long = BoothEvent {
            place: "望".repeat(100_000),
            ..ok.clone()
        };
        assert_eq!(long.checked().unwrap_err().0, "place");
        let control = BoothEvent {
            operator: "李\u{1b}[2J\0".into(),
            ..ok.clone()
        };
        assert_eq!(control.checked().unwrap_err().0, "operator");
        let empty = BoothEvent {
            union: " ".into(),
            ..ok
        };
        assert_eq!(empty.checked().unwrap_err().0, "union");
    }

    #[test]
    fn only_queued_and_rejected_records_with_their_data_are_editable() {
        for s in State::ALL {
            assert!(!may_edit(s, false), "{s} purged");
            assert_eq!(
                may_edit(s, true),
                matches!(s, State::Queued | State::Rejected),
                "{s}"
            );
        }
    }

    #[test]
    fn voided_and_purged_records_get_no_card() {
        for s in State::ALL {
            assert!(!may_print(s, false), "{s} purged");
            assert_eq!(may_print(s, true), s != State::Voided, "{s}");
        }
    }
}
