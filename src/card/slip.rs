//! What a membership slip says, independent of how it is drawn (PNG, SVG, ESC/POS).

use super::qr::{QrMatrix, QrTooLong};
use super::{DeviceKey, payload_for};
use crate::config::Config;
use crate::i18n::Lang;
use crate::member::text::display_safe;
use crate::store::{State, StoredMember};
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
    Issue(#[from] super::payload::IssueError),
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
    pub fn new(
        m: &StoredMember,
        config: &Config,
        key: &DeviceKey,
        lang: Lang,
    ) -> Result<Slip, SlipError> {
        // a voided record's code would still verify: no card for it, on paper or screen
        if m.state == State::Voided {
            return Err(SlipError::Voided);
        }
        let member = m.member.as_ref().ok_or(SlipError::Purged)?;
        let payload = payload_for(m, config, key)?;
        let qr = QrMatrix::encode(&payload)?;
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
