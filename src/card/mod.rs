//! The membership card: member numbers, the device key, the signed QR payload, and the slip
//! renderers (PNG, SVG, ESC/POS, terminal).

pub mod keys;
pub mod number;
pub mod payload;

pub use keys::{DeviceKey, KeyRing, TrustedKey};
pub use number::MemberNo;
pub use payload::{Card, PayloadError};
