//! The membership card as a credential: member numbers, the device key, the signed QR payload
//! and its QR matrix. Uses nothing above `member`; how a card is drawn (PNG, SVG, ESC/POS,
//! terminal) is the `slip` module's business.

pub mod keys;
pub mod number;
pub mod payload;
pub mod qr;

pub use keys::{DeviceKey, KeyRing, TrustedKey};
pub use number::MemberNo;
pub use payload::{Card, PayloadError, payload_union};
