//! What paired laptops say to each other inside a session (JSON, one message per Noise
//! session message). Nothing here is personal: keyed hashes, member numbers, times, sealed
//! segments, signed statements.

use serde::{Deserialize, Serialize};

use crate::store::peers::PersonMark;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub enum Msg {
    /// First message of each side.
    Hello {
        name: String,
        /// Where this laptop listens (its address is the connection's).
        port: u16,
        /// Per origin (device key, base64url): the counter up to which it holds segments.
        have: Vec<(String, u64)>,
        /// The origins' signed marks ("the office has my segments up to N").
        marks: Vec<String>,
        /// The group's admissions this laptop holds.
        members: Vec<String>,
    },
    /// The sender's own same-person marks (all at the start, then each change).
    Persons { marks: Vec<PersonMark> },
    /// Segments, as signed by their origins.
    Segments { texts: Vec<String> },
    /// An origin's signed mark.
    Mark { statement: String },
    /// The group's admissions, and where this laptop last reached each member (a hint
    /// for laptops that never met it), after the group changed.
    Members {
        members: Vec<String>,
        /// (device key base64url, `HOST:PORT`)
        addresses: Vec<(String, String)>,
    },
    /// Sent every few seconds: a session that hears nothing for a while is closed (a cut
    /// cable, a laptop gone) and called again.
    Ping,
}

impl Msg {
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    pub fn from_bytes(b: &[u8]) -> Option<Msg> {
        serde_json::from_slice(b).ok()
    }
}

/// "The office has all my segments up to `acked`", signed by the origin: peers drop what
/// they hold of it up to there. Only the origin can say it (a relay's word would let a
/// stolen laptop make its peers drop what they hold).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mark {
    pub origin: String,
    pub acked: u64,
    pub signature: String,
}

const MARK_DOMAIN: &[u8] = b"booth-mark/1";

fn mark_message(origin: &[u8; 32], acked: u64) -> Vec<u8> {
    [MARK_DOMAIN, origin, &acked.to_be_bytes()].concat()
}

impl Mark {
    pub fn sign(key: &crate::card::DeviceKey, acked: u64) -> String {
        let origin = key.public().to_bytes();
        serde_json::to_string(&Mark {
            origin: b64(&origin),
            acked,
            signature: b64(&key.sign(&mark_message(&origin, acked))),
        })
        .unwrap_or_default()
    }

    /// The origin and counter of a statement whose signature checks out.
    pub fn check(statement: &str) -> Option<([u8; 32], u64)> {
        let m: Mark = serde_json::from_str(statement).ok()?;
        let origin: [u8; 32] = unb64(&m.origin)?.try_into().ok()?;
        let sig: [u8; 64] = unb64(&m.signature)?.try_into().ok()?;
        let key = crate::card::keys::acceptable_key(&origin).ok()?;
        crate::card::keys::verify_strict(&key, &mark_message(&origin, m.acked), &sig)
            .then_some((origin, m.acked))
    }
}

pub fn b64(bytes: &[u8]) -> String {
    data_encoding::BASE64URL_NOPAD.encode(bytes)
}

pub fn unb64(text: &str) -> Option<Vec<u8>> {
    data_encoding::BASE64URL_NOPAD.decode(text.as_bytes()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_are_the_origins_word_only() {
        let a = crate::card::DeviceKey::from_secret(&[1; 32]);
        let s = Mark::sign(&a, 42);
        assert_eq!(Mark::check(&s), Some((a.public().to_bytes(), 42)));
        let raised = s.replace("\"acked\":42", "\"acked\":43");
        assert_eq!(Mark::check(&raised), None);
        let msg = Msg::Mark { statement: s };
        assert!(matches!(
            Msg::from_bytes(&msg.to_bytes()),
            Some(Msg::Mark { .. })
        ));
    }
}
