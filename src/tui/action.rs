//! What a key (or a key binding of the app) asks for. Screens change their own state and
//! return an `Action` for everything else; [`App::update`](super::app::App::update) does it.

use zeroize::Zeroizing;

use super::app::Screen;
use super::screens::setup::SetupData;
use super::workers::SearchReq;
use crate::card::MemberNo;
use crate::i18n::Lang;

#[derive(Clone)]
pub enum Action {
    // ---- the app
    Help,
    Goto(Screen),
    /// Count a person who asked but did not join.
    Tally,
    UndoTally,
    Lock,
    ToggleLanguage,
    /// Ctrl-Q: asks first when a registration would be left unsubmitted.
    Quit,
    /// The question answered yes.
    QuitNow,
    CloseOverlay,

    // ---- first run and the passphrase
    SetupLanguage(Lang),
    CreateFolder(Box<SetupData>),
    /// At start, or to leave the idle lock.
    Unlock(Zeroizing<String>),

    // ---- registration
    /// The form's content changed: save the draft; look the person up if the ID became valid.
    FormChanged,
    Submit,
    AskClearForm,
    ClearForm,
    Reprint(MemberNo),
    NextMember,

    // ---- records
    Search(SearchReq),
    OpenRecord(MemberNo),
    EditRecord(MemberNo),
    VoidRecord(MemberNo, String),

    // ---- upload
    StartUpload,
}
