//! One module per screen: its state, its keys (a typed list, see [`keys`](super::keys)), its
//! key handling (returning what it wants done) and a render that only reads the state.

pub mod cards;
pub mod dashboard;
pub mod done;
pub mod enrol;
pub mod form;
pub mod import;
pub mod needs;
pub mod overlay;
pub mod peers;
pub mod records;
pub mod settings;
pub mod setup;
pub mod unlock;
pub mod upload;

use super::action::Action;

/// What a screen made of a key.
pub enum Outcome {
    /// Not a key of this screen: the app's own keys (F1, Ctrl-Q…) may have it.
    Pass,
    /// Taken by the screen; nothing for the app to do.
    Taken,
    /// Taken, and the app is to do this.
    Do(Action),
}

impl From<Option<Action>> for Outcome {
    fn from(a: Option<Action>) -> Outcome {
        a.map_or(Outcome::Taken, Outcome::Do)
    }
}
