//! The membership card as a credential: member numbers, the device key, the signed QR payload
//! and its QR matrix; and the chain of trust behind it: the office key, the trust bundle, the
//! enrolment code and the verdicts (docs/trust.md). Uses nothing above `member`; how a card is
//! drawn (PNG, SVG, ESC/POS, terminal) is the `slip` module's business.

pub mod bundle;
pub mod enrol;
pub mod keys;
pub mod number;
pub mod office;
pub mod payload;
pub mod qr;
pub mod seal;
pub mod segment;
pub mod trust;

pub use keys::{DeviceKey, KeyRing, TrustedKey};
pub use number::MemberNo;
pub use payload::{Card, PayloadError, payload_union};
pub use trust::{Trust, Verdict};
