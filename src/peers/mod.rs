//! A booth of several laptops (SPEC §12, docs/trust.md "Peers"): pairing with a code,
//! sessions between paired laptops, same-person marks, replicas of each laptop's queue
//! sealed to the office, and what a laptop uploads or backs up for the others.
//!
//! - [`pairing`]: the 6-digit code, SPAKE2, the exchange of cards and the group.
//! - [`group`]: cards and admissions: who is in the group, vouched for by whom.
//! - [`transport`]: Noise IK sessions with the pinned keys.
//! - [`wire`]: what a session carries; the origin's signed marks.
//! - [`replicate`]: this laptop's segments and marks from its store.
//! - [`service`]: the running service (listener, calls, the store watcher, sessions).
//! - [`discovery`]: mDNS and UDP broadcast.
//! - [`relay`]: sending held segments to the office, and backup files.
//!
//! Sits with `sync` in the layers: uses `store`, `card`, `protocol`, `sync` and below;
//! `commands` and `tui` use it.

pub mod discovery;
pub mod group;
pub mod pairing;
pub mod relay;
pub mod replicate;
pub mod service;
pub mod transport;
pub mod wire;

pub use service::{Handle, Service, Settings, running};
