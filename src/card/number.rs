//! Member numbers: unique across every booth laptop without any network, short enough to read
//! aloud, with a check character.
//!
//! Layout (11 symbols, shown as `K7M2QX-0042-7`):
//! - 6 symbols: the issuing laptop's key id (30 bits of SHA-256 of its Ed25519 public key);
//! - 4 symbols: that laptop's sequence number (up to 1,048,575 members per laptop);
//! - 1 check symbol.
//!
//! Symbols are Crockford base32 (`0-9 A-Z` without I, L, O, U), so nothing is confused with a
//! digit when read aloud or typed, and parsing forgives `I`/`L` for 1, `O` for 0, lower case,
//! spaces and dashes.
//!
//! The check symbol is the Damm scheme over GF(32): with the quasigroup x∘y = 2·x ⊕ y (2 a
//! primitive element of GF(2⁵) mod x⁵+x²+1), the check is the symbol that brings the running
//! value back to 0. Because 2 ≠ 0, 1 this quasigroup is totally anti-symmetric, so **every
//! single-symbol error and every swap of two neighbours** (check symbol included) is detected.
//! The tests check both exhaustively over samples.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
pub const DEVICE_LEN: usize = 6;
pub const SEQ_LEN: usize = 4;
pub const MAX_SEQ: u32 = (1 << (5 * SEQ_LEN as u32)) - 1;

/// Value of a Crockford symbol, forgiving the usual look-alikes.
pub fn symbol_value(c: char) -> Option<u8> {
    let c = c.to_ascii_uppercase();
    let c = match c {
        'I' | 'L' => '1',
        'O' => '0',
        _ => c,
    };
    ALPHABET
        .iter()
        .position(|&a| a as char == c)
        .map(|p| p as u8)
}

/// Multiplication by 2 in GF(32) with the reduction polynomial x⁵ + x² + 1.
fn times2(x: u8) -> u8 {
    let y = x << 1;
    if y & 0x20 != 0 { (y ^ 0x25) & 0x1F } else { y }
}

/// The Damm interim value after `values`.
fn damm(values: impl IntoIterator<Item = u8>) -> u8 {
    values.into_iter().fold(0, |acc, v| times2(acc) ^ v)
}

/// The check symbol for the given symbol values.
pub fn check_value(values: &[u8]) -> u8 {
    // interim ∘ c = 0  ⇔  2·interim ⊕ c = 0  ⇔  c = 2·interim
    times2(damm(values.iter().copied()))
}

/// True if the values (check symbol last) pass the Damm check.
pub fn passes(values: &[u8]) -> bool {
    damm(values.iter().copied()) == 0
}

fn encode(mut n: u32, len: usize) -> String {
    let mut s = vec![b'0'; len];
    for i in (0..len).rev() {
        s[i] = ALPHABET[(n & 31) as usize];
        n >>= 5;
    }
    String::from_utf8(s).expect("ascii")
}

/// A member number. Stored and compared in canonical form (11 symbols, no dashes).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MemberNo(String);

/// Why a typed member number is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MemberNoError {
    #[error("a member number has 11 symbols")]
    Length,
    #[error("not a member-number symbol")]
    Symbol,
    #[error("check symbol does not match")]
    Check,
}

impl MemberNo {
    /// The number for sequence `seq` on the laptop with key id `device` (6 symbols).
    pub fn new(device: &str, seq: u32) -> Option<MemberNo> {
        if device.len() != DEVICE_LEN || seq > MAX_SEQ {
            return None;
        }
        let body = format!("{device}{}", encode(seq, SEQ_LEN));
        let values: Vec<u8> = body.chars().map(symbol_value).collect::<Option<_>>()?;
        let check = ALPHABET[check_value(&values) as usize] as char;
        Some(MemberNo(format!("{body}{check}")))
    }

    /// Canonical 11 symbols, e.g. `K7M2QX00427`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Grouped for reading aloud and printing: `K7M2QX-0042-7`.
    pub fn grouped(&self) -> String {
        let s = &self.0;
        format!(
            "{}-{}-{}",
            &s[..DEVICE_LEN],
            &s[DEVICE_LEN..DEVICE_LEN + SEQ_LEN],
            &s[DEVICE_LEN + SEQ_LEN..]
        )
    }

    /// The key id of the laptop that issued it.
    pub fn device(&self) -> &str {
        &self.0[..DEVICE_LEN]
    }

    pub fn seq(&self) -> u32 {
        self.0[DEVICE_LEN..DEVICE_LEN + SEQ_LEN]
            .chars()
            .fold(0, |n, c| (n << 5) | u32::from(symbol_value(c).unwrap_or(0)))
    }
}

/// Encodes the first 30 bits of a digest as a 6-symbol key id.
pub fn key_id_from_digest(digest: &[u8]) -> String {
    let n = u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]) >> 2;
    encode(n, DEVICE_LEN)
}

impl FromStr for MemberNo {
    type Err = MemberNoError;

    /// Forgiving: case, spaces, dashes and Crockford look-alikes (I/L → 1, O → 0).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let cleaned: Vec<char> = s
            .chars()
            .map(crate::member::text::fold_width)
            .filter(|c| !(c.is_whitespace() || crate::member::text::is_dash(*c)))
            .collect();
        if cleaned.len() != DEVICE_LEN + SEQ_LEN + 1 {
            return Err(MemberNoError::Length);
        }
        let values: Vec<u8> = cleaned
            .iter()
            .map(|&c| symbol_value(c))
            .collect::<Option<_>>()
            .ok_or(MemberNoError::Symbol)?;
        if !passes(&values) {
            return Err(MemberNoError::Check);
        }
        Ok(MemberNo(
            values
                .iter()
                .map(|&v| ALPHABET[v as usize] as char)
                .collect(),
        ))
    }
}

impl fmt::Display for MemberNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.grouped())
    }
}

impl fmt::Debug for MemberNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MemberNo({})", self.grouped())
    }
}

impl Serialize for MemberNo {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.grouped())
    }
}

impl<'de> Deserialize<'de> for MemberNo {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples() -> Vec<MemberNo> {
        let devices = ["K7M2QX", "000000", "ZZZZZZ", "1A2B3C", "QRSTVW"];
        let seqs = [0, 1, 31, 32, 1000, 99_999, MAX_SEQ];
        devices
            .iter()
            .flat_map(|d| seqs.iter().map(move |&s| MemberNo::new(d, s).unwrap()))
            .collect()
    }

    #[test]
    fn round_trip_and_grouping() {
        let n = MemberNo::new("K7M2QX", 42).unwrap();
        assert_eq!(n.as_str().len(), 11);
        assert_eq!(n.grouped().len(), 13);
        assert_eq!(n.grouped().parse::<MemberNo>().unwrap(), n);
        assert_eq!(n.as_str().to_lowercase().parse::<MemberNo>().unwrap(), n);
        assert_eq!(n.seq(), 42);
        assert_eq!(n.device(), "K7M2QX");
        assert!(MemberNo::new("K7M2QX", MAX_SEQ + 1).is_none());
    }

    #[test]
    fn look_alikes_are_forgiven() {
        let n = MemberNo::new("1A0B3C", 7).unwrap();
        let typed = n.as_str().replacen('1', "l", 1).replacen('0', "O", 1);
        assert_eq!(typed.parse::<MemberNo>().unwrap(), n);
    }

    /// Every single-symbol substitution of every sample is refused.
    #[test]
    fn every_single_substitution_is_detected() {
        let mut tried = 0;
        for n in samples() {
            let s: Vec<u8> = n.as_str().bytes().collect();
            for i in 0..s.len() {
                for &a in ALPHABET.iter() {
                    if a == s[i] {
                        continue;
                    }
                    let mut t = s.clone();
                    t[i] = a;
                    let t = String::from_utf8(t).unwrap();
                    assert_eq!(t.parse::<MemberNo>(), Err(MemberNoError::Check), "{t}");
                    tried += 1;
                }
            }
        }
        assert_eq!(tried, samples().len() * 11 * 31);
    }

    /// Every swap of two different neighbouring symbols (check symbol included) is refused.
    #[test]
    fn every_adjacent_swap_is_detected() {
        let mut tried = 0;
        for n in samples() {
            let s: Vec<u8> = n.as_str().bytes().collect();
            for i in 0..s.len() - 1 {
                if s[i] == s[i + 1] {
                    continue;
                }
                let mut t = s.clone();
                t.swap(i, i + 1);
                let t = String::from_utf8(t).unwrap();
                assert_eq!(t.parse::<MemberNo>(), Err(MemberNoError::Check), "{t}");
                tried += 1;
            }
        }
        assert!(tried > 200);
    }

    /// Exhaustive over the whole alphabet: for every pair of different symbols a, b and every
    /// interim value c, (c∘a)∘b ≠ (c∘b)∘a — the property behind the swap detection.
    #[test]
    fn quasigroup_is_totally_anti_symmetric() {
        for c in 0..32u8 {
            for a in 0..32u8 {
                for b in 0..32u8 {
                    if a != b {
                        assert_ne!(damm([c, a, b]), damm([c, b, a]));
                    }
                }
            }
        }
    }

    #[test]
    fn wrong_lengths_and_symbols() {
        assert_eq!("K7M2QX0042".parse::<MemberNo>(), Err(MemberNoError::Length));
        assert_eq!(
            "K7M2QX0042U".parse::<MemberNo>(),
            Err(MemberNoError::Symbol)
        );
        assert_eq!("".parse::<MemberNo>(), Err(MemberNoError::Length));
    }
}
