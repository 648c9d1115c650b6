//! The member record and its validation: one place, used unchanged by the form, import, the
//! command line and the ingest server.
//!
//! - [`record`]: what is typed ([`MemberInput`]) and what is stored ([`Member`]); [`validate`].
//! - [`document`]: resident IDs (GB 11643), residence permits, foreign PR IDs, passports.
//! - [`phone`], [`name`], [`uscc`]: the other checked fields.
//! - [`entry`]: typing a record in: when a number is complete, the document type as typed.
//! - [`region`]: GB/T 2260 codes, current and historic. [`options`]: pick lists.
//! - [`text`]: character normalisation and the hazardous-character filter.
//! - [`state`]: a record's life (queued, uploaded, voided, rejected), its booth event, and
//!   what may still be done with it.

pub mod document;
pub mod entry;
pub mod error;
pub mod name;
pub mod options;
pub mod phone;
pub mod record;
pub mod region;
pub mod state;
pub mod text;
pub mod uscc;

pub use document::{DocKind, Document, Gender, IdFacts};
pub use error::{Field, FieldError, Reason, Warning};
pub use record::{Details, Member, MemberInput, Validated, validate};
pub use state::{BoothEvent, State, may_edit, may_print};
