//! Who is in a booth group. Each laptop has a **card**: its name, its device key (Ed25519),
//! its session key (X25519) and the office it is enrolled with, signed by the device key. A
//! laptop joins a group through a member that showed a pairing code; that member signs an
//! **admission** of the newcomer's card. Admissions travel with the group: a laptop pins
//! every card admitted by a laptop it already trusts (itself, or one pinned before), so the
//! members a group gains later reach everyone, each vouched for by the one that let it in.
//! A founder admits itself.

use data_encoding::BASE64URL_NOPAD;
use ed25519_dalek::VerifyingKey;
use serde::{Deserialize, Serialize};

use crate::card::DeviceKey;
use crate::card::keys::{acceptable_key, key_id_of, verify_strict};

const CARD_DOMAIN: &[u8] = b"booth-peer-card/1";
const ADMISSION_DOMAIN: &[u8] = b"booth-admission/1";

/// What a laptop says about itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Card {
    /// The laptop's name for its peers (its device name at the office, else its key id).
    pub name: String,
    /// Ed25519 device key, base64url.
    pub device_key: String,
    /// X25519 session key, base64url.
    pub transport_key: String,
    /// The office key's fingerprint it is enrolled with ("" when not enrolled).
    pub office: String,
}

/// A card, admitted into the group by a member (the JSON kept and passed on).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Admission {
    /// The card's JSON, as signed.
    pub card: String,
    /// The card's own signature (by its device key).
    pub card_signature: String,
    /// The admitting member's device key.
    pub by: String,
    /// The admitting member's signature over the card's JSON.
    pub signature: String,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GroupError {
    #[error("a peer's card is malformed")]
    Malformed,
    #[error("a peer's card is not signed by its own key")]
    CardSignature,
    #[error("an admission is not signed by a member this laptop trusts")]
    Untrusted,
}

fn b64key(text: &str) -> Result<VerifyingKey, GroupError> {
    let bytes: [u8; 32] = BASE64URL_NOPAD
        .decode(text.as_bytes())
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or(GroupError::Malformed)?;
    acceptable_key(&bytes).map_err(|_| GroupError::Malformed)
}

fn sig(text: &str) -> Result<[u8; 64], GroupError> {
    BASE64URL_NOPAD
        .decode(text.as_bytes())
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or(GroupError::Malformed)
}

/// A card whose signatures checked out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    pub card: Card,
    pub device_key: VerifyingKey,
    pub key_id: String,
    pub transport_key: [u8; 32],
    pub admitted_by: VerifyingKey,
    /// The admission as JSON (kept, passed on).
    pub admission: String,
}

impl Card {
    pub fn new(name: &str, device: &DeviceKey, transport: [u8; 32], office: &str) -> Card {
        Card {
            name: name.to_string(),
            device_key: BASE64URL_NOPAD.encode(device.public().as_bytes()),
            transport_key: BASE64URL_NOPAD.encode(&transport),
            office: office.to_string(),
        }
    }

    /// The card signed by its own key: what a laptop hands over at pairing.
    pub fn signed(&self, device: &DeviceKey) -> (String, String) {
        let json = serde_json::to_string(self).unwrap_or_default();
        let s = device.sign(&[CARD_DOMAIN, json.as_bytes()].concat());
        (json, BASE64URL_NOPAD.encode(&s))
    }
}

/// Admits a signed card: `admitter` signs it.
pub fn admit(card_json: &str, card_signature: &str, admitter: &DeviceKey) -> String {
    let s = admitter.sign(&[ADMISSION_DOMAIN, card_json.as_bytes()].concat());
    serde_json::to_string(&Admission {
        card: card_json.to_string(),
        card_signature: card_signature.to_string(),
        by: BASE64URL_NOPAD.encode(admitter.public().as_bytes()),
        signature: BASE64URL_NOPAD.encode(&s),
    })
    .unwrap_or_default()
}

/// Checks a card's own signature.
pub fn check_card(
    card_json: &str,
    card_signature: &str,
) -> Result<(Card, VerifyingKey), GroupError> {
    let card: Card = serde_json::from_str(card_json).map_err(|_| GroupError::Malformed)?;
    let key = b64key(&card.device_key)?;
    if !verify_strict(
        &key,
        &[CARD_DOMAIN, card_json.as_bytes()].concat(),
        &sig(card_signature)?,
    ) {
        return Err(GroupError::CardSignature);
    }
    if card.name.chars().count() > 64 || crate::member::text::first_hazard(&card.name).is_some() {
        return Err(GroupError::Malformed);
    }
    Ok((card, key))
}

/// Checks an admission: the card's own signature, and the admitter's — who must be one of
/// `trusted` (this laptop, or a member it has pinned).
pub fn check_admission(
    admission: &str,
    trusted: impl Fn(&VerifyingKey) -> bool,
) -> Result<Member, GroupError> {
    let a: Admission = serde_json::from_str(admission).map_err(|_| GroupError::Malformed)?;
    let (card, device_key) = check_card(&a.card, &a.card_signature)?;
    let by = b64key(&a.by)?;
    if !trusted(&by) {
        return Err(GroupError::Untrusted);
    }
    if !verify_strict(
        &by,
        &[ADMISSION_DOMAIN, a.card.as_bytes()].concat(),
        &sig(&a.signature)?,
    ) {
        return Err(GroupError::Untrusted);
    }
    let transport_key: [u8; 32] = BASE64URL_NOPAD
        .decode(card.transport_key.as_bytes())
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or(GroupError::Malformed)?;
    Ok(Member {
        key_id: key_id_of(&device_key),
        card,
        device_key,
        transport_key,
        admitted_by: by,
        admission: admission.to_string(),
    })
}

/// Of `admissions`, those that chain back to `trusted` keys (each admitted by a trusted
/// key, or by a member admitted so), whatever their order.
pub fn closure(admissions: &[String], trusted: &[VerifyingKey]) -> Vec<Member> {
    let mut keys: Vec<VerifyingKey> = trusted.to_vec();
    let mut out: Vec<Member> = Vec::new();
    let mut left: Vec<&String> = admissions.iter().collect();
    loop {
        let before = left.len();
        left.retain(|a| match check_admission(a, |k| keys.contains(k)) {
            Ok(m) => {
                if !keys.contains(&m.device_key) {
                    keys.push(m.device_key);
                }
                if !out.iter().any(|o| o.device_key == m.device_key) {
                    out.push(m);
                }
                false
            }
            Err(GroupError::Untrusted) => true,
            Err(_) => false,
        });
        if left.len() == before {
            return out;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn laptop(n: u8) -> (DeviceKey, Card) {
        let k = DeviceKey::from_secret(&[n; 32]);
        let c = Card::new(&format!("{n}号电脑"), &k, [n; 32], "fp");
        (k, c)
    }

    #[test]
    fn members_chain_back_to_whom_a_laptop_trusts() {
        let (a, ca) = laptop(1);
        let (b, cb) = laptop(2);
        let (c, cc) = laptop(3);
        let x = DeviceKey::from_secret(&[4; 32]);
        let (_, cx) = laptop(4);
        let (ja, sa) = ca.signed(&a);
        let (jb, sb) = cb.signed(&b);
        let (jc, sc) = cc.signed(&c);
        let (jx, sx) = cx.signed(&x);
        // A and B paired (each admits the other), then B and C
        let b_by_a = admit(&jb, &sb, &a);
        let a_by_b = admit(&ja, &sa, &b);
        let c_by_b = admit(&jc, &sc, &b);
        // an outsider admitting itself, and one admitted by it
        let x_by_x = admit(&jx, &sx, &x);
        // C trusts itself and B (its own pairing): it learns A through B's word
        let got = closure(
            &[x_by_x, b_by_a.clone(), a_by_b.clone()],
            &[c.public(), b.public()],
        );
        let mut names: Vec<_> = got.iter().map(|m| m.card.name.as_str()).collect();
        names.sort();
        // A through B's word, and B (already trusted) through A's; never the outsider
        assert_eq!(names, ["1号电脑", "2号电脑"]);
        // A learns C from B's entries, in any order
        let got = closure(&[c_by_b.clone(), a_by_b.clone()], &[a.public(), b.public()]);
        assert_eq!(got.len(), 2);
        assert!(
            got.iter()
                .any(|m| m.card.name == "3号电脑" && m.admitted_by == b.public())
        );
        // a chain: A trusts only itself; B admitted by A, C by B
        let got = closure(&[c_by_b, b_by_a.clone()], &[a.public()]);
        assert_eq!(got.len(), 2);
        // a card altered after signing
        let forged = b_by_a.replace("2号电脑", "9号电脑");
        assert!(check_admission(&forged, |_| true).is_err());
        assert_eq!(
            check_admission(&b_by_a, |_| false).unwrap_err(),
            GroupError::Untrusted
        );
    }
}
