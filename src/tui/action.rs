//! What a key (or a key binding of the app) asks for. Screens change their own state and
//! return an `Action` for everything else; [`App::update`](super::app::App::update) does it.

use zeroize::Zeroizing;

use super::app::Screen;
use super::screens::setup::SetupData;
use super::workers::SearchReq;
use crate::card::MemberNo;
use crate::i18n::Lang;
use crate::store::members::ListFilter;

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
    /// From the done screen to the form (the card stays at hand until the next submit).
    NextMember,
    /// The last card's whole screen again (F7 where it does not fit beside the form).
    ShowLastCard,
    /// A record's QR code on screen again, from its view in the records (F3).
    ShowRecordCard(MemberNo),

    // ---- records
    Search(SearchReq),
    OpenRecord(MemberNo),
    EditRecord(MemberNo),
    VoidRecord(MemberNo, String),
    /// "Print these cards" for the day or employer the records list is filtered by.
    OpenCards(ListFilter),
    PrintCards(Box<CardsJob>),

    // ---- upload
    /// `plain_http_ok`: the operator said yes to an unencrypted address (asked first).
    StartUpload {
        plain_http_ok: bool,
    },
    /// The enrolment code and certificate file typed on the upload screen.
    Enroll(Box<EnrolInput>),
    /// "导出到U盘": the queue, own and held, sealed to the office, written to this file.
    Backup(std::path::PathBuf),

    // ---- import and settings (no shell on a booth day)
    /// Tab on a path being typed: complete it from the folder.
    CompletePath(String),
    /// Read this roster file (off the UI thread).
    ReadRoster(std::path::PathBuf),
    StartImport,
    /// Stop the import between two chunks.
    StopImport,
    /// Store one setting as `booth config set` does, then move as `then` says.
    SaveSetting {
        key: &'static str,
        value: String,
        then: Then,
    },
    /// A test slip on the printer typed in the settings.
    TestPrint(String),

    /// The peers screen asks the running peer service for something.
    Peers(PeersAction),

    /// Why a key did nothing, for the status line.
    Tell(Notice),
}

/// What the peers screen asks for (SPEC §12).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PeersAction {
    /// Show a new pairing code (the previous one is void).
    NewCode,
    /// Pair with the laptop showing `code`, at `address` or wherever discovery finds it.
    Pair {
        code: String,
        address: Option<String>,
    },
    /// Forget a paired laptop (also a newcomer its operator says is not the one beside).
    Forget(String),
    /// A code that is not 6 digits.
    BadCode,
}

/// Where the cursor goes once a setting is stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Then {
    Next,
    Prev,
    Stay,
    /// Back to the form.
    Leave,
}

/// A batch of cards: whose, and where to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CardsJob {
    pub filter: ListFilter,
    pub output: CardsOutput,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CardsOutput {
    /// Card sheets for a print shop, written to this file.
    Pdf(std::path::PathBuf),
    /// The slips one after another on the booth's printer; `again`: also those an earlier
    /// run printed.
    Printer { again: bool },
}

/// What the upload screen's entry holds when Enter is pressed (checked by the app).
#[derive(Clone)]
pub struct EnrolInput {
    /// Holds the device token.
    pub code: Zeroizing<String>,
    pub ca: String,
}

/// Why a key did nothing (the app words it in the operator's language).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Notice {
    /// Enter on an empty reason for a void.
    VoidNeedsReason,
    /// Ctrl-P on a records list that is not filtered by a day or an employer.
    CardsNeedFilter,
}
