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
