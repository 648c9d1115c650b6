//! The membership card: member numbers, the device key, the signed QR payload, and the slip
//! renderers (PNG, SVG, ESC/POS, terminal).

pub mod escpos;
pub mod font;
pub mod keys;
pub mod number;
pub mod payload;
pub mod png;
pub mod qr;
pub mod slip;
pub mod svg;
pub mod terminal;

pub use keys::{DeviceKey, KeyRing, TrustedKey};
pub use number::MemberNo;
pub use payload::{Card, PayloadError};
pub use slip::Slip;

use crate::config::Config;
use crate::store::StoredMember;

/// The card of a stored member: its number, the union that registered it (the full name if
/// it fits the payload, else the configured short name), and the registration day.
pub fn card_for(m: &StoredMember, config: &Config) -> Card {
    let union = if payload::check_union_name(&m.event.union).is_ok() {
        m.event.union.clone()
    } else if let Some(short) = &config.union_short {
        short.clone()
    } else {
        // Cut to what fits: 12 Chinese characters.
        let mut s: String = m.event.union.chars().take(12).collect();
        while payload::check_union_name(&s).is_err() && !s.is_empty() {
            s.pop();
        }
        s
    };
    Card {
        member_no: m.member_no.clone(),
        union,
        issued: m.event_date,
    }
}

/// The signed QR payload of a stored member.
pub fn payload_for(
    m: &StoredMember,
    config: &Config,
    key: &DeviceKey,
) -> Result<String, payload::IssueError> {
    payload::issue(&card_for(m, config), key)
}
