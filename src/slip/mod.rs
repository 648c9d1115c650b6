//! The membership slip: what it says ([`Slip`]), and its renderers — PNG ([`png`]), SVG
//! ([`svg`]), ESC/POS bytes for thermal printers ([`escpos`]) and the terminal ([`terminal`]).
//! Fonts for the images are found by [`font`]; every renderer breaks lines by [`lines`].

pub mod escpos;
pub mod font;
pub mod lines;
pub mod pdf;
pub mod png;
pub mod selection;
pub mod svg;
pub mod terminal;

use crate::card::qr::{QrMatrix, QrTooLong};
use crate::card::{DeviceKey, payload};
use crate::config::Config;
use crate::i18n::Lang;
use crate::member::text::display_safe;
use crate::store::StoredMember;
use crate::t;

/// The slip's text, already made safe for any output (no control or bidi characters), and
/// its QR code.
#[derive(Clone, Debug)]
pub struct Slip {
    pub union: String,
    pub title: String,
    /// "姓名：葛婷婷"
    pub name_line: String,
    /// "会员编号"
    pub member_no_label: String,
    pub member_no: String,
    /// "入会日期：2026-11-24"
    pub date_line: String,
    pub how_to: String,
    pub payload: String,
    pub qr: QrMatrix,
}

#[derive(Debug, thiserror::Error)]
pub enum SlipError {
    #[error(transparent)]
    Issue(#[from] payload::IssueError),
    #[error(transparent)]
    Qr(#[from] QrTooLong),
    #[error("the record was purged; its slip cannot be printed again")]
    Purged,
    #[error("the record was voided; it has no membership card")]
    Voided,
}

impl SlipError {
    pub fn message(&self, lang: Lang) -> String {
        match self {
            SlipError::Purged => t!(lang, "slip.purged").into(),
            SlipError::Voided => t!(lang, "slip.voided").into(),
            other => t!(lang, "slip.error", why = other),
        }
    }
}

impl Slip {
    /// "会员编号：A1B2C3-0001-X" / "Member number: A1B2C3-0001-X".
    pub fn member_no_line(&self) -> String {
        format!("{}{}", self.member_no_label_colon(), self.member_no)
    }

    /// The label with its own language's colon ("Name: …" above is from the same strings).
    pub fn member_no_label_colon(&self) -> String {
        if self.member_no_label.is_ascii() {
            format!("{}: ", self.member_no_label)
        } else {
            format!("{}：", self.member_no_label)
        }
    }

    pub fn new(
        m: &StoredMember,
        config: &Config,
        key: &DeviceKey,
        lang: Lang,
    ) -> Result<Slip, SlipError> {
        // a voided record's code would still verify: no card for it, on paper or screen
        if !m.may_print() {
            return Err(if m.member.is_none() {
                SlipError::Purged
            } else {
                SlipError::Voided
            });
        }
        let member = m.member.as_ref().ok_or(SlipError::Purged)?;
        let payload = m.payload(config.union_short.as_deref(), key)?;
        let qr =
            QrMatrix::encode(&m.qr_text(config.union_short.as_deref(), config.page_url(), key)?)?;
        let safe = |s: &str| display_safe(s).into_owned();
        Ok(Slip {
            union: safe(&m.event.union),
            title: t!(lang, "slip.title").into(),
            name_line: t!(lang, "slip.name", name = safe(&member.name)),
            member_no_label: t!(lang, "slip.member_no").into(),
            member_no: m.member_no.grouped(),
            date_line: t!(lang, "slip.date", date = m.event_date),
            how_to: t!(lang, "slip.how_to").into(),
            payload,
            qr,
        })
    }
}
